import { describe, expect, it } from "vitest";
import { zeroSpan } from "../../test/support/spans.ts";
import type { KeyValue, ResourceSpans, Span, SpanLink } from "../model/span.ts";
import { jaegerSpanTags, NO_SERVICE_NAME, spanKindName, spanKindNumber, toJaegerKeyValue, toJaegerTrace } from "./convert.ts";

const TRACE = "5b8efff798038103d269b633813fc60c";

function span(over: Partial<Span>): Span {
  return zeroSpan({ traceId: TRACE, spanId: "eee19b7ec3c1b174", flags: 1, name: "op", startTimeUnixNano: "1700000000000000000", endTimeUnixNano: "1700000000025000999", ...over });
}

function rs(resource: KeyValue[], spans: Span[], scope = { name: "", version: "" }): ResourceSpans {
  return {
    resource: { attributes: resource, droppedAttributesCount: 0 }, schemaUrl: "",
    scopeSpans: [{ scope: { ...scope, attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }],
  };
}

const svc = (name: string): KeyValue => ({ key: "service.name", value: { stringValue: name } });

describe("toJaegerKeyValue", () => {
  it("types every AnyValue as Jaeger does", () => {
    expect(toJaegerKeyValue({ key: "s", value: { stringValue: "x" } })).toEqual({ key: "s", type: "string", value: "x" });
    expect(toJaegerKeyValue({ key: "b", value: { boolValue: false } })).toEqual({ key: "b", type: "bool", value: false });
    expect(toJaegerKeyValue({ key: "i", value: { intValue: "-42" } })).toEqual({ key: "i", type: "int64", value: -42 });
    expect(toJaegerKeyValue({ key: "d", value: { doubleValue: 1.5 } })).toEqual({ key: "d", type: "float64", value: 1.5 });
    expect(toJaegerKeyValue({ key: "y", value: { bytesValue: "AQI=" } })).toEqual({ key: "y", type: "binary", value: "AQI=" });
    expect(toJaegerKeyValue({ key: "e", value: {} })).toEqual({ key: "e", type: "string", value: "" });
  });

  it("writes arrays and kvlists as JSON strings", () => {
    const arr = { arrayValue: { values: [{ stringValue: "a" }, { intValue: "1" }, { boolValue: true }] } };
    expect(toJaegerKeyValue({ key: "a", value: arr })).toEqual({ key: "a", type: "string", value: '["a",1,true]' });
    const kv = { kvlistValue: { values: [{ key: "x", value: { doubleValue: 0.5 } }, { key: "y", value: arr }] } };
    expect(toJaegerKeyValue({ key: "m", value: kv })).toEqual({ key: "m", type: "string", value: '{"x":0.5,"y":["a",1,true]}' });
  });

  it("writes int64 beyond 2^53 as exact JSON numbers, as Go does, and non-finite doubles as strings", () => {
    const big = toJaegerKeyValue({ key: "big", value: { intValue: "9223372036854775807" } });
    expect(big.type).toBe("int64");
    expect(String(big.value)).toBe("9223372036854775807");
    expect(JSON.stringify(big)).toBe('{"key":"big","type":"int64","value":9223372036854775807}');
    expect(JSON.stringify(toJaegerKeyValue({ key: "min", value: { intValue: "-9223372036854775808" } }))).toBe('{"key":"min","type":"int64","value":-9223372036854775808}');
    expect(JSON.stringify(toJaegerKeyValue({ key: "edge", value: { intValue: "9007199254740993" } }))).toBe('{"key":"edge","type":"int64","value":9007199254740993}');
    const arr = { arrayValue: { values: [{ intValue: "9007199254740993" }, { intValue: "1" }] } };
    expect(toJaegerKeyValue({ key: "a", value: arr })).toEqual({ key: "a", type: "string", value: "[9007199254740993,1]" });
    expect(toJaegerKeyValue({ key: "nan", value: { doubleValue: NaN } })).toEqual({ key: "nan", type: "string", value: "NaN" });
  });
});

describe("span kinds", () => {
  it("maps numbers to Jaeger names and back", () => {
    expect([0, 1, 2, 3, 4, 5, 9].map(spanKindName)).toEqual(["", "internal", "server", "client", "producer", "consumer", ""]);
    expect(["server", "client", "producer", "consumer", "internal", "", "bogus"].map(spanKindNumber)).toEqual([2, 3, 4, 5, 1, 0, undefined]);
  });
});

describe("toJaegerTrace", () => {
  it("converts spans, references, times, tags and logs", () => {
    const root = span({ spanId: "00f067aa0ba902b7", name: "GET /cart", kind: 2, attributes: [{ key: "http.route", value: { stringValue: "/cart" } }], status: { code: 1, message: "" } });
    const child = span({
      spanId: "00f067aa0ba902b8", parentSpanId: "00f067aa0ba902b7", name: "SELECT", kind: 3, traceState: "k=v", flags: 0x301,
      startTimeUnixNano: "1700000000005000000", endTimeUnixNano: "1700000000015500000",
      status: { code: 2, message: "timeout" },
      links: [{ traceId: "1".repeat(32), spanId: "2".repeat(16), traceState: "", attributes: [], droppedAttributesCount: 0, flags: 0 }],
      events: [
        { timeUnixNano: "1700000000006000500", name: "exception", attributes: [{ key: "exception.type", value: { stringValue: "Timeout" } }], droppedAttributesCount: 0 },
        { timeUnixNano: "1700000000007000000", name: "ignored", attributes: [{ key: "event", value: { stringValue: "own" } }], droppedAttributesCount: 0 },
      ],
    });
    const t = toJaegerTrace(TRACE, [rs([svc("cart"), { key: "host.name", value: { stringValue: "h1" } }], [root, child], { name: "lib", version: "1.2" })]);

    expect(t.traceID).toBe(TRACE);
    expect(t.warnings).toBeNull();
    expect(t.processes).toEqual({ p1: { serviceName: "cart", tags: [{ key: "host.name", type: "string", value: "h1" }] } });
    const [r, c] = t.spans;
    expect(r).toEqual({
      traceID: TRACE, spanID: "00f067aa0ba902b7", operationName: "GET /cart", references: [], flags: 1,
      startTime: 1700000000000000, duration: 25000, processID: "p1", logs: [], warnings: null,
      tags: [
        { key: "otel.scope.name", type: "string", value: "lib" },
        { key: "otel.scope.version", type: "string", value: "1.2" },
        { key: "http.route", type: "string", value: "/cart" },
        { key: "span.kind", type: "string", value: "server" },
        { key: "otel.status_code", type: "string", value: "OK" },
      ],
    });
    expect(c!.references).toEqual([
      { refType: "CHILD_OF", traceID: TRACE, spanID: "00f067aa0ba902b7" },
      { refType: "FOLLOWS_FROM", traceID: "1".repeat(32), spanID: "2".repeat(16) },
    ]);
    expect(c!.flags).toBe(1);
    expect(c!.startTime).toBe(1700000000005000);
    expect(c!.duration).toBe(10500);
    expect(c!.tags).toEqual(expect.arrayContaining([
      { key: "span.kind", type: "string", value: "client" },
      { key: "error", type: "bool", value: true },
      { key: "otel.status_code", type: "string", value: "ERROR" },
      { key: "otel.status_description", type: "string", value: "timeout" },
      { key: "w3c.tracestate", type: "string", value: "k=v" },
    ]));
    expect(c!.logs).toEqual([
      { timestamp: 1700000000006000, fields: [{ key: "event", type: "string", value: "exception" }, { key: "exception.type", type: "string", value: "Timeout" }] },
      { timestamp: 1700000000007000, fields: [{ key: "event", type: "string", value: "own" }] },
    ]);
  });

  it("makes one process per distinct resource", () => {
    const t = toJaegerTrace(TRACE, [
      rs([svc("a")], [span({ spanId: "1".repeat(16) })]),
      rs([svc("b")], [span({ spanId: "2".repeat(16) })]),
      rs([svc("a")], [span({ spanId: "3".repeat(16) })]),
      rs([], [span({ spanId: "4".repeat(16) })]),
    ]);
    expect(t.processes).toEqual({
      p1: { serviceName: "a", tags: [] },
      p2: { serviceName: "b", tags: [] },
      p3: { serviceName: NO_SERVICE_NAME, tags: [] },
    });
    expect(t.spans.map((s) => s.processID)).toEqual(["p1", "p2", "p1", "p3"]);
  });

  it("keeps scope attributes as span tags after the scope's name and version, in the translator's order; searches' tags leave them out", () => {
    const r = rs([svc("a")], [span({ attributes: [{ key: "my.span.attr", value: { stringValue: "x" } }] })], { name: "my.library", version: "1.0.0" });
    r.scopeSpans[0]!.scope.attributes = [{ key: "my.scope.attribute", value: { stringValue: "some scope attribute" } }, { key: "n", value: { intValue: "9223372036854775807" } }];
    const tags = toJaegerTrace(TRACE, [r]).spans[0]!.tags;
    expect(tags.map((t) => t.key)).toEqual(["otel.scope.name", "otel.scope.version", "my.scope.attribute", "n", "my.span.attr"]);
    expect(JSON.stringify(tags[3])).toBe('{"key":"n","type":"int64","value":9223372036854775807}');
    expect(jaegerSpanTags(r.scopeSpans[0]!.spans[0]!, r.scopeSpans[0]!.scope).map((t) => t.key)).toEqual(["otel.scope.name", "otel.scope.version", "my.span.attr"]);
  });

  it("types references by opentracing.ref_type and logs what a link has besides its ids", () => {
    const link = (spanId: string, over: Partial<SpanLink> = {}): SpanLink => ({ traceId: TRACE, spanId, traceState: "", attributes: [], droppedAttributesCount: 0, flags: 0, ...over });
    const refType = (v: string): KeyValue => ({ key: "opentracing.ref_type", value: { stringValue: v } });
    const other = "1".repeat(32);
    const s = span({
      parentSpanId: "00f067aa0ba902b7",
      links: [
        link("00f067aa0ba902b7", { attributes: [refType("follows_from")] }),
        link("00f067aa0ba902c1", { attributes: [refType("child_of")] }),
        link("00f067aa0ba902c2", { traceId: other, traceState: "rojo=00f067aa0ba902b7", attributes: [{ key: "link.why", value: { stringValue: "batch" } }, { key: "n", value: { intValue: "-9223372036854775808" } }] }),
        link("00f067aa0ba902c3"),
      ],
      events: [{ timeUnixNano: "1700000000001000000", name: "e", attributes: [], droppedAttributesCount: 0 }],
    });
    const t = toJaegerTrace(TRACE, [rs([svc("a")], [s])]).spans[0]!;
    // The link to the parent only retypes the parent's reference, as Jaeger's translator does.
    expect(t.references).toEqual([
      { refType: "FOLLOWS_FROM", traceID: TRACE, spanID: "00f067aa0ba902b7" },
      { refType: "CHILD_OF", traceID: TRACE, spanID: "00f067aa0ba902c1" },
      { refType: "FOLLOWS_FROM", traceID: other, spanID: "00f067aa0ba902c2" },
      { refType: "FOLLOWS_FROM", traceID: TRACE, spanID: "00f067aa0ba902c3" },
    ]);
    expect(JSON.parse(JSON.stringify(t.logs))).toEqual([
      {
        timestamp: 1700000000000000,
        fields: [
          { key: "event", type: "string", value: "link" },
          { key: "trace_id", type: "string", value: other },
          { key: "span_id", type: "string", value: "00f067aa0ba902c2" },
          { key: "w3c.tracestate", type: "string", value: "rojo=00f067aa0ba902b7" },
          { key: "link.why", type: "string", value: "batch" },
          { key: "n", type: "int64", value: -9223372036854775808 },
        ],
      },
      { timestamp: 1700000000001000, fields: [{ key: "event", type: "string", value: "e" }] },
    ]);
    expect(JSON.stringify(t.logs[0]!.fields[5])).toBe('{"key":"n","type":"int64","value":-9223372036854775808}');
  });

  it("gives no tags for unset kind and status, and never a negative duration", () => {
    const t = toJaegerTrace(TRACE, [rs([svc("a")], [span({ endTimeUnixNano: "1699999999000000000" })])]);
    expect(t.spans[0]!.tags).toEqual([]);
    expect(t.spans[0]!.duration).toBe(0);
  });
});
