import { describe, expect, it } from "vitest";
import { Rng } from "../../test/support/random-otlp.ts";
import { ByteReader, ByteWriter, crc32, flatHex, utf8 } from "./bytes.ts";
import { ColumnsReader, ColumnsWriter, Col } from "./columns.ts";
import { base64ToBytesOrUndefined, bytesToBase64, bytesToHex, hexToBytesOrUndefined } from "./hex-base64.ts";

describe("byte writer and reader", () => {
  it("round-trips varints, bigints, doubles and strings at their edges", () => {
    const w = new ByteWriter(1);
    const nums = [0, 1, 127, 128, 16383, 16384, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const signed = [0, -1, 1, -64, 64, -(2 ** 40), 2 ** 51, -(2 ** 51)];
    const bigs = [0n, 1n, 2n ** 53n, 2n ** 64n - 1n, 2n ** 69n];
    const sbigs = [0n, -1n, -(2n ** 63n), 2n ** 63n - 1n, -(2n ** 64n) + 1n, 2n ** 64n - 1n];
    const doubles = [0, -0, NaN, Infinity, -Infinity, 5e-324, Math.PI];
    for (const n of nums) w.uvarint(n);
    for (const n of signed) w.svarint(n);
    for (const b of bigs) w.ubig(b);
    for (const b of sbigs) w.sbig(b);
    for (const d of doubles) w.f64(d);
    w.string("\uFEFFé🚀\u0000");
    w.u64(2 ** 52 + 3);
    const r = new ByteReader(w.finish());
    for (const n of nums) expect(r.uvarint()).toBe(n);
    for (const n of signed) expect(r.svarint()).toBe(n);
    for (const b of bigs) expect(r.ubig()).toBe(b);
    for (const b of sbigs) expect(r.sbig()).toBe(b);
    for (const d of doubles) expect(Object.is(r.f64(), d)).toBe(true);
    expect(r.string()).toBe("\uFEFFé🚀\u0000");
    expect(r.u64()).toBe(2 ** 52 + 3);
    expect(r.remaining).toBe(0);
    expect(() => r.byte()).toThrow(/truncated/);
  });

  it("refuses values it cannot represent", () => {
    const w = new ByteWriter();
    expect(() => w.uvarint(-1)).toThrow();
    expect(() => w.uvarint(0.5)).toThrow();
    expect(() => w.ubig(2n ** 70n)).toThrow();
    expect(() => w.u32(2 ** 32)).toThrow();
  });
});

describe("columns", () => {
  it("round-trips byte-planed columns of any width, including values past 2^53", () => {
    const rng = new Rng(3);
    for (const max of [0n, 255n, 2n ** 40n, 2n ** 64n + 5n]) {
      const c = new ColumnsWriter();
      const values = Array.from({ length: 50 }, () => (max === 0n ? 0n : BigInt(rng.uint32()) * BigInt(rng.uint32()) % (max + 1n)));
      values.push(max);
      for (const v of values) c.planed(Col.START).add(v);
      for (const v of values) c.planed(Col.DURATION).addSigned(-v);
      c.cols[Col.ID]!.bytes(new Uint8Array([1, 2, 3]));
      const { bytes, tailLength } = c.finish();
      expect(tailLength).toBe(3);
      expect([...bytes.subarray(bytes.length - 3)]).toEqual([1, 2, 3]);
      const r = new ColumnsReader(bytes);
      for (const v of values) expect(r.planed(Col.START).next()).toBe(v);
      for (const v of values) expect(r.planed(Col.DURATION).nextSigned()).toBe(-v);
      r.cols[Col.ID]!.bytes(3);
      r.assertConsumed();
    }
  });
});

describe("hex and base64", () => {
  it("accepts only canonical forms, so raw bytes give back the same text", () => {
    const rng = new Rng(4);
    for (let n = 0; n < 40; n++) {
      const b = rng.bytes(n);
      const hex = bytesToHex(b);
      expect(hexToBytesOrUndefined(hex)).toEqual(b);
      const b64 = bytesToBase64(b);
      expect(b64).toBe(Buffer.from(b).toString("base64"));
      expect(base64ToBytesOrUndefined(b64)).toEqual(b);
    }
    for (const bad of ["A", "AB", "0g", "é0"]) expect(hexToBytesOrUndefined(bad)).toBeUndefined();
    // flatHex (the decoder's ids) spells what bytesToHex does, past its 64-byte pieces too.
    for (const n of [0, 1, 8, 16, 63, 64, 65, 200]) {
      const b = rng.bytes(n);
      expect(flatHex(b)).toBe(bytesToHex(b));
      expect(new ByteReader(b).hex(n)).toBe(bytesToHex(b));
    }
    for (const bad of ["QQ", "QR==", "Q===", "====", "QUJD\n", "QU=D", "-_8="]) expect(base64ToBytesOrUndefined(bad)).toBeUndefined();
  });
});

describe("crc32", () => {
  it("is the bytewise CRC-32 for every length and a running start", () => {
    const table = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      return c >>> 0;
    });
    const bytewise = (data: Uint8Array, crc = 0) => {
      let c = ~crc;
      for (const b of data) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
      return ~c >>> 0;
    };
    const rng = new Rng(9);
    for (let n = 0; n < 70; n++) {
      const b = rng.bytes(n);
      expect(crc32(b)).toBe(bytewise(b));
      expect(crc32(b, 0x12345678)).toBe(bytewise(b, 0x12345678));
    }
    expect(crc32(utf8("123456789"))).toBe(0xcbf43926);
  });
});
