/**
 * @module
 * Tempo's TraceQL metrics API under /api:
 *
 * - `GET /api/metrics/query_range`: `q` (required; `<spanset query> | rate()`,
 *   `| count_over_time()`, `| quantile_over_time(f, q1, ...)`, `| min_over_time(f)`,
 *   `max_`, `sum_`, `avg_over_time(f)`, `| histogram_over_time(f)` or `| compare({ filter }[, topN[,
 *   start ns, end ns]])` (Tempo's `__meta_type` series), each but compare with an optional
 *   `by(...)`, then optional `| topk(k)`, `| bottomk(k)`, thresholds (`> 10`); such queries
 *   combined by arithmetic with each other and numbers (`({ status = error } | rate()) / ({ } |
 *   rate())`, `{ } | rate() * 60`; series matched by labels, `shared/traceql/metrics-arithmetic.ts`);
 *   then `with(...)` hints; see `shared/traceql/metrics.ts`), `start`/`end` (epoch seconds,
 *   fractions allowed, or epoch nanoseconds; default the last hour; end exclusive; at most 7 days
 *   apart), `step` (a Go duration like `30s`, or seconds; default the smallest whole number of
 *   seconds giving at most 100 buckets; more than 11000 buckets is a 400), `exemplars` (a whole
 *   number: exemplars per series, at most 100; default none, or 100 with `with(exemplars=true)`;
 *   `with(exemplars=false)` turns them off). Answers Tempo's
 *   `{series:[{labels:[{key, value}], samples:[{timestampMs, value}], promLabels, exemplars?}], metrics}`;
 *   a sample's `timestampMs` is its bucket's start, rates are per second, quantiles of durations
 *   are in seconds, histograms are series labelled `__bucket` (the bucket's upper bound, a
 *   double). An exemplar is a span of the series, `{labels:[trace:id, span:id], value,
 *   timestampMs}` (the span's start; value: the span's field, or for rate/count the sample's), at
 *   most 2 per 1/(n/2) of the window, first to start first, only at steps with a sample; an
 *   answer from the per-minute rows (which name no span) takes them from the matching spans of
 *   the newest ROLLUP_EXEMPLAR_BLOCKS blocks only (then `metrics.inspectedBytes` is what those
 *   cost). A bad or unsupported query is a 400 with its `position`.
 *   `with(sample=f)` / `trace_sample=f` / `span_sample=f` count a deterministic fraction of the
 *   traces (spans) and scale counts and sums by 1/f; other hints (`sample=true`, ...) are not
 *   honoured. What happened with hints, samples and exemplars is in `warnings: [...]` and the
 *   header `Edgetrace-Metrics-Warning` (absent when there is nothing to say).
 *
 * A query the per-minute rows answer (`shared/traceql/metrics-from-rollups.ts`: over whole minutes,
 * rate, count or duration quantiles of all spans by service with conditions on the service and
 * the status, from the service rows; of SERVER/CLIENT/PRODUCER/CONSUMER spans by service, name or
 * kind, from the operation rows; counts exact, quantiles within 4.33%) is answered from them,
 * reading no block (but for exemplars, above): `metrics.inspectedBytes` is "0" and the header `Edgetrace-Metrics-Source` says
 * `rollups` (else `blocks`; `mixed` when the queries of an arithmetic expression differ): Tempo's `metrics` object (SearchMetrics) has no field for it, and
 * Grafana decodes the body as that protobuf message (today allowing unknown fields, as a
 * stopgap). `METRICS_FROM_ROLLUPS=0` turns this off.
 *
 * - `GET /api/metrics/query`: the instant query, Tempo's `{series:[{labels, value, promLabels}],
 *   metrics}`: the same over `start`..`end` as one step (no `step`), so `rate()` is per second of
 *   the whole window; a series without a value there is left out.
 *
 * Needs a key with the `read` scope; sees only that key's tenant. Mounted before the Tempo app.
 */
import { Hono, type Context } from "hono";
import { badParam, metricsRange, param, TEMPO_STYLE, traceqlErrorBody, wholeNumber } from "../../../shared/http/params.ts";
import { anyBlockWithUnnamedService } from "../../../shared/db/queries/block-services.ts";
import type { Db } from "../../../shared/db/client.ts";
import { metricsQueryRange } from "../../../shared/search/metrics-blocks.ts";
import { readOperationRollupRows, readServiceRowsWithOpen } from "../../../shared/storage/metrics-reader.ts";
import { TraceQLError } from "../../../shared/traceql/index.ts";
import { finishSeries, hintWarnings, MAX_EXEMPLARS, withExemplarsOf, metricsQueries, parseMetricsExpression, sampleNotes, type Bucketing, type MetricsExpression, type MetricsQuery, type Series } from "../../../shared/traceql/metrics.ts";
import { evaluateMetricsExpr, exemplarsAtSamples } from "../../../shared/traceql/metrics-arithmetic.ts";
import { metricsFromRollups, metricsFromServiceRollups, readsRollupHistograms, rollupSource } from "../../../shared/traceql/metrics-from-rollups.ts";
import { readRoute, type DashboardApp } from "../context.ts";
import { scanSettings, tenantObjectOf, type DashboardEnv } from "../env.ts";
import { metricsFanOut } from "../scan-jobs.ts";

/** The header naming where an answer came from: `rollups` (the per-minute rows) or `blocks`. */
export const METRICS_SOURCE_HEADER = "Edgetrace-Metrics-Source";
/** Set when there is something to say of hints, samples or exemplars (the body's `warnings`). */
export const METRICS_WARNING_HEADER = "Edgetrace-Metrics-Warning";

/**
 * The answer from the per-minute rows, or undefined when they cannot give the block scan's (see
 * metrics-from-rollups.ts) or the operator turned it off. From the service rows: their read (summed
 * per step by D1, or per minute with histograms for quantiles and histogram_over_time) and the object's open ones. From the
 * operation rows: a catalog query (any block in range with spans lacking a service name?) and the
 * rows' read, in parallel.
 */
export async function seriesFromRollups(env: Pick<DashboardEnv, "TENANTS" | "METRICS_FROM_ROLLUPS">, db: Db, tenantId: string, mq: MetricsQuery, range: Bucketing): Promise<Series[] | undefined> {
  if (env.METRICS_FROM_ROLLUPS === "0") return undefined;
  const source = rollupSource(mq);
  if (source === "services") {
    let read: Awaited<ReturnType<typeof readServiceRowsWithOpen>>;
    try {
      read = await readServiceRowsWithOpen(db, tenantObjectOf(env, tenantId), tenantId, range, { durations: readsRollupHistograms(mq) });
    } catch (err) {
      // A tenant object of the version before service rows (during a deploy) has no serviceRows().
      console.warn("metrics: service rows unavailable, scanning", err);
      return undefined;
    }
    const series = metricsFromServiceRollups(mq, range, read.rows, { from: read.from });
    return series && finishSeries(mq, series);
  }
  if (source !== "operations") return undefined;
  const [unnamed, rows] = await Promise.all([
    anyBlockWithUnnamedService(db, tenantId, { startMs: range.startMs, endMs: range.endMs - 1 }),
    readOperationRollupRows(db, tenantObjectOf(env, tenantId), tenantId, range, { durations: readsRollupHistograms(mq) }),
  ]);
  const series = metricsFromRollups(mq, range, rows, { everySpanNamed: !unnamed });
  return series && finishSeries(mq, series);
}

type MetricsContext = Context<DashboardApp>;

type MetricsNumbers = { inspectedBytes: number; inspectedTraces: number; inspectedSpans: number; totalBlocks: number; completedJobs: number; totalJobs: number };

/** Blocks an answer from the rows reads for its exemplars: the newest few (a bounded sample of spans). */
export const ROLLUP_EXEMPLAR_BLOCKS = 4;

/**
 * One query's series (rows or blocks), where they came from and what was read. `mq.exemplars`
 * asks the scan for exemplars; rows have none.
 */
async function querySeries(c: MetricsContext, mq: MetricsQuery, range: Bucketing): Promise<{ series: Series[]; source: "rollups" | "blocks"; numbers: MetricsNumbers }> {
  const { db, store, tenantId } = c.var;
  const fromRows = await seriesFromRollups(c.env, db, tenantId, mq, range);
  if (fromRows && mq.exemplars) {
    // The rows name no span: the exemplars come from the newest blocks' matching spans (stages left to the rows' series).
    const sample = await metricsQueryRange(db, store, tenantId, { ...mq, stages: [] }, range, { ...scanSettings(c.env), maxBlocks: ROLLUP_EXEMPLAR_BLOCKS });
    const series = withExemplarsOf(fromRows, sample.series, range, mq.fn !== "quantile_over_time");
    return { series, source: "rollups", numbers: { ...sample.metrics, totalBlocks: 0, completedJobs: 0, totalJobs: 0 } };
  }
  if (fromRows) return { series: fromRows, source: "rollups", numbers: { inspectedBytes: 0, inspectedTraces: 0, inspectedSpans: 0, totalBlocks: 0, completedJobs: 0, totalJobs: 0 } };
  const result = await metricsQueryRange(db, store, tenantId, mq, range, { ...scanSettings(c.env), fanOut: metricsFanOut(c.env, tenantId, mq, range) });
  return { series: result.series, source: "blocks", numbers: result.metrics };
}

/**
 * The series of `q` over `range` (each query from rows or blocks, then the arithmetic), with
 * Tempo's `metrics` (summed over the queries) and our warnings, or a 400 answer for a bad query.
 * Sets the source and warning headers. `exemplars`: per series, when asked (see the module comment).
 */
async function answerMetrics(c: MetricsContext, range: Bucketing, exemplarsParam: number | undefined): Promise<Response | { series: Series[]; extra: { warnings?: string[] }; metrics: Record<string, string | number> }> {
  const q = c.req.query("q")?.trim();
  if (!q) throw badParam(TEMPO_STYLE, "q", "a TraceQL metrics query is required");
  let parsed: MetricsExpression;
  try {
    parsed = parseMetricsExpression(q);
  } catch (err) {
    if (!(err instanceof TraceQLError)) throw err;
    return c.json(traceqlErrorBody(err), 400);
  }
  const queries = metricsQueries(parsed.expr);
  // Exemplars: the `exemplars` parameter (capped at Tempo's 100), or with(exemplars=true) alone; with(exemplars=false) wins.
  const hint = parsed.hints.find((h) => h.name === "exemplars")?.value;
  const exemplars = hint === false ? 0 : Math.min(MAX_EXEMPLARS, exemplarsParam ?? (hint === true ? MAX_EXEMPLARS : 0));
  const answers = await Promise.all(queries.map((mq) => querySeries(c, { ...mq, exemplars }, range)));
  const first = queries[0]!;
  const warnings = [...hintWarnings(first), ...(answers.some((a) => a.source === "blocks") ? sampleNotes(first) : [])];
  if (first.sample && answers.some((a) => a.source === "rollups")) warnings.push("sample hint: the per-minute rows answered exactly, every matching span counted");
  if (warnings.length) c.header(METRICS_WARNING_HEADER, warnings.join("; "));
  const sources = new Set(answers.map((a) => a.source));
  c.header(METRICS_SOURCE_HEADER, sources.size === 1 ? [...sources][0]! : "mixed");
  const series = exemplarsAtSamples(evaluateMetricsExpr(parsed.expr, answers.map((a) => a.series), range), range);
  const sum = (k: keyof MetricsNumbers) => answers.reduce((n, a) => n + a.numbers[k], 0);
  return {
    series,
    extra: warnings.length ? { warnings } : {},
    metrics: { inspectedBytes: String(sum("inspectedBytes")), inspectedTraces: sum("inspectedTraces"), inspectedSpans: String(sum("inspectedSpans")), totalBlocks: sum("totalBlocks"), completedJobs: sum("completedJobs"), totalJobs: sum("totalJobs") },
  };
}

export const metrics = new Hono<DashboardApp>()
  .get("/metrics/query_range", readRoute, async (c) => {
    const { exemplars, ...query } = c.req.query();
    const a = await answerMetrics(c, metricsRange(query), param(TEMPO_STYLE, "exemplars", exemplars, wholeNumber(0, 9_999_999)));
    if (a instanceof Response) return a;
    return c.json({ series: a.series, ...a.extra, metrics: a.metrics });
  })
  // Instant: the whole window as one step; each series' one value (series without one are left out).
  .get("/metrics/query", readRoute, async (c) => {
    const { step: _step, exemplars: _exemplars, ...query } = c.req.query();
    const r = metricsRange(query);
    // Tempo's instant answer has no exemplars.
    const a = await answerMetrics(c, { startMs: r.startMs, endMs: r.endMs, stepMs: r.endMs - r.startMs }, 0);
    if (a instanceof Response) return a;
    const series = a.series.flatMap((s) => (s.samples[0] ? [{ labels: s.labels, value: s.samples[0].value, promLabels: s.promLabels }] : []));
    return c.json({ series, ...a.extra, metrics: a.metrics });
  });
