import { describe, expect, it } from "vitest";
import { mergeTraceFragments } from "../block/combine.ts";
import { emptyResource, emptyScope, type ResourceSpans, type Span, type TraceBatch } from "../model/span.ts";
import { dropRepeatedSpans, spanContentKey } from "./dedupe-spans.ts";
import { groupByTrace } from "./group-by-trace.ts";
import { modelSpan } from "../../test/support/spans.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";

function span(spanId: string, overrides: Partial<Span> = {}): Span {
  return modelSpan(spanId, { traceId: TRACE, attributes: [{ key: "http.route", value: { stringValue: "/" } }], ...overrides });
}

const resource = (service: string) => ({ attributes: [{ key: "service.name", value: { stringValue: service } }], droppedAttributesCount: 0 });
const rsOf = (service: string, ...spans: Span[]): ResourceSpans => ({ resource: resource(service), schemaUrl: "", scopeSpans: [{ scope: emptyScope(), spans, schemaUrl: "" }] });
const ids = (b: TraceBatch) => b.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => `${s.spanId}/${s.kind}/${s.name}`)));

describe("dropRepeatedSpans", () => {
  it("leaves a batch without repeats as it is", () => {
    const batch = { resourceSpans: [rsOf("a", span("1111111111111111"), span("2222222222222222"))] };
    const r = dropRepeatedSpans(batch);
    expect(r.batch).toBe(batch);
    expect(r).toMatchObject({ duplicates: 0, conflicts: 0, errors: [], notices: [] });
  });

  it("stores an exact repeat once, even in another container of the request, and says so without rejecting", () => {
    const batch = {
      resourceSpans: [rsOf("a", span("1111111111111111"), span("1111111111111111"), span("2222222222222222")), rsOf("a", span("1111111111111111")), rsOf("b", span("3333333333333333"))],
    };
    const before = structuredClone(batch);
    const r = dropRepeatedSpans(batch);
    expect(batch).toEqual(before);
    expect(ids(r.batch)).toEqual(["1111111111111111/2/GET /", "2222222222222222/2/GET /", "3333333333333333/2/GET /"]);
    expect(r.batch.resourceSpans).toHaveLength(2); // the container holding only a repeat is gone
    expect(r.duplicates).toBe(2);
    expect(r.conflicts).toBe(0);
    expect(r.notices).toEqual(["2 spans were exact repeats of an earlier span of the request and stored once"]);
  });

  it("keeps the CLIENT and SERVER halves of a shared Zipkin span, and the same span id in another trace", () => {
    const other = "1bf7651916cd43dd8448eb211c80319c";
    const batch = { resourceSpans: [rsOf("a", span("1111111111111111", { kind: 3 }), span("1111111111111111", { kind: 2 }), span("1111111111111111", { traceId: other }))] };
    const r = dropRepeatedSpans(batch);
    expect(r.batch).toBe(batch);
    expect(r.duplicates + r.conflicts).toBe(0);
  });

  it("drops a repeat with different content (the first wins, as across requests) and reports it as a rejection", () => {
    const batch = { resourceSpans: [rsOf("a", span("1111111111111111"), span("1111111111111111", { name: "other" })), rsOf("b", span("1111111111111111"))] };
    const r = dropRepeatedSpans(batch);
    expect(ids(r.batch)).toEqual(["1111111111111111/2/GET /"]);
    // The third differs only by its resource: not an exact repeat either.
    expect(r.conflicts).toBe(2);
    expect(r.duplicates).toBe(0);
    expect(r.errors).toEqual([
      `2 spans repeat the trace id, span id and kind of an earlier span of the request with different content and were dropped, as a repeat from a later request would be (first: span 1111111111111111 of trace ${TRACE})`,
    ]);
    expect(r.notices).toEqual([]);
  });

  it("leaves what the assembler's cross-request merge leaves: one request with repeats reads back like the same spans sent one per request", () => {
    const a = span("1111111111111111");
    const changed = span("1111111111111111", { attributes: [] });
    const client = span("1111111111111111", { kind: 3 });
    const b = span("2222222222222222", { parentSpanId: "1111111111111111" });
    const sent = [rsOf("a", a, b, a), rsOf("a", changed, client, b)];
    // One request:
    const oneRequest = groupByTrace(dropRepeatedSpans({ resourceSpans: sent }).batch);
    // The same spans, each in a request of its own, merged as assembly merges fragments:
    const fragments = sent.flatMap((rs) => rs.scopeSpans[0]!.spans.map((s) => ({ traceId: s.traceId, resourceSpans: [rsOf("a", s)] })));
    const merged = mergeTraceFragments(fragments);
    const spansOf = (rss: ResourceSpans[]) => rss.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map(spanContentKey))).sort();
    expect(oneRequest).toHaveLength(1);
    expect(spansOf(oneRequest[0]!.resourceSpans)).toEqual(spansOf(merged[0]!.resourceSpans));
    expect(spansOf(merged[0]!.resourceSpans)).toHaveLength(3);
  });
});

describe("spanContentKey", () => {
  it("tells apart spans that differ in any field, list or nested value", () => {
    const base = span("1111111111111111");
    const variants: Partial<Span>[] = [
      { name: "x" },
      { traceState: "a=b" },
      { parentSpanId: "2222222222222222" },
      { flags: 1 },
      { endTimeUnixNano: "1700000000100000001" },
      { attributes: [{ key: "http.route", value: { stringValue: "/x" } }] },
      { attributes: [{ key: "http.route", value: { intValue: "1" } }] },
      { droppedAttributesCount: 1 },
      { events: [{ timeUnixNano: "1", name: "e", attributes: [], droppedAttributesCount: 0 }] },
      { links: [{ traceId: TRACE, spanId: "2222222222222222", traceState: "", attributes: [], droppedAttributesCount: 0, flags: 0 }] },
      { status: { code: 2, message: "" } },
      { status: { code: 0, message: "m" } },
      { droppedEventsCount: 1 },
      { droppedLinksCount: 1 },
    ];
    const keys = new Set([spanContentKey(base), ...variants.map((v) => spanContentKey({ ...base, ...v }))]);
    expect(keys.size).toBe(variants.length + 1);
    expect(spanContentKey(structuredClone(base))).toBe(spanContentKey(base));
  });

  it("is used with the resource and scope: an empty resource is not the same as a named one", () => {
    const s = span("1111111111111111");
    const r = dropRepeatedSpans({ resourceSpans: [{ resource: emptyResource(), schemaUrl: "", scopeSpans: [{ scope: emptyScope(), spans: [s], schemaUrl: "" }] }, rsOf("a", s)] });
    expect(r.conflicts).toBe(1);
  });
});
