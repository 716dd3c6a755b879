import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { DecodeError, type TraceBatch } from "../model/span.ts";
import { referenceDecode, referenceEncode } from "../../test/support/otlp-reference.ts";
import { randomTraceBatch, realisticTraceBatch, Rng } from "../../test/support/random-otlp.ts";
import { decodeTraceRequest, MAX_ANY_VALUE_DEPTH } from "./decode-proto.ts";

// ---- a minimal protobuf writer, for bodies no encoder would produce ----------------------------

/** Bytes of one or more fields; `msg` nests a message as a length-delimited field. */
class W {
  readonly out: number[] = [];
  varint(v: number | bigint): this {
    let n = BigInt.asUintN(64, BigInt(v));
    while (n > 0x7fn) {
      this.out.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.out.push(Number(n));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.out.push(bytes[i]!);
    return this;
  }
  len(field: number, payload: ArrayLike<number>): this {
    return this.tag(field, 2).varint(payload.length).raw(payload);
  }
  str(field: number, s: string): this {
    return this.len(field, new TextEncoder().encode(s));
  }
  msg(field: number, build: (w: W) => void): this {
    const inner = new W();
    build(inner);
    return this.len(field, inner.out);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** A request holding one span whose body `build` writes. */
function requestWithSpan(build: (w: W) => void): Uint8Array {
  return new W().msg(1, (rs) => rs.msg(2, (ss) => ss.msg(2, build))).bytes();
}

/** A request holding one span with one attribute whose AnyValue body `build` writes. */
function requestWithValue(build: (w: W) => void): Uint8Array {
  return requestWithSpan((s) => s.msg(9, (kv) => kv.str(1, "k").msg(2, build)));
}

function decodeErrorOf(bytes: Uint8Array): DecodeError {
  try {
    decodeTraceRequest(bytes);
  } catch (err) {
    if (err instanceof DecodeError) return err;
    throw new Error(`expected a DecodeError, got ${String(err)}`, { cause: err });
  }
  throw new Error("expected a DecodeError, but the body decoded");
}

/** Decoding must match the reference exactly, including property order. */
function expectSameAsReference(bytes: Uint8Array, label = ""): TraceBatch {
  const ours = decodeTraceRequest(bytes);
  const reference = referenceDecode(bytes);
  expect(ours, label).toStrictEqual(reference);
  expect(JSON.stringify(ours), label).toBe(JSON.stringify(reference));
  return ours;
}

// ---- differential: reference encoder ----------------------------------------------------------

describe("decodeTraceRequest vs the protobufjs reference", () => {
  it("decodes an empty body to an empty batch", () => {
    expect(decodeTraceRequest(new Uint8Array(0))).toStrictEqual({ resourceSpans: [] });
  });

  it("agrees on 300 random requests, canonical and with every default written", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const batch = randomTraceBatch(seed);
      for (const explicitDefaults of [false, true]) {
        const bytes = referenceEncode(batch, { explicitDefaults });
        const label = `seed ${seed}, explicitDefaults ${explicitDefaults}`;
        const ours = expectSameAsReference(bytes, label);
        // And the generator's batch itself survives the round trip.
        expect(ours, label).toStrictEqual(batch);
      }
    }
  });

  it("agrees on larger random requests with deep values", () => {
    for (let seed = 1000; seed < 1020; seed++) {
      const batch = randomTraceBatch(seed, { maxSpans: 30, maxAttributes: 12, maxDepth: 8 });
      expectSameAsReference(referenceEncode(batch), `seed ${seed}`);
    }
  });

  it("agrees on a realistic 512-span export batch", () => {
    const batch = realisticTraceBatch(512);
    expect(expectSameAsReference(referenceEncode(batch))).toStrictEqual(batch);
  });

  it("decodes a view into a larger buffer (a pooled Buffer, a body sliced out of a stream)", () => {
    const body = referenceEncode(realisticTraceBatch(20));
    const backing = new Uint8Array(body.length + 13).fill(0xff);
    backing.set(body, 7);
    const view = backing.subarray(7, 7 + body.length);
    expect(decodeTraceRequest(view)).toStrictEqual(referenceDecode(body));
  });

  it("agrees when the same bodies are decoded again (intern caches warm)", () => {
    const bodies = [1, 2, 3].map((seed) => referenceEncode(realisticTraceBatch(64, seed)));
    for (let round = 0; round < 3; round++) for (const body of bodies) expectSameAsReference(body);
  });

  it("replaces invalid UTF-8 with U+FFFD, as protobufjs does in Node, and keeps a leading BOM", () => {
    const samples = [
      [0xff],
      [0x61, 0xc3],
      [0xc3, 0x28, 0x61, 0x62, 0x63],
      [0xed, 0xa0, 0x80, 0x61, 0x62], // an encoded surrogate
      [0xf0, 0x9f, 0x98],
      [0xef, 0xbb, 0xbf, 0x61, 0x62], // BOM + "ab"
      [...new TextEncoder().encode("x".repeat(70)), 0xfe], // past the interned length
    ];
    for (const bytes of samples) {
      const body = requestWithSpan((s) => s.len(5, bytes).msg(9, (kv) => kv.len(1, bytes).msg(2, (v) => v.len(1, bytes))));
      // Twice: the second decode reads the strings from the intern cache.
      for (let round = 0; round < 2; round++) {
        const span = expectSameAsReference(body).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
        expect(span.name).toBe(new TextDecoder("utf-8", { ignoreBOM: true }).decode(Uint8Array.from(bytes)));
      }
    }
  });

  it("keeps the last value of a repeated singular field, replacing (not merging) messages, like protobufjs", () => {
    const body = requestWithSpan((s) =>
      s
        .str(5, "first")
        .str(5, "second")
        .msg(15, (st) => st.str(2, "a").tag(3, 0).varint(2))
        .msg(15, (st) => st.tag(3, 0).varint(1))
        .tag(6, 0)
        .varint(2)
        .tag(6, 0)
        .varint(3),
    );
    const span = expectSameAsReference(body).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span.name).toBe("second");
    expect(span.kind).toBe(3);
    expect(span.status).toStrictEqual({ code: 1, message: "" });
  });

  it("reads uint32 and enum fields as protobuf does (low 32 bits; enums are int32)", () => {
    const body = requestWithSpan((s) =>
      s
        .tag(6, 0)
        .varint(-1) // kind: int32 -1, sign-extended to ten bytes
        .tag(10, 0)
        .varint(2n ** 32n + 7n) // dropped_attributes_count: low 32 bits
        .msg(15, (st) => st.tag(3, 0).varint(-2147483648)),
    );
    const span = expectSameAsReference(body).resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect([span.kind, span.droppedAttributesCount, span.status.code]).toEqual([-1, 7, -2147483648]);
  });

  it("skips schema fields the model has no place for (entity_refs, key_strindex, string_value_strindex, Status field 1)", () => {
    const body = new W()
      .msg(1, (rs) =>
        rs
          .msg(1, (r) => r.msg(3, (ref) => ref.str(2, "service").str(3, "service.name")).msg(1, (kv) => kv.str(1, "a").tag(3, 0).varint(5)))
          .msg(2, (ss) => ss.msg(2, (s) => s.msg(15, (st) => st.tag(1, 0).varint(2)).msg(9, (kv) => kv.str(1, "b").msg(2, (v) => v.tag(8, 0).varint(4))))),
      )
      .bytes();
    const batch = expectSameAsReference(body);
    expect(batch.resourceSpans[0]!.resource.attributes).toStrictEqual([{ key: "a", value: {} }]);
    expect(batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes).toStrictEqual([{ key: "b", value: {} }]);
  });
});

// ---- differential: the OpenTelemetry JS SDK's own serializers ---------------------------------

type AnySpan = {
  spanContext(): unknown;
  addEvent(name: string, attributes?: Record<string, unknown>): void;
  setStatus(status: { code: number; message?: string }): void;
  end(): void;
};
type AnyTracer = { startSpan(name: string, options?: Record<string, unknown>, ctx?: unknown): AnySpan };

/** A little trace with every attribute type, events, links, statuses and kinds. */
function recordSpans(tracer: AnyTracer): void {
  const root = tracer.startSpan("GET /api/orders/:id", {
    kind: SpanKind.SERVER,
    attributes: {
      "http.request.method": "GET",
      "http.response.status_code": 200,
      "ratio": 0.25,
      "ok": true,
      "tags": ["a", "b", "ü"],
      "codes": [1, 2, -3],
      "flags": [true, false],
      "negative": -9007199254740991,
    },
  });
  const ctx = trace.setSpan(context.active(), root as never);
  for (let i = 0; i < 5; i++) {
    const child = tracer.startSpan(
      `SELECT orders ${i}`,
      {
        kind: i % 2 ? SpanKind.CLIENT : SpanKind.INTERNAL,
        attributes: { "db.system.name": "postgresql", "db.query.text": `SELECT * FROM orders WHERE id = ${i}`, i },
        links: i === 3 ? [{ context: root.spanContext(), attributes: { "link.kind": "parent-ish" } }] : [],
      },
      ctx,
    );
    if (i === 2) child.addEvent("exception", { "exception.type": "Error", "exception.message": "boom 🚀" });
    if (i === 4) child.setStatus({ code: SpanStatusCode.ERROR, message: "statement timeout" });
    if (i === 1) child.setStatus({ code: SpanStatusCode.OK });
    child.end();
  }
  root.end();
}

describe("decodeTraceRequest on what OpenTelemetry JS sends", () => {
  it("agrees with the reference on ProtobufTraceSerializer output (otlp-transformer 0.57.2, sdk-trace-base 1.x spans)", () => {
    // The 0.57.2 serializer expects 1.x ReadableSpans: use the SDK it depends on.
    const requireRef = createRequire(createRequire(import.meta.url).resolve("otlp-proto-reference"));
    const sdk = requireRef("@opentelemetry/sdk-trace-base");
    const { Resource } = requireRef("@opentelemetry/resources");
    const { ProtobufTraceSerializer: serializer057 } = createRequire(import.meta.url)("otlp-proto-reference");
    const exporter = new sdk.InMemorySpanExporter();
    const provider = new sdk.BasicTracerProvider({ resource: new Resource({ "service.name": "orders", "k8s.pod.name": "orders-1" }) });
    provider.addSpanProcessor(new sdk.SimpleSpanProcessor(exporter));
    recordSpans(provider.getTracer("@edgetrace/test", "1.0.0"));
    const spans = exporter.getFinishedSpans();
    const body: Uint8Array = serializer057.serializeRequest(spans);
    const batch = expectSameAsReference(body);
    const decoded = batch.resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(decoded).toHaveLength(6);
    expect(decoded.map((s) => s.spanId)).toEqual(spans.map((s: { spanContext(): { spanId: string } }) => s.spanContext().spanId));
  });

  it("agrees with the reference on the current ProtobufTraceSerializer (hand-written writer, sends flags)", () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "orders", "process.pid": 42 }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    recordSpans(provider.getTracer("@edgetrace/test", "2.0.0", { schemaUrl: "https://opentelemetry.io/schemas/1.28.0" }) as unknown as AnyTracer);
    const spans = exporter.getFinishedSpans();
    const body = ProtobufTraceSerializer.serializeRequest(spans)!;
    const batch = expectSameAsReference(body);
    const decoded = batch.resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(decoded).toHaveLength(6);
    expect(decoded.every((s) => s.flags === 0x101)).toBe(true); // sampled, has-is-remote, local parent
    expect(decoded.find((s) => s.name === "SELECT orders 3")!.links[0]!.flags).toBe(0x101);
    expect(decoded.find((s) => s.name === "SELECT orders 4")!.status).toStrictEqual({ code: 2, message: "statement timeout" });
  });
});

// ---- unknown fields ------------------------------------------------------------------------------

// Which fields of each message hold which message, to walk a body and inject fields everywhere.
const CHILDREN: Record<string, Record<number, string>> = {
  Request: { 1: "ResourceSpans" },
  ResourceSpans: { 1: "Resource", 2: "ScopeSpans" },
  Resource: { 1: "KeyValue" },
  ScopeSpans: { 1: "Scope", 2: "Span" },
  Scope: { 3: "KeyValue" },
  Span: { 9: "KeyValue", 11: "Event", 13: "Link", 15: "Status" },
  Event: { 3: "KeyValue" },
  Link: { 4: "KeyValue" },
  Status: {},
  KeyValue: { 2: "AnyValue" },
  AnyValue: { 5: "ArrayValue", 6: "KeyValueList" },
  ArrayValue: { 1: "AnyValue" },
  KeyValueList: { 1: "KeyValue" },
};

/** One unknown field of the given wire type (3 = a group, with nested fields and a nested group). */
function unknownField(rng: Rng, wire: number): number[] {
  const field = rng.pick([17, 18, 29, 100, 2047, 536870911]);
  const w = new W().tag(field, wire);
  switch (wire) {
    case 0:
      w.varint(rng.pick([0n, 1n, 300n, 2n ** 63n, 2n ** 64n - 1n]));
      break;
    case 1:
      w.raw(rng.bytes(8));
      break;
    case 2:
      w.varint(5).raw(rng.bytes(5));
      break;
    case 3:
      w.tag(1, 0).varint(7).tag(2, 2).varint(2).raw([0x08, 0x01]);
      w.tag(3, 3).tag(1, 5).raw(rng.bytes(4)).tag(3, 4);
      w.tag(field, 4);
      break;
    case 5:
      w.raw(rng.bytes(4));
      break;
  }
  return w.out;
}

/** Re-encodes a valid message with unknown fields of every wire type before, between and after its fields. */
function injectUnknown(bytes: Uint8Array, type: string, rng: Rng): number[] {
  const out: number[] = [];
  const sprinkle = (): void => {
    if (rng.chance(0.5)) out.push(...unknownField(rng, rng.pick([0, 1, 2, 3, 5])));
  };
  let p = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = bytes[p++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  while (p < bytes.length) {
    sprinkle();
    const tagStart = p;
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    const child = CHILDREN[type]![field];
    if (wire === 2) {
      const n = Number(varint());
      const payload = bytes.subarray(p, p + n);
      p += n;
      const inner = child ? injectUnknown(payload, child, rng) : [...payload];
      out.push(...new W().len(field, inner).out);
    } else {
      if (wire === 0) varint();
      else p += wire === 1 ? 8 : 4;
      out.push(...bytes.subarray(tagStart, p));
    }
  }
  sprinkle();
  return out;
}

describe("unknown fields", () => {
  it("skips unknown fields of every wire type, groups included, in every message", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rng = new Rng(seed * 7919);
      const original = referenceEncode(randomTraceBatch(seed), { explicitDefaults: seed % 2 === 0 });
      const injected = Uint8Array.from(injectUnknown(original, "Request", rng));
      const expected = referenceDecode(original);
      expect(decodeTraceRequest(injected), `seed ${seed}`).toStrictEqual(expected);
      // protobufjs skips them too: the reference agrees on the injected body.
      expect(referenceDecode(injected), `seed ${seed}`).toStrictEqual(expected);
    }
  });

  it("skips every wire type at the top level", () => {
    const rng = new Rng(5);
    for (const wire of [0, 1, 2, 3, 5]) {
      const body = Uint8Array.from([...unknownField(rng, wire), ...referenceEncode(realisticTraceBatch(2))]);
      expect(decodeTraceRequest(body)).toStrictEqual(realisticTraceBatch(2));
    }
  });
});

// ---- malformed input -------------------------------------------------------------------------------

// Known fields and their wire types, per message, with how to reach that message in a request.
const KNOWN: [string, (build: (w: W) => void) => Uint8Array, Record<number, number>][] = [
  ["ExportTraceServiceRequest", (b) => ((w) => (b(w), w.bytes()))(new W()), { 1: 2 }],
  ["ResourceSpans", (b) => new W().msg(1, b).bytes(), { 1: 2, 2: 2, 3: 2 }],
  ["Resource", (b) => new W().msg(1, (rs) => rs.msg(1, b)).bytes(), { 1: 2, 2: 0 }],
  ["ScopeSpans", (b) => new W().msg(1, (rs) => rs.msg(2, b)).bytes(), { 1: 2, 2: 2, 3: 2 }],
  ["InstrumentationScope", (b) => new W().msg(1, (rs) => rs.msg(2, (ss) => ss.msg(1, b))).bytes(), { 1: 2, 2: 2, 3: 2, 4: 0 }],
  ["Span", requestWithSpan, { 1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 0, 7: 1, 8: 1, 9: 2, 10: 0, 11: 2, 12: 0, 13: 2, 14: 0, 15: 2, 16: 5 }],
  ["Span.Event", (b) => requestWithSpan((s) => s.msg(11, b)), { 1: 1, 2: 2, 3: 2, 4: 0 }],
  ["Span.Link", (b) => requestWithSpan((s) => s.msg(13, b)), { 1: 2, 2: 2, 3: 2, 4: 2, 5: 0, 6: 5 }],
  ["Status", (b) => requestWithSpan((s) => s.msg(15, b)), { 2: 2, 3: 0 }],
  ["KeyValue", (b) => requestWithSpan((s) => s.msg(9, b)), { 1: 2, 2: 2 }],
  ["AnyValue", requestWithValue, { 1: 2, 2: 0, 3: 0, 4: 1, 5: 2, 6: 2, 7: 2 }],
  ["ArrayValue", (b) => requestWithValue((v) => v.msg(5, b)), { 1: 2 }],
  ["KeyValueList", (b) => requestWithValue((v) => v.msg(6, b)), { 1: 2 }],
];

/** A well-formed value of each wire type (group: an empty one). */
function fieldOfWire(w: W, field: number, wire: number): void {
  w.tag(field, wire);
  if (wire === 0) w.varint(1);
  else if (wire === 1) w.raw([1, 2, 3, 4, 5, 6, 7, 8]);
  else if (wire === 2) w.varint(0);
  else if (wire === 3) w.tag(field, 4);
  else w.raw([1, 2, 3, 4]);
}

describe("malformed input", () => {
  it("rejects every known field sent with another wire type", () => {
    let cases = 0;
    for (const [message, wrap, fields] of KNOWN) {
      for (const [field, expected] of Object.entries(fields)) {
        for (const wire of [0, 1, 2, 3, 5]) {
          if (wire === expected) continue;
          const err = decodeErrorOf(wrap((w) => fieldOfWire(w, Number(field), wire)));
          expect(err.message).toContain(`${message} field ${field} has wire type ${wire}, expected ${expected}`);
          cases++;
        }
      }
    }
    expect(cases).toBe(4 * 52);
  });

  it("accepts every known field with its own wire type (the table above is the schema)", () => {
    for (const [, wrap, fields] of KNOWN) {
      for (const [field, wire] of Object.entries(fields)) {
        const body = wrap((w) => fieldOfWire(w, Number(field), wire));
        expect(() => decodeTraceRequest(body)).not.toThrow();
      }
    }
  });

  it("throws DecodeError, and only DecodeError, for every truncation of a small request", () => {
    // The first random request of a few hundred bytes: every message type, small enough to cut everywhere.
    let seed = 1;
    let small = referenceEncode(randomTraceBatch(seed));
    while (small.length < 300 || small.length > 1200) small = referenceEncode(randomTraceBatch(++seed));
    const bodies = [
      small,
      referenceEncode(realisticTraceBatch(3)),
      requestWithValue((v) => v.tag(3, 0).varint(-1)),
    ];
    for (const body of bodies) {
      expect(body.length).toBeGreaterThan(10);
      for (let cut = 0; cut < body.length; cut++) {
        const prefix = body.slice(0, cut);
        let ours: TraceBatch | undefined;
        try {
          ours = decodeTraceRequest(prefix);
        } catch (err) {
          expect(err, `cut at ${cut}`).toBeInstanceOf(DecodeError);
          const offset = Number(/^byte (\d+)$/.exec((err as DecodeError).where ?? "")?.[1]);
          expect(offset, `cut at ${cut}`).toBeLessThanOrEqual(cut);
          continue;
        }
        // A cut between two top-level fields leaves a valid, shorter request.
        expect(ours, `cut at ${cut}`).toStrictEqual(referenceDecode(prefix));
      }
    }
  });

  it("rejects varints longer than ten bytes or wider than 64 bits", () => {
    const eleven = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expect(decodeErrorOf(requestWithSpan((s) => s.tag(6, 0).raw(eleven))).message).toMatch(/overflow/);
    const wide = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
    expect(decodeErrorOf(requestWithSpan((s) => s.tag(10, 0).raw(wide))).message).toMatch(/overflow/);
    expect(decodeErrorOf(requestWithValue((v) => v.tag(3, 0).raw(wide))).message).toMatch(/overflow/);
    // As a tag and as a length too.
    expect(decodeErrorOf(Uint8Array.from(eleven))).toBeInstanceOf(DecodeError);
    expect(decodeErrorOf(Uint8Array.from([0x0a, ...eleven]))).toBeInstanceOf(DecodeError);
    // The widest legal varint is fine.
    const max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expect(decodeTraceRequest(requestWithValue((v) => v.tag(3, 0).raw(max))).resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes[0]!.value).toStrictEqual({ intValue: "-1" });
  });

  it("rejects lengths that run past the body or past the enclosing message", () => {
    const pastBody = new W().tag(1, 2).varint(100).raw([0x0a, 0x00]).bytes();
    expect(decodeErrorOf(pastBody).message).toMatch(/runs past/);
    expect(decodeErrorOf(pastBody).where).toBe("byte 1");
    // The span claims 20 bytes, its ScopeSpans only holds 4, though the body has more after it.
    const pastParent = new W()
      .msg(1, (rs) => rs.tag(2, 2).varint(4).raw([0x12, 0x14, 0x2a, 0x00]))
      .raw(new Array(40).fill(0x08))
      .bytes();
    expect(decodeErrorOf(pastParent).message).toMatch(/runs past/);
    // A length too large for 32 bits.
    expect(decodeErrorOf(new W().tag(1, 2).varint(2n ** 40n).bytes())).toBeInstanceOf(DecodeError);
  });

  it(`accepts AnyValues nested ${MAX_ANY_VALUE_DEPTH} deep and rejects one level more`, () => {
    const nested = (depth: number): Uint8Array =>
      requestWithSpan((s) =>
        s.msg(9, (kv) => {
          const value = (w: W, level: number): void => {
            // Alternate arrays and kvlists on the way down.
            if (level === depth) w.str(1, "leaf");
            else if (level % 2) w.msg(5, (arr) => arr.msg(1, (v) => value(v, level + 1)));
            else w.msg(6, (list) => list.msg(1, (inner) => inner.str(1, "k").msg(2, (v) => value(v, level + 1))));
          };
          kv.str(1, "deep").msg(2, (v) => value(v, 1));
        }),
      );
    expectSameAsReference(nested(MAX_ANY_VALUE_DEPTH));
    expect(decodeErrorOf(nested(MAX_ANY_VALUE_DEPTH + 1)).message).toMatch(/nested deeper than 32/);
  });

  it("rejects hostile nesting 200,000 levels deep without overflowing the stack", () => {
    // AnyValue{array_value{values{AnyValue{...}}}} built from the inside out. The 1.6 MB body is
    // put together with typed arrays: W's byte-by-byte copies took over a second, which a busy
    // machine turned into a timeout.
    const levels = 200_000;
    const varint = (n: number): number[] => {
      const out: number[] = [];
      for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
      out.push(n);
      return out;
    };
    const prefixes: number[][] = [];
    let size = 0;
    for (let i = 0; i < levels; i++) {
      const arrayValue = [1 * 8 + 2, ...varint(size)]; // ArrayValue.values = inner AnyValue
      const anyValue = [5 * 8 + 2, ...varint(arrayValue.length + size)]; // AnyValue.array_value
      prefixes.push([...anyValue, ...arrayValue]);
      size += anyValue.length + arrayValue.length;
    }
    const value = new Uint8Array(size);
    let p = 0;
    for (let i = prefixes.length - 1; i >= 0; i--) for (const b of prefixes[i]!) value[p++] = b;
    const concat = (...parts: Uint8Array[]) => {
      const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
      let at = 0;
      for (const part of parts) {
        out.set(part, at);
        at += part.length;
      }
      return out;
    };
    const field = (n: number, payload: Uint8Array) => concat(new W().tag(n, 2).varint(payload.length).bytes(), payload);
    // What requestWithSpan((s) => s.msg(9, (kv) => kv.str(1, "k").len(2, value))) writes.
    const keyValue = concat(new W().str(1, "k").bytes(), field(2, value));
    const body = field(1, field(2, field(2, field(9, keyValue))));
    expect(body.length).toBeGreaterThan(levels * 4);
    expect(decodeErrorOf(body).message).toMatch(/nested deeper/);
  });

  it("rejects malformed groups, invalid wire types and field number 0", () => {
    // End-group with no start, a group closed by another field's end tag, a group never closed.
    expect(decodeErrorOf(new W().tag(20, 4).bytes()).message).toMatch(/without a matching start-group/);
    expect(decodeErrorOf(new W().tag(20, 3).tag(21, 4).bytes()).message).toMatch(/closes group 20/);
    expect(decodeErrorOf(new W().tag(20, 3).tag(1, 0).varint(1).bytes()).message).toMatch(/no end-group/);
    // Groups nested deeper than 32.
    const deepGroups = new W();
    for (let i = 0; i < 40; i++) deepGroups.tag(20, 3);
    for (let i = 0; i < 40; i++) deepGroups.tag(20, 4);
    expect(decodeErrorOf(deepGroups.bytes()).message).toMatch(/groups nested deeper/);
    // Within the limit they are skipped.
    const okGroups = new W();
    for (let i = 0; i < 10; i++) okGroups.tag(20, 3);
    for (let i = 0; i < 10; i++) okGroups.tag(20, 4);
    expect(decodeTraceRequest(okGroups.bytes())).toStrictEqual({ resourceSpans: [] });
    for (const wire of [6, 7]) expect(decodeErrorOf(new W().tag(20, wire).bytes()).message).toMatch(/invalid wire type/);
    expect(decodeErrorOf(Uint8Array.of(0x00, 0x01)).message).toMatch(/field number 0/);
    expect(decodeErrorOf(requestWithSpan((s) => s.raw([0x02, 0x00]))).message).toMatch(/field number 0/);
  });

  it("throws nothing but DecodeError on corrupted bodies, and never hangs", () => {
    const rng = new Rng(99);
    const bodies = [1, 2, 3, 4].map((seed) => referenceEncode(randomTraceBatch(seed)));
    for (let i = 0; i < 3000; i++) {
      const body = bodies[i % bodies.length]!.slice();
      const flips = 1 + rng.int(4);
      for (let f = 0; f < flips; f++) body[rng.int(body.length)] = rng.int(256);
      try {
        decodeTraceRequest(body);
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
      }
    }
    for (let i = 0; i < 2000; i++) {
      try {
        decodeTraceRequest(rng.bytes(rng.int(64)));
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeError);
      }
    }
  });
});
