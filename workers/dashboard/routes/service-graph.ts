/**
 * @module
 * The service-graph API under /api: `GET /api/service-graph` (nodes and edges of a window) and
 * `GET /api/services/{service}/operations/metrics` (RED per operation), both from the per-minute
 * rows (D1 plus the minutes the assembler has not closed yet). `serviceGraphFor` serves the Jaeger
 * and Zipkin dependencies too (their links: shared/servicegraph/dependencies.ts), and the recent
 * rows their lists of services and operations.
 *
 * Every route needs a key with the `read` scope and sees only that key's tenant. `start` and `end`
 * are epoch seconds, default the last hour; a window longer than 7 days is refused, since every
 * minute row of the window is read (shared/http/params.ts `serviceGraphWindow`).
 *
 * The auth middleware is per route rather than `use("*")`: this app is mounted at /api next to the
 * Tempo app, and a `*` middleware would run for the Tempo routes too. Mounted before the Tempo app,
 * these routes answer before the Tempo app's `*` auth would run again.
 */
import { Hono } from "hono";
import { serviceGraphWindow } from "../../../shared/http/params.ts";
import { summarizeOperations, type OperationMetrics, type OperationRow } from "../../../shared/metrics/red.ts";
import type { TimeWindow } from "../../../shared/metrics/rows.ts";
import { foldServiceGraph, type EdgeRow, type ServiceGraph } from "../../../shared/servicegraph/aggregate.ts";
import { readEdgeRowsWithOpen, readOperationRowsWithOpen } from "../../../shared/storage/metrics-reader.ts";
import { readRoute, type DashboardApp, type RouteContext } from "../context.ts";
import { tenantObjectOf } from "../env.ts";

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

export const serviceGraph = new Hono<DashboardApp>()
  .get("/service-graph", readRoute, async (c) => {
    const window = serviceGraphWindow(c.req.query());
    return c.json(await serviceGraphFor(c, window));
  })
  .get("/services/:service/operations/metrics", readRoute, async (c) => {
    const window = serviceGraphWindow(c.req.query());
    const service = c.req.param("service");
    const operations = await operationMetricsFor(c, service, window);
    return c.json({ service, start: window.start, end: window.end, operations });
  });
