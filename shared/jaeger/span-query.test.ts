import { describe, expect, it } from "vitest";
import { summarizeTrace } from "../block/summarize.ts";
import type { KeyValue, ResourceSpans, Span } from "../model/span.ts";
import { jaegerSpanMatcher, type JaegerSpanQuery } from "./span-query.ts";

function span(id: string, parent: string, startMs: number, durationMs: number, name: string, opts: { attrs?: KeyValue[]; kind?: number; error?: boolean; events?: Span["events"] } = {}): Span {
  return {
    traceId: "t", spanId: id, traceState: "", parentSpanId: parent, flags: 0, name, kind: opts.kind ?? 2,
    startTimeUnixNano: `${1_000_000 + startMs}000000`, endTimeUnixNano: `${1_000_000 + startMs + durationMs}000000`,
    attributes: opts.attrs ?? [], droppedAttributesCount: 0, events: opts.events ?? [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
    status: { code: opts.error ? 2 : 0, message: "" },
  };
}

function service(name: string, spans: Span[], attrs: KeyValue[] = []): ResourceSpans {
  return {
    resource: { attributes: [{ key: "service.name", value: { stringValue: name } }, ...attrs], droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeSpans: [{ scope: { name: "io.lib", version: "1.2", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }],
  };
}

const int = (key: string, v: number): KeyValue => ({ key, value: { intValue: String(v) } });
const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });

// frontend (host h1): GET /cart, 300 ms, status 200. cart: SELECT, 40 ms, failed, with a "retry" event; cache get, 2 ms.
const trace = [
  service("frontend", [span("a", "", 0, 300, "GET /cart", { attrs: [int("http.status_code", 200)] })], [str("host.name", "h1")]),
  service("cart", [
    span("b", "a", 10, 40, "SELECT", { kind: 3, error: true, attrs: [str("db.system", "postgresql")], events: [{ timeUnixNano: "1000020000000000", name: "retry", attributes: [int("attempt", 2)], droppedAttributesCount: 0 }] }),
    span("c", "a", 60, 2, "cache get", { kind: 1 }),
  ], [str("host.name", "h2")]),
];
const summary = summarizeTrace("t", trace);

function matches(q: Partial<JaegerSpanQuery>): string[] | undefined {
  const m = jaegerSpanMatcher({ service: "cart", tags: [], ...q });
  if (!m.mayMatch(summary)) return undefined;
  if (m.summaryOnly) return [];
  return m.match(trace, summary)?.[0]?.spans.map((s) => s.spanID);
}

describe("jaegerSpanMatcher", () => {
  it("matches service, operation, tags and durations on one span", () => {
    expect(matches({ tags: [["db.system", "postgresql"]] })).toEqual(["b"]);
    expect(matches({ operation: "SELECT", tags: [["db.system", "postgresql"]], minDurationNanos: 40_000_000n })).toEqual(["b"]);
    expect(matches({ operation: "cache get", tags: [["db.system", "postgresql"]] })).toBeUndefined();
    // frontend's span has the tag, but no cart span does.
    expect(matches({ tags: [["http.status_code", "200"]] })).toBeUndefined();
    expect(matches({ service: "frontend", tags: [["http.status_code", "200"]] })).toEqual(["a"]);
    // A cart span lasting 100 ms: the trace lasts 300 ms, but none of cart's spans.
    expect(matches({ minDurationNanos: 100_000_000n })).toBeUndefined();
    expect(matches({ maxDurationNanos: 5_000_000n })).toEqual(["c"]);
  });

  it("finds tags Jaeger derives, process tags and log fields, by string form", () => {
    expect(matches({ tags: [["error", "true"]] })).toEqual(["b"]);
    expect(matches({ tags: [["span.kind", "client"], ["otel.status_code", "ERROR"]] })).toEqual(["b"]);
    expect(matches({ tags: [["span.kind", "internal"]] })).toEqual(["c"]);
    expect(matches({ tags: [["otel.scope.name", "io.lib"]] })).toEqual(["b", "c"]);
    expect(matches({ tags: [["host.name", "h2"], ["db.system", "postgresql"]] })).toEqual(["b"]);
    expect(matches({ tags: [["host.name", "h1"]] })).toBeUndefined();
    expect(matches({ tags: [["event", "retry"], ["attempt", "2"]] })).toEqual(["b"]);
    expect(matches({ service: "frontend", tags: [["http.status_code", "500"]] })).toBeUndefined();
  });

  it("prunes by service and leaves a bare service to the summary", () => {
    expect(jaegerSpanMatcher({ service: "cart", tags: [] }).summaryOnly).toBe(true);
    expect(jaegerSpanMatcher({ service: "cart", tags: [] }).requiredServices).toEqual(["cart"]);
    expect(matches({ service: "billing" })).toBeUndefined();
    expect(matches({})).toEqual([]);
  });
});
