/**
 * The service graph against a workload whose true edges are known: spans dealt over many batches
 * in random order, the EdgeStore saved to JSON and restored between every batch, rows upserted as
 * the assembler will. Counts must be exact and quantiles within the histogram's documented error.
 */
import { describe, expect, it } from "vitest";
import { HISTOGRAM_RELATIVE_ERROR, LatencyHistogram } from "../metrics/histogram.ts";
import { DEFAULT_RED_KINDS, RedAccumulator, operationRollup, summarizeOperations, type OperationRow } from "../metrics/red.ts";
import { EdgeAccumulator, edgeRollup, foldServiceGraph, type EdgeRow } from "./aggregate.ts";
import { EdgeStore, type Edge, type EdgeStoreState } from "./edges.ts";
import { generateWorkload, splitIntoBatches, type TrueEdge } from "../../test/support/service-graph-workload.ts";

const T0 = 1_764_090_000;
const TENANT = "tn_shop";
const BATCH_MS = 1000;
// The quantile error bound, plus the API's rounding to 4 significant digits.
const BOUND = HISTOGRAM_RELATIVE_ERROR + 5e-4 + 1e-9;

function nearestRank(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

function expectQuantilesNear(actual: { p50Ms: number; p90Ms: number; p99Ms: number }, latencies: number[], what: string): void {
  for (const [q, got] of [[0.5, actual.p50Ms], [0.9, actual.p90Ms], [0.99, actual.p99Ms]] as const) {
    const exact = nearestRank(latencies, q);
    expect(Math.abs(got - exact) / exact, `${what} q=${q}: ${got} vs ${exact}`).toBeLessThanOrEqual(BOUND);
  }
}

/** A D1 round trip of a row: the blobs come back as fresh byte arrays. */
function stored<T extends object>(row: T): T {
  const copy = { ...row } as Record<string, unknown>;
  for (const [k, v] of Object.entries(copy)) if (v instanceof Uint8Array) copy[k] = Uint8Array.from(v);
  return copy as T;
}

function groupTruth(edges: TrueEdge[], byMinute: boolean): Map<string, { requests: number; failed: number; latencies: number[] }> {
  const out = new Map<string, { requests: number; failed: number; latencies: number[] }>();
  for (const e of edges) {
    const key = JSON.stringify(byMinute ? [e.minute, e.source, e.target, e.connectionType] : [e.source, e.target, e.connectionType]);
    let t = out.get(key);
    if (t === undefined) out.set(key, (t = { requests: 0, failed: 0, latencies: [] }));
    t.requests++;
    if (e.failed) t.failed++;
    t.latencies.push(e.latencyMs);
  }
  return out;
}

/** Runs the batches through save/restore, edges, and upserted rows, as the assembler will. */
function runPipeline(batches: ReturnType<typeof splitIntoBatches>) {
  let state: EdgeStoreState = new EdgeStore(TENANT).toJSON();
  let edgeRows: EdgeRow[] = [];
  let opRows: OperationRow[] = [];
  let rowsWritten = 0;
  let edgeCount = 0;
  const flush = (edges: Edge[]) => {
    edgeCount += edges.length;
    const acc = new EdgeAccumulator(TENANT);
    acc.add(edges);
    rowsWritten += acc.size;
    edgeRows = edgeRollup.upsert(edgeRows.map(stored), acc.rows());
  };
  let now = T0 * 1000;
  batches.forEach((batch, b) => {
    now = T0 * 1000 + b * BATCH_MS;
    const store = EdgeStore.fromJSON(JSON.parse(JSON.stringify(state)) as EdgeStoreState);
    flush([...store.addBatch(batch, now), ...store.expire(now)]);
    state = store.toJSON();
    const red = new RedAccumulator(TENANT);
    red.addSpans(batch);
    rowsWritten += red.size;
    opRows = operationRollup.upsert(opRows.map(stored), red.rows());
  });
  // Quiet afterwards: the last halves wait out their time.
  const store = EdgeStore.fromJSON(state);
  flush(store.expire(now + 61_000));
  return { edgeRows, opRows, pending: store.pendingCount, rowsWritten, edgeCount };
}

describe("service graph over a generated shop workload", () => {
  const workload = generateWorkload(20261125, 4000, T0, 300);
  // 4000 traces over 150 one-second batches; a trace's spans spread over up to 6 batches.
  const batches = splitIntoBatches(workload, 99, 150, 5);
  const result = runPipeline(batches);

  it("holds the workload it claims (sanity of the generator)", () => {
    const targets = new Set(workload.edges.map((e) => `${e.source}->${e.target}:${e.connectionType}`));
    expect([...targets].sort()).toEqual([
      "checkout->currency:",
      "checkout->kafka:virtual_node",
      "checkout->orders:database",
      "checkout->payment:",
      "checkout->shipping:messaging_system",
      "frontend->api.geo.example:virtual_node",
      "frontend->cart:",
      "frontend->checkout:",
      "frontend->recommendation:",
      "payment->stripe-api:virtual_node",
      "recommendation->product-catalog:",
      "shipping->email:",
      "user->frontend:virtual_node",
      "cart->redis:database",
    ].sort());
    // Every edge type has failures to count, and the minutes span the 5-minute window.
    expect(workload.edges.filter((e) => e.failed).length).toBeGreaterThan(100);
    expect(new Set(workload.edges.map((e) => e.minute)).size).toBeGreaterThanOrEqual(5);
    expect(batches.reduce((n, b) => n + b.resourceSpans.length, 0)).toBeGreaterThan(batches.length * 10);
  });

  it("pairs every half and leaves nothing pending", () => {
    expect(result.pending).toBe(0);
    expect(result.edgeCount).toBe(workload.edges.length);
  });

  it("counts requests and failures per minute and edge exactly", () => {
    const truth = groupTruth(workload.edges, true);
    const got = new Map(result.edgeRows.map((r) => [JSON.stringify([r.minute, r.source, r.target, r.connectionType]), r]));
    expect([...got.keys()].sort()).toEqual([...truth.keys()].sort());
    for (const [key, t] of truth) {
      expect({ key, requests: got.get(key)!.requests, failed: got.get(key)!.failed }).toEqual({ key, requests: t.requests, failed: t.failed });
    }
    // Upserts leave one row per key.
    expect(result.edgeRows.every((r) => r.tenantId === TENANT)).toBe(true);
  });

  it("folds the window into exact counts and quantiles within the documented error", () => {
    const graph = foldServiceGraph(result.edgeRows, { start: T0, end: T0 + 600 });
    const truth = groupTruth(workload.edges, false);
    expect(graph.edges).toHaveLength(truth.size);
    for (const e of graph.edges) {
      const key = JSON.stringify([e.source, e.target, e.connectionType]);
      const t = truth.get(key)!;
      expect({ key, requests: e.requests, failed: e.failed }).toEqual({ key, requests: t.requests, failed: t.failed });
      expectQuantilesNear(e, t.latencies, key);
    }

    const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
    expect([...nodes.keys()].sort()).toEqual([...workload.services, ...workload.virtualNodes].sort());
    for (const id of workload.services) expect(nodes.get(id)!.kind, id).toBe("service");
    for (const id of workload.virtualNodes) expect(nodes.get(id)!.kind, id).toBe("virtual");
    for (const [id, n] of nodes) {
      const incoming = workload.edges.filter((e) => e.target === id);
      expect({ id, requests: n.requests, failed: n.failed }).toEqual({ id, requests: incoming.length, failed: incoming.filter((e) => e.failed).length });
      if (incoming.length > 0) expectQuantilesNear(n, incoming.map((e) => e.latencyMs), id);
    }
  });

  it("narrows to the minutes a window overlaps", () => {
    const graph = foldServiceGraph(result.edgeRows, { start: T0 + 60, end: T0 + 120 });
    const inMinute = workload.edges.filter((e) => e.minute === T0 + 60 && e.source === "user");
    expect(graph.edges.find((e) => e.source === "user")!.requests).toBe(inMinute.length);
  });

  it("counts RED per minute, service, operation and kind exactly", () => {
    const truth = new Map<string, { count: number; errors: number; durations: number[] }>();
    for (const s of workload.spans) {
      if (!DEFAULT_RED_KINDS.includes(s.kind)) continue;
      const key = JSON.stringify([s.minute, s.service, s.name, s.kind]);
      let t = truth.get(key);
      if (t === undefined) truth.set(key, (t = { count: 0, errors: 0, durations: [] }));
      t.count++;
      if (s.error) t.errors++;
      t.durations.push(s.durationMs);
    }
    const got = new Map(result.opRows.map((r) => [JSON.stringify([r.minute, r.service, r.operation, r.kind]), r]));
    expect([...got.keys()].sort()).toEqual([...truth.keys()].sort());
    for (const [key, t] of truth) {
      const row = got.get(key)!;
      expect({ key, count: row.count, errors: row.errors }).toEqual({ key, count: t.count, errors: t.errors });
      const h = LatencyHistogram.decode(row.durations);
      expect(h.count).toBe(t.count);
      // The stored sum is rounded to the microsecond at each of up to one write per batch.
      expect(Math.abs(h.sum - t.durations.reduce((a, b) => a + b, 0))).toBeLessThanOrEqual(0.0005 * batches.length);
    }
    const checkout = summarizeOperations(result.opRows, { start: T0, end: T0 + 600 }).find((o) => o.service === "payment" && o.kind === 2)!;
    const charges = workload.spans.filter((s) => s.service === "payment" && s.kind === 2);
    expect(checkout).toMatchObject({ operation: "POST /charge", requests: charges.length, errors: charges.filter((s) => s.error).length });
    expectQuantilesNear(checkout, charges.map((s) => s.durationMs), "payment POST /charge");
  });

  it("writes few rows per span", () => {
    const spans = workload.spans.length;
    // Informative, and a guard against a change that would write a row per span.
    expect(result.rowsWritten / spans).toBeLessThan(0.5);
  });
});
