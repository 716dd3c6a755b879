/**
 * @module
 * A Prometheus-compatible read API under /prometheus, for Grafana's Prometheus datasource and the
 * Service Graph of its Tempo datasource: the series Tempo's metrics-generator would write
 * (shared/prometheus/series.ts), computed from the tenant's per-minute edge and operation rows (D1
 * plus the tenant object's open minutes), and the PromQL subset Grafana sends for them
 * (shared/prometheus/parser.ts, eval.ts).
 *
 * - `GET|POST /api/v1/query` (`query`, `time`, `lookback_delta`) and `/api/v1/query_range`
 *   (`query`, `start`, `end`, `step`): Prometheus' `{status, data:{resultType, result}}`.
 * - `/api/v1/labels`, `/api/v1/label/<name>/values`, `/api/v1/series` (`match[]`, `start`, `end`,
 *   default the last hour), `/api/v1/metadata`, `/api/v1/status/buildinfo`, and an empty
 *   `/api/v1/query_exemplars` (the rows keep no exemplars).
 *
 * Parameters come from the URL and, for a form POST (Grafana's default), the body. A query
 * outside the subset, or a bad parameter, is Prometheus' error `{status:"error",
 * errorType:"bad_data", error}` with 400; every other error takes the same shape with its status.
 * Auth is the Tempo API's: a key (Bearer, Basic password or x-api-key) or session with the `read`
 * scope, and the rows read are that key's tenant's only.
 */
import { Hono } from "hono";
import { errorHandler } from "../../../shared/http/error-handler.ts";
import { BUILD_INFO, errorBody, instantParams, lookupParams, rangeParams, success, type Params, type Plan } from "../../../shared/prometheus/api.ts";
import { instantQuery, matchSeries, metricNamesOf, rangeQuery } from "../../../shared/prometheus/eval.ts";
import { PromQLError } from "../../../shared/prometheus/parser.ts";
import { edgeSeries, METRICS, operationSeries, SERVICE_GRAPH_PREFIX, SPAN_METRICS_PREFIX, type Series } from "../../../shared/prometheus/series.ts";
import { readEdgeRowsWithOpen, readOperationRowsWithOpen } from "../../../shared/storage/metrics-reader.ts";
import { readRoute, type DashboardApp, type RouteContext } from "../context.ts";
import { tenantObjectOf } from "../env.ts";

/** The URL's parameters and, for a form POST, the body's; repeated names (match[]) kept. */
async function paramsOf(c: RouteContext): Promise<Params> {
  const out: Params = {};
  const add = (entries: URLSearchParams) => {
    for (const [k, v] of entries) (out[k] ??= []).push(v);
  };
  add(new URL(c.req.url).searchParams);
  if (c.req.method === "POST" && (c.req.header("content-type") ?? "").includes("application/x-www-form-urlencoded")) add(new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer())));
  return out;
}

/** The tenant's series over [from, to) epoch seconds, reading only the row kinds the names need (undefined: both). */
async function seriesFor(c: RouteContext, window: { start: number; end: number }, names: string[] | undefined): Promise<Series[]> {
  const wants = (prefix: string) => names === undefined || names.some((n) => n.startsWith(prefix));
  const tenant = tenantObjectOf(c.env, c.var.tenantId);
  const [edges, operations] = await Promise.all([
    wants(SERVICE_GRAPH_PREFIX) ? readEdgeRowsWithOpen(c.var.db, tenant, c.var.tenantId, window) : [],
    wants(SPAN_METRICS_PREFIX) ? readOperationRowsWithOpen(c.var.db, tenant, c.var.tenantId, window) : [],
  ]);
  return [...edgeSeries(edges), ...operationSeries(operations)];
}

function planSeries(c: RouteContext, plan: Plan): Promise<Series[]> {
  const names = metricNamesOf(plan.expr);
  if (names !== undefined && names.length === 0) return Promise.resolve([]);
  return seriesFor(c, { start: plan.readFrom, end: plan.readTo }, names);
}

const now = () => Date.now() / 1000;

/** The series `match[]` selects over the lookup window (all of the window's when there is none). */
async function lookup(c: RouteContext, matchRequired: boolean): Promise<Series[]> {
  const { selectors, start, end } = lookupParams(await paramsOf(c), now(), { matchRequired });
  // Series with a minute overlapping [start, end].
  return matchSeries(await seriesFor(c, { start, end: end + 1 }, undefined), selectors);
}

async function query(c: RouteContext) {
  const p = instantParams(await paramsOf(c), now());
  return c.json(success(instantQuery(p.expr, await planSeries(c, p), p.time, p.opts)));
}

async function queryRange(c: RouteContext) {
  const p = rangeParams(await paramsOf(c));
  return c.json(success(rangeQuery(p.expr, await planSeries(c, p), p, p.opts)));
}

async function labels(c: RouteContext) {
  const names = new Set<string>();
  for (const s of await lookup(c, false)) for (const k of Object.keys(s.labels)) names.add(k);
  return c.json(success([...names].sort()));
}

async function labelValues(c: RouteContext) {
  const name = c.req.param("name")!;
  const values = new Set<string>();
  for (const s of await lookup(c, false)) {
    const v = s.labels[name];
    if (v !== undefined) values.add(v);
  }
  return c.json(success([...values].sort()));
}

async function series(c: RouteContext) {
  return c.json(success((await lookup(c, true)).map((s) => s.labels)));
}

/** Per metric family as Prometheus lists it: histograms under their base name. */
function metadata(c: RouteContext) {
  const metric = c.req.query("metric");
  const out: Record<string, { type: string; help: string; unit: string }[]> = {};
  for (const [name, m] of Object.entries(METRICS)) if (!metric || metric === name) out[name] = [{ type: m.type, help: m.help, unit: "" }];
  return c.json(success(out));
}

const base = errorHandler<DashboardApp>("prometheus", (c, err, headers) => c.json(errorBody(err.status, err.message), err.status, headers));

export const prometheus = new Hono<DashboardApp>()
  .get("/api/v1/query", readRoute, query)
  .post("/api/v1/query", readRoute, query)
  .get("/api/v1/query_range", readRoute, queryRange)
  .post("/api/v1/query_range", readRoute, queryRange)
  .get("/api/v1/labels", readRoute, labels)
  .post("/api/v1/labels", readRoute, labels)
  .get("/api/v1/label/:name/values", readRoute, labelValues)
  .get("/api/v1/series", readRoute, series)
  .post("/api/v1/series", readRoute, series)
  .get("/api/v1/metadata", readRoute, metadata)
  .get("/api/v1/status/buildinfo", readRoute, (c) => c.json(success(BUILD_INFO)))
  .get("/api/v1/query_exemplars", readRoute, (c) => c.json(success([])))
  .post("/api/v1/query_exemplars", readRoute, (c) => c.json(success([])));

// Prometheus' error shape for every error here; a query or parameter it cannot serve is bad_data.
prometheus.onError((err, c) => (err instanceof PromQLError ? c.json(errorBody(400, err.message), 400) : base(err, c)));
prometheus.notFound((c) => c.json(errorBody(404, `No route for ${c.req.method} ${c.req.path}`), 404));
