/**
 * @module
 * Zipkin's v2 query API (what Zipkin Lens calls), mounted at /zipkin so the base URL is
 * `<host>/zipkin`. Every route needs a key with the `read` scope and sees only that key's tenant.
 * Built so far: trace by id, traceMany, services, span names and remote services.
 *
 * Spans are encoded by shared/zipkin/encode.ts. Errors are plain-text bodies with the status, as
 * Zipkin's server answers them; a missing required parameter is a 400.
 *
 * Services and span names come from the per-minute RED rows of the last 7 days (D1 plus the open
 * minutes in the tenant's state object), so they list what was seen with a request-shaped span kind
 * (server, client, producer, consumer), as the Jaeger routes do. Remote services are the targets of
 * the service-graph edges whose source is the service, over the same 7 days.
 *
 * Names are answered as stored, not lowercased as Zipkin's own storage does: the trace view shows
 * the stored names, and lowercasing would make them differ. `serviceName` parameters match
 * case-insensitively, so a client that lowercases (Zipkin's convention) still finds its service.
 */
import { Hono } from "hono";
import type { Principal } from "../../../shared/auth/authenticate.ts";
import { parseTraceIdParam } from "../../../shared/api/trace-id.ts";
import { indexStore } from "../../../shared/db/select-index-store.ts";
import { ApiError } from "../../../shared/http/errors.ts";
import { keyAuth } from "../../../shared/http/middleware/key-auth.ts";
import { readEdgeRowsWithOpen, readOperationRowsWithOpen } from "../../../shared/storage/metrics-reader.ts";
import { r2Store } from "../../../shared/storage/object-store.ts";
import { findTrace } from "../../../shared/storage/trace-reader.ts";
import { encodeZipkinSpans, type ZipkinSpan } from "../../../shared/zipkin/encode.ts";
import type { DashboardEnv } from "../env.ts";

type ZipkinApp = { Bindings: DashboardEnv; Variables: { principal: Principal } };

/** How far back services, span names and remote services look. */
const LOOKBACK_SECONDS = 7 * 24 * 3600;

/** Most trace ids one traceMany request may ask for. */
const MAX_TRACE_IDS = 100;

function lookbackWindow() {
  const now = Math.floor(Date.now() / 1000);
  return { start: now - LOOKBACK_SECONDS, end: now + 60 };
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

function requiredServiceName(value: string | undefined): string {
  if (!value) throw new ApiError(400, "missing_service_name", "serviceName is required");
  return value.toLowerCase();
}

async function traceSpans(env: DashboardEnv, tenantId: string, traceId: string): Promise<ZipkinSpan[] | undefined> {
  const found = await findTrace(await indexStore(env), r2Store(env.SPANS), tenantId, traceId);
  return found && encodeZipkinSpans(found.resourceSpans);
}

export const zipkin = new Hono<ZipkinApp>()
  .use("*", keyAuth({ scope: "read" }))
  .get("/api/v2/trace/:traceId", async (c) => {
    const traceId = parseTraceIdParam(c.req.param("traceId"));
    const spans = await traceSpans(c.env, c.var.principal.tenantId, traceId);
    // Another tenant's trace answers exactly like a missing one.
    if (!spans) return c.text(`${c.req.param("traceId")} not found`, 404);
    return c.json(spans);
  })
  .get("/api/v2/traceMany", async (c) => {
    const raw = c.req.query("traceIds");
    if (!raw) throw new ApiError(400, "missing_trace_ids", "traceIds is required");
    const ids = [...new Set(raw.split(",").map((s) => s.trim()).filter((s) => s !== "").map(parseTraceIdParam))];
    // Zipkin's contract: fewer than two distinct ids belong to /trace/{traceId}.
    if (ids.length < 2) throw new ApiError(400, "too_few_trace_ids", "traceIds needs at least two distinct ids; use /api/v2/trace/{traceId} for one");
    if (ids.length > MAX_TRACE_IDS) throw new ApiError(400, "too_many_trace_ids", `traceIds takes at most ${MAX_TRACE_IDS} ids`);
    const traces = await Promise.all(ids.map((id) => traceSpans(c.env, c.var.principal.tenantId, id)));
    return c.json(traces.filter((t): t is ZipkinSpan[] => t !== undefined));
  })
  .get("/api/v2/services", async (c) => {
    const rows = await readOperationRowsWithOpen(await indexStore(c.env), r2Store(c.env.SPANS), c.var.principal.tenantId, lookbackWindow());
    return c.json(sorted(rows.map((r) => r.service)));
  })
  .get("/api/v2/spans", async (c) => {
    const service = requiredServiceName(c.req.query("serviceName"));
    const rows = await readOperationRowsWithOpen(await indexStore(c.env), r2Store(c.env.SPANS), c.var.principal.tenantId, lookbackWindow());
    return c.json(sorted(rows.filter((r) => r.service.toLowerCase() === service).map((r) => r.operation)));
  })
  .get("/api/v2/remoteServices", async (c) => {
    const service = requiredServiceName(c.req.query("serviceName"));
    const rows = await readEdgeRowsWithOpen(await indexStore(c.env), r2Store(c.env.SPANS), c.var.principal.tenantId, lookbackWindow());
    return c.json(sorted(rows.filter((r) => r.source.toLowerCase() === service).map((r) => r.target)));
  })
  .onError((err, c) => {
    const apiError = err instanceof ApiError ? err : new ApiError(500, "internal", "Internal error");
    if (!(err instanceof ApiError)) console.error("dashboard zipkin: unexpected error", err);
    if (apiError.retryAfterSeconds !== undefined) c.header("retry-after", String(apiError.retryAfterSeconds));
    return c.text(apiError.message, apiError.status);
  });
