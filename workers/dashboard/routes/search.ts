/**
 * @module
 * Tempo's search API under /api (what Grafana's Tempo datasource calls):
 *
 * - `GET /api/search`: `q` (TraceQL, `shared/traceql/`; a bad or unsupported query is a 400 whose
 *   body adds `position: {line, column, offset}`) or Tempo's legacy `tags` (logfmt), `minDuration`,
 *   `maxDuration` (Go durations); `limit` (default 20, 1..1000), `start`/`end` (epoch seconds,
 *   default the last hour, at most 7 days apart), `spss` (spans per spanset, default 3, 1..1000).
 *   Answers `{traces, metrics}` in Tempo's shape, the newest traces (by start) first
 *   (`shared/search/search-blocks.ts`), each described from all of its fragments (root, duration,
 *   counts, spansets of the whole trace). `order` (ours, not Tempo's): `start` (default),
 *   `duration` (the longest matches of the whole window) or `errors` (most error spans).
 *   `metrics.inspectedBytes` is a decimal string, as Tempo's protojson writes a uint64. A query's
 *   `with(...)` hints are accepted and not honoured: `warnings: [...]` and the header
 *   `Edgetrace-Search-Warning` say so.
 * Tag endpoints (`shared/search/tags-query.ts`): names and values are read from the tenant's
 * blocks overlapping `start`/`end` (same defaults and bounds as search), newest first, bounded as
 * Tempo bounds them: at most `limit` (default 1000, at most 10000) names per scope or values, 5 MB
 * of them, none longer than 512 characters (longer ones are skipped), and 4 MiB read from R2; past
 * a cap the answer is what was found, with `metrics.truncated`. `maxStaleValues` stops after that
 * many already-known values in a row. `metrics` is Tempo's `{inspectedBytes, totalJobs,
 * completedJobs, totalBlocks, totalBlockBytes}`.
 *
 * - `GET /api/search/tags?scope=`: `{tagNames, metrics}`; without `scope`, the span and resource
 *   attribute names plus `name` and `status` (the legacy tags matcher takes those too), with
 *   `scope` (as in v2) that scope's names, flattened.
 * - `GET /api/search/tag/{tag}/values`: `{tagValues}`, string values of the span or resource
 *   attribute `tag` (Tempo's v1 answers strings only). `service.name` comes from the catalog's
 *   services lists (no block read), `name` is root span names (summary tables only), `status` the
 *   fixed values.
 * - `GET /api/v2/search/tags?scope=&q=`: `{scopes:[{name, tags}], metrics}` for `span`,
 *   `resource`, `event`, `link`, `instrumentation` (attribute names seen) and `intrinsic` (fixed);
 *   empty `scope` or `all` gives all of them, any other scope is a 400.
 * - `GET /api/v2/search/tag/{tag}/values?q=`: `{tagValues:[{type, value}], metrics}` for a TraceQL
 *   identifier (`span.x`, `resource.x`, `.x` (span or resource), `event.x`, `link.x`,
 *   `instrumentation.x`, or an intrinsic), typed `string`, `int`, `float` or `bool`; `status` and
 *   `kind` answer their fixed `keyword`s, `rootName`/`rootServiceName` come from the summary
 *   tables. Anything else is a 400.
 * - `q` (v2 only) narrows names and values to the spans matching a TraceQL spanset filter,
 *   evaluated by the TraceQL engine; as Tempo does, incomplete matchers (`.foo=`) are dropped and
 *   a q that still does not parse or joins spansets is ignored (the unfiltered list), not a 400.
 * - `GET /api/status/buildinfo`: Tempo's `{version, revision, branch, buildUser, buildDate,
 *   goVersion}`, with this package's version and the rest empty.
 *
 * Every route needs a key with the `read` scope and sees only that key's tenant. The auth
 * middleware is per route: this app is mounted at /api before the Tempo app (whose `*` auth
 * would otherwise be the one to answer).
 */
import { matcherOf, traceqlMatcher, type MatcherSpec } from "../../../shared/search/matcher-spec.ts";
import { searchFanOut } from "../scan-jobs.ts";
import { Hono } from "hono";
import { z } from "zod";
import { badParam, optional, param, ParamError, parseQuery, tempoWindow, tempoWindowFields, TEMPO_STYLE, traceqlErrorBody, wholeNumber } from "../../../shared/http/params.ts";
import type { TraceMatcher } from "../../../shared/search/matcher.ts";
import { rootSpanNames, SEARCH_ORDERS, searchTraces } from "../../../shared/search/search-blocks.ts";
import { ATTRIBUTE_SCOPES, DEFAULT_TAG_LIMITS, INTRINSIC_TAGS, parseTagIdentifier, type AttributeScope, type TagLimits, type TagTarget } from "../../../shared/search/tag-catalog.ts";
import { TagsQueryError } from "../../../shared/search/tags-matcher.ts";
import { searchTagNames, searchTagValues } from "../../../shared/search/tags-query.ts";
import type { TagScanMetrics } from "../../../shared/search/tags-scan.ts";
import { parseTraceQL, searchHintWarnings, TraceQLError } from "../../../shared/traceql/index.ts";
import { readRoute, type DashboardApp } from "../context.ts";
import { scanSettings } from "../env.ts";
import pkg from "../../../package.json" with { type: "json" };

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;
const DEFAULT_SPSS = 3;
/** Set when the query's `with(...)` hints were not honoured (the body's `warnings`). */
export const SEARCH_WARNING_HEADER = "Edgetrace-Search-Warning";

const bad = (name: string, says: string) => badParam(TEMPO_STYLE, name, says);

/** The search's parameters besides the query: `limit`, `spss` and the window. */
const SearchQuery = z.object({
  limit: optional(wholeNumber(1, MAX_LIMIT)),
  spss: optional(wholeNumber(1, MAX_LIMIT)),
  order: z.enum(SEARCH_ORDERS, { message: `must be one of ${SEARCH_ORDERS.join(", ")}` }).optional(),
  ...tempoWindowFields,
});

/** The search a request asks for, as data (a fanned-out search sends it to its jobs). */
function searchSpec(query: Record<string, string>, spss: number): MatcherSpec {
  const q = query.q?.trim();
  if (q) {
    if (query.tags || query.minDuration || query.maxDuration) throw bad("q", "give either a TraceQL query or tags/minDuration/maxDuration, not both");
    return { kind: "traceql", query: q, spss };
  }
  return { kind: "tags", search: { tags: query.tags, minDuration: query.minDuration, maxDuration: query.maxDuration }, spss };
}

function buildMatcher(spec: MatcherSpec): TraceMatcher {
  try {
    return matcherOf(spec);
  } catch (err) {
    if (err instanceof TagsQueryError) throw new ParamError(err.message);
    throw err;
  }
}

/** Scopes of the v2 tags endpoint: the attribute scopes of the span model, then intrinsics. */
const V2_SCOPES = [...ATTRIBUTE_SCOPES, "intrinsic"] as const;
type V2Scope = (typeof V2_SCOPES)[number];
/** What the legacy tags matcher understands besides attribute names. */
const V1_SPECIAL_TAGS = ["name", "status"];
const MAX_TAG_LIMIT = 10_000;

/** Tag limits are digits, empty ones included (their range is checked after the window). */
const digits = z.string().regex(/^\d{1,7}$/, "must be a whole number");
const TagQuery = z.object({
  scope: z.string().optional(),
  q: z.string().max(10_000, "must be at most 10000 characters").optional(),
  limit: digits.optional(),
  maxStaleValues: digits.optional(),
  ...tempoWindowFields,
});

/** The tag endpoints' parameters: scope (checked by the caller), q, window, limits. */
function parseTagQuery(query: Record<string, string>) {
  const p = parseQuery(TEMPO_STYLE, TagQuery, query);
  const window = tempoWindow(p);
  const limits: Partial<TagLimits> = {
    maxValues: param(TEMPO_STYLE, "limit", p.limit, wholeNumber(1, MAX_TAG_LIMIT)) ?? DEFAULT_TAG_LIMITS.maxValues,
    maxStaleValues: param(TEMPO_STYLE, "maxStaleValues", p.maxStaleValues, wholeNumber(0, 1_000_000)) ?? 0,
  };
  return { ...window, q: p.q, scope: p.scope ?? "", limits };
}

function parseScopes(scope: string): readonly V2Scope[] {
  if (scope === "" || scope === "all") return V2_SCOPES;
  if ((V2_SCOPES as readonly string[]).includes(scope)) return [scope as V2Scope];
  throw bad("scope", `must be one of ${V2_SCOPES.join(", ")} or all, got "${scope}"`);
}

/** Tempo's `MetadataMetrics` (uint64s as decimal strings, as its protojson writes them), plus `truncated` when a cap stopped the scan. */
function tagMetrics(m: TagScanMetrics) {
  return {
    inspectedBytes: String(m.inspectedBytes),
    totalJobs: m.totalJobs,
    completedJobs: m.completedJobs,
    totalBlocks: m.totalJobs,
    totalBlockBytes: String(m.totalBlockBytes),
    ...(m.truncated ? { truncated: true } : {}),
  };
}

/** Tempo's build info; only the version is known to a worker bundle. */
export const BUILD_INFO = { version: pkg.version, revision: "", branch: "", buildUser: "", buildDate: "", goVersion: "" };

export const search = new Hono<DashboardApp>()
  .get("/search", readRoute, async (c) => {
    const query = c.req.query();
    const p = parseQuery(TEMPO_STYLE, SearchQuery, query);
    const limit = p.limit ?? DEFAULT_LIMIT;
    const spss = p.spss ?? DEFAULT_SPSS;
    const window = tempoWindow(p);
    let matcher: TraceMatcher;
    let warnings: string[] = [];
    const spec = searchSpec(query, spss);
    try {
      if (spec.kind === "traceql") {
        const ast = parseTraceQL(spec.query);
        matcher = traceqlMatcher(ast, spec.spss);
        // `with(...)` hints are accepted and not honoured: said in `warnings` and a header, as metrics does.
        warnings = searchHintWarnings(ast);
      } else {
        matcher = buildMatcher(spec);
      }
    } catch (err) {
      if (!(err instanceof TraceQLError)) throw err;
      return c.json(traceqlErrorBody(err), 400);
    }
    if (warnings.length) c.header(SEARCH_WARNING_HEADER, warnings.join("; "));
    const result = await searchTraces(c.var.db, c.var.store, c.var.tenantId, matcher, { ...window, limit, spss, order: p.order, ...scanSettings(c.env), fanOut: searchFanOut(c.env, c.var.tenantId, spec, window) });
    return c.json({ traces: result.traces, metrics: { ...result.metrics, inspectedBytes: String(result.metrics.inspectedBytes) }, ...(warnings.length ? { warnings } : {}) });
  })
  .get("/search/tags", readRoute, async (c) => {
    const p = parseTagQuery(c.req.query());
    // Without a scope Tempo's v1 endpoint lists span and resource attributes; it has no q.
    const scopes: readonly V2Scope[] = p.scope === "" ? ["span", "resource"] : parseScopes(p.scope);
    const attributeScopes = scopes.filter((s): s is AttributeScope => s !== "intrinsic");
    const { names, metrics } = await searchTagNames(c.var.db, c.var.store, c.var.tenantId, attributeScopes, { ...p, q: undefined, limits: p.limits, ...scanSettings(c.env) });
    const all = new Set(attributeScopes.flatMap((s) => names[s]));
    if (p.scope === "") for (const t of V1_SPECIAL_TAGS) all.add(t);
    if (scopes.includes("intrinsic")) for (const t of INTRINSIC_TAGS) all.add(t);
    return c.json({ tagNames: [...all].sort(), metrics: tagMetrics(metrics) });
  })
  .get("/search/tag/:tag/values", readRoute, async (c) => {
    const tag = c.req.param("tag");
    const p = parseTagQuery(c.req.query());
    const { db, store, tenantId } = c.var;
    if (tag === "name") {
      // The legacy name: root span names, from the summary tables alone.
      return c.json({ tagValues: await rootSpanNames(db, store, tenantId, p, { maxValues: p.limits.maxValues, ...scanSettings(c.env) }) });
    }
    const target: TagTarget = tag === "status" ? { kind: "intrinsic", name: "status" } : { kind: "attribute", scope: "any", name: tag };
    // Tempo's v1 endpoint answers string values only.
    const { values, metrics } = await searchTagValues(db, store, tenantId, target, { ...p, q: undefined, types: ["string", "keyword"], ...scanSettings(c.env) });
    return c.json({ tagValues: values.map((v) => v.value), metrics: tagMetrics(metrics) });
  })
  .get("/v2/search/tags", readRoute, async (c) => {
    const p = parseTagQuery(c.req.query());
    const scopes = parseScopes(p.scope);
    const attributeScopes = scopes.filter((s): s is AttributeScope => s !== "intrinsic");
    const { names, metrics } = await searchTagNames(c.var.db, c.var.store, c.var.tenantId, attributeScopes, { ...p, ...scanSettings(c.env) });
    return c.json({ scopes: scopes.map((name) => ({ name, tags: name === "intrinsic" ? INTRINSIC_TAGS : names[name] })), metrics: tagMetrics(metrics) });
  })
  .get("/v2/search/tag/:tag/values", readRoute, async (c) => {
    const tag = c.req.param("tag");
    const p = parseTagQuery(c.req.query());
    const target = parseTagIdentifier(tag);
    if (!target) throw bad("tag", `"${tag}" is not a TraceQL attribute (span.x, resource.x, .x, event.x, link.x, instrumentation.x) or intrinsic (${INTRINSIC_TAGS.join(", ")})`);
    const { values, metrics } = await searchTagValues(c.var.db, c.var.store, c.var.tenantId, target, { ...p, ...scanSettings(c.env) });
    return c.json({ tagValues: values, metrics: tagMetrics(metrics) });
  })
  .get("/status/buildinfo", readRoute, (c) => c.json(BUILD_INFO));
