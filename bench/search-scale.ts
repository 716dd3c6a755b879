/**
 * Query at scale (issue 11, "Proof"): searches, Jaeger search, TraceQL metrics and trace by id
 * through the real dashboard routes over a day and a week of blocks, before and after, side by side.
 *
 * The worker (bench/search-scale/worker.mts) runs the real dashboard app in workerd (Miniflare,
 * local D1, R2 and Durable Objects), each request one invocation with its own bindings: 20 ms
 * (BENCH_LATENCY_MS) added to every R2 and D1 call and at most 6 of them open at once
 * (BENCH_SS_INFLIGHT; Cloudflare's simultaneous open connections per invocation), R2 reads, bytes
 * and D1 queries counted per invocation (an invocation the dashboard fans a query out to is counted
 * as its own). Requests authenticate with a read key made by the project's createKey.
 *
 * Dataset (bench/search-scale/blocks.ts): one tenant, BENCH_SS_DAYS days (default 7) of blocks as
 * compaction leaves them, one per 10 minutes (level 2, the newest 3 hours level 1), about
 * BENCH_SS_SPANS spans a day (default 1.05 M: ~1 M in the newest 24 h, ~7 M in the week), encoded
 * with the real encodeBlock and catalogued with catalogRow + recordBlock; the metric rows of those
 * spans come from the real tenantDelta, OpenMetrics and writeMetricFlush, as the tenant object
 * writes them. The workload is multiServiceWorkload (12 services, `http.route`, Postgres and Redis
 * spans with `db.system`, error traces).
 *
 * Queries, each over the newest 24 h and over the whole dataset (the "7d" window when
 * BENCH_SS_DAYS=7): `needle` `{ span.http.route = "/nonexistent" }` (Tempo /api/search, limit 20),
 * `structural` `{ .db.system = "redis" } >> { status = error }`, `jaeger` (/jaeger/api/traces,
 * service frontend, tags {"http.route":"/nonexistent"}), `rate` `{ } | rate() by
 * (resource.service.name)` (/api/metrics/query_range, step 5m), `rate_server` the same over
 * `{ kind = server }` (a query the per-minute rows hold: they count request-shaped kinds only), `pruned` `{ resource.service.name =
 * "payment" && duration > 500ms }` and `trace_by_id` (/api/traces/<id>: with the 24 h window as
 * start/end for ids of the newest day; without a range for ids of the whole dataset).
 *
 * Before and after: "before" sets SCAN_CONCURRENCY=1, SCAN_USE_INDEX=0, METRICS_FROM_ROLLUPS=0,
 * SCAN_FANOUT=0 on the dashboard's env (today's behaviour); "after" leaves them unset. Each query
 * runs up to BENCH_SS_REPS times per configuration, the two alternating, until BENCH_SS_BUDGET_S
 * seconds (15) were spent on that query and configuration (at least once); a request is stopped at
 * BENCH_SS_TIMEOUT_S (30 s over 24 h) or BENCH_SS_TIMEOUT_LONG_S (15 s over the long window):
 * its storage calls then fail, and it is reported as timed out (its time is a lower bound).
 *
 * Figures per query, window and configuration: p50/p99 ms (timed in Node, minus the median of a
 * no-op request; with a handful of runs the p99 is their maximum), R2 reads, bytes read and D1 queries per request (median), the most R2 reads of
 * one invocation, invocations per request, CPU ms per request (user+system of the workerd process,
 * which also runs local D1 and R2; mean), and before/after ratios; then the targets as
 * true/false, for "after". Prints one JSON object on the last stdout line; notes go to stderr.
 *
 * Run: npx node bench/search-scale.ts  (small: BENCH_SS_DAYS=2 BENCH_SS_SPANS=100000)
 */
import { pct, round, mean, startQueryScale, type Config, type Sample } from "./support/query-scale.ts";

const log = (...a: unknown[]) => console.error("[search-scale]", ...a);
const env = process.env;
const DAYS = Number(env.BENCH_SS_DAYS ?? 7);
const SPANS_PER_DAY = Number(env.BENCH_SS_SPANS ?? 1_050_000);
const REPS = Number(env.BENCH_SS_REPS ?? 5);
const BUDGET_MS = Number(env.BENCH_SS_BUDGET_S ?? 15) * 1000;
const TIMEOUT_MS = Number(env.BENCH_SS_TIMEOUT_S ?? 30) * 1000;
const TIMEOUT_LONG_MS = Number(env.BENCH_SS_TIMEOUT_LONG_S ?? 15) * 1000;
const LATENCY_MS = Number(env.BENCH_LATENCY_MS ?? 20);
const INFLIGHT = Number(env.BENCH_SS_INFLIGHT ?? 6);
const LIMIT = 20;
const CONFIGS = ["before", "after"] as const satisfies readonly Config[];

const { dataset, request, noop, dispose } = await startQueryScale({ name: "search-scale", days: DAYS, spansPerDay: SPANS_PER_DAY, latencyMs: LATENCY_MS, inflight: INFLIGHT, debug: Boolean(env.BENCH_SS_DEBUG) });

try {
  const { startMs, endMs, dayStartMs, ids, blocks: blockCount, spans: spansAll, spansDay, bytes: bytesAll, storedRows, setupS } = dataset;
  const noops: number[] = [];

  // ---- the queries -----------------------------------------------------------------------------
  const sec = (ms: number) => Math.floor(ms / 1000);
  const windows = { "24h": { startMs: dayStartMs, endMs }, ...(DAYS > 1 ? { [`${DAYS}d`]: { startMs, endMs } } : {}) } as Record<string, { startMs: number; endMs: number }>;
  const enc = encodeURIComponent;
  const dayIds = ids.filter((x) => x.startMs >= dayStartMs);
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  interface Query {
    name: string;
    text: string;
    path(w: { startMs: number; endMs: number }, long: boolean): string;
    /** The answer in a form that must not differ between before and after, and its result count. */
    answer(body: unknown): { answer: string; results: number };
  }
  const traceIdsOf = (body: unknown) => {
    const traces = (body as { traces?: { traceID: string }[] }).traces ?? [];
    return { answer: traces.map((t) => t.traceID).join(","), results: traces.length };
  };
  const tempoSearch = (q: string) => (w: { startMs: number; endMs: number }) => `/api/search?q=${enc(q)}&start=${sec(w.startMs)}&end=${sec(w.endMs) - 1}&limit=${LIMIT}`;
  const queries: Query[] = [
    { name: "needle", text: `{ span.http.route = "/nonexistent" }`, path: tempoSearch(`{ span.http.route = "/nonexistent" }`), answer: traceIdsOf },
    { name: "structural", text: `{ .db.system = "redis" } >> { status = error }`, path: tempoSearch(`{ .db.system = "redis" } >> { status = error }`), answer: traceIdsOf },
    {
      name: "jaeger",
      text: `/jaeger/api/traces?service=frontend&tags={"http.route":"/nonexistent"}`,
      path: (w) => `/jaeger/api/traces?service=frontend&tags=${enc(JSON.stringify({ "http.route": "/nonexistent" }))}&start=${w.startMs * 1000}&end=${w.endMs * 1000 - 1}&limit=${LIMIT}`,
      answer: (body) => {
        const data = (body as { data?: { traceID: string }[] | null }).data ?? [];
        return { answer: data.map((t) => t.traceID).join(","), results: data.length };
      },
    },
    ...(
      [
        ["rate", "{ } | rate() by (resource.service.name)"],
        ["rate_server", "{ kind = server } | rate() by (resource.service.name)"],
      ] as const
    ).map(([name, text]) => ({
      name,
      text,
      path: (w: { startMs: number; endMs: number }) => `/api/metrics/query_range?q=${enc(text)}&start=${sec(w.startMs)}&end=${sec(w.endMs)}&step=5m`,
      answer: (body: unknown) => {
        // Spans counted per series: the rates (per second) times the step, summed.
        const series = (body as { series?: { labels: { key: string; value: unknown }[]; samples: { value: number }[] }[] }).series ?? [];
        const per = series.map((s) => `${JSON.stringify(s.labels)}=${Math.round(s.samples.reduce((n, x) => n + x.value * 300, 0))}`).sort();
        return { answer: per.join(";"), results: series.length };
      },
    })),
    { name: "pruned", text: `{ resource.service.name = "payment" && duration > 500ms }`, path: tempoSearch(`{ resource.service.name = "payment" && duration > 500ms }`), answer: traceIdsOf },
    {
      name: "trace_by_id",
      text: "/api/traces/<id> (24h: with the window as start/end; long window: no range)",
      path: (w, long) => {
        const x = pick(long ? ids : dayIds);
        return long ? `/api/traces/${x.traceId}` : `/api/traces/${x.traceId}?start=${sec(w.startMs)}&end=${sec(w.endMs)}`;
      },
      answer: (body) => {
        let spans = 0;
        for (const b of (body as { batches?: { scopeSpans: { spans: unknown[] }[] }[] }).batches ?? []) for (const ss of b.scopeSpans) spans += ss.spans.length;
        return { answer: spans > 0 ? "found" : "missing", results: spans };
      },
    },
  ];

  // Warm up: the isolate, the key cache, both configurations.
  for (let i = 0; i < 3; i++) {
    for (const config of CONFIGS) {
      await request(queries.find((q) => q.name === "trace_by_id")!.path(windows["24h"]!, false), config, TIMEOUT_MS);
      await request(queries.find((q) => q.name === "pruned")!.path(windows["24h"]!, false), config, TIMEOUT_MS);
    }
  }
  for (let i = 0; i < 30; i++) noops.push(await noop());

  const samples: Record<string, Record<Config, Sample[]>> = {};
  const problems: string[] = [];
  const tQueries = performance.now();
  for (const [wname, w] of Object.entries(windows)) {
    const long = wname !== "24h";
    const timeoutMs = long ? TIMEOUT_LONG_MS : TIMEOUT_MS;
    for (const q of queries) {
      const key = `${q.name}_${wname}`;
      const got: Record<Config, Sample[]> = { before: [], after: [] };
      const spent: Record<Config, number> = { before: 0, after: 0 };
      for (let rep = 0; rep < REPS; rep++) {
        const order = rep % 2 === 0 ? CONFIGS : ([...CONFIGS].reverse() as Config[]);
        const path = q.path(w, long); // the same request for both (trace by id: the same id)
        for (const config of order) {
          const prev = got[config];
          if (rep > 0 && (spent[config] >= BUDGET_MS || prev.some((s) => s.timedOut))) continue;
          const s = await request(path, config, timeoutMs);
          spent[config] += s.ms;
          if (s.status === 200) {
            Object.assign(s, q.answer(s.body));
            if (q.name === "trace_by_id" && s.results === 0) problems.push(`${key} ${config}: ${path} found no spans`);
          }
          else if (!s.timedOut) problems.push(`${key} ${config}: HTTP ${s.status} ${JSON.stringify(s.body).slice(0, 300)}`);
          delete (s as Partial<typeof s>).body;
          prev.push(s);
        }
        if (rep % 2 === 1) noops.push(await noop());
      }
      samples[key] = got;
      const line = (c: Config) => {
        const ss = got[c];
        return `${c} ${ss.length}x p50 ${round(pct(ss.map((s) => s.ms), 50))} ms${ss.some((s) => s.timedOut) ? " (timed out)" : ""}, ${pct(ss.map((s) => s.r2Reads), 50)} R2 reads (${Math.max(0, ...ss.map((s) => s.maxReadsPerInvocation))} most in one of ${pct(ss.map((s) => s.invocations), 50)} invocations), ${round(pct(ss.map((s) => s.r2Bytes), 50) / 2 ** 20, 2)} MiB, ${pct(ss.map((s) => s.d1Queries), 50)} D1, ${round(mean(ss.map((s) => s.cpuMs)))} ms CPU, ${ss[0]?.results ?? "?"} results`;
      };
      log(`${key}: ${line("before")} | ${line("after")}`);
      // Answers must not depend on the configuration (trace by id: same id in a rep only).
      const a = got.before.find((s) => s.status === 200)?.answer;
      const b = got.after.find((s) => s.status === 200)?.answer;
      if (q.name !== "trace_by_id" && a !== undefined && b !== undefined && a !== b) problems.push(`${key}: before and after answer differently (${a.slice(0, 200)} | ${b.slice(0, 200)})`);
    }
  }
  const queriesS = (performance.now() - tQueries) / 1000;
  const overhead = pct(noops, 50);
  log(`no-op request: p50 ${round(overhead, 2)} ms (subtracted)`);
  for (const p of problems) log(`PROBLEM: ${p}`);

  // ---- figures ---------------------------------------------------------------------------------
  const out: Record<string, unknown> = {};
  const P = "search-scale.";
  out[`${P}days`] = DAYS;
  out[`${P}blocks`] = blockCount;
  out[`${P}spans`] = spansAll;
  out[`${P}spans_24h`] = spansDay;
  out[`${P}block_mib`] = round(bytesAll / 2 ** 20);
  out[`${P}metric_rows`] = storedRows;
  out[`${P}latency_ms_per_storage_call`] = LATENCY_MS;
  out[`${P}storage_calls_in_flight_per_invocation`] = INFLIGHT;
  out[`${P}noop_request_ms`] = round(overhead, 2);
  const fig: Record<string, Record<Config, { p50: number; p99: number; reads: number; bytes: number; maxReads: number; timedOut: number }>> = {};
  for (const [key, got] of Object.entries(samples)) {
    fig[key] = {} as (typeof fig)[string];
    for (const c of CONFIGS) {
      const ss = got[c];
      const ms = ss.map((s) => Math.max(0, s.ms - overhead));
      const f = {
        p50: round(pct(ms, 50)),
        p99: round(pct(ms, 99)),
        reads: pct(ss.map((s) => s.r2Reads), 50),
        bytes: pct(ss.map((s) => s.r2Bytes), 50),
        maxReads: Math.max(0, ...ss.map((s) => s.maxReadsPerInvocation)),
        timedOut: ss.filter((s) => s.timedOut).length,
      };
      fig[key]![c] = f;
      out[`${P}${key}_p50_ms_${c}`] = f.p50;
      out[`${P}${key}_p99_ms_${c}`] = f.p99;
      out[`${P}${key}_runs_${c}`] = ss.length;
      if (f.timedOut) out[`${P}${key}_timed_out_${c}`] = f.timedOut;
      out[`${P}${key}_r2_reads_${c}`] = f.reads;
      out[`${P}${key}_r2_bytes_${c}`] = f.bytes;
      out[`${P}${key}_max_r2_reads_per_invocation_${c}`] = f.maxReads;
      out[`${P}${key}_invocations_${c}`] = pct(ss.map((s) => s.invocations), 50);
      out[`${P}${key}_d1_queries_${c}`] = pct(ss.map((s) => s.d1Queries), 50);
      out[`${P}${key}_cpu_ms_${c}`] = round(mean(ss.map((s) => s.cpuMs)));
      out[`${P}${key}_results_${c}`] = ss.find((s) => s.status === 200)?.results ?? null;
    }
    out[`${P}${key}_p50_ratio_before_after`] = fig[key]!.after.p50 > 0 ? round(fig[key]!.before.p50 / fig[key]!.after.p50, 2) : null;
  }

  // ---- the targets, for "after" --------------------------------------------------------
  const after = (key: string) => fig[key]?.after;
  const under = (key: string, ms: number) => {
    const f = after(key);
    return f ? f.p50 < ms && f.timedOut === 0 : null;
  };
  out[`${P}target_needle_24h_p50_under_1s`] = under("needle_24h", 1000);
  out[`${P}target_needle_24h_read_under_1mb`] = after("needle_24h") ? after("needle_24h")!.bytes < 1_000_000 && after("needle_24h")!.timedOut === 0 : null;
  out[`${P}target_structural_24h_under_1s`] = under("structural_24h", 1000);
  out[`${P}target_rate_24h_under_300ms`] = under("rate_24h", 300);
  const maxReads24h = Math.max(...Object.entries(fig).filter(([k]) => k.endsWith("_24h")).map(([, f]) => f.after.maxReads));
  out[`${P}max_r2_reads_per_invocation_24h_after`] = maxReads24h;
  out[`${P}target_no_invocation_over_500_r2_reads_24h`] = maxReads24h <= 500 && !Object.entries(fig).some(([k, f]) => k.endsWith("_24h") && f.after.timedOut > 0);
  if (windows["7d"]) {
    const slow = Object.entries(fig).filter(([k, f]) => k.endsWith("_7d") && (f.after.p50 >= 3000 || f.after.timedOut > 0)).map(([k]) => k.replace(/_7d$/, ""));
    out[`${P}target_7d_every_query_under_3s`] = slow.length === 0;
    out[`${P}target_7d_over_3s`] = slow.join(",");
    out[`${P}max_r2_reads_per_invocation_7d_after`] = Math.max(...Object.entries(fig).filter(([k]) => k.endsWith("_7d")).map(([, f]) => f.after.maxReads));
  }
  const targets = Object.entries(out).filter(([k, v]) => k.startsWith(`${P}target_`) && typeof v === "boolean");
  out[`${P}targets_met`] = `${targets.filter(([, v]) => v).length}/${targets.length}`;
  out[`${P}problems`] = problems.length;
  out[`${P}setup_s`] = round(setupS);
  out[`${P}queries_s`] = round(queriesS);
  for (const q of queries) out[`${P}query_${q.name}`] = q.text;
  console.log(JSON.stringify(out));
} finally {
  await dispose();
}
