/**
 * @module
 * Tempo's search API under /api (what Grafana's Tempo datasource calls):
 *
 * - `GET /api/search`: `q` (TraceQL, `shared/traceql/`; a bad or unsupported query is a 400 whose
 *   body adds `position: {line, column, offset}`) or Tempo's legacy `tags` (logfmt), `minDuration`,
 *   `maxDuration` (Go durations); `limit` (default 20, 1..1000), `start`/`end` (epoch seconds,
 *   default the last hour, at most 7 days apart), `spss` (spans per spanset, default 3, 1..1000).
 *   Answers `{traces, metrics}` in Tempo's shape, the newest traces (by start) first
 *   (`shared/search/search-blocks.ts`). `metrics.inspectedBytes` is a decimal string, as Tempo's
 *   protojson writes a uint64.
 * - `GET /api/search/tags`: `{tagNames}`, the tags whose values are listed below.
 * - `GET /api/search/tag/{tag}/values`: `{tagValues}` over `start`/`end` (same defaults). Covered:
 *   `service.name` (the catalog's services lists, no block read), `name` (root span names from
 *   the summary tables of the newest 100 blocks in range, no span decoding) and `status` (the
 *   fixed values). Any other tag answers an empty list.
 *
 * - `GET /api/v2/search/tags?scope=`: `{scopes:[{name, tags}]}` for the scopes `span`, `resource` and
 *   `intrinsic` (empty `scope`, or `all`, gives all three; any other scope is a 400). `span` lists
 *   nothing yet (span attribute names are not indexed), `resource` lists `service.name`, and
 *   `intrinsic` Tempo's intrinsics that TraceQL here evaluates. `q`, `start` and `end` are accepted
 *   (the window is checked) but the lists do not depend on them.
 * - `GET /api/v2/search/tag/{tag}/values`: `{tagValues:[{type, value}]}` over `start`/`end`, for
 *   Tempo's scoped names: `resource.service.name` (or `.service.name`) and `name`/`span:name` as
 *   strings (the same sources as above), `status`/`span:status` and `kind`/`span:kind` as
 *   `keyword`s (the fixed values), `rootName`/`trace:rootName` (root span names). Any other tag,
 *   `rootServiceName` included, answers an empty list. `q` is accepted and not used.
 * - `GET /api/status/buildinfo`: Tempo's `{version, revision, branch, buildUser, buildDate,
 *   goVersion}`, with this package's version and the rest empty.
 *
 * Every route needs a key with the `read` scope and sees only that key's tenant. The auth
 * middleware is per route: this app is mounted at /api before the Tempo app (whose `*` auth
 * would otherwise be the one to answer).
 */
import { Hono } from "hono";
import type { Principal } from "../../../shared/auth/authenticate.ts";
import { listBlocks } from "../../../shared/db/queries/blocks.ts";
import { indexStore } from "../../../shared/db/select-index-store.ts";
import { ApiError, grpcCodeForHttpStatus } from "../../../shared/http/errors.ts";
import { keyAuth } from "../../../shared/http/middleware/key-auth.ts";
import type { TraceMatcher } from "../../../shared/search/matcher.ts";
import { rootSpanNames, searchTraces, traceqlRequiredServices } from "../../../shared/search/search-blocks.ts";
import { tagsMatcher, TagsQueryError } from "../../../shared/search/tags-matcher.ts";
import { r2Store } from "../../../shared/storage/object-store.ts";
import { compileQuery, parseTraceQL, TraceQLError } from "../../../shared/traceql/index.ts";
import type { DashboardEnv } from "../env.ts";
import pkg from "../../../package.json" with { type: "json" };

type SearchApp = { Bindings: DashboardEnv; Variables: { principal: Principal } };

export const MAX_SEARCH_WINDOW_SECONDS = 7 * 24 * 3600;
const DEFAULT_WINDOW_SECONDS = 3600;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
const DEFAULT_SPSS = 3;

function bad(message: string): ApiError {
  return new ApiError(400, "invalid_parameter", message);
}

function intParam(name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return dflt;
  if (!/^\d{1,7}$/.test(raw)) throw bad(`${name}: must be a whole number from ${min} to ${max}, got "${raw}"`);
  const v = Number(raw);
  if (v < min || v > max) throw bad(`${name}: must be from ${min} to ${max}, got ${v}`);
  return v;
}

/** `start`/`end` in epoch seconds as a range in ms (`end` inclusive of its whole second). */
export function parseSearchWindow(start: string | undefined, end: string | undefined, nowSeconds = Math.floor(Date.now() / 1000)): { startMs: number; endMs: number } {
  const parse = (name: string, v: string | undefined) => {
    if (v === undefined || v === "") return undefined;
    if (!/^\d{1,12}$/.test(v)) throw bad(`${name}: must be epoch seconds, got "${v}"`);
    return Number(v);
  };
  const e = parse("end", end) ?? nowSeconds;
  const s = parse("start", start) ?? e - DEFAULT_WINDOW_SECONDS;
  if (e < s) throw bad("end: must not be before start");
  if (e - s > MAX_SEARCH_WINDOW_SECONDS) throw bad(`start: the window from start to end may be at most ${MAX_SEARCH_WINDOW_SECONDS} seconds (7 days)`);
  return { startMs: s * 1000, endMs: e * 1000 + 999 };
}

function buildMatcher(query: Record<string, string>, spss: number): TraceMatcher {
  const q = query.q?.trim();
  if (q) {
    if (query.tags || query.minDuration || query.maxDuration) throw bad("q: give either a TraceQL query or tags/minDuration/maxDuration, not both");
    const ast = parseTraceQL(q);
    // The block pruning by catalog services that `service.name=` gets with tags.
    return Object.assign(compileQuery(ast, { spss }), { requiredServices: traceqlRequiredServices(ast) });
  }
  try {
    return tagsMatcher({ tags: query.tags, minDuration: query.minDuration, maxDuration: query.maxDuration }, { spss });
  } catch (err) {
    if (err instanceof TagsQueryError) throw bad(err.message);
    throw err;
  }
}

const auth = keyAuth<SearchApp>({ scope: "read" });

const TAG_NAMES = ["name", "service.name", "status"];

const V2_SCOPES = ["span", "resource", "intrinsic"] as const;
const V2_SCOPE_TAGS: Record<(typeof V2_SCOPES)[number], string[]> = {
  span: [],
  resource: ["service.name"],
  intrinsic: ["duration", "kind", "name", "rootName", "rootServiceName", "status", "statusMessage", "traceDuration"],
};
const STATUS_VALUES = ["error", "ok", "unset"];
const KIND_VALUES = ["client", "consumer", "internal", "producer", "server", "unspecified"];

type TypedValue = { type: "string" | "keyword"; value: string };
const typed = (type: TypedValue["type"], values: string[]): TypedValue[] => values.map((value) => ({ type, value }));

async function serviceNames(env: DashboardEnv, tenantId: string, window: { startMs: number; endMs: number }): Promise<string[]> {
  const blocks = await listBlocks(await indexStore(env), tenantId, window);
  return [...new Set(blocks.flatMap((b) => b.services))].filter((s) => s !== "").sort();
}

/** Tempo's build info; only the version is known to a worker bundle. */
export const BUILD_INFO = { version: pkg.version, revision: "", branch: "", buildUser: "", buildDate: "", goVersion: "" };

export const search = new Hono<SearchApp>()
  .get("/search", auth, async (c) => {
    const query = c.req.query();
    const limit = intParam("limit", query.limit, DEFAULT_LIMIT, 1, MAX_LIMIT);
    const spss = intParam("spss", query.spss, DEFAULT_SPSS, 1, MAX_LIMIT);
    const window = parseSearchWindow(query.start, query.end);
    let matcher: TraceMatcher;
    try {
      matcher = buildMatcher(query, spss);
    } catch (err) {
      if (!(err instanceof TraceQLError)) throw err;
      const position = { line: err.line, column: err.column, offset: err.offset };
      return c.json({ code: grpcCodeForHttpStatus(400), error: "invalid_traceql", message: `q: ${err.message}`, position, ...(err.unsupported ? { unsupported: err.unsupported } : {}) }, 400);
    }
    const result = await searchTraces(await indexStore(c.env), r2Store(c.env.SPANS), c.var.principal.tenantId, matcher, { ...window, limit, spss });
    return c.json({ traces: result.traces, metrics: { ...result.metrics, inspectedBytes: String(result.metrics.inspectedBytes) } });
  })
  .get("/search/tags", auth, (c) => c.json({ tagNames: TAG_NAMES }))
  .get("/search/tag/:tag/values", auth, async (c) => {
    const tag = c.req.param("tag");
    const window = parseSearchWindow(c.req.query("start"), c.req.query("end"));
    const tenantId = c.var.principal.tenantId;
    const db = await indexStore(c.env);
    let tagValues: string[] = [];
    if (tag === "service.name") {
      const blocks = await listBlocks(db, tenantId, window);
      tagValues = [...new Set(blocks.flatMap((b) => b.services))].filter((s) => s !== "").sort();
    } else if (tag === "name") {
      tagValues = await rootSpanNames(db, r2Store(c.env.SPANS), tenantId, window);
    } else if (tag === "status") {
      tagValues = ["error", "ok", "unset"];
    }
    return c.json({ tagValues });
  })
  .get("/v2/search/tags", auth, (c) => {
    const scope = c.req.query("scope") ?? "";
    parseSearchWindow(c.req.query("start"), c.req.query("end"));
    let scopes: readonly (typeof V2_SCOPES)[number][];
    if (scope === "" || scope === "all") scopes = V2_SCOPES;
    else if ((V2_SCOPES as readonly string[]).includes(scope)) scopes = [scope as (typeof V2_SCOPES)[number]];
    else throw bad(`scope: must be one of ${V2_SCOPES.join(", ")} or all, got "${scope}"`);
    return c.json({ scopes: scopes.map((name) => ({ name, tags: V2_SCOPE_TAGS[name] })) });
  })
  .get("/v2/search/tag/:tag/values", auth, async (c) => {
    const tag = c.req.param("tag");
    const window = parseSearchWindow(c.req.query("start"), c.req.query("end"));
    const tenantId = c.var.principal.tenantId;
    let tagValues: TypedValue[] = [];
    switch (tag) {
      case "resource.service.name":
      case ".service.name":
        tagValues = typed("string", await serviceNames(c.env, tenantId, window));
        break;
      case "name":
      case "span:name":
      case "rootName":
      case "trace:rootName":
        tagValues = typed("string", await rootSpanNames(await indexStore(c.env), r2Store(c.env.SPANS), tenantId, window));
        break;
      case "status":
      case "span:status":
        tagValues = typed("keyword", STATUS_VALUES);
        break;
      case "kind":
      case "span:kind":
        tagValues = typed("keyword", KIND_VALUES);
        break;
    }
    return c.json({ tagValues });
  })
  .get("/status/buildinfo", auth, (c) => c.json(BUILD_INFO));
