/**
 * @module
 * A span-level `TraceMatcher`: a trace matches when ONE of its spans meets every condition (its
 * service, its name, its duration and the caller's test), which is how Jaeger's and Zipkin's
 * searches work. Tempo's legacy tags search (tags-matcher.ts) is trace-level instead: there the
 * conditions may be met by different spans.
 *
 * The summary row prunes what it can without decoding spans: the trace must have a span of the
 * service, and a trace shorter than the minimum duration has no span that long (a span lies
 * within its trace). The service also prunes whole blocks through `requiredServices`. With only a
 * service (no name, duration or test) the summary decides and no span is decoded.
 *
 * The spanset reported is the matching spans by start time, at most `spss`, each with its
 * `service.name`.
 */
import { allOf, type IndexCondition } from "../block/attribute-index.ts";
import type { TraceFacts } from "../block/summarize.ts";
import { serviceNameOf, spanDurationNanos } from "../block/summarize.ts";
import type { InstrumentationScope, Resource, Span } from "../model/span.ts";
import type { SpanMatch, SpansetMatch, TraceMatcher } from "./matcher.ts";

/** A further condition on one span, given the resource and scope it was recorded under. */
export type SpanTest = (span: Span, resource: Resource, scope: InstrumentationScope) => boolean;

export interface SpanQuery {
  /** The span's resource `service.name`, exactly. */
  service?: string;
  /** The span's name, exactly. */
  name?: string;
  /** Bounds on the span's own duration (end - start, 0 when the end is not after the start), inclusive. */
  minDurationNanos?: bigint;
  maxDurationNanos?: bigint;
  test?: SpanTest;
  /** What `test` needs of a block's or segment's attribute index (the caller knows what it tests). */
  testIndex?: IndexCondition;
}

export interface SpanMatcher extends TraceMatcher {
  /** Services every match has, for pruning blocks by the catalog's services list. */
  readonly requiredServices?: string[];
}

export { spanDurationNanos };

function compareDecimal(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

export function spanMatcher(query: SpanQuery, options: { spss?: number } = {}): SpanMatcher {
  const spss = options.spss ?? 3;
  const { service, name, minDurationNanos: min, maxDurationNanos: max, test } = query;
  const summaryOnly = name === undefined && min === undefined && max === undefined && test === undefined;

  const mayMatch = (s: TraceFacts): boolean => {
    if (service !== undefined && !s.services.some((c) => c.serviceName === service && c.spanCount > 0)) return false;
    if (min !== undefined && BigInt(s.durationNanos) < min) return false;
    return s.spanCount > 0;
  };

  // One span meets every condition, so its facts are all in the segment that holds it.
  const indexCondition = allOf([
    ...(name !== undefined ? [{ kind: "spanName" as const, value: name }] : []),
    ...(min !== undefined ? [{ kind: "duration" as const, op: ">=" as const, nanos: min }] : []),
    ...(max !== undefined ? [{ kind: "duration" as const, op: "<=" as const, nanos: max }] : []),
    ...(query.testIndex ? [query.testIndex] : []),
  ]);

  return {
    requiredServices: service !== undefined ? [service] : undefined,
    indexCondition,
    summaryOnly,
    mayMatch,
    match(trace, summary) {
      if (!mayMatch(summary)) return undefined;
      if (summaryOnly) return [];
      const hits: { span: Span; service: string }[] = [];
      for (const rs of trace) {
        const spanService = serviceNameOf(rs.resource);
        if (service !== undefined && spanService !== service) continue;
        for (const ss of rs.scopeSpans) {
          for (const span of ss.spans) {
            // Cheap conditions first: the caller's test may convert the span.
            if (name !== undefined && span.name !== name) continue;
            if (min !== undefined || max !== undefined) {
              const d = spanDurationNanos(span);
              if ((min !== undefined && d < min) || (max !== undefined && d > max)) continue;
            }
            if (test && !test(span, rs.resource, ss.scope)) continue;
            hits.push({ span, service: spanService });
          }
        }
      }
      if (!hits.length) return undefined;
      hits.sort((a, b) => compareDecimal(a.span.startTimeUnixNano, b.span.startTimeUnixNano) || (a.span.spanId < b.span.spanId ? -1 : a.span.spanId > b.span.spanId ? 1 : 0));
      const spans = hits.slice(0, spss).map(({ span, service: s }): SpanMatch => ({
        spanID: span.spanId,
        name: span.name,
        startTimeUnixNano: span.startTimeUnixNano,
        durationNanos: spanDurationNanos(span).toString(),
        attributes: s ? [{ key: "service.name", value: { stringValue: s } }] : [],
      }));
      return [{ spans, matched: hits.length }] satisfies SpansetMatch[];
    },
  };
}
