/**
 * @module
 * A search's matcher as plain data, so a search split into jobs can send it to another Worker
 * invocation (block-scanner fan-out) and rebuild the very same matcher there: matchers are
 * closures, specs are what the routes parsed.
 */
import { jaegerSpanMatcher, type JaegerSpanQuery } from "../jaeger/span-query.ts";
import { compileQuery, parseTraceQL, type Query } from "../traceql/index.ts";
import { zipkinSpanMatcher, type ZipkinSearch } from "../zipkin/search.ts";
import type { TraceMatcher } from "./matcher.ts";
import { traceqlRequiredServices } from "./search-blocks.ts";
import { tagsMatcher, type TagsSearch } from "./tags-matcher.ts";

export type MatcherSpec =
  /** Tempo's `q`. */
  | { kind: "traceql"; query: string; spss: number }
  /** Tempo's legacy `tags`, `minDuration`, `maxDuration`. */
  | { kind: "tags"; search: TagsSearch; spss: number }
  | { kind: "jaeger"; query: JaegerSpanQuery }
  /** `service`: the stored service name the route resolved `serviceName` to. */
  | { kind: "zipkin"; search: ZipkinSearch; service: string | undefined };

/** The matcher of a parsed TraceQL query, for a route that reads the query's hints too (one parse). */
export function traceqlMatcher(ast: Query, spss: number): TraceMatcher {
  // The block pruning by catalog services that `service.name=` gets with tags.
  return Object.assign(compileQuery(ast, { spss }), { requiredServices: traceqlRequiredServices(ast) });
}

/** The matcher a spec stands for; throws what the underlying parser throws on a bad query. */
export function matcherOf(spec: MatcherSpec): TraceMatcher {
  switch (spec.kind) {
    case "traceql":
      return traceqlMatcher(parseTraceQL(spec.query), spec.spss);
    case "tags":
      return tagsMatcher(spec.search, { spss: spec.spss });
    case "jaeger":
      return jaegerSpanMatcher(spec.query);
    case "zipkin":
      return zipkinSpanMatcher(spec.search, spec.service);
  }
}
