/**
 * Trace by id with a week of blocks present (issue 3: "p50 under 150 ms locally", "fast without a
 * time range, faster with one").
 *
 * The real findTrace (shared/storage/trace-reader.ts) runs in workerd (Miniflare, bench/trace-by-id/
 * worker.mts) over the real local D1 (migrations applied) and R2. Tenant A gets a week of blocks as
 * compaction leaves them: one per 10 minutes (level 2, the last 3 hours level 1), each holding
 * BENCH_TBI_TRACES multiServiceWorkload traces spread over its window; tenant B gets one block an
 * hour for the same week, so the catalog and filters are shared with another tenant. Blocks are
 * encoded in Node worker threads with the real encodeBlock/catalogRow (bench/trace-by-id/blocks.ts:
 * span content repeats across blocks, trace ids and times do not) and stored through recordBlock.
 *
 * Timing: every lookup is one HTTP request to the worker, sequential, timed in Node; the median
 * latency of a no-op request to the same worker is subtracted. (workerd's clocks only advance
 * across I/O, so Date.now() around findTrace inside the worker misses the decode after the last
 * read; that figure is printed too, as `worker_p50_ms_*`.) Lookups: 200 existing ids without a
 * range, each followed by the same id through the uncached path (`no_range_uncached`: every
 * catalog row from D1, as before the isolate's filter cache), the same 200 with a +-1 h range
 * around the trace's start (likewise alternating with `with_range_uncached`), 100 absent ids, and
 * 50 existing ids each with the cache emptied first (`cold`: the first lookup in a new isolate).
 * The other lookups find the cache warm, as a dashboard isolate that served a lookup of the tenant
 * before does. Then a breakdown of 30 lookups of each kind into D1 catalog query (with the cache,
 * and the uncached query beside it), filter test, R2 reads and decode (each step ended with a
 * zero-length timer so the clock catches up; blocks read one after another). Last, after the
 * searches, `after_new_block`: 24 more blocks of tenant A, each uploaded just before a lookup of
 * one of its traces, so every lookup has one block the cache has not seen.
 *
 * Search (issue 4): the real searchTraces (the matcher built as GET /api/search builds it) over the
 * newest 24 h of tenant A's blocks, limit 20: 30 times the TraceQL query
 * `{ resource.service.name = "payment" && duration > 500ms }` (payment has spans over 500 ms in
 * about 2.5 % of the workload's traces), then 30 times the legacy tags search `service.name=payment`,
 * each timed from Node minus the no-op request like the lookups. The newest day's blocks hold
 * BENCH_TBI_TRACES_LAST_DAY traces (225: 144 blocks of 200 traces are ~0.97 M spans, short of the
 * issue's 1 M); the spans in the window are counted and reported, and the run fails under 1 M.
 *
 * Prints one JSON object to stdout; notes go to stderr.
 * Run: npx node bench/trace-by-id.ts   (BENCH_TBI_TRACES=200 traces per block, BENCH_TBI_DAYS=7)
 */
import { randomBytes } from "node:crypto";
import { startBenchWorker } from "./support/bench-worker.ts";
import { buildInWorkers, type BlockSpec, type BuiltBlock } from "./support/workload-blocks.ts";

const log = (...a: unknown[]) => console.error("[trace-by-id]", ...a);
const TRACES_PER_BLOCK = Number(process.env.BENCH_TBI_TRACES ?? 200);
const DAYS = Number(process.env.BENCH_TBI_DAYS ?? 7);
const TRACES_LAST_DAY = Number(process.env.BENCH_TBI_TRACES_LAST_DAY ?? 225);
const DAY_MS = 86_400_000;
const SEARCHES = 30;
const SEARCH_SERVICE = "payment";
const SEARCH_LIMIT = 20;
const BLOCK_MS = 10 * 60_000;
const THREADS = 2;
const LOOKUPS = 200;
const ABSENT = 100;
const BREAKDOWN = 30;
const COLD = 50;
const NEW_BLOCKS = 24;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

// ---- the worker -------------------------------------------------------------------------------

const { mf, db, call, dispose } = await startBenchWorker("trace-by-id");

interface FindResult {
  found: boolean;
  spans: number;
  blocksInRange?: number;
  filtersRead?: number;
  blocksRead: number;
  r2Reads: number;
  r2Bytes: number;
  ms: number;
}
interface Breakdown {
  d1Uncached: number;
  d1: number;
  filter: number;
  r2: number;
  decodeIndex: number;
  decodeSegment: number;
  fence: number;
  found: boolean;
  catalogRows: number;
  filtersRead: number;
  blocksRead: number;
  indexBytes: number;
  summaryRows: number;
}

try {
  const { tenantA, tenantB } = await call<{ tenantA: string; tenantB: string }>("/setup", {});
  log("fence check (busy loop, then a zero-length timer):", JSON.stringify(await call("/fence")));

  // ---- a week of blocks -------------------------------------------------------------------------
  const endMs = Math.floor(Date.now() / BLOCK_MS) * BLOCK_MS;
  const weekStart = endMs - DAYS * 86_400_000;
  const specs: BlockSpec[] = [];
  let n = 0;
  for (let s = weekStart; s < endMs; s += BLOCK_MS) {
    specs.push({ tenantId: tenantA, blockId: `bA${n}`, level: endMs - s > 3 * 3_600_000 ? 2 : 1, startMs: s, endMs: s + BLOCK_MS, traces: endMs - s <= DAY_MS ? TRACES_LAST_DAY : TRACES_PER_BLOCK, pool: n });
    n++;
  }
  n = 0;
  for (let s = weekStart; s < endMs; s += 3_600_000) {
    specs.push({ tenantId: tenantB, blockId: `bB${n}`, level: 2, startMs: s, endMs: s + 3_600_000, traces: TRACES_PER_BLOCK, pool: n + 3 });
    n++;
  }
  // Held back for after_new_block: the 24 blocks after the week, uploaded one per lookup at the end.
  for (let i = 0; i < NEW_BLOCKS; i++) specs.push({ tenantId: tenantA, blockId: `bNew${i}`, level: 0, startMs: endMs + i * BLOCK_MS, endMs: endMs + (i + 1) * BLOCK_MS, traces: TRACES_LAST_DAY, pool: i });
  const held: BuiltBlock[] = [];
  const tBuild = performance.now();
  const ids: Record<string, { traceId: string; startMs: number }[]> = { [tenantA]: [], [tenantB]: [] };
  const allIds = new Set<string>();
  let spansA = 0;
  let spansDay = 0;
  let blocksDay = 0;
  let bytesA = 0;
  let uploads: Promise<unknown>[] = [];
  const upload = async (b: BuiltBlock) => {
    const res = await mf.dispatchFetch("http://bench/put", { method: "POST", body: b.bytes, headers: { "x-tenant": b.spec.tenantId, "x-row": JSON.stringify(b.row) } });
    if (!res.ok) throw new Error(`put ${b.spec.blockId}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  let done = 0;
  await buildInWorkers(new URL("./trace-by-id/blocks.ts", import.meta.url), "trace-by-id-encoder", specs, THREADS, (b: BuiltBlock) => {
    for (const traceId of b.traceIds) {
      if (allIds.has(traceId)) throw new Error(`duplicate trace id ${traceId}`);
      allIds.add(traceId);
    }
    if (b.spec.blockId.startsWith("bNew")) return void held.push(b);
    b.traceIds.forEach((traceId, i) => ids[b.spec.tenantId]!.push({ traceId, startMs: b.traceStartMs[i]! }));
    if (b.spec.tenantId === tenantA) {
      spansA += b.spans;
      if (b.spec.startMs >= endMs - DAY_MS) {
        spansDay += b.spans;
        blocksDay++;
      }
      bytesA += b.bytes.byteLength;
    }
    uploads.push(upload(b));
    if (++done % 100 === 0) log(`${done}/${specs.length} blocks built and uploaded (${round((performance.now() - tBuild) / 1000)} s)`);
  });
  await Promise.all(uploads);
  uploads = [];
  const catalog = await db.prepare("SELECT tenant_id AS t, count(*) AS n, sum(trace_count) AS traces, sum(length(trace_filter)) AS filter_bytes FROM blocks GROUP BY tenant_id").all<{ t: string; n: number; traces: number; filter_bytes: number }>();
  const rowA = catalog.results.find((r) => r.t === tenantA)!;
  const rowB = catalog.results.find((r) => r.t === tenantB)!;
  const setupS = (performance.now() - tBuild) / 1000;
  log(`catalog: tenant A ${rowA.n} blocks, ${rowA.traces} traces, ${spansA} spans, ${round(bytesA / 2 ** 20)} MiB, filters ${rowA.filter_bytes} B; tenant B ${rowB.n} blocks, ${rowB.traces} traces; built in ${round(setupS)} s`);

  // ---- lookups ---------------------------------------------------------------------------------
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  const noop = async () => {
    const t = performance.now();
    await call("/noop");
    return performance.now() - t;
  };
  const timed = async (q: { tenantId: string; traceId: string; startMs?: number; endMs?: number }) => {
    const t = performance.now();
    const r = await call<FindResult>("/find", q);
    return { ...r, nodeMs: performance.now() - t };
  };
  for (let i = 0; i < 10; i++) {
    await noop();
    await timed({ tenantId: tenantA, traceId: pick(ids[tenantA]!).traceId });
  }
  const noops: number[] = [];
  for (let i = 0; i < 50; i++) noops.push(await noop());
  const sample = Array.from({ length: LOOKUPS }, () => pick(ids[tenantA]!));
  type FindQuery = { tenantId: string; traceId: string; startMs?: number; endMs?: number; cache?: boolean; cold?: boolean };
  const kinds: Record<string, FindQuery[]> = {
    no_range: sample.map((x) => ({ tenantId: tenantA, traceId: x.traceId })),
    no_range_uncached: sample.map((x) => ({ tenantId: tenantA, traceId: x.traceId, cache: false })),
    with_range: sample.map((x) => ({ tenantId: tenantA, traceId: x.traceId, startMs: x.startMs - 3_600_000, endMs: x.startMs + 3_600_000 })),
    with_range_uncached: sample.map((x) => ({ tenantId: tenantA, traceId: x.traceId, startMs: x.startMs - 3_600_000, endMs: x.startMs + 3_600_000, cache: false })),
    absent: Array.from({ length: ABSENT }, () => ({ tenantId: tenantA, traceId: randomBytes(16).toString("hex") })),
    cold: sample.slice(0, COLD).map((x) => ({ tenantId: tenantA, traceId: x.traceId, cold: true })),
  };
  // Each kind alternates with its uncached twin, so the machine's drift falls on both alike.
  const pairs = (a: string, b: string) => sample.flatMap((_, i) => [[a, kinds[a]![i]!], [b, kinds[b]![i]!]] as [string, FindQuery][]);
  const order: [string, FindQuery][] = [
    ...pairs("no_range", "no_range_uncached"),
    ...pairs("with_range", "with_range_uncached"),
    ...(["absent", "cold"] as const).flatMap((k) => kinds[k]!.map((q) => [k, q] as [string, FindQuery])),
  ];
  const results: Record<string, (FindResult & { nodeMs: number })[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  for (const [i, [kind, q]] of order.entries()) {
    results[kind]!.push(await timed(q));
    if (i % 25 === 24) noops.push(await noop());
  }
  for (const [kind, rs] of Object.entries(results)) {
    const missing = rs.filter((r) => r.found !== (kind !== "absent") || (r.found && r.spans === 0)).length;
    if (missing) throw new Error(`${kind}: ${missing} lookups answered wrongly`);
  }
  for (const kind of ["no_range", "with_range"]) {
    for (const [i, r] of results[kind]!.entries()) {
      const u = results[`${kind}_uncached`]![i]!;
      if (r.spans !== u.spans || r.blocksInRange !== u.blocksInRange) throw new Error(`${kind}: lookup ${i} answered ${r.spans} spans in ${r.blocksInRange} blocks, uncached ${u.spans} in ${u.blocksInRange}`);
    }
  }
  // Scoping: tenant B's ids are not found through tenant A, nor A's through B.
  for (let i = 0; i < 20; i++) {
    const crossed = [await timed({ tenantId: tenantA, traceId: pick(ids[tenantB]!).traceId }), await timed({ tenantId: tenantB, traceId: pick(ids[tenantA]!).traceId })];
    if (crossed.some((r) => r.found)) throw new Error("a trace was found through the other tenant");
  }
  const ownB = await timed({ tenantId: tenantB, traceId: pick(ids[tenantB]!).traceId });
  if (!ownB.found) throw new Error("tenant B's trace not found");
  const overhead = pct(noops, 50);
  log(`no-op request: p50 ${round(overhead, 2)} ms (subtracted), p90 ${round(pct(noops, 90), 2)} ms`);

  // ---- breakdown -------------------------------------------------------------------------------
  const parts: Record<string, Breakdown[]> = {};
  for (const kind of ["no_range", "with_range", "absent"]) {
    parts[kind] = [];
    for (const q of kinds[kind]!.slice(0, BREAKDOWN)) parts[kind].push(await call<Breakdown>("/breakdown", q));
  }

  // ---- search over the newest 24 h ---------------------------------------------------------------
  log(`newest 24 h: ${blocksDay} blocks of tenant A, ${spansDay} spans`);
  if (spansDay < 1_000_000) throw new Error(`the newest 24 h hold ${spansDay} spans, under the 1 M the issue asks for`);
  interface SearchAnswer {
    traces: number;
    traceIds: string[];
    metrics: { inspectedTraces: number; inspectedBytes: number; inspectedBlocks: number; completedJobs: number; totalJobs: number };
    ms: number;
  }
  const window = { tenantId: tenantA, startMs: endMs - DAY_MS, endMs: endMs - 1, limit: SEARCH_LIMIT };
  const searches = {
    traceql: { ...window, q: `{ resource.service.name = "${SEARCH_SERVICE}" && duration > 500ms }` },
    tags: { ...window, tags: `service.name=${SEARCH_SERVICE}` },
  };
  const searched: Record<string, (SearchAnswer & { nodeMs: number })[]> = {};
  for (const [kind, q] of Object.entries(searches)) {
    for (let i = 0; i < 3; i++) await call("/search", q); // warm up
    searched[kind] = [];
    for (let i = 0; i < SEARCHES; i++) {
      const t = performance.now();
      const r = await call<SearchAnswer>("/search", q);
      searched[kind].push({ ...r, nodeMs: performance.now() - t });
      if (i % 10 === 9) noops.push(await noop());
    }
    const first = searched[kind][0]!;
    if (first.traces !== SEARCH_LIMIT) throw new Error(`${kind} search: ${first.traces} traces, expected ${SEARCH_LIMIT}`);
    if (searched[kind].some((r) => r.traceIds.join() !== first.traceIds.join())) throw new Error(`${kind} search: answers differ between runs`);
    if (first.traceIds.some((id) => !allIds.has(id))) throw new Error(`${kind} search: an unknown trace id`);
    log(`${kind} search: ${JSON.stringify(first.metrics)}`);
  }
  const searchOverhead = pct(noops, 50);
  const searchMs = (kind: string) => searched[kind]!.map((r) => Math.max(0, r.nodeMs - searchOverhead));

  // ---- after_new_block: one block the cache has not seen before each lookup --------------------
  results.after_new_block = [];
  held.sort((a, b) => a.spec.startMs - b.spec.startMs);
  for (const b of held) {
    await upload(b);
    const r = await timed({ tenantId: tenantA, traceId: pick(b.traceIds) });
    if (!r.found || r.filtersRead !== 1) throw new Error(`after_new_block ${b.spec.blockId}: found ${r.found}, ${r.filtersRead} filters read (1 expected)`);
    results.after_new_block.push(r);
  }
  const cacheStats = await call<{ tenants: number; blocks: number; bytes: number }>("/cache");

  // ---- figures ---------------------------------------------------------------------------------
  const out: Record<string, unknown> = {};
  for (const [kind, rs] of Object.entries(results)) {
    const ms = rs.map((r) => Math.max(0, r.nodeMs - overhead));
    out[`trace_by_id.p50_ms_${kind}`] = round(pct(ms, 50));
    out[`trace_by_id.p90_ms_${kind}`] = round(pct(ms, 90));
    out[`trace_by_id.p99_ms_${kind}`] = round(pct(ms, 99));
  }
  for (const [kind, rs] of Object.entries(results)) out[`trace_by_id.worker_p50_ms_${kind}`] = round(pct(rs.map((r) => r.ms), 50));
  for (const [kind, rs] of Object.entries(results)) out[`trace_by_id.mean_blocks_read_${kind}`] = round(mean(rs.map((r) => r.blocksRead)), 2);
  out["trace_by_id.mean_blocks_read"] = out["trace_by_id.mean_blocks_read_no_range"];
  for (const [kind, rs] of Object.entries(results)) out[`trace_by_id.mean_r2_reads_${kind}`] = round(mean(rs.map((r) => r.r2Reads)), 2);
  for (const [kind, rs] of Object.entries(results)) out[`trace_by_id.mean_filters_read_from_d1_${kind}`] = round(mean(rs.map((r) => r.filtersRead ?? 0)), 2);
  out["trace_by_id.mean_catalog_rows_with_range"] = round(mean(parts.with_range!.map((p) => p.catalogRows)), 1);
  for (const [kind, ps] of Object.entries(parts)) {
    out[`trace_by_id.breakdown_ms_${kind}`] = {
      d1_catalog: round(mean(ps.map((p) => p.d1))),
      d1_catalog_uncached: round(mean(ps.map((p) => p.d1Uncached))),
      filter_test: round(mean(ps.map((p) => p.filter))),
      r2_reads: round(mean(ps.map((p) => p.r2))),
      decode_index: round(mean(ps.map((p) => p.decodeIndex))),
      decode_segment: round(mean(ps.map((p) => p.decodeSegment))),
      blocks_read: round(mean(ps.map((p) => p.blocksRead)), 2),
      index_kib_per_block: round(mean(ps.map((p) => p.indexBytes / Math.max(1, p.blocksRead))) / 1024),
    };
  }
  out["trace_by_id.noop_request_ms"] = round(overhead, 2);
  out["trace_by_id.blocks"] = rowA.n;
  out["trace_by_id.traces"] = rowA.traces;
  out["trace_by_id.spans"] = spansA;
  out["trace_by_id.block_mib"] = round(bytesA / 2 ** 20);
  out["trace_by_id.catalog_filter_bytes"] = rowA.filter_bytes;
  out["trace_by_id.filter_cache_bytes"] = cacheStats.bytes;
  out["trace_by_id.filter_cache_blocks"] = cacheStats.blocks;
  out["trace_by_id.other_tenant_blocks"] = rowB.n;
  out["trace_by_id.days"] = DAYS;
  out["trace_by_id.setup_s"] = round(setupS);
  out["trace_by_id.traces_per_block_last_day"] = TRACES_LAST_DAY;
  // Issue 4's query figures.
  out["query.trace_by_id_p50_ms"] = out["trace_by_id.p50_ms_no_range"];
  out["query.trace_by_id_p99_ms"] = out["trace_by_id.p99_ms_no_range"];
  out["query.search_p50_ms"] = round(pct(searchMs("traceql"), 50));
  out["query.search_p99_ms"] = round(pct(searchMs("traceql"), 99));
  out["query.search_bytes_read"] = pct(searched.traceql!.map((r) => r.metrics.inspectedBytes), 50);
  out["query.search_blocks_read"] = pct(searched.traceql!.map((r) => r.metrics.inspectedBlocks), 50);
  out["query.search_blocks_in_window"] = searched.traceql![0]!.metrics.totalJobs;
  out["query.search_worker_p50_ms"] = round(pct(searched.traceql!.map((r) => r.ms), 50));
  out["query.search_spans_in_window"] = spansDay;
  out["query.search_query"] = searches.traceql.q;
  out["query.tags_search_p50_ms"] = round(pct(searchMs("tags"), 50));
  out["query.tags_search_p99_ms"] = round(pct(searchMs("tags"), 99));
  out["query.tags_search_bytes_read"] = pct(searched.tags!.map((r) => r.metrics.inspectedBytes), 50);
  console.log(JSON.stringify(out));
} finally {
  await dispose();
}
