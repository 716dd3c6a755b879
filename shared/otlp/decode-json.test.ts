import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Span as OtelSpan, type SpanKind } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "otlp-proto-reference";
import { describe, expect, it } from "vitest";
import { decodeErrorOf } from "../../test/support/decode-error.ts";
import { referenceDecode, referenceEncode } from "../../test/support/otlp-reference.ts";
import { realisticTraceBatch, randomTraceBatch, Rng } from "../../test/support/random-otlp.ts";
import { zeroSpan } from "../../test/support/spans.ts";
import { countSpans, DecodeError, emptyResource, emptyScope, type AnyValue, type KeyValue, type Span, type TraceBatch } from "../model/span.ts";
import { decodeTraceRequestJson, MAX_ANY_VALUE_DEPTH } from "./decode-json.ts";

// A request in the shape of opentelemetry-proto's examples/trace.json (written here: the repo must
// not depend on files outside it): upper-case hex ids, 64-bit times as strings, kind as a number.
const EXAMPLE_REQUEST = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: "service.name", value: { stringValue: "my.service" } }] },
      scopeSpans: [
        {
          scope: { name: "my.library", version: "1.0.0", attributes: [{ key: "my.scope.attribute", value: { stringValue: "some scope attribute" } }] },
          spans: [
            {
              traceId: "5B8EFFF798038103D269B633813FC60C",
              spanId: "EEE19B7EC3C1B174",
              parentSpanId: "EEE19B7EC3C1B173",
              name: "I'm a server span",
              startTimeUnixNano: "1544712660000000000",
              endTimeUnixNano: "1544712661000000000",
              kind: 2,
              attributes: [{ key: "my.span.attr", value: { stringValue: "some value" } }],
            },
          ],
        },
      ],
    },
  ],
};

/** A request holding one span (given as raw JSON), and the decoded span back. */
function request(rawSpan: unknown): unknown {
  return { resourceSpans: [{ scopeSpans: [{ spans: [rawSpan] }] }] };
}
function decodeOne(rawSpan: unknown): Span {
  return decodeTraceRequestJson(request(rawSpan)).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
}
const decodeError = (body: unknown) => decodeErrorOf(() => decodeTraceRequestJson(body));

/** `v` with every object key in snake case: the proto field names for the JSON names. */
function snakeCaseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeCaseKeys);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCaseKeys(x)]));
  return v;
}

describe("decodeTraceRequestJson: the OTLP/JSON mapping", () => {
  it("decodes a request shaped like the opentelemetry-proto example", () => {
    const body: unknown = JSON.parse(JSON.stringify(EXAMPLE_REQUEST));
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
                zeroSpan({
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
    expect(decodeOne({})).toEqual(zeroSpan());
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
      resourceSpans: [{ resource: emptyResource(), scopeSpans: [{ scope: emptyScope(), spans: [zeroSpan()], schemaUrl: "" }], schemaUrl: "" }],
    });
  });

  it("accepts the proto field names as protobuf JSON parsers do", () => {
    const request = {
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
    };
    const camel = decodeTraceRequestJson(structuredClone(request));
    const snakeRequest = snakeCaseKeys(request);
    // No JSON name is left in it to read.
    expect(JSON.stringify(snakeRequest)).not.toMatch(/"\w*[A-Z]\w*":/);
    const snake = decodeTraceRequestJson(snakeRequest);
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

// ---------------------------------------------------------------------------------------------
// Differential: the same request as OTLP/JSON through us and as protobuf through the reference.

describe("decodeTraceRequestJson agrees with the protobuf reference", () => {
  it.each(Array.from({ length: 60 }, (_, i) => i + 1))("random batch, seed %i", (seed) => {
    const batch = randomTraceBatch(seed);
    const rng = new Rng(seed * 7919);
    const json = JSON.parse(JSON.stringify(toOtlpJson(batch, rng))) as unknown;
    expect(decodeTraceRequestJson(json)).toEqual(referenceDecode(referenceEncode(batch)));
  });

  it("a realistic 512-span SDK-like batch", () => {
    const batch = realisticTraceBatch(512);
    const json = JSON.parse(JSON.stringify(toOtlpJson(batch, new Rng(1)))) as unknown;
    expect(decodeTraceRequestJson(json)).toEqual(referenceDecode(referenceEncode(batch)));
  });

  it("spans from the OpenTelemetry JS SDK, through its own JSON and protobuf serializers", async () => {
    const spans = await recordSdkSpans(40);
    // otlp-transformer 0.57 reads SDK 1.x span fields; sdk-trace-base 2.x renamed two of them.
    const v1Spans = spans.map(toV1ReadableSpan) as Parameters<typeof JsonTraceSerializer.serializeRequest>[0];
    const jsonBytes = JsonTraceSerializer.serializeRequest(v1Spans)!;
    const protoBytes = ProtobufTraceSerializer.serializeRequest(v1Spans)!;
    const decoded = decodeTraceRequestJson(JSON.parse(new TextDecoder().decode(jsonBytes)));
    expect(decoded).toEqual(referenceDecode(protoBytes));
    expect(countSpans(decoded)).toBe(40);
  });
});

/**
 * Writes a model batch as OTLP/JSON, choosing at random among the encodings a receiver must
 * accept: camelCase or proto field names, upper- or lower-case hex, 64-bit ints as strings or
 * numbers, enums as numbers or names, defaults written, omitted or null, padded or URL-safe
 * base64, and unknown fields sprinkled in.
 */
function toOtlpJson(batch: TraceBatch, rng: Rng): unknown {
  const name = (camel: string, snake: boolean) => (snake ? camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : camel);
  // One object at a time: pick its naming style, and write or skip each default.
  const obj = () => {
    const snake = rng.chance(0.3);
    const o: Record<string, unknown> = {};
    const put = (camel: string, value: unknown, isDefault: boolean) => {
      if (isDefault) {
        const r = rng.int(3);
        if (r === 0) return;
        if (r === 1) {
          o[name(camel, snake)] = null;
          return;
        }
      }
      o[name(camel, snake)] = value;
    };
    if (rng.chance(0.1)) o.someFutureField = { nested: [1, "two"] };
    return { o, put };
  };
  const id = (h: string) => (rng.chance(0.3) ? h.toUpperCase() : h);
  const u64 = (s: string) => (rng.chance(0.5) && Number.isSafeInteger(Number(s)) ? Number(s) : rng.chance(0.1) ? `00${s}` : s);
  const u32 = (n: number) => (rng.chance(0.2) ? String(n) : n);
  const double = (d: number): number | string => {
    if (Number.isNaN(d)) return "NaN";
    if (d === Infinity) return "Infinity";
    if (d === -Infinity) return "-Infinity";
    if (Object.is(d, -0)) return "-0"; // JSON.stringify(-0) would say 0
    return rng.chance(0.2) ? String(d) : d;
  };
  const bytes = (b64: string) => (rng.chance(0.3) ? b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") : b64);
  const enumValue = (n: number, names: readonly string[]) => (names[n] !== undefined && rng.chance(0.3) ? names[n] : n);
  const KINDS = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"];
  const CODES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

  const anyValue = (v: AnyValue): unknown => {
    const snake = rng.chance(0.3);
    if ("stringValue" in v) return { [name("stringValue", snake)]: v.stringValue };
    if ("boolValue" in v) return { [name("boolValue", snake)]: v.boolValue };
    if ("intValue" in v) return { [name("intValue", snake)]: u64Signed(v.intValue) };
    if ("doubleValue" in v) return { [name("doubleValue", snake)]: double(v.doubleValue) };
    if ("bytesValue" in v) return { [name("bytesValue", snake)]: bytes(v.bytesValue) };
    if ("arrayValue" in v) return { [name("arrayValue", snake)]: { values: v.arrayValue.values.map(anyValue) } };
    if ("kvlistValue" in v) return { [name("kvlistValue", snake)]: { values: keyValues(v.kvlistValue.values) } };
    return rng.chance(0.5) ? {} : { unknownMember: 1 };
  };
  const u64Signed = (s: string) => (rng.chance(0.5) && Number.isSafeInteger(Number(s)) ? Number(s) : s);
  const keyValues = (list: KeyValue[]) =>
    list.map((kv) => {
      const out: Record<string, unknown> = { key: kv.key };
      // An empty AnyValue may also be sent as no value at all.
      if (Object.keys(kv.value).length > 0 || rng.chance(0.5)) out.value = anyValue(kv.value);
      return out;
    });
  const attrs = (put: (k: string, v: unknown, d: boolean) => void, list: KeyValue[], dropped: number) => {
    put("attributes", keyValues(list), list.length === 0);
    put("droppedAttributesCount", u32(dropped), dropped === 0);
  };

  const span = (s: Span) => {
    const { o, put } = obj();
    put("traceId", id(s.traceId), s.traceId === "");
    put("spanId", id(s.spanId), s.spanId === "");
    put("traceState", s.traceState, s.traceState === "");
    put("parentSpanId", id(s.parentSpanId), s.parentSpanId === "");
    put("flags", u32(s.flags), s.flags === 0);
    put("name", s.name, s.name === "");
    put("kind", enumValue(s.kind, KINDS), s.kind === 0);
    put("startTimeUnixNano", u64(s.startTimeUnixNano), s.startTimeUnixNano === "0");
    put("endTimeUnixNano", u64(s.endTimeUnixNano), s.endTimeUnixNano === "0");
    attrs(put, s.attributes, s.droppedAttributesCount);
    const events = s.events.map((e) => {
      const ev = obj();
      ev.put("timeUnixNano", u64(e.timeUnixNano), e.timeUnixNano === "0");
      ev.put("name", e.name, e.name === "");
      attrs(ev.put, e.attributes, e.droppedAttributesCount);
      return ev.o;
    });
    put("events", events, events.length === 0);
    put("droppedEventsCount", u32(s.droppedEventsCount), s.droppedEventsCount === 0);
    const links = s.links.map((l) => {
      const lk = obj();
      lk.put("traceId", id(l.traceId), l.traceId === "");
      lk.put("spanId", id(l.spanId), l.spanId === "");
      lk.put("traceState", l.traceState, l.traceState === "");
      attrs(lk.put, l.attributes, l.droppedAttributesCount);
      lk.put("flags", u32(l.flags), l.flags === 0);
      return lk.o;
    });
    put("links", links, links.length === 0);
    put("droppedLinksCount", u32(s.droppedLinksCount), s.droppedLinksCount === 0);
    const st = obj();
    st.put("code", enumValue(s.status.code, CODES), s.status.code === 0);
    st.put("message", s.status.message, s.status.message === "");
    put("status", st.o, s.status.code === 0 && s.status.message === "");
    return o;
  };

  const req = obj();
  req.put(
    "resourceSpans",
    batch.resourceSpans.map((rs) => {
      const r = obj();
      const res = obj();
      attrs(res.put, rs.resource.attributes, rs.resource.droppedAttributesCount);
      r.put("resource", res.o, rs.resource.attributes.length === 0 && rs.resource.droppedAttributesCount === 0);
      r.put(
        "scopeSpans",
        rs.scopeSpans.map((ss) => {
          const s = obj();
          const sc = obj();
          sc.put("name", ss.scope.name, ss.scope.name === "");
          sc.put("version", ss.scope.version, ss.scope.version === "");
          attrs(sc.put, ss.scope.attributes, ss.scope.droppedAttributesCount);
          const scopeEmpty = ss.scope.name === "" && ss.scope.version === "" && ss.scope.attributes.length === 0 && ss.scope.droppedAttributesCount === 0;
          s.put("scope", sc.o, scopeEmpty);
          s.put("spans", ss.spans.map(span), ss.spans.length === 0);
          s.put("schemaUrl", ss.schemaUrl, ss.schemaUrl === "");
          return s.o;
        }),
        rs.scopeSpans.length === 0,
      );
      r.put("schemaUrl", rs.schemaUrl, rs.schemaUrl === "");
      return r.o;
    }),
    batch.resourceSpans.length === 0,
  );
  return req.o;
}

/** Finished spans from a real SDK tracer: kinds, nested parents, events, links, statuses, arrays. */
async function recordSdkSpans(n: number): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "checkout", "service.version": "1.2.3", "process.pid": 4242 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const rng = new Rng(99);
  const tracers = [provider.getTracer("@opentelemetry/instrumentation-http", "0.57.2"), provider.getTracer("pg")];
  let parent: OtelSpan | undefined;
  let t = 1_780_000_000_000;
  for (let i = 0; i < n; i++) {
    const ctx = parent && rng.chance(0.7) ? trace.setSpan(context.active(), parent) : ROOT_CONTEXT;
    const links = parent && rng.chance(0.2) ? [{ context: parent.spanContext(), attributes: { "link.reason": "retry", n: i } }] : [];
    const span = rng.pick(tracers).startSpan(
      `op ${i} ✓`,
      {
        kind: rng.int(5) as SpanKind,
        startTime: t,
        links,
        attributes: {
          "http.response.status_code": 200 + rng.int(300),
          ratio: rng.next(),
          ok: rng.chance(0.5),
          path: `/api/ü/${i}`,
          tags: ["a", "b", String(i)],
          codes: [1, 2, 3],
        },
      },
      ctx,
    );
    if (rng.chance(0.3)) span.addEvent("exception", { "exception.message": "boom", attempt: 2 }, t + 1.5);
    if (rng.chance(0.3)) span.setStatus(rng.chance(0.5) ? { code: SpanStatusCode.ERROR, message: "failed ✗" } : { code: SpanStatusCode.OK });
    span.end(t + 2 + rng.next());
    t += 10;
    if (rng.chance(0.5)) parent = span;
  }
  await provider.forceFlush();
  return exporter.getFinishedSpans();
}

function toV1ReadableSpan(s: ReadableSpan): unknown {
  return {
    name: s.name,
    kind: s.kind,
    spanContext: () => s.spanContext(),
    parentSpanId: s.parentSpanContext?.spanId,
    startTime: s.startTime,
    endTime: s.endTime,
    status: s.status,
    attributes: s.attributes,
    links: s.links,
    events: s.events,
    duration: s.duration,
    ended: s.ended,
    resource: s.resource,
    instrumentationLibrary: s.instrumentationScope,
    droppedAttributesCount: s.droppedAttributesCount,
    droppedEventsCount: s.droppedEventsCount,
    droppedLinksCount: s.droppedLinksCount,
  };
}
