import { describe, expect, it } from "vitest";
import type { ResourceSpans, Span, TraceBatch } from "../model/span.ts";
import { referenceDecode, referenceEncode } from "../../test/support/otlp-reference.ts";
import { randomTraceBatch, realisticTraceBatch } from "../../test/support/random-otlp.ts";
import { zeroSpan } from "../../test/support/spans.ts";
import { decodeTraceRequest } from "./decode-proto.ts";
import { encodeTraceProto } from "./encode-proto.ts";

/** Both decoders read our bytes exactly as they read the reference encoder's. */
function expectSameAsReference(batch: TraceBatch): void {
  const ours = encodeTraceProto(batch.resourceSpans);
  const theirs = referenceEncode(batch);
  expect(referenceDecode(ours)).toEqual(referenceDecode(theirs));
  expect(decodeTraceRequest(ours)).toEqual(decodeTraceRequest(theirs));
}

function oneSpan(patch: Partial<Span>): ResourceSpans[] {
  const span = zeroSpan(patch);
  return [{
    resource: { attributes: [], droppedAttributesCount: 0 },
    scopeSpans: [{ scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 }, spans: [span], schemaUrl: "" }],
    schemaUrl: "",
  }];
}

describe("encodeTraceProto", () => {
  it("agrees with the protobufjs reference on 300 random batches", () => {
    for (let seed = 1; seed <= 300; seed++) expectSameAsReference(randomTraceBatch(seed));
  });

  it("agrees on large, deeply nested random batches", () => {
    for (let seed = 1000; seed < 1020; seed++) {
      expectSameAsReference(randomTraceBatch(seed, { maxSpans: 30, maxAttributes: 12, maxDepth: 8 }));
    }
  });

  it("agrees on realistic SDK batches, byte for byte", () => {
    for (const [n, seed] of [[512, 42], [64, 1], [1, 2]] as const) {
      const batch = realisticTraceBatch(n, seed);
      expectSameAsReference(batch);
      // The reference in its canonical mode writes the same fields in the same order.
      expect(Buffer.from(encodeTraceProto(batch.resourceSpans)).equals(Buffer.from(referenceEncode(batch)))).toBe(true);
    }
  });

  it("round-trips every random batch through our decoder unchanged", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const batch = randomTraceBatch(seed);
      expect(decodeTraceRequest(encodeTraceProto(batch.resourceSpans))).toEqual(batch);
    }
  });

  it("writes canonical proto3: nothing for defaults", () => {
    expect(encodeTraceProto([])).toEqual(new Uint8Array(0));
    // ResourceSpans { ScopeSpans { Span {} } }: every field at its default.
    expect([...encodeTraceProto(oneSpan({}))]).toEqual([0x0a, 0x04, 0x12, 0x02, 0x12, 0x00]);
  });

  it("writes the wire forms of ids, times, enums, flags and values", () => {
    const bytes = encodeTraceProto(
      oneSpan({
        spanId: "00F067aa0ba902b7",
        kind: -1,
        startTimeUnixNano: "18446744073709551615",
        flags: 0x301,
        attributes: [{ key: "k", value: { intValue: "-1" } }, { key: "", value: {} }, { key: "b", value: { bytesValue: "AQI=" } }],
        status: { code: 2, message: "" },
      }),
    );
    const span = [
      0x12, 0x08, 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7,
      0x30, ...Array(9).fill(0xff), 0x01,
      0x39, ...Array(8).fill(0xff),
      0x4a, 0x10, 0x0a, 0x01, 0x6b, 0x12, 0x0b, 0x18, ...Array(9).fill(0xff), 0x01,
      0x4a, 0x02, 0x12, 0x00,
      0x4a, 0x09, 0x0a, 0x01, 0x62, 0x12, 0x04, 0x3a, 0x02, 0x01, 0x02,
      0x7a, 0x02, 0x18, 0x02,
      0x85, 0x01, 0x01, 0x03, 0x00, 0x00,
    ];
    expect([...bytes]).toEqual([0x0a, span.length + 4, 0x12, span.length + 2, 0x12, span.length, ...span]);
  });

  it("encodes lone surrogates as U+FFFD and long strings with multi-byte lengths", () => {
    const name = "a\ud800b" + "é".repeat(10_000) + "\udc00";
    const [decoded] = decodeTraceRequest(encodeTraceProto(oneSpan({ name }))).resourceSpans;
    expect(decoded!.scopeSpans[0]!.spans[0]!.name).toBe("a\ufffdb" + "é".repeat(10_000) + "\ufffd");
  });

  it("leaves no state behind between calls", () => {
    const a = realisticTraceBatch(8, 1).resourceSpans;
    const first = encodeTraceProto(a);
    encodeTraceProto(randomTraceBatch(7).resourceSpans);
    expect(encodeTraceProto(a)).toEqual(first);
  });
});
