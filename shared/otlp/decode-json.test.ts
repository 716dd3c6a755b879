import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DecodeError, emptyResource, emptyScope, type Span, type TraceBatch } from "../model/span.ts";
import { decodeTraceRequestJson, MAX_ANY_VALUE_DEPTH } from "./decode-json.ts";

// The reference checkout sits beside the repository (see ../shared/reference/protocols.md).
const EXAMPLE = new URL("../../../shared/reference/opentelemetry-proto/examples/trace.json", import.meta.url);

function span(overrides: Partial<Span> = {}): Span {
  return {
    traceId: "",
    spanId: "",
    traceState: "",
    parentSpanId: "",
    flags: 0,
    name: "",
    kind: 0,
    startTimeUnixNano: "0",
    endTimeUnixNano: "0",
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: "" },
    ...overrides,
  };
}

/** A request holding one span (given as raw JSON), and the decoded span back. */
function request(rawSpan: unknown): unknown {
  return { resourceSpans: [{ scopeSpans: [{ spans: [rawSpan] }] }] };
}
function decodeOne(rawSpan: unknown): Span {
  return decodeTraceRequestJson(request(rawSpan)).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
}
function decodeError(body: unknown): DecodeError {
  try {
    decodeTraceRequestJson(body);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error("expected a DecodeError");
}

describe("decodeTraceRequestJson: the OTLP/JSON mapping", () => {
  it("decodes the opentelemetry-proto example request", () => {
    const body: unknown = JSON.parse(readFileSync(EXAMPLE, "utf8"));
    const expected: TraceBatch = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "my.service" } }], droppedAttributesCount: 0 },
          schemaUrl: "",
          scopeSpans: [
            {
              scope: {
                name: "my.library",
                version: "1.0.0",
                attributes: [{ key: "my.scope.attribute", value: { stringValue: "some scope attribute" } }],
                droppedAttributesCount: 0,
              },
              schemaUrl: "",
              spans: [
                span({
                  // The example writes ids in upper case; the model keeps lower case.
                  traceId: "5b8efff798038103d269b633813fc60c",
                  spanId: "eee19b7ec3c1b174",
                  parentSpanId: "eee19b7ec3c1b173",
                  name: "I'm a server span",
                  startTimeUnixNano: "1544712660000000000",
                  endTimeUnixNano: "1544712661000000000",
                  kind: 2,
                  attributes: [{ key: "my.span.attr", value: { stringValue: "some value" } }],
                }),
              ],
            },
          ],
        },
      ],
    };
    expect(decodeTraceRequestJson(body)).toEqual(expected);
  });

  it("fills every absent field with its default", () => {
    expect(decodeTraceRequestJson({})).toEqual({ resourceSpans: [] });
    expect(decodeTraceRequestJson({ resourceSpans: [{}] })).toEqual({
      resourceSpans: [{ resource: emptyResource(), scopeSpans: [], schemaUrl: "" }],
    });
    expect(decodeTraceRequestJson({ resourceSpans: [{ scopeSpans: [{}] }] }).resourceSpans[0]!.scopeSpans).toEqual([
      { scope: emptyScope(), spans: [], schemaUrl: "" },
    ]);
    expect(decodeOne({})).toEqual(span());
  });

  it("treats null as absent and ignores unknown fields", () => {
    const decoded = decodeTraceRequestJson({
      resourceSpans: [
        {
          resource: null,
          scopeSpans: [{ scope: null, spans: [{ name: null, status: null, attributes: null, events: null, futureField: { x: 1 } }] }],
          schemaUrl: null,
          entityRefs: [{ type: "service" }],
        },
      ],
      somethingNew: 1,
    });
    expect(decoded).toEqual({
      resourceSpans: [{ resource: emptyResource(), scopeSpans: [{ scope: emptyScope(), spans: [span()], schemaUrl: "" }], schemaUrl: "" }],
    });
  });

  it("accepts the proto field names as protobuf JSON parsers do", () => {
    const camel = decodeTraceRequestJson({
      resourceSpans: [
        {
          resource: { attributes: [], droppedAttributesCount: 2 },
          schemaUrl: "https://opentelemetry.io/schemas/1.26.0",
          scopeSpans: [
            {
              schemaUrl: "s",
              scope: { name: "lib", droppedAttributesCount: 1 },
              spans: [
                {
                  traceId: "0af7651916cd43dd8448eb211c80319c",
                  spanId: "b7ad6b7169203331",
                  parentSpanId: "00f067aa0ba902b7",
                  traceState: "congo=t61rcWkgMzE",
                  startTimeUnixNano: "1700000000000000000",
                  endTimeUnixNano: "1700000000000000001",
                  droppedAttributesCount: 1,
                  droppedEventsCount: 2,
                  droppedLinksCount: 3,
                  events: [{ timeUnixNano: "5", droppedAttributesCount: 4 }],
                  links: [{ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceState: "a=b", droppedAttributesCount: 5 }],
                  attributes: [{ key: "k", value: { stringValue: "v" } }],
                },
              ],
            },
          ],
        },
      ],
    });
    const snake = decodeTraceRequestJson({
      resource_spans: [
        {
          resource: { attributes: [], dropped_attributes_count: 2 },
          schema_url: "https://opentelemetry.io/schemas/1.26.0",
          scope_spans: [
            {
              schema_url: "s",
              scope: { name: "lib", dropped_attributes_count: 1 },
              spans: [
                {
                  trace_id: "0af7651916cd43dd8448eb211c80319c",
                  span_id: "b7ad6b7169203331",
                  parent_span_id: "00f067aa0ba902b7",
                  trace_state: "congo=t61rcWkgMzE",
                  start_time_unix_nano: "1700000000000000000",
                  end_time_unix_nano: "1700000000000000001",
                  dropped_attributes_count: 1,
                  dropped_events_count: 2,
                  dropped_links_count: 3,
                  events: [{ time_unix_nano: "5", dropped_attributes_count: 4 }],
                  links: [{ trace_id: "0af7651916cd43dd8448eb211c80319c", span_id: "b7ad6b7169203331", trace_state: "a=b", dropped_attributes_count: 5 }],
                  attributes: [{ key: "k", value: { string_value: "v" } }],
                },
              ],
            },
          ],
        },
      ],
    });
    expect(snake).toEqual(camel);
    expect(camel.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.droppedLinksCount).toBe(3);
  });

  it("lowercases hex ids and allows an empty parentSpanId", () => {
    const s = decodeOne({ traceId: "0AF7651916CD43DD8448EB211C80319C", spanId: "B7aD6B7169203331", parentSpanId: "" });
    expect(s.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(s.spanId).toBe("b7ad6b7169203331");
    expect(s.parentSpanId).toBe("");
  });

  it("reads 64-bit times as strings or numbers and normalises them to decimal strings", () => {
    expect(decodeOne({ startTimeUnixNano: 1544712660000000000, endTimeUnixNano: "01544712661000000000" })).toMatchObject({
      startTimeUnixNano: "1544712660000000000",
      endTimeUnixNano: "1544712661000000000",
    });
    expect(decodeOne({ startTimeUnixNano: "18446744073709551615" }).startTimeUnixNano).toBe("18446744073709551615");
    expect(decodeOne({ startTimeUnixNano: 0 }).startTimeUnixNano).toBe("0");
    expect(decodeOne({ droppedAttributesCount: "7", flags: 769 })).toMatchObject({ droppedAttributesCount: 7, flags: 769 });
  });

  it("reads enums as numbers or names", () => {
    expect(decodeOne({ kind: "SPAN_KIND_SERVER", status: { code: "STATUS_CODE_ERROR", message: "boom" } })).toMatchObject({
      kind: 2,
      status: { code: 2, message: "boom" },
    });
    expect(decodeOne({ kind: 5, status: { code: 1 } })).toMatchObject({ kind: 5, status: { code: 1, message: "" } });
    // proto3 enums are open: an unknown number is kept, for validate or the reader to judge.
    expect(decodeOne({ kind: 9 }).kind).toBe(9);
  });

  it("reads every AnyValue kind", () => {
    const attrs = decodeOne({
      attributes: [
        { key: "s", value: { stringValue: "héllo ✓" } },
        { key: "b", value: { boolValue: false } },
        { key: "i-num", value: { intValue: -42 } },
        { key: "i-str", value: { intValue: "-9223372036854775808" } },
        { key: "d", value: { doubleValue: 1.5 } },
        { key: "d-int", value: { doubleValue: 3 } },
        { key: "d-str", value: { doubleValue: "2.5e-3" } },
        { key: "nan", value: { doubleValue: "NaN" } },
        { key: "inf", value: { doubleValue: "Infinity" } },
        { key: "-inf", value: { doubleValue: "-Infinity" } },
        { key: "bytes", value: { bytesValue: "AQID/w==" } },
        { key: "bytes-url", value: { bytesValue: "AQID_w" } },
        { key: "arr", value: { arrayValue: { values: [{ stringValue: "a" }, { intValue: "1" }, {}] } } },
        { key: "arr-empty", value: { arrayValue: {} } },
        { key: "kv", value: { kvlistValue: { values: [{ key: "inner", value: { boolValue: true } }, { key: "none" }] } } },
        { key: "empty", value: {} },
        { key: "missing" },
        { key: "null-member", value: { stringValue: null, intValue: "3" } },
      ],
    }).attributes;
    expect(attrs).toEqual([
      { key: "s", value: { stringValue: "héllo ✓" } },
      { key: "b", value: { boolValue: false } },
      { key: "i-num", value: { intValue: "-42" } },
      { key: "i-str", value: { intValue: "-9223372036854775808" } },
      { key: "d", value: { doubleValue: 1.5 } },
      { key: "d-int", value: { doubleValue: 3 } },
      { key: "d-str", value: { doubleValue: 0.0025 } },
      { key: "nan", value: { doubleValue: NaN } },
      { key: "inf", value: { doubleValue: Infinity } },
      { key: "-inf", value: { doubleValue: -Infinity } },
      { key: "bytes", value: { bytesValue: "AQID/w==" } },
      // URL-safe and unpadded base64 come out canonical.
      { key: "bytes-url", value: { bytesValue: "AQID/w==" } },
      { key: "arr", value: { arrayValue: { values: [{ stringValue: "a" }, { intValue: "1" }, {}] } } },
      { key: "arr-empty", value: { arrayValue: { values: [] } } },
      { key: "kv", value: { kvlistValue: { values: [{ key: "inner", value: { boolValue: true } }, { key: "none", value: {} }] } } },
      { key: "empty", value: {} },
      { key: "missing", value: {} },
      { key: "null-member", value: { intValue: "3" } },
    ]);
  });

  it(`accepts AnyValues nested ${MAX_ANY_VALUE_DEPTH} deep and refuses one more`, () => {
    const nested = (depth: number): unknown => {
      let v: unknown = { stringValue: "leaf" };
      for (let i = 1; i < depth; i++) v = { arrayValue: { values: [v] } };
      return v;
    };
    expect(() => decodeOne({ attributes: [{ key: "deep", value: nested(MAX_ANY_VALUE_DEPTH) }] })).not.toThrow();
    const err = decodeError(request({ attributes: [{ key: "deep", value: nested(MAX_ANY_VALUE_DEPTH + 1) }] }));
    expect(err.message).toMatch(/nested deeper than 32/);
    expect(err.where).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes\[0\]\.value(\.arrayValue\.values\[0\])+$/);
  });
});

describe("decodeTraceRequestJson: input it cannot read", () => {
  const SPAN0 = "resourceSpans[0].scopeSpans[0].spans[0]";

  it.each([
    ["a non-object body", [], "request"],
    ["a string body", "resourceSpans", "request"],
    ["resourceSpans not an array", { resourceSpans: {} }, "resourceSpans"],
    ["a resource that is a string", { resourceSpans: [{ resource: "svc" }] }, "resourceSpans[0].resource"],
    ["a scope name that is a number", { resourceSpans: [{ scopeSpans: [{ scope: { name: 1 } }] }] }, "resourceSpans[0].scopeSpans[0].scope.name"],
    ["resource attributes not an array", { resourceSpans: [{ resource: { attributes: {} } }] }, "resourceSpans[0].resource.attributes"],
    ["spans not an array", { resourceSpans: [{ scopeSpans: [{ spans: {} }] }] }, "resourceSpans[0].scopeSpans[0].spans"],
    ["a span that is a number", request(3), SPAN0],
  ])("%s", (_name, body, where) => {
    const err = decodeError(body);
    expect(err.where).toBe(where);
    expect(err.message).toContain(`(at ${where})`);
  });

  it.each([
    ["a non-hex trace id", { traceId: "zz" + "0".repeat(30) }, "traceId", /hex/],
    ["an odd-length span id", { spanId: "abc" }, "spanId", /hex/],
    ["a non-hex parent id (snake_case)", { parent_span_id: "xyz0" }, "parent_span_id", /hex/],
    ["a numeric trace id", { traceId: 12 }, "traceId", /hex/],
    ["a fractional time", { startTimeUnixNano: 1.5 }, "startTimeUnixNano", /uint64/],
    ["a fractional time in a string", { endTimeUnixNano: "10.0" }, "endTimeUnixNano", /uint64/],
    ["a time past uint64", { startTimeUnixNano: "18446744073709551616" }, "startTimeUnixNano", /uint64/],
    ["a time past uint64 as a number", { startTimeUnixNano: 2 ** 64 }, "startTimeUnixNano", /uint64/],
    ["a negative time", { startTimeUnixNano: "-1" }, "startTimeUnixNano", /uint64/],
    ["an unknown kind name", { kind: "SPAN_KIND_SIDEWAYS" }, "kind", /SpanKind/],
    ["a fractional kind", { kind: 1.5 }, "kind", /SpanKind/],
    ["a negative dropped count", { droppedEventsCount: -1 }, "droppedEventsCount", /uint32/],
    ["a status that is a string", { status: "ERROR" }, "status", /Status/],
    ["a bad status code", { status: { code: "ERROR" } }, "status.code", /StatusCode/],
    ["events not an array", { events: { name: "x" } }, "events", /array/],
    ["an event time that is a word", { events: [{}, { timeUnixNano: "soon" }] }, "events[1].timeUnixNano", /uint64/],
    ["a link with a bad span id", { links: [{ spanId: "nothex!!" }] }, "links[0].spanId", /hex/],
    ["a link attribute with a bad int", { links: [{ attributes: [{ key: "n", value: { intValue: "1e3" } }] }] }, "links[0].attributes[0].value.intValue", /int64/],
    ["a fractional int attribute", { attributes: [{ key: "n", value: { intValue: 2.5 } }] }, "attributes[0].value.intValue", /int64/],
    ["an int attribute past int64", { attributes: [{ key: "n", value: { intValue: "9223372036854775808" } }] }, "attributes[0].value.intValue", /int64/],
    ["a string attribute that is a number", { attributes: [{ key: "s", value: { stringValue: 5 } }] }, "attributes[0].value.stringValue", /string/],
    ["a bool attribute that is a string", { attributes: [{ key: "b", value: { boolValue: "true" } }] }, "attributes[0].value.boolValue", /boolean/],
    ["a double that is a word", { attributes: [{ key: "d", value: { doubleValue: "lots" } }] }, "attributes[0].value.doubleValue", /double/],
    ["bytes that are not base64", { attributes: [{ key: "x", value: { bytesValue: "not base64!" } }] }, "attributes[0].value.bytesValue", /base64/],
    ["an attribute key that is a number", { attributes: [{ key: 1 }] }, "attributes[0].key", /string/],
    ["an attribute that is a string", { attributes: ["k=v"] }, "attributes[0]", /KeyValue/],
    ["two AnyValue members", { attributes: [{ key: "x", value: { stringValue: "a", intValue: "1" } }] }, "attributes[0].value.intValue", /more than one/],
    [
      "a bad value deep in a kvlist",
      { attributes: [{ key: "m", value: { kvlistValue: { values: [{ key: "a", value: { arrayValue: { values: [{ intValue: "1" }, { intValue: true }] } } }] } } }] },
      "attributes[0].value.kvlistValue.values[0].value.arrayValue.values[1].intValue",
      /int64/,
    ],
  ])("%s", (_name, rawSpan, where, message) => {
    const err = decodeError(request(rawSpan));
    expect(err).toBeInstanceOf(DecodeError);
    expect(err.where).toBe(`${SPAN0}.${where}`);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(`(at ${SPAN0}.${where})`);
  });

  it("names the path inside a later resource, scope and span", () => {
    const ok = { traceId: "0af7651916cd43dd8448eb211c80319c" };
    const err = decodeError({
      resourceSpans: [{}, { scopeSpans: [{ spans: [ok] }, { spans: [ok, ok, ok, { ...ok, startTimeUnixNano: "x" }] }] }],
    });
    expect(err.where).toBe("resourceSpans[1].scopeSpans[1].spans[3].startTimeUnixNano");
  });
});
