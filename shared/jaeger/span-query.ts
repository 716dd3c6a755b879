/**
 * @module
 * What a Jaeger trace search asks of one span, and the span-level matcher for it. Shared by the
 * v1 search (`/api/traces?service&operation&tags...`, search-params.ts) and api_v3's FindTraces
 * (v3-params.ts). Pure, no I/O.
 *
 * Jaeger's storages match one span: a trace matches when one span of the service has the
 * operation name, lasts within the bounds and carries every tag. A tag is found among the span's
 * tags as the Jaeger JSON shows them (its attributes plus `span.kind`, `error`, `otel.status_code`,
 * `otel.scope.name`, ...; convert.ts), its process's tags (the resource's attributes) or its logs'
 * fields (event attributes and the `event` name), compared by string form as Jaeger does.
 */
import { ALL, allOf } from "../block/attribute-index.ts";
import type { Resource } from "../model/span.ts";
import { spanMatcher, type SpanMatcher, type SpanTest } from "../search/span-matcher.ts";
import { jaegerLogs, jaegerProcess, jaegerSpanTags, type JaegerKeyValue } from "./convert.ts";

export interface JaegerSpanQuery {
  service: string;
  operation?: string;
  /** [key, value] pairs, all on the one matching span. */
  tags: [string, string][];
  minDurationNanos?: bigint;
  maxDurationNanos?: bigint;
}

/**
 * Tags and log fields convert.ts makes from something other than an attribute: an index of
 * attributes cannot rule them out. Any other tag is an attribute of the span, its resource or one
 * of its events, compared by a string form the index keeps.
 */
const DERIVED_TAGS = new Set(["otel.scope.name", "otel.scope.version", "span.kind", "otel.status_code", "error", "otel.status_description", "w3c.tracestate", "event"]);

const hasTag = (kvs: readonly JaegerKeyValue[], key: string, value: string) => kvs.some((kv) => kv.key === key && String(kv.value) === value);

export function jaegerSpanMatcher(q: JaegerSpanQuery, options: { spss?: number } = {}): SpanMatcher {
  let test: SpanTest | undefined;
  if (q.tags.length) {
    // Every span of a resource shares its process tags: convert them once.
    const processTags = new WeakMap<Resource, JaegerKeyValue[]>();
    test = (span, resource, scope) => {
      let proc = processTags.get(resource);
      if (!proc) processTags.set(resource, (proc = jaegerProcess(resource).tags));
      const own = jaegerSpanTags(span, scope);
      const fields = span.events.length ? jaegerLogs(span).flatMap((l) => l.fields) : [];
      return q.tags.every(([k, v]) => hasTag(own, k, v) || hasTag(proc, k, v) || hasTag(fields, k, v));
    };
  }
  const testIndex = allOf(q.tags.map(([k, v]) => (DERIVED_TAGS.has(k) ? ALL : { kind: "pair" as const, name: k, value: v })));
  return spanMatcher({ service: q.service, name: q.operation, minDurationNanos: q.minDurationNanos, maxDurationNanos: q.maxDurationNanos, test, testIndex }, options);
}
