/**
 * @module
 * The Tempo-compatible query API (what Grafana's Tempo datasource calls), under /api. Every route
 * needs a key with the `read` scope and sees only that key's tenant. Built so far: echo and trace
 * by id (v1 `{batches}` and v2 `{trace}` shapes, OTLP JSON).
 */
import { Hono } from "hono";
import type { Principal } from "../../../shared/auth/authenticate.ts";
import { indexStore } from "../../../shared/db/select-index-store.ts";
import { ApiError } from "../../../shared/http/errors.ts";
import { keyAuth } from "../../../shared/http/middleware/key-auth.ts";
import { parseEpochSecondsRange, parseTraceIdParam } from "../../../shared/api/trace-id.ts";
import { r2Store } from "../../../shared/storage/object-store.ts";
import { findTrace } from "../../../shared/storage/trace-reader.ts";
import type { DashboardEnv } from "../env.ts";

type TempoApp = { Bindings: DashboardEnv; Variables: { principal: Principal } };

async function traceById(env: DashboardEnv, tenantId: string, rawId: string, start?: string, end?: string) {
  const traceId = parseTraceIdParam(rawId);
  const found = await findTrace(await indexStore(env), r2Store(env.SPANS), tenantId, traceId, parseEpochSecondsRange(start, end));
  // Another tenant's trace answers exactly like a missing one.
  if (!found) throw new ApiError(404, "trace_not_found", `trace ${traceId} not found`);
  return found.resourceSpans;
}

export const tempo = new Hono<TempoApp>()
  .use("*", keyAuth({ scope: "read" }))
  .get("/echo", (c) => c.text("echo"))
  .get("/traces/:traceId", async (c) => {
    const resourceSpans = await traceById(c.env, c.var.principal.tenantId, c.req.param("traceId"), c.req.query("start"), c.req.query("end"));
    return c.json({ batches: resourceSpans });
  })
  .get("/v2/traces/:traceId", async (c) => {
    const resourceSpans = await traceById(c.env, c.var.principal.tenantId, c.req.param("traceId"), c.req.query("start"), c.req.query("end"));
    return c.json({ trace: { resourceSpans } });
  });
