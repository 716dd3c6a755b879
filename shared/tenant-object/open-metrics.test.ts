/**
 * The tenant object's open metrics: deltas from any number of consumers, applied in any order,
 * must add up to the true service graph and RED counts; halves wait on both clocks; minutes close
 * by the arrival clock, or by the wall clock once the tenant is idle.
 */
import { describe, expect, it } from "vitest";
import { SpanKind, type ResourceSpans, type TraceBatch } from "../model/span.ts";
import { at, batchOf, testSpan, testResourceSpans } from "../../test/support/spans.ts";
import { DEFAULT_RED_KINDS, ServiceNameType, operationRollup, serviceRollup, type OperationRow, type ServiceRow } from "../metrics/red.ts";
import { edgeRollup, foldServiceGraph, type EdgeRow } from "../servicegraph/aggregate.ts";
import { generateWorkload, splitIntoBatches, type Workload } from "../../test/support/service-graph-workload.ts";
import { groupByTrace } from "../ingest/group-by-trace.ts";
import { INGEST_BATCH_FORMAT, type IngestBatchObject } from "../ingest/batch-object.ts";
import { ingestBatchKey } from "../storage/keys.ts";
import { tenantDelta, type DeltaEntry } from "../assembly/plan.ts";
import { Rng } from "../../test/support/random-otlp.ts";
import { withTenantIds } from "../metrics/row-kinds.ts";
import { LatencyHistogram } from "../metrics/histogram.ts";
import { IDLE_AFTER_MS, OpenMetrics, decodeDelta, encodeDelta, minuteClosed, type ClosedRows, type OpenMetricsJson, type TenantDelta } from "./open-metrics.ts";

const TENANT = "tn_shop";
const T0 = 1_764_090_000; // a minute boundary (2025-11-25T17:00:00Z)
const DAY = "2025-11-25";
const RECV = T0 * 1000 + 15_000; // arrival clock of the first batch
const WALL = 1_800_000_000_000; // the object's wall clock: unrelated to arrival times unless a test says so

/** One arrival batch as an ingest object received at `receivedAtMs`, as a delta entry (an inline message). */
function entryOf(batchId: string, receivedAtMs: number, batch: TraceBatch): DeltaEntry {
  const traces = groupByTrace(batch);
  const object: IngestBatchObject = { format: INGEST_BATCH_FORMAT, tenantId: TENANT, batchId, receivedAtMs, source: "otlp-proto", spanCount: traces.reduce((n, t) => n + t.spanCount, 0), traces };
  return { source: { key: ingestBatchKey(TENANT, receivedAtMs, batchId), inline: new Uint8Array(1) }, object };
}
const deltaOf = (batchId: string, receivedAtMs: number, ...rs: ResourceSpans[]) => tenantDelta(TENANT, [entryOf(batchId, receivedAtMs, batchOf(...rs))], `l0-${batchId}`);
/** A delta that only moves the arrival clock (a batch of spans that make no metrics). */
const tick = (clockMs: number): TenantDelta => ({ keys: [], clockMs, halves: [], edgeRows: [], operationRows: [], usage: [] });

const span = (spanId: string, kind: number, parentSpanId = "", extra: { name?: string; attributes?: Record<string, string>; startSec?: number } = {}) =>
  testSpan({ spanId, parentSpanId, kind, name: extra.name, attributes: extra.attributes, start: at(extra.startSec ?? T0 + 10), end: at(extra.startSec ?? T0 + 10, 20) });
// A frontend call to cart: the client half, and its server half in another export.
const callClient = () => testResourceSpans("frontend", [span("aaaaaaaaaaaaaaaa", SpanKind.CLIENT, "1111111111111111", { name: "GET /cart", attributes: { "peer.service": "cart" } })]);
const callServer = () => testResourceSpans("cart", [span("bbbbbbbbbbbbbbbb", SpanKind.SERVER, "aaaaaaaaaaaaaaaa", { name: "GET /cart" })]);

const edgeSummary = (rows: EdgeRow[]) => rows.map((r) => `${r.minute} ${r.source}->${r.target}:${r.connectionType} requests=${r.requests} failed=${r.failed}`).sort();
const opSummary = (rows: OperationRow[]) => rows.map((r) => `${r.minute} ${r.service} ${r.operation} kind=${r.kind} count=${r.count} errors=${r.errors}`).sort();

/** What leaves for D1 over several flushes, merged as the D1 upserts merge it. */
class Sink {
  edgeRows: EdgeRow[] = [];
  operationRows: OperationRow[] = [];
  serviceRows: ServiceRow[] = [];
  accepted = 0;
  rejected = 0;
  /** Edge rows of each flush: a row taken twice is a D1 rewrite. */
  edgeRowsPerFlush: number[] = [];
  take(closed: ClosedRows | undefined): void {
    if (!closed) return;
    this.edgeRowsPerFlush.push(closed.edgeRows.length);
    this.edgeRows = edgeRollup.upsert(this.edgeRows, closed.edgeRows);
    this.operationRows = operationRollup.upsert(this.operationRows, closed.operationRows);
    this.serviceRows = serviceRollup.upsert(this.serviceRows, closed.serviceRows ?? []);
    for (const u of closed.usage) {
      this.accepted += u.spansAccepted;
      this.rejected += u.spansRejected;
    }
  }
}

describe("OpenMetrics: halves across deltas", () => {
  it("pairs a half whose partner comes late in wall time but within 60 s, even after the arrival clock ran ahead", () => {
    const m = new OpenMetrics(TENANT);
    m.apply(deltaOf("c", RECV, callClient()), WALL);
    expect(m.pendingHalves).toBe(1);
    // A backlog drains fast: the arrival clock runs 2 minutes ahead in 30 s of wall time.
    m.apply(tick(RECV + 120_000), WALL + 30_000);
    // A flush 59.999 s after the half came: the minute is still open (nothing to take: usage waits
    // for a closed minute), the half still waits.
    expect(m.takeClosed(WALL + 59_999)).toBeUndefined();
    expect(m.pendingHalves).toBe(1);
    // The server half's message, retried, comes 59 s later.
    m.apply(deltaOf("s", RECV + 1_000, callServer()), WALL + 59_000);
    expect(m.pendingHalves).toBe(0);
    expect(edgeSummary(m.rowsIn("edgeRows", { start: T0, end: T0 + 60 }))).toEqual([`${T0} frontend->cart: requests=1 failed=0`]);
  });

  it("expires that half once 60 s of wall time have passed too: the late partner then waits alone and is dropped", () => {
    const m = new OpenMetrics(TENANT);
    m.apply(deltaOf("c", RECV, callClient()), WALL);
    m.apply(tick(RECV + 120_000), WALL + 30_000);
    // Rows of minute T0 close only at clock > T0 + 180 s: the virtual edge stays open.
    expect(m.takeClosed(WALL + 60_000)).toBeUndefined();
    expect(edgeSummary(m.rowsIn("edgeRows", { start: T0, end: T0 + 60 }))).toEqual([`${T0} frontend->cart:virtual_node requests=1 failed=0`]);
    expect(m.pendingHalves).toBe(0);
    m.apply(deltaOf("s", RECV + 1_000, callServer()), WALL + 61_000);
    expect(m.pendingHalves).toBe(1);
    const sink = new Sink();
    sink.take(m.takeClosed(WALL + 3_600_000));
    expect(edgeSummary(sink.edgeRows)).toEqual([`${T0} frontend->cart:virtual_node requests=1 failed=0`]);
    expect(m.pendingHalves).toBe(0);
  });

  // The half arrives at (RECV, WALL); it expires at arrival clock RECV + 60 s and wall WALL + 60 s.
  it.each([
    ["arrival clock passed, wall not", RECV + 60_000, WALL + 59_999, 1],
    ["wall passed, arrival clock not", RECV + 59_999, WALL + 60_000, 1],
    ["both passed", RECV + 60_000, WALL + 60_000, 0],
  ])("a half from a delta expires only when both clocks have passed: %s", (_, clockMs, wallMs, pending) => {
    const m = new OpenMetrics(TENANT);
    m.apply(deltaOf("c", RECV, callClient()), WALL);
    m.apply(tick(clockMs), wallMs);
    expect(m.pendingHalves).toBe(pending);
    expect(edgeSummary(m.rowsIn("edgeRows", { start: T0, end: T0 + 60 }))).toEqual(pending ? [] : [`${T0} frontend->cart:virtual_node requests=1 failed=0`]);
  });

  it("pairs halves in either order of deltas", () => {
    for (const serverFirst of [false, true]) {
      const m = new OpenMetrics(TENANT);
      const c = deltaOf("c", RECV, callClient());
      const s = deltaOf("s", RECV + 1_000, callServer());
      for (const [i, d] of (serverFirst ? [s, c] : [c, s]).entries()) m.apply(d, WALL + i);
      expect(m.pendingHalves).toBe(0);
      expect(edgeSummary(m.rowsIn("edgeRows", { start: T0, end: T0 + 60 })), String(serverFirst)).toEqual([`${T0} frontend->cart: requests=1 failed=0`]);
    }
  });
});

describe("OpenMetrics: which written minutes D1 may hold already", () => {
  it("reads a minute before it is written only if written before, or before the object kept track", () => {
    // The wall clock here is the arrival clock (live traffic): within a day of the minutes.
    const wall = (sec: number) => (T0 + sec) * 1000;
    const m = new OpenMetrics(TENANT, undefined, wall(-600));
    const root = (id: string, startSec: number) => testResourceSpans("frontend", [span(id.repeat(16), SpanKind.SERVER, "", { name: "GET /", startSec })]);
    // Minute T0, first written: new, no read.
    m.apply(deltaOf("a", RECV, root("a", T0 + 10)), wall(20));
    m.apply(tick(wall(181)), wall(181));
    expect(m.takeClosed(wall(182))!.storedMinutes).toEqual([]);
    // A late span of T0 (written before: read and merged), and one of a minute before the object
    // existed (another writer may have written it: read too).
    m.apply(deltaOf("b", wall(190), root("b", T0 + 20)), wall(190));
    m.apply(deltaOf("c", wall(191), root("c", T0 - 900)), wall(191));
    expect(m.takeClosed(wall(192))!.storedMinutes).toEqual([T0 - 900, T0]);
    // Kept through a snapshot.
    const again = OpenMetrics.fromJSON(JSON.parse(JSON.stringify(m.toJSON())) as OpenMetricsJson);
    again.apply(deltaOf("d", wall(200), root("d", T0 + 30)), wall(200));
    expect(again.takeClosed(wall(201))!.storedMinutes).toEqual([T0]);
    // A day later, any minute is read.
    again.apply(deltaOf("e", wall(86_400 + 300), root("e", T0 + 40)), wall(86_400 + 300));
    expect(again.takeClosed(wall(86_400 + 301))!.storedMinutes).toEqual([T0]);
  });
});

describe("OpenMetrics: closing minutes", () => {
  const root = () => testResourceSpans("frontend", [span("cccccccccccccccc", SpanKind.SERVER, "", { name: "GET /" })]);

  it("closes a minute when the arrival clock is past its end plus 120 s", () => {
    expect(minuteClosed(T0, (T0 + 180) * 1000)).toBe(false);
    expect(minuteClosed(T0, (T0 + 180) * 1000 + 1)).toBe(true);

    const m = new OpenMetrics(TENANT);
    m.apply(deltaOf("r", RECV, root()), WALL);
    // Rows stay open, and the usage with them (a busy tenant writes at most once a minute).
    expect(m.takeClosed(WALL + 1_000)).toBeUndefined();
    expect(m.takeClosed(WALL + 2_000)).toBeUndefined();
    m.apply(tick((T0 + 180) * 1000), WALL + 3_000);
    expect(m.takeClosed(WALL + 3_000)).toBeUndefined();
    m.apply(tick((T0 + 180) * 1000 + 1), WALL + 4_000);
    const closed = m.takeClosed(WALL + 4_000)!;
    expect(edgeSummary(closed.edgeRows)).toEqual([`${T0} user->frontend:virtual_node requests=1 failed=0`]);
    expect(opSummary(closed.operationRows)).toEqual([`${T0} frontend GET / kind=${SpanKind.SERVER} count=1 errors=0`]);
    expect(closed.usage).toEqual([{ day: DAY, spansAccepted: 1, spansRejected: 0 }]);
    expect(m.holdsAnything).toBe(false);
  });

  // Minute T0's window ends at arrival clock (T0 + 180) s; the only batch arrived at RECV, applied
  // at wall time RECV (here the wall clock is real time), then maybe a batch of old spans later.
  const END = (T0 + 180) * 1000;
  it.each([
    ["idle, but the wall clock not past the window", RECV, END, false],
    ["past the window, but a delta applied 119.999 s before (not idle)", END + 1 - (IDLE_AFTER_MS - 1), END + 1, false],
    ["past the window, and idle for exactly IDLE_AFTER_MS", END + 1 - IDLE_AFTER_MS, END + 1, true],
  ])("closes by the wall clock only when idle: %s", (_, lastApplyWallMs, flushWallMs, closed) => {
    expect(IDLE_AFTER_MS).toBe(120_000);
    const m = new OpenMetrics(TENANT);
    m.apply(deltaOf("r", RECV, root()), RECV);
    // A batch that moves neither clock nor rows, only the time of the last apply.
    if (lastApplyWallMs !== RECV) m.apply(tick(RECV), lastApplyWallMs);
    expect(m.clockMs).toBe(RECV);
    const taken = m.takeClosed(flushWallMs);
    // Busy and nothing closed: nothing leaves, the usage waits for a closed minute.
    if (flushWallMs - lastApplyWallMs < IDLE_AFTER_MS) {
      expect(taken).toBeUndefined();
      expect(m.rowsIn("operationRows", { start: T0, end: T0 + 60 })).toHaveLength(1);
      return;
    }
    expect(taken!.usage).toEqual([{ day: DAY, spansAccepted: 1, spansRejected: 0 }]);
    expect(opSummary(taken!.operationRows)).toEqual(closed ? [`${T0} frontend GET / kind=${SpanKind.SERVER} count=1 errors=0`] : []);
    expect(edgeSummary(taken!.edgeRows)).toEqual(closed ? [`${T0} user->frontend:virtual_node requests=1 failed=0`] : []);
    expect(m.rowsIn("operationRows", { start: T0, end: T0 + 60 })).toHaveLength(closed ? 0 : 1);
  });

  it("filters open rows by window", () => {
    const m = new OpenMetrics(TENANT);
    m.apply(deltaOf("r", RECV, root(), testResourceSpans("cart", [span("dddddddddddddddd", SpanKind.SERVER, "", { name: "GET /x", startSec: T0 + 70 })])), WALL);
    expect(edgeSummary(m.rowsIn("edgeRows", { start: T0, end: T0 + 60 }))).toEqual([`${T0} user->frontend:virtual_node requests=1 failed=0`]);
    expect(edgeSummary(m.rowsIn("edgeRows", { start: T0 + 60, end: T0 + 61 }))).toEqual([`${T0 + 60} user->cart:virtual_node requests=1 failed=0`]);
    expect(edgeSummary(m.rowsIn("edgeRows", { start: T0 + 59, end: T0 + 61 }))).toHaveLength(2);
    expect(m.rowsIn("edgeRows", { start: T0 + 120, end: T0 + 600 })).toEqual([]);
    expect(opSummary(m.rowsIn("operationRows", { start: T0 + 60, end: T0 + 120 }))).toEqual([`${T0 + 60} cart GET /x kind=${SpanKind.SERVER} count=1 errors=0`]);
    expect(m.rowsIn("operationRows", { start: T0 - 60, end: T0 })).toEqual([]);
  });
});

describe("OpenMetrics: usage", () => {
  it("sums usage per day across deltas and hands it out once", () => {
    const m = new OpenMetrics(TENANT);
    const usage = (day: string, spansAccepted: number, spansRejected: number): TenantDelta => ({ ...tick(RECV), usage: [{ day, spansAccepted, spansRejected }] });
    m.apply(usage(DAY, 5, 0), WALL);
    m.apply(usage(DAY, 3, 2), WALL + 1);
    m.apply(usage("2025-11-26", 1, 1), WALL + 2);
    const expected = [
      { day: DAY, spansAccepted: 8, spansRejected: 2 },
      { day: "2025-11-26", spansAccepted: 1, spansRejected: 1 },
    ];
    expect(m.usage).toEqual(expected);
    expect(m.holdsAnything).toBe(true);
    // Not while the tenant is busy and no minute closes; once it is idle, usage leaves alone.
    expect(m.takeClosed(WALL + 3)).toBeUndefined();
    expect(m.takeClosed(WALL + 2 + IDLE_AFTER_MS)).toEqual({ edgeRows: [], operationRows: [], serviceRows: [], usage: expected, storedMinutes: [] });
    expect(m.usage).toEqual([]);
    expect(m.takeClosed(WALL + 3 + IDLE_AFTER_MS)).toBeUndefined();
    expect(m.holdsAnything).toBe(false);
  });

  it("does not let a caller change its usage through the getter or the applied delta", () => {
    const m = new OpenMetrics(TENANT);
    const d: TenantDelta = { ...tick(RECV), usage: [{ day: DAY, spansAccepted: 5, spansRejected: 0 }] };
    m.apply(d, WALL);
    d.usage[0]!.spansAccepted = 1000;
    m.usage[0]!.spansAccepted = 1000;
    expect(m.usage).toEqual([{ day: DAY, spansAccepted: 5, spansRejected: 0 }]);
  });
});

// ---- order independence over a generated workload ----------------------------------------------

const workload = generateWorkload(20261126, 800, T0, 180);
// 800 traces over 90 arrival batches 2 s apart; a trace's spans spread over up to 5 batches, and
// reach ingest 10 to 26 s after they start (within the 60 s the late window allows for export and
// queueing). The arrival clock ends at T0 + 201 s: minute T0 closes while batches still come.
const GAP_MS = 2000;
const ENTRIES = splitIntoBatches(workload, 7, 90, 4).map((batch, i) => entryOf(`b${i}`, RECV + i * GAP_MS, batch));
const LATE = WALL + 86_400_000;

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rng = new Rng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Consecutive entries grouped 1 to 5 at a time, as consumers get them in queue batches. */
function groups(entries: readonly DeltaEntry[], seed: number): DeltaEntry[][] {
  const rng = new Rng(seed);
  const out: DeltaEntry[][] = [];
  for (let i = 0; i < entries.length; ) {
    const n = 1 + rng.int(5);
    out.push(entries.slice(i, i + n));
    i += n;
  }
  return out;
}

/**
 * Applies the deltas at the given wall times, flushing every `flushEvery` deltas as the object's
 * alarm would, then once more when the tenant has long been idle.
 */
function run(deltas: readonly TenantDelta[], wallOf: (i: number) => number, flushEvery = 10) {
  const m = new OpenMetrics(TENANT);
  const sink = new Sink();
  deltas.forEach((d, i) => {
    m.apply(d, wallOf(i));
    if (i % flushEvery === flushEvery - 1) sink.take(m.takeClosed(wallOf(i)));
  });
  sink.take(m.takeClosed(LATE));
  return { m, sink };
}

/**
 * The true totals of the workload's items per key: `total` counts them, `failed` those that failed
 * (items without a key are left out), under the names the rows give them.
 */
function truthBy<T, C extends string, F extends string>(items: readonly T[], keyOf: (item: T) => string | undefined, failed: (item: T) => boolean, total: C, failures: F): Map<string, Record<C | F, number>> {
  const out = new Map<string, Record<C | F, number>>();
  for (const item of items) {
    const key = keyOf(item);
    if (key === undefined) continue;
    const t = out.get(key) ?? ({ [total]: 0, [failures]: 0 } as Record<C | F, number>);
    t[total]++;
    if (failed(item)) t[failures]++;
    out.set(key, t);
  }
  return out;
}

const truthByEdge = (w: Workload) => truthBy(w.edges, (e) => `${e.minute} ${e.source}->${e.target}:${e.connectionType}`, (e) => e.failed, "requests", "failed");
const truthByService = (w: Workload) => truthBy(w.spans, (s) => `${s.minute} ${s.service}`, (s) => s.error, "count", "errors");
const truthByOperation = (w: Workload) => truthBy(w.spans, (s) => (DEFAULT_RED_KINDS.includes(s.kind) ? `${s.minute} ${s.service} ${s.name} kind=${s.kind}` : undefined), (s) => s.error, "count", "errors");

describe("OpenMetrics: deltas in any order add up to the truth", () => {
  const single = ENTRIES.map((e, i) => tenantDelta(TENANT, [e], `l0-${i}`));
  const scenarios: Array<[string, TenantDelta[], (i: number) => number]> = [
    // In arrival order, each applied half a second after it arrived (wall = arrival clock).
    ["in order, in real time", single, (i) => RECV + i * GAP_MS + 500],
    // Shuffled, within a minute of wall time: the arrival clock jumps around.
    ["shuffled", shuffled(single, 11), (i) => WALL + i * 500],
    // Several consumers: each takes a few consecutive messages, their commits interleave.
    ["grouped by consumer, groups shuffled", shuffled(groups(ENTRIES, 5).map((g, i) => tenantDelta(TENANT, g, `l0-g${i}`)), 12), (i) => WALL + i * 500],
  ];
  const results = scenarios.map(([name, deltas, wallOf]) => ({ name, deltas, ...run(deltas, wallOf) }));
  const edgeTruth = truthByEdge(workload);
  const opTruth = truthByOperation(workload);

  it("is a workload worth testing with", () => {
    expect(ENTRIES.length).toBe(94);
    // Most pairs cross batches: halves travel between deltas.
    expect(single.reduce((n, d) => n + d.halves.length, 0)).toBeGreaterThan(workload.edges.length / 2);
    expect(results[2]!.deltas.length).toBeLessThan(ENTRIES.length / 2);
    expect(workload.edges.filter((e) => e.failed).length).toBeGreaterThan(20);
    expect(new Set(workload.edges.map((e) => e.minute)).size).toBe(3);
  });

  it("writes each row once when deltas come in order, and rewrites rows of minutes closed early when not", () => {
    const [inOrder, shuffledOrder] = results;
    const taken = (sink: Sink) => sink.edgeRowsPerFlush.reduce((a, b) => a + b, 0);
    // In order, minute T0 closed mid-run (a flush before the last took rows) and no row of it came after.
    expect(inOrder!.sink.edgeRowsPerFlush.slice(0, -1).some((n) => n > 0)).toBe(true);
    expect(taken(inOrder!.sink)).toBe(inOrder!.sink.edgeRows.length);
    // Shuffled, the arrival clock ran ahead: minutes closed, then got more rows, taken again.
    expect(taken(shuffledOrder!.sink)).toBeGreaterThan(shuffledOrder!.sink.edgeRows.length);
  });

  it.each(results.map((r) => [r.name, r] as const))("%s: exact edge counts per minute and edge", (_, r) => {
    expect(r.m.pendingHalves).toBe(0);
    expect(r.m.holdsAnything).toBe(false);
    const got = new Map(r.sink.edgeRows.map((row) => [`${row.minute} ${row.source}->${row.target}:${row.connectionType}`, { requests: row.requests, failed: row.failed }]));
    expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...edgeTruth].sort()));
  });

  it.each(results.map((r) => [r.name, r] as const))("%s: the folded service graph has the true requests and failures", (_, r) => {
    const graph = foldServiceGraph(r.sink.edgeRows, { start: T0, end: T0 + 3600 });
    const truth = new Map<string, { requests: number; failed: number }>();
    for (const e of workload.edges) {
      const key = `${e.source}->${e.target}:${e.connectionType}`;
      const t = truth.get(key) ?? { requests: 0, failed: 0 };
      t.requests++;
      if (e.failed) t.failed++;
      truth.set(key, t);
    }
    expect(Object.fromEntries(graph.edges.map((e) => [`${e.source}->${e.target}:${e.connectionType}`, { requests: e.requests, failed: e.failed }]).sort())).toEqual(
      Object.fromEntries([...truth].sort()),
    );
  });

  it.each(results.map((r) => [r.name, r] as const))("%s: exact RED counts and usage", (_, r) => {
    const got = new Map(r.sink.operationRows.map((row) => [`${row.minute} ${row.service} ${row.operation} kind=${row.kind}`, { count: row.count, errors: row.errors }]));
    expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...opTruth].sort()));
    expect(r.sink.accepted).toBe(workload.spans.length);
    expect(r.sink.rejected).toBe(0);
  });

  it.each(results.map((r) => [r.name, r] as const))("%s: exact service rows (every span, whatever its kind)", (_, r) => {
    expect(r.sink.serviceRows.every((row) => row.serviceNameType === ServiceNameType.STRING)).toBe(true);
    // Summed over the rows' root and status keys.
    const got = new Map<string, { count: number; errors: number }>();
    for (const row of r.sink.serviceRows) {
      const k = `${row.minute} ${row.service}`;
      const seen = got.get(k) ?? { count: 0, errors: 0 };
      got.set(k, { count: seen.count + row.count, errors: seen.errors + row.errors });
    }
    expect(Object.fromEntries([...got].sort())).toEqual(Object.fromEntries([...truthByService(workload)].sort()));
    // More spans than the operation rows hold: the workload has INTERNAL spans.
    expect(r.sink.serviceRows.reduce((n, row) => n + row.count, 0)).toBeGreaterThan(r.sink.operationRows.reduce((n, row) => n + row.count, 0));
    // Every delta had service rows: they hold every span from the start.
    expect(r.m.serviceRowsFrom).toBe(0);
  });

  it("gives the same graph, latencies included, whatever the order", () => {
    const graphs = results.map((r) => foldServiceGraph(r.sink.edgeRows, { start: T0, end: T0 + 3600 }));
    expect(graphs[1]).toEqual(graphs[0]);
    expect(graphs[2]).toEqual(graphs[0]);
  });

  it("continues from a JSON snapshot exactly as without one", () => {
    const deltas = single.map((d) => decodeDelta(encodeDelta(d))); // as the object's log stores them
    const wallOf = (i: number) => RECV + i * GAP_MS + 500;
    const cut = 40;
    const control = { m: new OpenMetrics(TENANT), sink: new Sink() };
    const restored = { m: new OpenMetrics(TENANT), sink: new Sink() };
    deltas.forEach((d, i) => {
      for (const r of [control, restored]) {
        r.m.apply(d, wallOf(i));
        if (i % 10 === 9) r.sink.take(r.m.takeClosed(wallOf(i)));
      }
      if (i === cut) {
        // The snapshot holds something of every kind.
        expect(restored.m.pendingHalves).toBeGreaterThan(0);
        expect(restored.m.usage).toHaveLength(1);
        expect(restored.m.rowsIn("edgeRows", { start: T0, end: T0 + 3600 }).length).toBeGreaterThan(0);
        expect(restored.m.rowsIn("operationRows", { start: T0, end: T0 + 3600 }).length).toBeGreaterThan(0);
        expect(restored.m.rowsIn("serviceRows", { start: T0, end: T0 + 3600 }).length).toBeGreaterThan(0);
        restored.m = OpenMetrics.fromJSON(JSON.parse(JSON.stringify(restored.m.toJSON())) as OpenMetricsJson);
        expect(restored.m.toJSON()).toEqual(control.m.toJSON());
      }
    });
    expect(restored.m.toJSON()).toEqual(control.m.toJSON());
    for (const r of [control, restored]) r.sink.take(r.m.takeClosed(LATE));
    expect(restored.sink).toEqual(control.sink);
    expect(edgeSummary(restored.sink.edgeRows)).toEqual(edgeSummary(results[0]!.sink.edgeRows));
  });

  it("refuses a snapshot of another format", () => {
    expect(() => OpenMetrics.fromJSON({ ...new OpenMetrics(TENANT).toJSON(), format: "x" } as unknown as OpenMetricsJson)).toThrow(/unknown format/);
  });
});

describe("OpenMetrics: from when the service rows hold every span", () => {
  const delta = (receivedAtMs: number) => deltaOf(`d${receivedAtMs}`, receivedAtMs, testResourceSpans("frontend", [span("cccccccccccccccc", SpanKind.INTERNAL, "", { name: "render" })]));
  /** A delta as a consumer of the version before service rows sends it. */
  const oldDelta = (receivedAtMs: number, startSec = T0 + 10): TenantDelta => {
    const { serviceRows, ...rest } = deltaOf(`o${receivedAtMs}`, receivedAtMs, testResourceSpans("cart", [span("eeeeeeeeeeeeeeee", SpanKind.SERVER, "", { startSec })]));
    expect(serviceRows?.length).toBe(1);
    return rest;
  };

  it("from the start for an object that only applied deltas with them", () => {
    const m = new OpenMetrics(TENANT);
    m.apply(delta(RECV), WALL);
    expect(m.serviceRowsFrom).toBe(0);
    expect(m.rowsIn("serviceRows", { start: T0, end: T0 + 60 })).toHaveLength(1);
  });

  it("past the minutes a delta without them may hold spans of: its receive minute, its rows' minutes, the wall clock's", () => {
    const m = new OpenMetrics(TENANT);
    m.apply(delta(RECV), RECV);
    m.apply(oldDelta(RECV + 1000), RECV + 2000);
    expect(m.serviceRowsFrom).toBe(T0 + 60);
    // A span that starts after its receive time (clock skew): its operation row's minute counts.
    m.apply(oldDelta(RECV + 3000, T0 + 300), RECV + 4000);
    expect(m.serviceRowsFrom).toBe(T0 + 360);
    // Later deltas with service rows move nothing.
    m.apply(delta(RECV + 400_000), RECV + 400_000);
    expect(m.serviceRowsFrom).toBe(T0 + 360);
    // Through a snapshot and the log's JSON, the same.
    expect(OpenMetrics.fromJSON(JSON.parse(JSON.stringify(m.toJSON())) as OpenMetricsJson).serviceRowsFrom).toBe(T0 + 360);
    const replayed = new OpenMetrics(TENANT);
    replayed.apply(decodeDelta(encodeDelta(oldDelta(RECV + 1000))), RECV + 2000);
    expect(replayed.serviceRowsFrom).toBe(T0 + 60);
    // The previous version logged a newer consumer's delta with its service rows as they came
    // (histograms not encoded) and did not count them: replayed, they count as absent.
    const newer = delta(RECV + 5000);
    const loggedByOld = JSON.stringify({ ...newer, edgeRows: newer.edgeRows.map((r) => edgeRollup.encode(r)), operationRows: newer.operationRows.map((r) => operationRollup.encode(r)) });
    const replayedOld = new OpenMetrics(TENANT);
    replayedOld.apply(decodeDelta(loggedByOld), RECV + 6000);
    expect(replayedOld.rowsIn("serviceRows", { start: T0, end: T0 + 60 })).toEqual([]);
    expect(replayedOld.serviceRowsFrom).toBe(T0 + 60);
  });

  it("past the load time and the open rows for a snapshot from before them", () => {
    const m = new OpenMetrics(TENANT);
    m.apply(delta(RECV), RECV);
    const { serviceRows, serviceRowsFrom, ...old } = m.toJSON();
    expect(serviceRows).toHaveLength(1);
    expect(serviceRowsFrom).toBe(0);
    const loaded = OpenMetrics.fromJSON(old as OpenMetricsJson, (T0 + 30) * 1000);
    expect(loaded.serviceRowsFrom).toBe(T0 + 60);
    expect(loaded.rowsIn("serviceRows", { start: T0, end: T0 + 3600 })).toEqual([]);
    expect(OpenMetrics.fromJSON(old as OpenMetricsJson, (T0 + 7200) * 1000).serviceRowsFrom).toBe(T0 + 7260);
  });
});

describe("OpenMetrics: what the version before `tenantId` stored and sent", () => {
  // Its rows, edge store and snapshot named the tenant id `tenant`; the JSON forms keep that name.
  // Both texts as that version wrote them for `stored()` (a frontend root span: an edge from user,
  // two operation rows, a service row; and a client half waiting for cart), a snapshot after it.
  const OLD_DELTA =
    '{"keys":["t/tn_shop/ingest/2025-11-25/17/1764090015000-b1.etb"],"blockId":"l0-b1","clockMs":1764090015000,"halves":[{"key":"0af7651916cd43dd8448eb211c80319c-aaaaaaaaaaaaaaaa","side":"client","service":"frontend","messaging":false,"durationMs":20,"failed":false,"startSec":1764090010,"peer":"cart","expiresAtMs":1764090075000}],"edgeRows":[{"tenant":"tn_shop","minute":1764090000,"source":"user","target":"frontend","connectionType":"virtual_node","requests":1,"failed":0,"clientDurations":"AQAA","serverDurations":"AQCgnAFGAQ=="}],"operationRows":[{"tenant":"tn_shop","minute":1764090000,"service":"frontend","operation":"GET /","kind":2,"count":1,"errors":0,"durations":"AQCgnAFGAQ=="},{"tenant":"tn_shop","minute":1764090000,"service":"frontend","operation":"GET /cart","kind":3,"count":1,"errors":0,"durations":"AQCgnAFGAQ=="}],"usage":[{"day":"2025-11-25","spansAccepted":2,"spansRejected":0}],"serviceRows":[{"tenant":"tn_shop","minute":1764090000,"service":"frontend","serviceNameType":0,"count":2,"errors":0,"durations":"AQDAuAJGAg=="}]}';
  const OLD_SNAPSHOT =
    '{"format":"edgetrace.open-metrics.v1","tenant":"tn_shop","edges":{"format":"edgetrace.edges.v1","tenant":"tn_shop","clockMs":1764090015000,"pending":[{"key":"0af7651916cd43dd8448eb211c80319c-aaaaaaaaaaaaaaaa","side":"client","service":"frontend","messaging":false,"durationMs":20,"failed":false,"startSec":1764090010,"peer":"cart","expiresAtMs":1764090075000,"heldSinceMs":1800000000000}]},"edgeRows":[{"tenant":"tn_shop","minute":1764090000,"source":"user","target":"frontend","connectionType":"virtual_node","requests":1,"failed":0,"clientDurations":"AQAA","serverDurations":"AQCgnAFGAQ=="}],"operationRows":[{"tenant":"tn_shop","minute":1764090000,"service":"frontend","operation":"GET /","kind":2,"count":1,"errors":0,"durations":"AQCgnAFGAQ=="},{"tenant":"tn_shop","minute":1764090000,"service":"frontend","operation":"GET /cart","kind":3,"count":1,"errors":0,"durations":"AQCgnAFGAQ=="}],"serviceRows":[{"tenant":"tn_shop","minute":1764090000,"service":"frontend","serviceNameType":0,"count":2,"errors":0,"durations":"AQDAuAJGAg=="}],"serviceRowsFrom":0,"usage":[{"day":"2025-11-25","spansAccepted":2,"spansRejected":0}],"lastApplyWallMs":1800000000000,"expiredAt":{"clockMs":1764090015000,"wallMs":1800000000000},"writtenMinutes":[],"trackedFromMinute":1800000060}';
  const stored = () =>
    histogramsOfThatVersion(deltaOf("b1", RECV, testResourceSpans("frontend", [span("dddddddddddddddd", SpanKind.SERVER, "", { name: "GET /" }), span("aaaaaaaaaaaaaaaa", SpanKind.CLIENT, "dddddddddddddddd", { name: "GET /cart", attributes: { "peer.service": "cart" } })])));

  /**
   * The same delta as that version wrote it: histograms in format 1 (no Tempo buckets;
   * shared/metrics/histogram.ts), and one service row per service and minute (no root and status keys).
   */
  function histogramsOfThatVersion(d: TenantDelta): TenantDelta {
    const format1 = (bytes: Uint8Array): Uint8Array => {
      const h = LatencyHistogram.decode(bytes);
      const { zero, buckets } = h.buckets();
      const out = [1, ...varint(zero), ...varint(Math.round(h.sum * 1000))];
      buckets.forEach(([i, c], n) => out.push(...varint(n === 0 ? (i >= 0 ? 2 * i : -2 * i - 1) : i - buckets[n - 1]![0] - 1), ...varint(c)));
      return Uint8Array.from(out);
    };
    return {
      ...d,
      edgeRows: d.edgeRows.map((r) => ({ ...r, clientDurations: format1(r.clientDurations), serverDurations: format1(r.serverDurations) })),
      operationRows: d.operationRows.map((r) => ({ ...r, durations: format1(r.durations) })),
      serviceRows: serviceRowsOfThatVersion(d.serviceRows!).map((r) => ({ ...r, durations: format1(r.durations) })),
    };
  }
  function serviceRowsOfThatVersion(rows: ServiceRow[]): ServiceRow[] {
    const out = new Map<string, ServiceRow>();
    for (const { root: _root, status: _status, ...r } of rows) {
      const k = JSON.stringify([r.minute, r.service, r.serviceNameType]);
      const seen = out.get(k);
      out.set(k, (seen ? { ...seen, count: seen.count + r.count, errors: seen.errors + r.errors, durations: LatencyHistogram.decode(seen.durations).merge(LatencyHistogram.decode(r.durations)).encode() } : r) as ServiceRow);
    }
    return [...out.values()];
  }
  function varint(n: number): number[] {
    const out: number[] = [];
    for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
    out.push(n);
    return out;
  }

  it("decodes a logged delta to the same delta, the tenant id as `tenantId`, and logs it again byte for byte", () => {
    const delta = decodeDelta(OLD_DELTA);
    expect(delta).toEqual(stored());
    for (const r of [...delta.edgeRows, ...delta.operationRows, ...delta.serviceRows!]) expect(Object.keys(r)[0]).toBe("tenantId");
    expect(encodeDelta(delta)).toBe(OLD_DELTA);
    // A delta written with the new name reads the same.
    expect(decodeDelta(OLD_DELTA.replaceAll('"tenant":', '"tenantId":'))).toEqual(delta);
  });

  it("restores a snapshot to the same object (its service rows, without root and status keys, count as none)", () => {
    const control = new OpenMetrics(TENANT, undefined, WALL);
    control.apply(stored(), WALL);
    const restored = OpenMetrics.fromJSON(JSON.parse(OLD_SNAPSHOT) as OpenMetricsJson, WALL);
    expect(restored.tenantId).toBe(TENANT);
    expect(restored.toJSON()).toEqual(control.toJSON());
    // Everything but the service rows is stored again byte for byte.
    const { serviceRows, serviceRowsFrom, serviceRowsKeys, ...again } = restored.toJSON();
    const { serviceRows: oldRows, serviceRowsFrom: oldFrom, ...old } = JSON.parse(OLD_SNAPSHOT) as OpenMetricsJson;
    expect(JSON.stringify(again)).toBe(JSON.stringify(old));
    expect([oldRows!.length, oldFrom, serviceRows, serviceRowsKeys]).toEqual([1, 0, [], "service,serviceNameType,root,status"]);
    // The rows hold every span only from the minute after the snapshot was loaded.
    expect(serviceRowsFrom).toBe(Math.floor(WALL / 60_000) * 60 + 60);
    const window = { start: T0, end: T0 + 60 };
    for (const kind of ["edgeRows", "operationRows", "serviceRows"] as const) expect(restored.rowsIn(kind, window)).toEqual(control.rowsIn(kind, window));
    expect(restored.rowsIn("serviceRows", window)).toEqual([]);
    expect(restored.rowsIn("edgeRows", window)[0]?.tenantId).toBe(TENANT);
  });

  it("counts service rows without root and status keys as none, in a delta or a snapshot of this version's format", () => {
    const m = new OpenMetrics(TENANT, undefined, WALL);
    m.apply(stored(), RECV);
    expect(m.rowsIn("serviceRows", { start: T0, end: T0 + 60 })).toEqual([]);
    expect(m.serviceRowsFrom).toBe(T0 + 60);
    // This version's delta: kept, and the snapshot round trip keeps them and the mark of their keys.
    const now = new OpenMetrics(TENANT, undefined, WALL);
    now.apply(deltaOf("b2", RECV, testResourceSpans("frontend", [span("eeeeeeeeeeeeeeee", SpanKind.SERVER, "", { name: "GET /" })])), RECV);
    expect(now.rowsIn("serviceRows", { start: T0, end: T0 + 60 })).toHaveLength(1);
    const json = JSON.parse(JSON.stringify(now.toJSON())) as OpenMetricsJson;
    expect(OpenMetrics.fromJSON(json, WALL).rowsIn("serviceRows", { start: T0, end: T0 + 60 })).toHaveLength(1);
    expect(OpenMetrics.fromJSON(json, WALL).serviceRowsFrom).toBe(0);
    // Without the mark (a snapshot of the version before the keys), dropped, even with no rows open.
    const { serviceRowsKeys: _, ...unmarked } = json;
    expect(OpenMetrics.fromJSON(unmarked as OpenMetricsJson, WALL).rowsIn("serviceRows", { start: T0, end: T0 + 60 })).toEqual([]);
    expect(OpenMetrics.fromJSON({ ...unmarked, serviceRows: [] } as OpenMetricsJson, WALL).serviceRowsFrom).toBe(Math.floor(WALL / 60_000) * 60 + 60);
  });

  it("takes the rows of a delta its consumers send over RPC (during a deploy) as rows with `tenantId`", () => {
    const current = stored();
    const rename = <R extends { tenantId: string }>({ tenantId, ...rest }: R) => ({ tenant: tenantId, ...rest });
    const sent = { ...current, edgeRows: current.edgeRows.map(rename), operationRows: current.operationRows.map(rename), serviceRows: current.serviceRows!.map(rename) } as unknown as TenantDelta;
    expect(withTenantIds(sent)).toEqual(current);
    expect(encodeDelta(withTenantIds(sent))).toBe(OLD_DELTA);
    // A delta of this version is passed through as it is.
    expect(withTenantIds(current)).toBe(current);
  });
});
