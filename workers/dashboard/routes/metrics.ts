/**
 * @module
 * Tempo's TraceQL metrics API under /api:
 *
 * - `GET /api/metrics/query_range`: `q` (required; `<spanset query> | rate()`,
 *   `| count_over_time()`, `| quantile_over_time(duration, q1, ...)`, `| min_over_time(f)`,
 *   `max_`, `sum_`, `avg_over_time(f)`, `| histogram_over_time(f)` or `| compare({ filter }[, topN[,
 *   start ns, end ns]])` (Tempo's `__meta_type` series), each but compare with an optional
 *   `by(...)`, then optional `| topk(k)`, `| bottomk(k)`, thresholds (`> 10`) and `with(...)`
 *   hints; see `shared/traceql/metrics.ts`), `start`/`end` (epoch seconds, fractions allowed,
 *   or epoch nanoseconds; default the last hour; end exclusive; at most 7 days apart), `step` (a Go
 *   duration like `30s`, or seconds; default the smallest whole number of seconds giving at most
 *   100 buckets; more than 11000 buckets is a 400). Answers Tempo's
 *   `{series:[{labels:[{key, value}], samples:[{timestampMs, value}], promLabels}], metrics}`;
 *   a sample's `timestampMs` is its bucket's start, rates are per second, quantiles are span
 *   durations in seconds, histograms are series labelled `__bucket` (the bucket's upper bound, a
 *   double). A bad or unsupported query is a 400 with its `position`. `with(...)` hints are not
 *   honoured (the answer always counts every matching span): such an answer carries
 *   `warnings: [...]` naming them and the header `Edgetrace-Metrics-Warning`.
 *
 * A query the per-minute rows answer (`shared/traceql/metrics-from-rollups.ts`: over whole minutes,
 * rate, count or duration quantiles of all spans by service with conditions on the service and
 * the status, from the service rows; of SERVER/CLIENT/PRODUCER/CONSUMER spans by service, name or
 * kind, from the operation rows; counts exact, quantiles within 4.33%) is answered from them,
 * reading no block: `metrics.inspectedBytes` is "0" and the header `Edgetrace-Metrics-Source` says
 * `rollups` (else `blocks`): Tempo's `metrics` object (SearchMetrics) has no field for it, and
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
import { badParam, metricsRange, TEMPO_STYLE, traceqlErrorBody } from "../../../shared/http/params.ts";
import { anyBlockWithUnnamedService } from "../../../shared/db/queries/block-services.ts";
import type { Db } from "../../../shared/db/client.ts";
import { metricsQueryRange } from "../../../shared/search/metrics-blocks.ts";
import { readOperationRollupRows, readServiceRowsWithOpen } from "../../../shared/storage/metrics-reader.ts";
import { TraceQLError } from "../../../shared/traceql/index.ts";
import { finishSeries, hintWarnings, parseMetricsQuery, type Bucketing, type MetricsQuery, type Series } from "../../../shared/traceql/metrics.ts";
import { metricsFromRollups, metricsFromServiceRollups, rollupSource } from "../../../shared/traceql/metrics-from-rollups.ts";
import { readRoute, type DashboardApp } from "../context.ts";
import { scanSettings, tenantObjectOf, type DashboardEnv } from "../env.ts";
import { metricsFanOut } from "../scan-jobs.ts";

/** The header naming where an answer came from: `rollups` (the per-minute rows) or `blocks`. */
export const METRICS_SOURCE_HEADER = "Edgetrace-Metrics-Source";
/** Set when the query had `with(...)` hints, which are not honoured: what was ignored. */
export const METRICS_WARNING_HEADER = "Edgetrace-Metrics-Warning";

/**
 * The answer from the per-minute rows, or undefined when they cannot give the block scan's (see
 * metrics-from-rollups.ts) or the operator turned it off. From the service rows: their read (summed
 * per step by D1, or per minute with histograms for quantiles) and the object's open ones. From the
 * operation rows: a catalog query (any block in range with spans lacking a service name?) and the
 * rows' read, in parallel.
 */
export async function seriesFromRollups(env: Pick<DashboardEnv, "TENANTS" | "METRICS_FROM_ROLLUPS">, db: Db, tenantId: string, mq: MetricsQuery, range: Bucketing): Promise<Series[] | undefined> {
  if (env.METRICS_FROM_ROLLUPS === "0") return undefined;
  const source = rollupSource(mq);
  if (source === "services") {
    let read: Awaited<ReturnType<typeof readServiceRowsWithOpen>>;
    try {
      read = await readServiceRowsWithOpen(db, tenantObjectOf(env, tenantId), tenantId, range, { durations: mq.fn === "quantile_over_time" });
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
    readOperationRollupRows(db, tenantObjectOf(env, tenantId), tenantId, range, { durations: mq.fn === "quantile_over_time" }),
  ]);
  const series = metricsFromRollups(mq, range, rows, { everySpanNamed: !unnamed });
  return series && finishSeries(mq, series);
}

type MetricsContext = Context<DashboardApp>;

/**
 * The series of `q` over `range` (rows or blocks), with Tempo's `metrics` and our warnings, or a
 * 400 answer for a bad query. Sets the source and warning headers.
 */
async function answerMetrics(c: MetricsContext, range: Bucketing): Promise<Response | { series: Series[]; extra: { warnings?: string[] }; metrics: Record<string, string | number> }> {
  const q = c.req.query("q")?.trim();
  if (!q) throw badParam(TEMPO_STYLE, "q", "a TraceQL metrics query is required");
  let mq: MetricsQuery;
  try {
    mq = parseMetricsQuery(q);
  } catch (err) {
    if (!(err instanceof TraceQLError)) throw err;
    return c.json(traceqlErrorBody(err), 400);
  }
  const { db, store, tenantId } = c.var;
  // Hints are accepted and not honoured: say so, in a header and in the body (only then).
  const warnings = hintWarnings(mq);
  if (warnings.length) c.header(METRICS_WARNING_HEADER, warnings.join("; "));
  const extra = warnings.length ? { warnings } : {};
  const fromRows = await seriesFromRollups(c.env, db, tenantId, mq, range);
  if (fromRows) {
    c.header(METRICS_SOURCE_HEADER, "rollups");
    return { series: fromRows, extra, metrics: { inspectedBytes: "0", inspectedTraces: 0, inspectedSpans: "0", totalBlocks: 0, completedJobs: 0, totalJobs: 0 } };
  }
  const result = await metricsQueryRange(db, store, tenantId, mq, range, { ...scanSettings(c.env), fanOut: metricsFanOut(c.env, tenantId, mq, range) });
  const m = result.metrics;
  c.header(METRICS_SOURCE_HEADER, "blocks");
  return {
    series: result.series,
    extra,
    metrics: { inspectedBytes: String(m.inspectedBytes), inspectedTraces: m.inspectedTraces, inspectedSpans: String(m.inspectedSpans), totalBlocks: m.totalBlocks, completedJobs: m.completedJobs, totalJobs: m.totalJobs },
  };
}

export const metrics = new Hono<DashboardApp>()
  .get("/metrics/query_range", readRoute, async (c) => {
    const a = await answerMetrics(c, metricsRange(c.req.query()));
    if (a instanceof Response) return a;
    return c.json({ series: a.series, ...a.extra, metrics: a.metrics });
  })
  // Instant: the whole window as one step; each series' one value (series without one are left out).
  .get("/metrics/query", readRoute, async (c) => {
    const { step: _step, ...query } = c.req.query();
    const r = metricsRange(query);
    const a = await answerMetrics(c, { startMs: r.startMs, endMs: r.endMs, stepMs: r.endMs - r.startMs });
    if (a instanceof Response) return a;
    const series = a.series.flatMap((s) => (s.samples[0] ? [{ labels: s.labels, value: s.samples[0].value, promLabels: s.promLabels }] : []));
    return c.json({ series, ...a.extra, metrics: a.metrics });
  });
