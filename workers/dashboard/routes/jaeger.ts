/**
 * @module
 * Jaeger's HTTP JSON query API (what Jaeger UI and Grafana's Jaeger datasource call), mounted at
 * /jaeger so the datasource's base URL is `<host>/jaeger`. Every route needs a key with the `read`
 * scope and sees only that key's tenant. Built so far: trace by id, trace search, services,
 * operations and dependencies (from the service-graph rows), and api_v3's services, operations,
 * trace by id, trace search (FindTraces) and dependencies.
 *
 * Answers use Jaeger's envelope `{data, total, limit, offset, errors}`, errors included
 * (`{data: null, errors: [{code, msg}]}` with the HTTP status), which the Jaeger UI shows as is.
 *
 * api_v3 answers follow jaeger-idl's query_service.openapi.yaml (`{services}`, `{operations:[{name,
 * spanKind}]}`, `{dependencies:[{parent, child, callCount}]}` with callCount a decimal string as
 * proto3 JSON writes a uint64, and `{result: TracesData}` for a trace or a search, the `result`
 * wrapper as Jaeger's HTTP gateway adds it to its streaming calls); its errors take the gateway's
 * shape `{error: {grpcCode, httpCode, httpStatus, message}}`. A search that finds nothing is a 404
 * "No traces found", as the gateway answers it. Parameters: shared/jaeger/v3-params.ts.
 *
 * Searches (v1 `/api/traces?service=...` and v3 `/api/v3/traces?query.serviceName=...`) match one
 * span, as Jaeger does (service, operation, tags and durations on the same span; shared/jaeger/
 * span-query.ts), over the blocks (shared/search/search-blocks.ts), and fetch each match in full.
 *
 * Services and operations come from the per-minute RED rows of the last 7 days (D1 plus the open
 * minutes in the tenant's state object), so they list what was seen with a request-shaped span kind
 * (server, client, producer, consumer): internal spans get no RED rows.
 */
import { searchFanOut } from "../scan-jobs.ts";
import { Hono } from "hono";
import { ApiError } from "../../../shared/http/errors.ts";
import { errorHandler } from "../../../shared/http/error-handler.ts";
import { dependenciesWindow, jaegerTraceRange, jaegerV3TraceRange, MAX_WINDOW_SECONDS, traceIdParam } from "../../../shared/http/params.ts";
import { spanKindName, spanKindNumber, toJaegerTrace } from "../../../shared/jaeger/convert.ts";
import { envelope, errorEnvelope, jaegerError, v3Error } from "../../../shared/jaeger/envelope.ts";
import { parseJaegerSearch, type JaegerSearch } from "../../../shared/jaeger/search-params.ts";
import { jaegerSpanMatcher } from "../../../shared/jaeger/span-query.ts";
import { parseV3Dependencies, parseV3FindTraces } from "../../../shared/jaeger/v3-params.ts";
import type { ResourceSpans } from "../../../shared/model/span.ts";
import { searchTraces } from "../../../shared/search/search-blocks.ts";
import { findTrace } from "../../../shared/storage/trace-reader.ts";
import { readRoute, type DashboardApp, type RouteContext } from "../context.ts";
import { scanSettings } from "../env.ts";
import { jaegerDependencies } from "../../../shared/servicegraph/dependencies.ts";
import { recentOperationRows, serviceGraphFor } from "./service-graph.ts";

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

/** Operations of a service, optionally of one span kind (v1 and v3 `operations?service&spanKind`). */
async function serviceOperations(c: RouteContext, service: string | undefined, kindParam: string): Promise<{ name: string; spanKind: string }[]> {
  if (!service) throw new ApiError(400, "missing_service", "parameter 'service' is required");
  const kind = kindParam === "" ? undefined : spanKindNumber(kindParam.toLowerCase());
  if (kindParam !== "" && kind === undefined) throw new ApiError(400, "invalid_span_kind", `unsupported span kind "${kindParam}"`);
  const rows = await recentOperationRows(c);
  const seen = new Map<string, { name: string; spanKind: string }>();
  for (const r of rows) {
    if (r.service !== service || (kind !== undefined && r.kind !== kind)) continue;
    const op = { name: r.operation, spanKind: spanKindName(r.kind) };
    seen.set(`${op.name}\n${op.spanKind}`, op);
  }
  return [...seen.values()].sort((a, b) => (a.name === b.name ? a.spanKind.localeCompare(b.spanKind) : a.name < b.name ? -1 : 1));
}

/** The matching traces, newest first, each read whole (the search finds one fragment of it; late spans may sit in newer blocks). */
async function searchFullTraces(c: RouteContext, search: JaegerSearch): Promise<{ traceId: string; resourceSpans: ResourceSpans[] }[]> {
  const { db, store, tenantId } = c.var;
  const window = { startMs: search.startMs, endMs: search.endMs };
  const fanOut = searchFanOut(c.env, tenantId, { kind: "jaeger", query: search.query }, window);
  const { traces } = await searchTraces(db, store, tenantId, jaegerSpanMatcher(search.query), { ...window, limit: search.limit, ...scanSettings(c.env), fanOut });
  const full = await Promise.all(
    traces.map(async (t) => {
      const startMs = Math.floor(Number(BigInt(t.startTimeUnixNano) / 1_000_000n));
      const found = await findTrace(db, store, tenantId, t.traceID, { startMs });
      return found ? { traceId: t.traceID, resourceSpans: found.resourceSpans } : undefined;
    }),
  );
  return full.filter((t) => t !== undefined);
}

export const jaeger = new Hono<DashboardApp>()
  .use("*", readRoute)
  .get("/api/traces", async (c) => {
    const search = parseJaegerSearch(c.req.query(), Date.now());
    const data = (await searchFullTraces(c, search)).map((t) => toJaegerTrace(t.traceId, t.resourceSpans));
    return c.json(envelope(data, data.length));
  })
  .get("/api/traces/:traceId", async (c) => {
    const traceId = traceIdParam(c.req.param("traceId"));
    const range = jaegerTraceRange(c.req.query());
    const found = await findTrace(c.var.db, c.var.store, c.var.tenantId, traceId, range);
    // Another tenant's trace answers exactly like a missing one.
    if (!found) return c.json(errorEnvelope(404, "trace not found"), 404);
    return c.json(envelope([toJaegerTrace(traceId, found.resourceSpans)]));
  })
  .get("/api/services", async (c) => {
    const services = sorted((await recentOperationRows(c)).map((r) => r.service));
    return c.json(envelope(services, services.length));
  })
  .get("/api/services/:service/operations", async (c) => {
    const service = c.req.param("service");
    const rows = await recentOperationRows(c);
    const names = sorted(rows.filter((r) => r.service === service).map((r) => r.operation));
    return c.json(envelope(names, names.length));
  })
  .get("/api/operations", async (c) => {
    const ops = await serviceOperations(c, c.req.query("service"), c.req.query("spanKind") ?? "");
    return c.json(envelope(ops, ops.length));
  })
  .get("/api/dependencies", async (c) => {
    const links = jaegerDependencies((await serviceGraphFor(c, dependenciesWindow(c.req.query()))).edges);
    return c.json(envelope(links, links.length));
  })
  .get("/api/v3/services", async (c) => {
    const services = sorted((await recentOperationRows(c)).map((r) => r.service));
    return c.json({ services });
  })
  .get("/api/v3/operations", async (c) => {
    const operations = await serviceOperations(c, c.req.query("service"), c.req.query("spanKind") ?? "");
    return c.json({ operations });
  })
  .get("/api/v3/traces", async (c) => {
    // rawTraces needs nothing: traces are always answered as stored.
    const search = parseV3FindTraces(c.req.query());
    const found = await searchFullTraces(c, search);
    if (!found.length) return c.json(v3Error(404, "No traces found"), 404);
    return c.json({ result: { resourceSpans: found.flatMap((t) => t.resourceSpans) } });
  })
  .get("/api/v3/dependencies", async (c) => {
    const { startMs, endMs } = parseV3Dependencies(c.req.query(), MAX_WINDOW_SECONDS * 1000);
    const links = jaegerDependencies((await serviceGraphFor(c, { start: Math.floor(startMs / 1000), end: Math.ceil(endMs / 1000) })).edges);
    // proto3 JSON writes the uint64 call count as a decimal string.
    return c.json({ dependencies: links.map((l) => ({ parent: l.parent, child: l.child, callCount: String(l.callCount) })) });
  })
  .get("/api/v3/traces/:traceId", async (c) => {
    const traceId = traceIdParam(c.req.param("traceId"));
    const range = jaegerV3TraceRange(c.req.query());
    const found = await findTrace(c.var.db, c.var.store, c.var.tenantId, traceId, range);
    if (!found) return c.json(v3Error(404, "trace not found"), 404);
    return c.json({ result: { resourceSpans: found.resourceSpans } });
  })
  .onError(errorHandler("dashboard jaeger", jaegerError));
