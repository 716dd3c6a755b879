/**
 * @module
 * The service-graph API under /api: `GET /api/service-graph` (nodes and edges of a window) and
 * `GET /api/services/{service}/operations/metrics` (RED per operation), both from the per-minute
 * rows (D1 plus the minutes the assembler has not closed yet). `serviceGraphFor` and the window
 * parsers serve the Jaeger and Zipkin dependencies too (their links: shared/servicegraph/
 * dependencies.ts).
 *
 * Every route needs a key with the `read` scope and sees only that key's tenant. `start` and `end`
 * are epoch seconds, default the last hour; a window longer than 7 days is refused, since every
 * minute row of the window is read.
 *
 * The auth middleware is per route rather than `use("*")`: this app is mounted at /api next to the
 * Tempo app, and a `*` middleware would run for the Tempo routes too. Mounted before the Tempo app,
 * these routes answer before the Tempo app's `*` auth would run again.
 */
import { Hono } from "hono";
import { z } from "zod";
import { ApiError } from "../../../shared/http/errors.ts";
import { summarizeOperations, type OperationMetrics, type OperationRow } from "../../../shared/metrics/red.ts";
import type { TimeWindow } from "../../../shared/metrics/rows.ts";
import { foldServiceGraph, type EdgeRow, type ServiceGraph } from "../../../shared/servicegraph/aggregate.ts";
import { readEdgeRowsWithOpen, readOperationRowsWithOpen } from "../../../shared/storage/metrics-reader.ts";
import { readRoute, type DashboardApp, type RouteContext } from "../context.ts";
import { tenantObjectOf } from "../env.ts";

/** The longest window a query may ask for, in seconds. */
export const MAX_WINDOW_SECONDS = 7 * 24 * 3600;
const DEFAULT_WINDOW_SECONDS = 3600;

const epochSeconds = z.string().regex(/^\d{1,12}$/, "must be epoch seconds (digits)");
const WindowQuery = z.strictObject({ start: epochSeconds.optional(), end: epochSeconds.optional() });

/** Parses a query object with zod; the first problem becomes a 400 naming its parameter. */
function parseQuery<S extends z.ZodType>(schema: S, query: Record<string, string>): z.infer<S> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const names = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.join(".");
    const message = issue.code === "unrecognized_keys" ? "unknown parameter" : issue.message;
    throw new ApiError(400, "invalid_parameter", `${names || "(query)"}: ${message}`);
  }
  return parsed.data;
}

/** `start`/`end` (epoch seconds, optional) as a window: defaults to the hour before `end` (now). */
export function parseWindow(query: Record<string, string>, nowSeconds = Math.floor(Date.now() / 1000)): TimeWindow {
  const q = parseQuery(WindowQuery, query);
  const end = q.end !== undefined ? Number(q.end) : nowSeconds;
  const start = q.start !== undefined ? Number(q.start) : end - DEFAULT_WINDOW_SECONDS;
  if (start >= end) throw new ApiError(400, "invalid_parameter", "start: must be before end");
  if (end - start > MAX_WINDOW_SECONDS) throw new ApiError(400, "invalid_parameter", `start: the window from start to end may be at most ${MAX_WINDOW_SECONDS} seconds (7 days)`);
  return { start, end };
}

/** The tenant's edge rows over the window: D1's and the open minutes of its object. */
function edgeRows(c: RouteContext, window: TimeWindow): Promise<EdgeRow[]> {
  return readEdgeRowsWithOpen(c.var.db, tenantObjectOf(c.env, c.var.tenantId), c.var.tenantId, window);
}

/** The tenant's operation rows (RED per service, span name and kind) over the window, the same way. */
function operationRows(c: RouteContext, window: TimeWindow): Promise<OperationRow[]> {
  return readOperationRowsWithOpen(c.var.db, tenantObjectOf(c.env, c.var.tenantId), c.var.tenantId, window);
}

/** How far back the Jaeger and Zipkin lists (services, operations, span names, remote services) look. */
const LOOKBACK_SECONDS = 7 * 24 * 3600;

function lookbackWindow(): TimeWindow {
  const now = Math.floor(Date.now() / 1000);
  return { start: now - LOOKBACK_SECONDS, end: now + 60 };
}

/** The operation rows of the last 7 days, for the Jaeger and Zipkin lists. */
export function recentOperationRows(c: RouteContext): Promise<OperationRow[]> {
  return operationRows(c, lookbackWindow());
}

/** The edge rows of the last 7 days, for Zipkin's remote services. */
export function recentEdgeRows(c: RouteContext): Promise<EdgeRow[]> {
  return edgeRows(c, lookbackWindow());
}

/** The tenant's service graph over the window. */
export async function serviceGraphFor(c: RouteContext, window: TimeWindow): Promise<ServiceGraph> {
  return foldServiceGraph(await edgeRows(c, window), window);
}

/** RED per operation (span name and kind) of one of the tenant's services over the window. */
async function operationMetricsFor(c: RouteContext, service: string, window: TimeWindow): Promise<OperationMetrics[]> {
  const rows = await operationRows(c, window);
  return summarizeOperations(rows.filter((r) => r.service === service), window);
}

const epochMillis = z.string().regex(/^\d{1,15}$/, "must be milliseconds (digits)");
const DependenciesQuery = z.object({ endTs: epochMillis.optional(), lookback: epochMillis.optional() });
const DEFAULT_LOOKBACK_MS = 24 * 3600 * 1000;

/** Jaeger's `endTs`/`lookback` (ms; default now and 1 day) as a window in epoch seconds. */
export function parseDependenciesWindow(query: Record<string, string>, nowMs = Date.now()): TimeWindow {
  const q = parseQuery(DependenciesQuery, query);
  const endMs = q.endTs !== undefined ? Number(q.endTs) : nowMs;
  const lookbackMs = q.lookback !== undefined ? Number(q.lookback) : DEFAULT_LOOKBACK_MS;
  if (lookbackMs <= 0) throw new ApiError(400, "invalid_parameter", "lookback: must be positive");
  if (lookbackMs > MAX_WINDOW_SECONDS * 1000) throw new ApiError(400, "invalid_parameter", `lookback: may be at most ${MAX_WINDOW_SECONDS * 1000} ms (7 days)`);
  return { start: Math.floor((endMs - lookbackMs) / 1000), end: Math.ceil(endMs / 1000) };
}

export const serviceGraph = new Hono<DashboardApp>()
  .get("/service-graph", readRoute, async (c) => {
    const window = parseWindow(c.req.query());
    return c.json(await serviceGraphFor(c, window));
  })
  .get("/services/:service/operations/metrics", readRoute, async (c) => {
    const window = parseWindow(c.req.query());
    const service = c.req.param("service");
    const operations = await operationMetricsFor(c, service, window);
    return c.json({ service, start: window.start, end: window.end, operations });
  });
