/**
 * Event, link, instrumentation and parent scopes, and the span-tree intrinsics (child count,
 * nested sets), over one small hand-built trace; answers worked out by hand (below).
 *
 *   a1 shop "GET /" (root; scope io.opentelemetry.http 1.2.0, lib.tier=core; team=web)
 *      events: request.received @+5ms {size 10}, cache.miss @+20ms {size 500, key u1}
 *   ├─ b2 shop "auth" (link → trace 0…0fe span 00000000000000c3 {link.kind follows})
 *   └─ c4 db "SELECT" (scope pg-driver 0.9; db.system=postgres)
 *         events: exception @+5ms {exception.type Timeout}
 *      └─ d5 db "fetch"
 *   e6 db "orphan" (parent 00000000000000ff is not in the trace)
 *
 * Nested sets (roots and children by start time): a1 1–8, b2 2–3, c4 4–7, d5 5–6; parents
 * a1 -1, b2 1, c4 1, d5 4; the orphan e6 0/0/0.
 */
import { describe, expect, it } from "vitest";
import { summarizeTrace } from "../block/summarize.ts";
import { AttributeIndexBuilder, encodedIndexMayMatch, SEGMENT_INDEX_CAPS } from "../block/attribute-index.ts";
import type { AnyValue, InstrumentationScope, KeyValue, ResourceSpans, Span, SpanEvent, SpanLink } from "../model/span.ts";
import { compileTraceQL } from "./index.ts";

const BASE = 1_700_000_000_000n * 1_000_000n;
const TRACE_ID = "00000000000000000000000000000abc";
const kvs = (o: Record<string, string | number>): KeyValue[] =>
  Object.entries(o).map(([key, v]): KeyValue => ({ key, value: (typeof v === "string" ? { stringValue: v } : { intValue: String(v) }) as AnyValue }));
const at = (ms: number): string => (BASE + BigInt(ms) * 1_000_000n).toString();
const event = (name: string, ms: number, attrs: Record<string, string | number>): SpanEvent => ({ name, timeUnixNano: at(ms), attributes: kvs(attrs), droppedAttributesCount: 0 });

function span(id: string, parent: string, name: string, startMs: number, durMs: number, extra: Partial<Span> = {}): Span {
  return {
    traceId: TRACE_ID, spanId: id, traceState: "", parentSpanId: parent, flags: 0, name, kind: 1,
    startTimeUnixNano: at(startMs), endTimeUnixNano: at(startMs + durMs), attributes: [], droppedAttributesCount: 0,
    events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: "" }, ...extra,
  };
}
const scope = (name: string, version: string, attrs: Record<string, string> = {}): InstrumentationScope => ({ name, version, attributes: kvs(attrs), droppedAttributesCount: 0 });
const link: SpanLink = { traceId: "000000000000000000000000000000fe", spanId: "00000000000000c3", traceState: "", attributes: kvs({ "link.kind": "follows" }), droppedAttributesCount: 0, flags: 0 };

const RS: ResourceSpans[] = [
  {
    resource: { attributes: kvs({ "service.name": "shop", region: "eu" }), droppedAttributesCount: 0 },
    scopeSpans: [{
      scope: scope("io.opentelemetry.http", "1.2.0", { "lib.tier": "core" }),
      spans: [
        span("00000000000000a1", "", "GET /", 0, 100, {
          attributes: kvs({ "http.method": "GET", team: "web" }),
          events: [event("request.received", 5, { size: 10 }), event("cache.miss", 20, { size: 500, key: "u1" })],
        }),
        span("00000000000000b2", "00000000000000a1", "auth", 10, 20, { links: [link] }),
      ],
      schemaUrl: "",
    }],
    schemaUrl: "",
  },
  {
    resource: { attributes: kvs({ "service.name": "db" }), droppedAttributesCount: 0 },
    scopeSpans: [{
      scope: scope("pg-driver", "0.9"),
      spans: [
        span("00000000000000c4", "00000000000000a1", "SELECT", 40, 30, {
          attributes: kvs({ "db.system": "postgres" }),
          events: [event("exception", 45, { "exception.type": "Timeout" })],
        }),
        span("00000000000000d5", "00000000000000c4", "fetch", 50, 5),
        span("00000000000000e6", "00000000000000ff", "orphan", 60, 1),
      ],
      schemaUrl: "",
    }],
    schemaUrl: "",
  },
];
const SUMMARY = summarizeTrace(TRACE_ID, RS);
const INDEX = (() => {
  const b = new AttributeIndexBuilder();
  b.addTrace(RS);
  return b.encode(SEGMENT_INDEX_CAPS);
})();

/** The matching spans' short ids (last two hex digits), sorted; checks the summary and index prunes. */
function spans(q: string): string {
  const m = compileTraceQL(q, { spss: 100 });
  const sets = m.match(RS, SUMMARY) ?? [];
  if (sets.length) {
    expect(m.mayMatch(SUMMARY), `summary pruned ${q}`).toBe(true);
    expect(m.indexCondition === undefined || encodedIndexMayMatch(INDEX, m.indexCondition), `index pruned ${q}`).toBe(true);
  }
  return [...new Set(sets.flatMap((s) => s.spans.map((x) => x.spanID.slice(-2))))].sort().join(" ");
}

const TABLE: [string, string][] = [
  // Events: a span matches when one of its events does.
  ['{ event:name = "cache.miss" }', "a1"],
  ['{ event:name = "exception" }', "c4"],
  ['{ event:name =~ "re.*" }', "a1"],
  ["{ event.size > 100 }", "a1"],
  ["{ event.size = 10 }", "a1"],
  ['{ event.exception.type = "Timeout" }', "c4"],
  // Each comparison picks its own event: the name is the first event's, the size the second's.
  ['{ event:name = "request.received" && event.size > 100 }', "a1"],
  // 5 ms (request.received) and 20 ms (cache.miss) into a1; 5 ms into c4.
  ["{ event:timeSinceStart > 10ms }", "a1"],
  ["{ event:timeSinceStart <= 5ms }", "a1 c4"],
  // Some event lacks size (c4's exception), or there are no events at all.
  ["{ event.size = nil }", "b2 c4 d5 e6"],
  ["{ event:name != nil }", "a1 c4"],
  ['{ event:name = "exception" } > { }', "d5"],
  // Links: ids compare as hex without leading zeros.
  ['{ link:traceID = "fe" }', "b2"],
  ['{ link:traceID = "000000000000000000000000000000FE" }', "b2"],
  ['{ link:spanID = "00000000000000c3" }', "b2"],
  ['{ link.link.kind = "follows" }', "b2"],
  ["{ link:spanID = nil }", "a1 c4 d5 e6"],
  // Instrumentation scope.
  ['{ instrumentation:name = "pg-driver" }', "c4 d5 e6"],
  ['{ instrumentation:version = "1.2.0" }', "a1 b2"],
  ['{ instrumentation.lib.tier = "core" }', "a1 b2"],
  ['{ instrumentation.lib.tier = nil && name = "fetch" }', "d5"],
  // Parent scope: the parent span's attributes (nil for the root and the orphan).
  ['{ parent.team = "web" }', "b2 c4"],
  ['{ parent.span.db.system = "postgres" }', "d5"],
  ['{ parent.resource.service.name = "shop" }', "b2 c4"],
  ['{ parent.resource.service.name = "db" }', "d5"],
  ['{ parent.span.service.name = "shop" }', ""],
  ['{ parent.service.name = "db" && resource.service.name = "db" }', "d5"],
  ["{ parent.team = nil }", "a1 d5 e6"],
  // Child counts and nested sets.
  ["{ span:childCount = 2 }", "a1"],
  ["{ childCount > 0 }", "a1 c4"],
  ["{ nestedSetLeft = 1 }", "a1"],
  ["{ nestedSetRight = 8 }", "a1"],
  ["{ nestedSetParent = 1 }", "b2 c4"],
  ["{ nestedSetParent = -1 }", "a1"],
  ["{ nestedSetParent = 4 }", "d5"],
  ["{ nestedSetRight - nestedSetLeft = 1 }", "b2 d5"],
  ["{ nestedSetLeft > 3 && nestedSetRight < 7 }", "d5"],
  ["{ nestedSetLeft = 0 }", "e6"],
  // The ids that already existed, for completeness.
  ['{ span:parentID = "a1" }', "b2 c4"],
  ['{ span:id = "00000000000000d5" }', "d5"],
  ['{ trace:id = "abc" && span:parentID = nil }', "a1"],
];

describe("TraceQL event, link, instrumentation and parent scopes", () => {
  for (const [q, want] of TABLE) it(q, () => expect(spans(q)).toBe(want));

  it("returns the first event's name in by()", () => {
    const m = compileTraceQL("{ event:name != nil } | by(event:name)");
    const sets = m.match(RS, SUMMARY) ?? [];
    expect(sets.map((s) => s.attributes?.[0]?.value)).toEqual([{ stringValue: "request.received" }, { stringValue: "exception" }]);
  });
});
