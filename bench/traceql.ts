/**
 * TraceQL at scale (issue 14): four queries over 24 h / ~1 M spans through the dashboard's real
 * routes (/api/search and /api/metrics/query_range, with their fan-out into scan jobs), p50/p99,
 * bytes and objects read.
 *
 * Setup is the search-scale bench's (bench/support/query-scale.ts): its worker runs the real
 * dashboard app in workerd (Miniflare, local D1, R2 and Durable Objects), each request one
 * invocation with BENCH_LATENCY_MS (20) added to every R2, D1 and tenant object call, at most
 * BENCH_TQ_INFLIGHT (6) storage calls open at once per invocation, every fan-out job counted as
 * its own invocation; one day of blocks of the shop workload (12 services, `http.route`, database
 * spans, error traces) written by the real encodeBlock and catalogued as compaction leaves them
 * (144 blocks, ~BENCH_TQ_SPANS spans), with their per-minute metric rows.
 *
 * Queries over the newest 24 h: `needle` `{ span.http.route = "/nonexistent" }` (/api/search,
 * limit 20), `needle_regex` `{ span.http.route =~ "/nonexist.*" }` (the same question as a regex,
 * which the Bloom filter cannot answer: the index's value lists do (index version 2); measured,
 * not in the 1 s target, which is for the issue's four), `structural`
 * `{ resource.service.name = "frontend" } >> { status = error }`, `rate` `{ } | rate() by
 * (resource.service.name)` and `histogram` `{ } | histogram_over_time(duration)`
 * (/api/metrics/query_range, step 5m), and, also outside the target, `drilldown`: the root-span
 * rate by service and status Grafana's Traces Drilldown opens with (from the service rows, keyed
 * by root and status since migration 0010). Each runs once to warm up (counted when it took over 5 s),
 * then BENCH_TQ_REPS (20) times or until BENCH_TQ_BUDGET_S (60) seconds were spent on it; a
 * request is stopped at BENCH_TQ_TIMEOUT_S (120): its storage calls then fail and it is reported
 * as timed out (its time a lower bound).
 *
 * Figures per query: p50/p99 ms (timed in Node, minus the median of a no-op request; with 20 runs
 * the p99 is their maximum), R2 reads (objects: block summary tables, segment indexes and
 * columns, each a range read), R2 bytes, D1 queries, invocations per request (medians), blocks
 * read and skipped as the answer's `metrics` reports them, CPU ms (workerd, mean), where a metrics
 * answer came from (`Edgetrace-Metrics-Source`). Checks (problems): the rate and histogram
 * answers count every span of the window (the rate times the step, the bucket counts, summed),
 * the needles find nothing, the structural query finds traces. Prints one JSON object on the last
 * stdout line; notes go to stderr.
 *
 * Run: npx node bench/traceql.ts  (small: BENCH_TQ_SPANS=100000)
 */
import { loadavg } from "node:os";
import { pct, round, mean, startQueryScale, type Sample } from "./support/query-scale.ts";

const log = (...a: unknown[]) => console.error("[traceql]", ...a);
const env = process.env;
const SPANS = Number(env.BENCH_TQ_SPANS ?? 1_050_000);
const REPS = Number(env.BENCH_TQ_REPS ?? 20);
const BUDGET_MS = Number(env.BENCH_TQ_BUDGET_S ?? 60) * 1000;
const TIMEOUT_MS = Number(env.BENCH_TQ_TIMEOUT_S ?? 120) * 1000;
const SLOW_MS = 5_000;
const LATENCY_MS = Number(env.BENCH_LATENCY_MS ?? 20);
const INFLIGHT = Number(env.BENCH_TQ_INFLIGHT ?? 6);
const LIMIT = 20;
const STEP_S = 300;

const { dataset, request, noop, dispose } = await startQueryScale({ name: "traceql", days: 1, spansPerDay: SPANS, latencyMs: LATENCY_MS, inflight: INFLIGHT });

/** What a query's answer says: the count compared with what the dataset holds, and the scan's own figures. */
interface Answer {
  results: number;
  /** Spans the answer counts (metrics) or traces it found (search). */
  counted: number;
  blocksRead: number | null;
  blocksSkipped: number | null;
  segmentsSkipped: number | null;
}

interface Query {
  name: string;
  text: string;
  path: string;
  read(body: unknown): Answer;
  check(a: Answer): string | undefined;
  /** Measured, but not one of the issue's queries the 1 s target is for. */
  extra?: boolean;
}

interface ScanMetrics {
  completedJobs?: number;
  skippedBlocks?: number;
  skippedSegments?: number;
}
const scanFigures = (m: ScanMetrics | undefined) => ({ blocksRead: m?.completedJobs ?? null, blocksSkipped: m?.skippedBlocks ?? null, segmentsSkipped: m?.skippedSegments ?? null });

try {
  const { startMs, endMs, spansDay } = dataset;
  const sec = (ms: number) => Math.floor(ms / 1000);
  const enc = encodeURIComponent;
  const search = (q: string) => `/api/search?q=${enc(q)}&start=${sec(startMs)}&end=${sec(endMs) - 1}&limit=${LIMIT}`;
  const range = (q: string) => `/api/metrics/query_range?q=${enc(q)}&start=${sec(startMs)}&end=${sec(endMs)}&step=${STEP_S}s`;
  const readSearch = (body: unknown): Answer => {
    const b = body as { traces?: unknown[]; metrics?: ScanMetrics };
    const n = b.traces?.length ?? 0;
    return { results: n, counted: n, ...scanFigures(b.metrics) };
  };
  /** Series and the spans they count: `perSample` turns a sample's value into spans. */
  const readSeries = (perSample: (v: number) => number) => (body: unknown): Answer => {
    const b = body as { series?: { samples: { value: number }[] }[]; metrics?: ScanMetrics };
    const series = b.series ?? [];
    let counted = 0;
    for (const s of series) for (const x of s.samples) counted += perSample(x.value);
    return { results: series.length, counted: Math.round(counted), ...scanFigures(b.metrics) };
  };
  const none = (a: Answer) => (a.results === 0 ? undefined : `expected no traces, got ${a.results}`);
  const everySpan = (a: Answer) => (a.counted === spansDay ? undefined : `counts ${a.counted} spans, the window holds ${spansDay}`);
  const queries: Query[] = [
    { name: "needle", text: `{ span.http.route = "/nonexistent" }`, path: "", read: readSearch, check: none },
    // Beside the issue's four (not in the target): the needle as a regex, which only the index's value lists can prune.
    { name: "needle_regex", text: `{ span.http.route =~ "/nonexist.*" }`, path: "", read: readSearch, check: none, extra: true },
    { name: "structural", text: `{ resource.service.name = "frontend" } >> { status = error }`, path: "", read: readSearch, check: (a) => (a.results > 0 ? undefined : "found no trace") },
    { name: "rate", text: `{ } | rate() by (resource.service.name)`, path: "", read: readSeries((v) => v * STEP_S), check: everySpan },
    { name: "histogram", text: `{ } | histogram_over_time(duration)`, path: "", read: readSeries((v) => v), check: everySpan },
    // Also extra: the rate panel Grafana's Traces Drilldown opens with (root spans by service and status).
    { name: "drilldown", text: `{ nestedSetParent<0 && true && status!=error } | rate() by(resource.service.name, status)`, path: "", read: readSeries((v) => v * STEP_S), check: (a) => (a.results > 0 ? undefined : "no series"), extra: true },
  ];
  const metricsQueries = new Set(["rate", "histogram", "drilldown"]);
  for (const q of queries) q.path = metricsQueries.has(q.name) ? range(q.text) : search(q.text);

  // Warm up: the isolate and the key cache.
  for (let i = 0; i < 3; i++) await request(queries[0]!.path, "after", TIMEOUT_MS);
  const noops: number[] = [];
  for (let i = 0; i < 30; i++) noops.push(await noop());

  const samples: Record<string, (Sample & Answer & { source: string })[]> = {};
  const problems: string[] = [];
  const tQueries = performance.now();
  const loadBefore = loadavg()[0]!;
  for (const q of queries) {
    const got: (typeof samples)[string] = [];
    let spent = 0;
    // This query's first run warms its code paths; a slow one (seconds, a full scan) is counted.
    let first: Awaited<ReturnType<typeof request>> | undefined = await request(q.path, "after", TIMEOUT_MS);
    if (first.ms < SLOW_MS) first = undefined;
    for (let rep = 0; rep < REPS && (rep === 0 || spent < BUDGET_MS); rep++) {
      const s = first ?? (await request(q.path, "after", TIMEOUT_MS));
      first = undefined;
      spent += s.ms;
      const a = s.status === 200 ? q.read(s.body) : { results: 0, counted: 0, blocksRead: null, blocksSkipped: null, segmentsSkipped: null };
      if (s.status !== 200 && !s.timedOut) problems.push(`${q.name}: HTTP ${s.status} ${JSON.stringify(s.body).slice(0, 300)}`);
      if (s.status === 200 && rep === 0) {
        const p = q.check(a);
        if (p) problems.push(`${q.name}: ${p}`);
      }
      delete (s as Partial<typeof s>).body;
      got.push({ ...s, ...a, source: s.headers["edgetrace-metrics-source"] ?? "" });
      if (s.timedOut) break;
      if (rep % 4 === 3) noops.push(await noop());
    }
    samples[q.name] = got;
    const ms = got.map((s) => s.ms);
    const f = got[0]!;
    log(
      `${q.name}: ${got.length}x p50 ${round(pct(ms, 50))} ms p99 ${round(pct(ms, 99))} ms${got.some((s) => s.timedOut) ? " (timed out)" : ""}, ${pct(got.map((s) => s.r2Reads), 50)} R2 reads (${Math.max(0, ...got.map((s) => s.maxReadsPerInvocation))} most in one of ${pct(got.map((s) => s.invocations), 50)} invocations), ${round(pct(got.map((s) => s.r2Bytes), 50) / 2 ** 20, 2)} MiB, ${pct(got.map((s) => s.d1Queries), 50)} D1, blocks read ${f.blocksRead} skipped ${f.blocksSkipped}, ${round(mean(got.map((s) => s.cpuMs)))} ms CPU, ${f.results} results${f.source ? `, from ${f.source}` : ""}`,
    );
  }
  const queriesS = (performance.now() - tQueries) / 1000;
  // Other work on the machine shares its cores with workerd (the times below are wall times).
  const load = [round(loadBefore, 1), round(loadavg()[0]!, 1)];
  const overhead = pct(noops, 50);
  log(`no-op request: p50 ${round(overhead, 2)} ms (subtracted)`);
  for (const p of problems) log(`PROBLEM: ${p}`);

  const out: Record<string, unknown> = {};
  const P = "traceql.";
  out[`${P}blocks`] = dataset.blocks;
  out[`${P}spans_24h`] = spansDay;
  out[`${P}block_mib`] = round(dataset.bytes / 2 ** 20);
  out[`${P}metric_rows`] = dataset.storedRows;
  out[`${P}latency_ms_per_storage_call`] = LATENCY_MS;
  out[`${P}storage_calls_in_flight_per_invocation`] = INFLIGHT;
  out[`${P}noop_request_ms`] = round(overhead, 2);
  out[`${P}load_average_1m_before_after`] = load.join(" / ");
  const targets: string[] = [];
  for (const q of queries) {
    const ss = samples[q.name]!;
    const ms = ss.map((s) => Math.max(0, s.ms - overhead));
    const k = `${P}${q.name}_`;
    const timedOut = ss.filter((s) => s.timedOut).length;
    out[`${k}p50_ms`] = round(pct(ms, 50));
    out[`${k}p99_ms`] = round(pct(ms, 99));
    out[`${k}runs`] = ss.length;
    if (timedOut) out[`${k}timed_out`] = timedOut;
    out[`${k}r2_reads`] = pct(ss.map((s) => s.r2Reads), 50);
    out[`${k}r2_bytes`] = pct(ss.map((s) => s.r2Bytes), 50);
    out[`${k}max_r2_reads_per_invocation`] = Math.max(0, ...ss.map((s) => s.maxReadsPerInvocation));
    out[`${k}invocations`] = pct(ss.map((s) => s.invocations), 50);
    out[`${k}d1_queries`] = pct(ss.map((s) => s.d1Queries), 50);
    out[`${k}blocks_read`] = ss[0]?.blocksRead ?? null;
    out[`${k}blocks_skipped`] = ss[0]?.blocksSkipped ?? null;
    out[`${k}segments_skipped`] = ss[0]?.segmentsSkipped ?? null;
    out[`${k}cpu_ms`] = round(mean(ss.map((s) => s.cpuMs)));
    out[`${k}results`] = ss[0]?.results ?? null;
    if (ss[0]?.source) out[`${k}source`] = ss[0].source;
    if (!q.extra && !(pct(ms, 50) < 1000 && timedOut === 0)) targets.push(q.name);
  }
  out[`${P}target_issue_queries_p50_under_1s`] = targets.length === 0;
  if (targets.length) out[`${P}target_missed_by`] = targets.join(",");
  out[`${P}problems`] = problems.length;
  out[`${P}setup_s`] = round(dataset.setupS);
  out[`${P}queries_s`] = round(queriesS);
  for (const q of queries) out[`${P}query_${q.name}`] = q.text;
  console.log(JSON.stringify(out));
} finally {
  await dispose();
}
