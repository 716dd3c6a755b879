/**
 * @module
 * Zipkin's v2 query API (what Zipkin Lens calls), mounted at /zipkin so the base URL is
 * `<host>/zipkin`. Every route needs a key with the `read` scope and sees only that key's tenant.
 * Built so far: trace by id, traceMany, services, span names, remote services, trace search,
 * dependencies and autocomplete.
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
 *
 * Search (`/api/v2/traces`) matches one span per trace, as the zipkin-api spec says ("a span in
 * the trace must match all of these"): service, span name, remote service, every annotationQuery
 * term and the durations on the same span, tested as Zipkin shows the span (shared/zipkin/
 * search.ts has the parameters and their rules). `serviceName` is resolved case-insensitively to
 * a stored name from the RED rows. Each match is fetched in full; answers are newest first.
 *
 * Dependencies (`/api/v2/dependencies?endTs&lookback`) are the service-graph edges of the window, one
 * link per (parent, child) with `callCount` and `errorCount` summed over connection types; edges
 * from the virtual `user` node (the caller of root spans) are left out.
 *
 * Autocomplete: `/api/v2/autocompleteKeys` answers `[]`, what Zipkin answers with its default
 * configuration (`AUTOCOMPLETE_KEYS` empty): no tag values are indexed here. `/api/v2/
 * autocompleteValues?key=` answers the services for `serviceName`/`service.name` and `[]` for
 * any other key; a missing key is a 400.
 */
import { searchFanOut } from "../scan-jobs.ts";
import { Hono } from "hono";
import { ApiError } from "../../../shared/http/errors.ts";
import { errorHandler, textError } from "../../../shared/http/error-handler.ts";
import { dependenciesWindow, MAX_WINDOW_SECONDS, traceIdParam } from "../../../shared/http/params.ts";
import { searchTraces } from "../../../shared/search/search-blocks.ts";
import { zipkinDependencies } from "../../../shared/servicegraph/dependencies.ts";
import { findTrace } from "../../../shared/storage/trace-reader.ts";
import { encodeZipkinSpans, type ZipkinSpan } from "../../../shared/zipkin/encode.ts";
import { parseZipkinSearch, zipkinSpanMatcher } from "../../../shared/zipkin/search.ts";
import { readRoute, type DashboardApp, type RouteContext } from "../context.ts";
import { scanSettings } from "../env.ts";
import { recentEdgeRows, recentOperationRows, serviceGraphFor } from "./service-graph.ts";

/** Most trace ids one traceMany request may ask for. */
const MAX_TRACE_IDS = 100;

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

function requiredServiceName(value: string | undefined): string {
  if (!value) throw new ApiError(400, "missing_service_name", "serviceName is required");
  return value.toLowerCase();
}

async function traceSpans(c: RouteContext, traceId: string): Promise<ZipkinSpan[] | undefined> {
  const found = await findTrace(c.var.db, c.var.store, c.var.tenantId, traceId);
  return found && encodeZipkinSpans(found.resourceSpans);
}

/** A stored service name for a Zipkin (possibly lowercased) one: exact, else the one equal ignoring case. */
function resolveService(name: string, known: readonly string[]): string {
  if (known.includes(name)) return name;
  const lower = name.toLowerCase();
  return known.find((k) => k.toLowerCase() === lower) ?? name;
}

export const zipkin = new Hono<DashboardApp>()
  .use("*", readRoute)
  .get("/api/v2/trace/:traceId", async (c) => {
    const traceId = traceIdParam(c.req.param("traceId"));
    const spans = await traceSpans(c, traceId);
    // Another tenant's trace answers exactly like a missing one.
    if (!spans) return c.text(`${c.req.param("traceId")} not found`, 404);
    return c.json(spans);
  })
  .get("/api/v2/traceMany", async (c) => {
    const raw = c.req.query("traceIds");
    if (!raw) throw new ApiError(400, "missing_trace_ids", "traceIds is required");
    const ids = [...new Set(raw.split(",").map((s) => s.trim()).filter((s) => s !== "").map(traceIdParam))];
    // Zipkin's contract: fewer than two distinct ids belong to /trace/{traceId}.
    if (ids.length < 2) throw new ApiError(400, "too_few_trace_ids", "traceIds needs at least two distinct ids; use /api/v2/trace/{traceId} for one");
    if (ids.length > MAX_TRACE_IDS) throw new ApiError(400, "too_many_trace_ids", `traceIds takes at most ${MAX_TRACE_IDS} ids`);
    const traces = await Promise.all(ids.map((id) => traceSpans(c, id)));
    return c.json(traces.filter((t): t is ZipkinSpan[] => t !== undefined));
  })
  .get("/api/v2/services", async (c) => {
    const rows = await recentOperationRows(c);
    return c.json(sorted(rows.map((r) => r.service)));
  })
  .get("/api/v2/spans", async (c) => {
    const service = requiredServiceName(c.req.query("serviceName"));
    const rows = await recentOperationRows(c);
    return c.json(sorted(rows.filter((r) => r.service.toLowerCase() === service).map((r) => r.operation)));
  })
  .get("/api/v2/remoteServices", async (c) => {
    const service = requiredServiceName(c.req.query("serviceName"));
    const rows = await recentEdgeRows(c);
    return c.json(sorted(rows.filter((r) => r.source.toLowerCase() === service).map((r) => r.target)));
  })
  .get("/api/v2/traces", async (c) => {
    const { db, store, tenantId } = c.var;
    const q = parseZipkinSearch(c.req.query(), Date.now(), MAX_WINDOW_SECONDS * 1000);
    let service: string | undefined;
    if (q.serviceName) {
      const rows = await recentOperationRows(c);
      service = resolveService(q.serviceName, sorted(rows.map((r) => r.service)));
    }
    const matcher = zipkinSpanMatcher(q, service);
    const { traces } = await searchTraces(db, store, tenantId, matcher, { startMs: q.startMs, endMs: q.endMs, limit: q.limit, ...scanSettings(c.env), fanOut: searchFanOut(c.env, tenantId, { kind: "zipkin", search: q, service }, { startMs: q.startMs, endMs: q.endMs }) });
    const newestFirst = [...traces].sort((a, b) => {
      const d = BigInt(b.startTimeUnixNano) - BigInt(a.startTimeUnixNano);
      return d > 0n ? 1 : d < 0n ? -1 : 0;
    });
    // The match is one fragment of the trace: fetch it whole (late spans may sit in newer blocks).
    const full = await Promise.all(
      newestFirst.map(async (t) => {
        const startMs = Math.floor(Number(BigInt(t.startTimeUnixNano) / 1_000_000n));
        const found = await findTrace(db, store, tenantId, t.traceID, { startMs });
        return found && encodeZipkinSpans(found.resourceSpans);
      }),
    );
    return c.json(full.filter((t): t is ZipkinSpan[] => t !== undefined && t.length > 0));
  })
  .get("/api/v2/dependencies", async (c) => {
    const window = dependenciesWindow(c.req.query());
    const graph = await serviceGraphFor(c, window);
    return c.json(zipkinDependencies(graph.edges));
  })
  .get("/api/v2/autocompleteKeys", (c) => c.json([]))
  .get("/api/v2/autocompleteValues", async (c) => {
    const key = c.req.query("key");
    if (!key) throw new ApiError(400, "missing_key", "key is required");
    if (key !== "serviceName" && key !== "service.name") return c.json([]);
    const rows = await recentOperationRows(c);
    return c.json(sorted(rows.map((r) => r.service)));
  })
  .onError(errorHandler("dashboard zipkin", textError));
