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
 * Search (`/api/v2/traces`) runs Tempo's legacy tags search (shared/search/tags-matcher.ts), as the
 * Jaeger search does, and fetches each match in full; answers are newest first.
 * - `serviceName` → tag `service.name` (resolved case-insensitively to a stored name from the RED
 *   rows), `spanName` → tag `name`, `annotationQuery` (`key=value and word`, terms joined by ` and `)
 *   → `key=value` tags; a bare word matches a span with an event (annotation) of that value or an
 *   attribute of that key. `error` (bare, or `error=<message>`) means a span with status ERROR,
 *   as ingest turns Zipkin's `error` tag into that status.
 * - `remoteServiceName`: some span whose `peer.service` (the remoteEndpoint's serviceName) equals it,
 *   case-insensitively.
 * - `minDuration`/`maxDuration` (µs), `endTs`/`lookback` (ms; default now and 1 day, at most 7
 *   days), `limit` (default 10, at most 100). Departure from Zipkin: as in Tempo's legacy search,
 *   conditions are trace-level (different spans may meet them) and the durations bound the trace's
 *   duration rather than one span's.
 *
 * Dependencies (`/api/v2/dependencies?endTs&lookback`) are the service-graph edges of the window, one
 * link per (parent, child) with `callCount` and `errorCount` summed over connection types; edges
 * from the virtual `user` node (the caller of root spans) are left out.
 *
 * Autocomplete: `/api/v2/autocompleteKeys` answers `[]`, what Zipkin answers with its default
 * configuration (`AUTOCOMPLETE_KEYS` empty): no tag values are indexed here. `/api/v2/
 * autocompleteValues?key=` answers the services for `serviceName`/`service.name` (a usable
 * `annotationQuery` term here) and `[]` for any other key; a missing key is a 400.
 */
import { Hono } from "hono";
import type { Principal } from "../../../shared/auth/authenticate.ts";
import { parseTraceIdParam } from "../../../shared/api/trace-id.ts";
import { indexStore } from "../../../shared/db/select-index-store.ts";
import { ApiError } from "../../../shared/http/errors.ts";
import { keyAuth } from "../../../shared/http/middleware/key-auth.ts";
import type { KeyValue, ResourceSpans, Span } from "../../../shared/model/span.ts";
import { StatusCode } from "../../../shared/model/span.ts";
import { searchTraces } from "../../../shared/search/search-blocks.ts";
import { attributeString, TagsQueryError, tagsMatcher, type TagsMatcher } from "../../../shared/search/tags-matcher.ts";
import { USER_NODE } from "../../../shared/servicegraph/edges.ts";
import { readEdgeRowsWithOpen, readOperationRowsWithOpen } from "../../../shared/storage/metrics-reader.ts";
import { r2Store } from "../../../shared/storage/object-store.ts";
import { findTrace } from "../../../shared/storage/trace-reader.ts";
import { encodeZipkinSpans, type ZipkinSpan } from "../../../shared/zipkin/encode.ts";
import type { DashboardEnv } from "../env.ts";
import { MAX_WINDOW_SECONDS, parseDependenciesWindow, serviceGraphFor } from "./service-graph.ts";

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

const DEFAULT_SEARCH_LIMIT = 10;
/** Each result is fetched in full: keep the fan-out of reads bounded. */
const MAX_SEARCH_LIMIT = 100;
const DEFAULT_SEARCH_LOOKBACK_MS = 24 * 3600 * 1000;

type SpanCondition = (span: Span, resourceAttrs: KeyValue[]) => boolean;

interface ZipkinSearch {
  serviceName?: string;
  spanName?: string;
  /** `key=value` terms, in order. */
  tags: [string, string][];
  spanConditions: SpanCondition[];
  minDuration?: string;
  maxDuration?: string;
  startMs: number;
  endMs: number;
  limit: number;
}

function bad(message: string): never {
  throw new ApiError(400, "invalid_query", message);
}

function integerParam(name: string, v: string | undefined, digits: number): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (!new RegExp(`^\\d{1,${digits}}$`).test(v)) bad(`${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

/** A logfmt value, quoted when it needs to be (tagsMatcher's parser reads the escapes back). */
function logfmtValue(v: string): string {
  if (v !== "" && !/[\s"\\=]/.test(v)) return v;
  return `"${v.replace(/[\\"\n\t\r]/g, (ch) => (ch === "\n" ? "\\n" : ch === "\t" ? "\\t" : ch === "\r" ? "\\r" : `\\${ch}`))}"`;
}

const isError: SpanCondition = (span) => span.status.code === StatusCode.ERROR;

function wordCondition(word: string): SpanCondition {
  if (word === "error") return isError;
  return (span, resourceAttrs) => span.events.some((e) => e.name === word) || span.attributes.some((kv) => kv.key === word) || resourceAttrs.some((kv) => kv.key === word);
}

function remoteServiceCondition(name: string): SpanCondition {
  const lower = name.toLowerCase();
  return (span) => span.attributes.some((kv) => kv.key === "peer.service" && attributeString(kv.value)?.toLowerCase() === lower);
}

/** `annotationQuery`: terms joined by ` and `; `key=value` or a bare word. */
function parseAnnotationQuery(raw: string | undefined, out: ZipkinSearch) {
  if (raw === undefined || raw.trim() === "") return;
  for (const term of raw.trim().split(/\s+and\s+/i)) {
    const t = term.trim();
    if (!t) bad("annotationQuery: empty term");
    const eq = t.indexOf("=");
    if (eq < 0) {
      out.spanConditions.push(wordCondition(t));
      continue;
    }
    const key = t.slice(0, eq).trim();
    const value = t.slice(eq + 1).trim();
    if (!key || /[\s"=]/.test(key)) bad(`annotationQuery: unsupported key in "${t}"`);
    if (key === "error") out.spanConditions.push(isError);
    else out.tags.push([key, value]);
  }
}

function parseZipkinSearch(q: Record<string, string>, nowMs: number): ZipkinSearch {
  const out: ZipkinSearch = { tags: [], spanConditions: [], startMs: 0, endMs: 0, limit: DEFAULT_SEARCH_LIMIT };
  if (q.serviceName) out.serviceName = q.serviceName;
  if (q.spanName && q.spanName.toLowerCase() !== "all") out.spanName = q.spanName;
  if (q.remoteServiceName && q.remoteServiceName.toLowerCase() !== "all") out.spanConditions.push(remoteServiceCondition(q.remoteServiceName));
  parseAnnotationQuery(q.annotationQuery, out);
  const min = integerParam("minDuration", q.minDuration, 15);
  const max = integerParam("maxDuration", q.maxDuration, 15);
  if (min !== undefined && max !== undefined && min > max) bad("minDuration must not be greater than maxDuration");
  if (min !== undefined) out.minDuration = `${min}us`;
  if (max !== undefined) out.maxDuration = `${max}us`;
  const endMs = integerParam("endTs", q.endTs, 15) ?? nowMs;
  const lookbackMs = integerParam("lookback", q.lookback, 15) ?? DEFAULT_SEARCH_LOOKBACK_MS;
  if (lookbackMs <= 0) bad("lookback must be positive");
  if (lookbackMs > MAX_WINDOW_SECONDS * 1000) bad(`lookback may be at most ${MAX_WINDOW_SECONDS * 1000} ms (7 days)`);
  out.endMs = endMs;
  out.startMs = Math.max(0, endMs - lookbackMs);
  const limit = integerParam("limit", q.limit, 9);
  if (limit !== undefined) {
    if (limit === 0) bad("limit must be positive");
    out.limit = Math.min(limit, MAX_SEARCH_LIMIT);
  }
  return out;
}

/** A stored service name for a Zipkin (possibly lowercased) one: exact, else the one equal ignoring case. */
function resolveService(name: string, known: readonly string[]): string {
  if (known.includes(name)) return name;
  const lower = name.toLowerCase();
  return known.find((k) => k.toLowerCase() === lower) ?? name;
}

/** The tags matcher plus span conditions it cannot express (each met by some span of the trace). */
function withSpanConditions(base: TagsMatcher, conditions: SpanCondition[]): TagsMatcher {
  if (!conditions.length) return base;
  const holds = (trace: ResourceSpans[], cond: SpanCondition) => trace.some((rs) => rs.scopeSpans.some((ss) => ss.spans.some((sp) => cond(sp, rs.resource.attributes))));
  return {
    requiredServices: base.requiredServices,
    summaryOnly: false,
    mayMatch: (summary) => base.mayMatch(summary),
    match(trace, summary) {
      const found = base.match(trace, summary);
      if (!found || !conditions.every((c) => holds(trace, c))) return undefined;
      return found;
    },
  };
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
  .get("/api/v2/traces", async (c) => {
    const tenantId = c.var.principal.tenantId;
    const q = parseZipkinSearch(c.req.query(), Date.now());
    const db = await indexStore(c.env);
    const store = r2Store(c.env.SPANS);
    const pairs: [string, string][] = [];
    if (q.serviceName) {
      const rows = await readOperationRowsWithOpen(db, store, tenantId, lookbackWindow());
      pairs.push(["service.name", resolveService(q.serviceName, sorted(rows.map((r) => r.service)))]);
    }
    if (q.spanName) pairs.push(["name", q.spanName]);
    pairs.push(...q.tags);
    let matcher: TagsMatcher;
    try {
      const tags = pairs.map(([k, v]) => `${k}=${logfmtValue(v)}`).join(" ");
      matcher = withSpanConditions(tagsMatcher({ tags, minDuration: q.minDuration, maxDuration: q.maxDuration }), q.spanConditions);
    } catch (err) {
      if (err instanceof TagsQueryError) bad(err.message);
      throw err;
    }
    const { traces } = await searchTraces(db, store, tenantId, matcher, { startMs: q.startMs, endMs: q.endMs, limit: q.limit });
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
    const window = parseDependenciesWindow(c.req.query());
    const graph = await serviceGraphFor(c.env, c.var.principal.tenantId, window);
    const links = new Map<string, { parent: string; child: string; callCount: number; errorCount: number }>();
    for (const e of graph.edges) {
      if (e.source === USER_NODE && e.connectionType === "virtual_node") continue;
      const key = JSON.stringify([e.source, e.target]);
      const link = links.get(key);
      if (link) {
        link.callCount += e.requests;
        link.errorCount += e.failed;
      } else links.set(key, { parent: e.source, child: e.target, callCount: e.requests, errorCount: e.failed });
    }
    return c.json([...links.values()]);
  })
  .get("/api/v2/autocompleteKeys", (c) => c.json([]))
  .get("/api/v2/autocompleteValues", async (c) => {
    const key = c.req.query("key");
    if (!key) throw new ApiError(400, "missing_key", "key is required");
    if (key !== "serviceName" && key !== "service.name") return c.json([]);
    const rows = await readOperationRowsWithOpen(await indexStore(c.env), r2Store(c.env.SPANS), c.var.principal.tenantId, lookbackWindow());
    return c.json(sorted(rows.map((r) => r.service)));
  })
  .onError((err, c) => {
    const apiError = err instanceof ApiError ? err : new ApiError(500, "internal", "Internal error");
    if (!(err instanceof ApiError)) console.error("dashboard zipkin: unexpected error", err);
    if (apiError.retryAfterSeconds !== undefined) c.header("retry-after", String(apiError.retryAfterSeconds));
    return c.text(apiError.message, apiError.status);
  });
