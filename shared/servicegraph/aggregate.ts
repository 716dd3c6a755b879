/**
 * @module
 * Edges per minute as rows ready for D1, and the fold of those rows into the service-graph API's
 * `{nodes, edges}` for a time window.
 *
 * One row per (tenant, minute, source, target, connectionType) that saw requests, carrying the
 * request and failed counts and two encoded latency histograms (see metrics/histogram.ts):
 * `clientDurations` (client span durations; empty for `user` edges) and `serverDurations` (server
 * span durations; empty when the target is virtual). Rows of one key from several batches combine
 * with `edgeRollup.merge` (counts add, histograms merge exactly), so the writer can upsert. Every
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
import { edgeMinutes } from "../db/schema.ts";
import { LatencyHistogram } from "../metrics/histogram.ts";
import { foldWindow, MinuteAccumulator, minuteRollup, roundMs, type TimeWindow } from "../metrics/rows.ts";
import { bucketStart } from "../metrics/span-fields.ts";
import { USER_NODE, type ConnectionType, type Edge } from "./edges.ts";

export interface EdgeRow {
  tenantId: string;
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

/** Edge rows as a minute rollup (metrics/rows.ts): the `edge_minutes` table. */
export const edgeRollup = minuteRollup<EdgeRow>()({
  name: "edge",
  keys: ["source", "target", "connectionType"],
  counts: ["requests", "failed"],
  histograms: ["clientDurations", "serverDurations"],
  table: edgeMinutes,
});

/** Collects edges into per-minute rows; histograms stay decoded until `rows()`. */
export class EdgeAccumulator extends MinuteAccumulator<EdgeRow, (typeof edgeRollup.keys)[number]> {
  readonly #step: number;

  constructor(tenantId: string, options: { stepSeconds?: number } = {}) {
    super(edgeRollup, tenantId);
    this.#step = options.stepSeconds ?? 60;
  }

  add(edges: Iterable<Edge>): void {
    for (const e of edges) {
      const row = this.row({ minute: bucketStart(e.startSec, this.#step), source: e.source, target: e.target, connectionType: e.connectionType });
      row.requests++;
      if (e.failed) row.failed++;
      if (e.clientMs !== undefined) row.clientDurations.observe(e.clientMs);
      if (e.serverMs !== undefined) row.serverDurations.observe(e.serverMs);
    }
  }
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
  const edges = foldWindow(
    rows,
    window,
    stepSeconds,
    (row) => [row.source, row.target, row.connectionType],
    (row): Totals & { source: string; target: string; connectionType: ConnectionType } => ({ source: row.source, target: row.target, connectionType: row.connectionType, requests: 0, failed: 0, latency: new LatencyHistogram() }),
    (e, row) => {
      e.requests += row.requests;
      e.failed += row.failed;
      const server = LatencyHistogram.decode(row.serverDurations);
      e.latency.merge(server.count > 0 ? server : LatencyHistogram.decode(row.clientDurations));
    },
  );

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
  for (const e of edges) {
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
    edges: edges
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
