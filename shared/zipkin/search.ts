/**
 * @module
 * Zipkin's trace search (`GET /api/v2/traces`, zipkin-api's zipkin2-api.yaml) as a span-level
 * matcher. Pure, no I/O; a bad parameter is a `ParamError` (shared/http/params.ts, which reads the
 * numbers) whose message names it (the route answers 400).
 *
 * The spec: "a span in the trace must match all of these". So a trace matches when ONE span has
 * the service (its localEndpoint), the span name, the remote service, every `annotationQuery`
 * term and a duration within the bounds. Each candidate span is tested as Zipkin shows it
 * (encode.ts), so tags are the ones Zipkin Lens displays: the span's and its resource's
 * attributes, `otel.status_code`, `error` (the status message, or "true"; a span ingested
 * through Zipkin has its own status tags as it sent them), ...
 *
 * - `serviceName`: matched case-insensitively by the route, which resolves it to a stored name
 *   (Zipkin clients lowercase names); `spanName` and `remoteServiceName` compare ignoring case
 *   (`all` means no condition, as Zipkin Lens sends it).
 * - `annotationQuery`: terms joined by ` and ` (any case, any spacing); `key=value` is a tag with that value; a bare word
 *   (or `key=`) is an annotation of that value (an event of that name) or a tag of that key, as
 *   Zipkin's QueryRequest reads it. Empty terms are skipped.
 * - `minDuration`/`maxDuration`: microseconds on that span's duration (whole µs, rounded down);
 *   `minDuration` positive, `maxDuration` only with `minDuration` and not below it (Zipkin's rules).
 * - `endTs`/`lookback` (ms; default now and 1 day, at most the caller's maximum), `limit` (default
 *   10, at most `MAX_SEARCH_LIMIT`).
 */
import { ALL, allOf } from "../block/attribute-index.ts";
import { badParam, nonNegativeInteger, param, QUERY_STYLE } from "../http/params.ts";
import type { Resource } from "../model/span.ts";
import { spanMatcher, type SpanMatcher } from "../search/span-matcher.ts";
import { encodeZipkinSpan, zipkinResource, type ZipkinResource } from "./encode.ts";

export const DEFAULT_SEARCH_LIMIT = 10;
/** Each result is fetched in full: keep the fan-out of reads bounded. */
export const MAX_SEARCH_LIMIT = 100;
export const DEFAULT_SEARCH_LOOKBACK_MS = 24 * 3600 * 1000;

export interface ZipkinSearch {
  serviceName?: string;
  spanName?: string;
  remoteServiceName?: string;
  /** `annotationQuery` terms in order; value "" for a bare word. */
  annotationQuery: [string, string][];
  minDurationMicros?: number;
  maxDurationMicros?: number;
  startMs: number;
  endMs: number;
  limit: number;
}

/** Times and durations (ms, µs), and the limit. */
const longInteger = nonNegativeInteger(15);
const shortInteger = nonNegativeInteger(9);

const bad = (name: string, says: string) => badParam(QUERY_STYLE, name, says);

export function parseAnnotationQuery(raw: string | undefined): [string, string][] {
  if (raw === undefined) return [];
  const out: [string, string][] = [];
  for (const term of raw.split(/\s+and\s+/i)) {
    const eq = term.indexOf("=");
    const key = (eq < 0 ? term : term.slice(0, eq)).trim();
    if (key) out.push([key, eq < 0 ? "" : term.slice(eq + 1).trim()]);
  }
  return out;
}

export function parseZipkinSearch(q: Record<string, string | undefined>, nowMs: number, maxLookbackMs: number): ZipkinSearch {
  const out: ZipkinSearch = { annotationQuery: parseAnnotationQuery(q.annotationQuery), startMs: 0, endMs: 0, limit: DEFAULT_SEARCH_LIMIT };
  if (q.serviceName) out.serviceName = q.serviceName;
  if (q.spanName && q.spanName.toLowerCase() !== "all") out.spanName = q.spanName;
  if (q.remoteServiceName && q.remoteServiceName.toLowerCase() !== "all") out.remoteServiceName = q.remoteServiceName;
  const min = param(QUERY_STYLE, "minDuration", q.minDuration, longInteger);
  const max = param(QUERY_STYLE, "maxDuration", q.maxDuration, longInteger);
  if (min === 0) throw bad("minDuration", "must be a positive number of microseconds");
  if (max !== undefined && min === undefined) throw bad("maxDuration", "is only valid with minDuration");
  if (min !== undefined && max !== undefined && max < min) throw bad("maxDuration", "should be >= minDuration");
  if (min !== undefined) out.minDurationMicros = min;
  if (max !== undefined) out.maxDurationMicros = max;
  const endMs = param(QUERY_STYLE, "endTs", q.endTs, longInteger) ?? nowMs;
  const lookbackMs = param(QUERY_STYLE, "lookback", q.lookback, longInteger) ?? DEFAULT_SEARCH_LOOKBACK_MS;
  if (lookbackMs <= 0) throw bad("lookback", "must be positive");
  if (lookbackMs > maxLookbackMs) throw bad("lookback", `may be at most ${maxLookbackMs} ms`);
  out.endMs = endMs;
  out.startMs = Math.max(0, endMs - lookbackMs);
  const limit = param(QUERY_STYLE, "limit", q.limit, shortInteger);
  if (limit !== undefined) {
    if (limit === 0) throw bad("limit", "must be positive");
    out.limit = Math.min(limit, MAX_SEARCH_LIMIT);
  }
  return out;
}

/** Tags encode.ts makes from something other than an attribute of the span or its resource. */
function isDerivedTag(key: string): boolean {
  return key === "span.kind" || key === "error" || key === "w3c.tracestate" || key.startsWith("otel.") || key.startsWith("otlp.");
}

/**
 * The span-level matcher of a search. `service` is the stored service name `serviceName`
 * resolved to (the route knows the stored names); without it any span may match.
 */
export function zipkinSpanMatcher(q: ZipkinSearch, service: string | undefined): SpanMatcher {
  const spanName = q.spanName?.toLowerCase();
  const remote = q.remoteServiceName?.toLowerCase();
  const terms = q.annotationQuery;
  const resources = new WeakMap<Resource, ZipkinResource>();
  const needsSpan = spanName !== undefined || remote !== undefined || terms.length > 0;
  return spanMatcher({
    service,
    // A tag with a value is an attribute (span or resource) unless encode.ts derives it.
    testIndex: allOf(terms.map(([key, value]) => (value === "" || isDerivedTag(key) ? ALL : { kind: "pair" as const, name: key, value }))),
    // Whole microseconds, as Zipkin's durations are: floor(d / 1000) within [min, max].
    ...(q.minDurationMicros !== undefined ? { minDurationNanos: BigInt(q.minDurationMicros) * 1000n } : {}),
    ...(q.maxDurationMicros !== undefined ? { maxDurationNanos: BigInt(q.maxDurationMicros + 1) * 1000n - 1n } : {}),
    test: needsSpan
      ? (span, resource, scope) => {
          let zr = resources.get(resource);
          if (!zr) resources.set(resource, (zr = zipkinResource(resource)));
          const zs = encodeZipkinSpan(span, zr, scope);
          if (spanName !== undefined && (zs.name ?? "").toLowerCase() !== spanName) return false;
          if (remote !== undefined && (zs.remoteEndpoint?.serviceName ?? "").toLowerCase() !== remote) return false;
          const tags = zs.tags ?? {};
          return terms.every(([key, value]) => {
            if (value !== "") return Object.hasOwn(tags, key) && tags[key] === value;
            return Object.hasOwn(tags, key) || span.events.some((e) => e.name === key) || (zs.annotations ?? []).some((a) => a.value === key);
          });
        }
      : undefined,
  });
}
