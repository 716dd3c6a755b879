/**
 * @module
 * Edges per minute as rows ready for D1, and the fold of those rows into the service-graph API's
 * `{nodes, edges}` for a time window.
 *
 * One row per (tenant, minute, source, target, connectionType) that saw requests, carrying the
 * request and failed counts and two encoded latency histograms (see metrics/histogram.ts):
 * `clientDurations` (client span durations; empty for `user` edges) and `serverDurations` (server
 * span durations; empty when the target is virtual). Rows of one key from several batches combine
 * with `mergeEdgeRows` (counts add, histograms merge exactly), so the writer can upsert. Every
 * rewrite of a row is a billed row, so hold a minute's rows until the minute is over (its end plus
 * the EdgeStore wait) rather than writing after each batch: on the shop workload in
 * workload.test.ts, writing after every one-second batch costs 0.15 rows per span (edges and RED),
 * writing each row once 0.005.
 *
 * Latency in the API: an edge's p50/p90/p99 are read from the server side, which is what the callee
 * spent, and from the client side where there is no server span (database and other virtual
 * targets). A node's requests, failures and latency are those of its incoming edges: for a
 * service, the server side of its callers' requests, roots included through the `user` edge; for
 * a virtual node, the client-side view of the calls to it.
 */
import { LatencyHistogram } from "../metrics/histogram.ts";
import { bucketInWindow, mergeRowsByKey, roundMs, type TimeWindow } from "../metrics/rows.ts";
import { bucketStart } from "../metrics/span-fields.ts";
import { USER_NODE, type ConnectionType, type Edge } from "./edges.ts";

export interface EdgeRow {
  tenant: string;
  /** Start of the time bucket in unix seconds, a multiple of the step (60 unless configured). */
  minute: number;
  source: string;
  target: string;
  connectionType: ConnectionType;
  requests: number;
  failed: number;
  /** Client span durations in ms, an encoded LatencyHistogram; empty for `user` edges. */
  clientDurations: Uint8Array;
  /** Server span durations in ms, an encoded LatencyHistogram; empty for virtual targets. */
  serverDurations: Uint8Array;
}

interface Cell {
  minute: number;
  source: string;
  target: string;
  connectionType: ConnectionType;
  requests: number;
  failed: number;
  client: LatencyHistogram;
  server: LatencyHistogram;
}

/** Collects edges into per-minute rows; histograms stay decoded until `rows()`. */
export class EdgeAccumulator {
  readonly tenant: string;
  readonly #step: number;
  readonly #cells = new Map<string, Cell>();

  constructor(tenant: string, options: { stepSeconds?: number } = {}) {
    this.tenant = tenant;
    this.#step = options.stepSeconds ?? 60;
  }

  add(edges: Iterable<Edge>): void {
    for (const e of edges) {
      const minute = bucketStart(e.startSec, this.#step);
      const key = JSON.stringify([minute, e.source, e.target, e.connectionType]);
      let cell = this.#cells.get(key);
      if (cell === undefined) {
        cell = { minute, source: e.source, target: e.target, connectionType: e.connectionType, requests: 0, failed: 0, client: new LatencyHistogram(), server: new LatencyHistogram() };
        this.#cells.set(key, cell);
      }
      cell.requests++;
      if (e.failed) cell.failed++;
      if (e.clientMs !== undefined) cell.client.observe(e.clientMs);
      if (e.serverMs !== undefined) cell.server.observe(e.serverMs);
    }
  }

  /** Number of rows `rows()` would return. */
  get size(): number {
    return this.#cells.size;
  }

  rows(): EdgeRow[] {
    return [...this.#cells.values()].map((c) => ({
      tenant: this.tenant,
      minute: c.minute,
      source: c.source,
      target: c.target,
      connectionType: c.connectionType,
      requests: c.requests,
      failed: c.failed,
      clientDurations: c.client.encode(),
      serverDurations: c.server.encode(),
    }));
  }
}

/** The row's identity (tenant, minute, source, target, connectionType) as one string. */
export function edgeRowKey(row: EdgeRow): string {
  return JSON.stringify([row.tenant, row.minute, row.source, row.target, row.connectionType]);
}

/** Combines two rows of the same key (the upsert when a minute's row already exists). */
export function mergeEdgeRows(a: EdgeRow, b: EdgeRow): EdgeRow {
  if (edgeRowKey(a) !== edgeRowKey(b)) throw new Error("mergeEdgeRows: rows of different keys");
  return {
    ...a,
    requests: a.requests + b.requests,
    failed: a.failed + b.failed,
    clientDurations: LatencyHistogram.decode(a.clientDurations).merge(LatencyHistogram.decode(b.clientDurations)).encode(),
    serverDurations: LatencyHistogram.decode(a.serverDurations).merge(LatencyHistogram.decode(b.serverDurations)).encode(),
  };
}

/** Stored rows first, then new ones: one row per key, ready to write back. */
export function upsertEdgeRows(existing: Iterable<EdgeRow>, incoming: Iterable<EdgeRow>): EdgeRow[] {
  return mergeRowsByKey([...existing, ...incoming], edgeRowKey, mergeEdgeRows);
}

export interface ServiceGraphNode {
  id: string;
  kind: "service" | "virtual";
  requests: number;
  failed: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

export interface ServiceGraphEdge {
  source: string;
  target: string;
  requests: number;
  failed: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  connectionType: ConnectionType;
}

export interface ServiceGraph {
  nodes: ServiceGraphNode[];
  edges: ServiceGraphEdge[];
}

interface Totals {
  requests: number;
  failed: number;
  latency: LatencyHistogram;
}

/**
 * Folds rows into the service graph of a window (epoch seconds; a row counts when its bucket
 * overlaps the window). Nodes sorted by id, edges by source, target, connection type; quantiles
 * are 0 where there were no requests.
 *
 * A node is "service" when spans of it were seen: the source of any edge but a `user` edge, or the
 * target of a "", "messaging_system" or `user` edge. Every other node (`user`, databases, peers
 * named by attributes) is "virtual". The name `user` is therefore reserved for the caller of root
 * spans, as in Tempo.
 */
export function foldServiceGraph(rows: Iterable<EdgeRow>, window: TimeWindow, stepSeconds = 60): ServiceGraph {
  const edges = new Map<string, Totals & { source: string; target: string; connectionType: ConnectionType }>();
  for (const row of rows) {
    if (!bucketInWindow(row.minute, stepSeconds, window)) continue;
    const key = JSON.stringify([row.source, row.target, row.connectionType]);
    let e = edges.get(key);
    if (e === undefined) {
      e = { source: row.source, target: row.target, connectionType: row.connectionType, requests: 0, failed: 0, latency: new LatencyHistogram() };
      edges.set(key, e);
    }
    e.requests += row.requests;
    e.failed += row.failed;
    const server = LatencyHistogram.decode(row.serverDurations);
    e.latency.merge(server.count > 0 ? server : LatencyHistogram.decode(row.clientDurations));
  }

  const nodes = new Map<string, Totals>();
  const instrumented = new Set<string>();
  const node = (id: string): Totals => {
    let n = nodes.get(id);
    if (n === undefined) {
      n = { requests: 0, failed: 0, latency: new LatencyHistogram() };
      nodes.set(id, n);
    }
    return n;
  };
  for (const e of edges.values()) {
    node(e.source);
    const target = node(e.target);
    target.requests += e.requests;
    target.failed += e.failed;
    target.latency.merge(e.latency);
    const fromUser = e.connectionType === "virtual_node" && e.source === USER_NODE;
    if (!fromUser) instrumented.add(e.source);
    if (fromUser || e.connectionType === "" || e.connectionType === "messaging_system") instrumented.add(e.target);
  }

  return {
    nodes: [...nodes.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([id, n]) => ({ id, kind: instrumented.has(id) ? "service" : "virtual", requests: n.requests, failed: n.failed, ...quantiles(n.latency) })),
    edges: [...edges.values()]
      .sort((a, b) => compare(a.source, b.source) || compare(a.target, b.target) || compare(a.connectionType, b.connectionType))
      .map((e) => ({ source: e.source, target: e.target, requests: e.requests, failed: e.failed, ...quantiles(e.latency), connectionType: e.connectionType })),
  };
}

function quantiles(h: LatencyHistogram): { p50Ms: number; p90Ms: number; p99Ms: number } {
  return { p50Ms: roundMs(h.quantile(0.5)), p90Ms: roundMs(h.quantile(0.9)), p99Ms: roundMs(h.quantile(0.99)) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
