import { describe, expect, it } from "vitest";
import { expectSummaryOnlyFor } from "../../test/support/summary-matcher.ts";
import { summarizeTrace } from "../block/summarize.ts";
import type { KeyValue, ResourceSpans, Span } from "../model/span.ts";
import { spanMatcher, type SpanQuery } from "./span-matcher.ts";

function span(id: string, parent: string, startMs: number, endMs: number, name: string, attrs: KeyValue[] = []): Span {
  return {
    traceId: "t", spanId: id, traceState: "", parentSpanId: parent, flags: 0, name, kind: 2,
    startTimeUnixNano: `${1_000_000 + startMs}000000`, endTimeUnixNano: `${1_000_000 + endMs}000000`,
    attributes: attrs, droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
    status: { code: 0, message: "" },
  };
}

function service(name: string, spans: Span[]): ResourceSpans {
  return {
    resource: { attributes: [{ key: "service.name", value: { stringValue: name } }], droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeSpans: [{ scope: { name: "lib", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }],
  };
}

const status500: KeyValue = { key: "http.status_code", value: { intValue: "500" } };
// web: GET /cart 0-250 ms. cart: SELECT 10-200 ms with status 500, cache get 20-30 ms.
const trace = [
  service("web", [span("a", "", 0, 250, "GET /cart")]),
  service("cart", [span("b", "a", 10, 200, "SELECT", [status500]), span("c", "a", 20, 30, "cache get")]),
];
const summary = summarizeTrace("t", trace);
const has500 = (s: Span) => s.attributes.some((kv) => kv.key === "http.status_code" && "intValue" in kv.value && kv.value.intValue === "500");
const ms = (n: number) => BigInt(n) * 1_000_000n;

function run(query: SpanQuery, spss?: number) {
  const m = spanMatcher(query, { spss });
  if (!m.mayMatch(summary)) return undefined;
  if (m.summaryOnly) return [];
  return m.match(trace, summary);
}
const ids = (r: ReturnType<typeof run>) => r?.[0]?.spans.map((s) => s.spanID);

describe("spanMatcher", () => {
  it("needs one span to meet every condition", () => {
    expect(ids(run({ service: "cart", test: has500 }))).toEqual(["b"]);
    // web has a span, and some span has status 500, but not the same one.
    expect(run({ service: "web", test: has500 })).toBeUndefined();
    expect(run({ service: "web", name: "SELECT" })).toBeUndefined();
    expect(ids(run({ service: "cart", name: "SELECT", test: has500 }))).toEqual(["b"]);
    expect(run({ service: "cart", name: "cache get", test: has500 })).toBeUndefined();
  });

  it("bounds the span's own duration, not the trace's", () => {
    expect(ids(run({ service: "cart", minDurationNanos: ms(100) }))).toEqual(["b"]);
    expect(run({ service: "cart", minDurationNanos: ms(220) })).toBeUndefined();
    expect(ids(run({ service: "cart", maxDurationNanos: ms(10) }))).toEqual(["c"]);
    expect(run({ service: "web", maxDurationNanos: ms(200) })).toBeUndefined();
    expect(ids(run({ minDurationNanos: ms(10), maxDurationNanos: ms(190) }))).toEqual(["b", "c"]);
    expect(ids(run({ minDurationNanos: ms(190), maxDurationNanos: ms(190) }))).toEqual(["b"]);
  });

  it("lets the summary decide what it can and names the service for block pruning", () => {
    expectSummaryOnlyFor(spanMatcher({ service: "cart" }), "cart", summary);
    expect(spanMatcher({ service: "db" }).mayMatch(summary)).toBe(false);
    // Nothing in a 250 ms trace lasts 300 ms.
    expect(spanMatcher({ minDurationNanos: ms(300) }).mayMatch(summary)).toBe(false);
    expect(spanMatcher({ name: "x" }).summaryOnly).toBe(false);
    expect(spanMatcher({}).requiredServices).toBeUndefined();
  });

  it("reports the matching spans by start, at most spss, with their service", () => {
    const r = run({ test: () => true }, 2)!;
    expect(r).toHaveLength(1);
    expect(r[0]!.matched).toBe(3);
    expect(r[0]!.spans).toEqual([
      { spanID: "a", name: "GET /cart", startTimeUnixNano: "1000000000000", durationNanos: "250000000", attributes: [{ key: "service.name", value: { stringValue: "web" } }] },
      { spanID: "b", name: "SELECT", startTimeUnixNano: "1000010000000", durationNanos: "190000000", attributes: [{ key: "service.name", value: { stringValue: "cart" } }] },
    ]);
  });

  it("passes the span's resource and scope to the test", () => {
    const seen: string[] = [];
    run({ service: "cart", test: (s, resource, scope) => (seen.push(`${s.spanId}:${resource.attributes[0]!.key}:${scope.name}`), false) });
    expect(seen).toEqual(["b:service.name:lib", "c:service.name:lib"]);
  });
});
