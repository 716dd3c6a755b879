import { describe, expect, it } from "vitest";
import { BLOCK_FORMAT_VERSION, crc32, encodeFooter, FOOTER_SIZE, readFooter } from "./footer.ts";

const sections = {
  dictionary: { offset: 5_000_000_000, length: 100 },
  summaries: { offset: 5_000_000_100, length: 2000 },
  filter: { offset: 5_000_002_100, length: 1252 },
  traceCount: 1000,
  spanCount: 2 ** 32 - 1,
  filterCrc: 0xdeadbeef,
};

describe("block footer", () => {
  it("is fixed size and round-trips offsets past 4 GiB", () => {
    const bytes = encodeFooter(sections);
    expect(bytes.length).toBe(FOOTER_SIZE);
    const f = readFooter(bytes);
    expect(f).toEqual({
      version: BLOCK_FORMAT_VERSION,
      segments: { offset: 0, length: 5_000_000_000 },
      ...sections,
      objectSize: 5_000_002_100 + 1252 + FOOTER_SIZE,
    });
  });

  it("reads the footer from the end of a longer tail", () => {
    const tail = new Uint8Array(500);
    tail.set(encodeFooter(sections), 500 - FOOTER_SIZE);
    expect(readFooter(tail).traceCount).toBe(1000);
  });

  it("throws on foreign objects, damage, unknown versions and gaps", () => {
    expect(() => readFooter(new Uint8Array(FOOTER_SIZE))).toThrow(/not an edgetrace block/);
    const bytes = encodeFooter(sections);
    const v3 = bytes.slice();
    v3[4] = 3;
    expect(() => readFooter(v3)).toThrow(/unknown block format version 3/);
    const v0 = bytes.slice();
    v0[4] = 0;
    expect(() => readFooter(v0)).toThrow(/unknown block format version 0/);
    const flipped = bytes.slice();
    flipped[30]! ^= 0x10;
    expect(() => readFooter(flipped)).toThrow(/checksum/);
    expect(() => encodeFooter({ ...sections, filter: { offset: 1, length: 1 } }) && readFooter(encodeFooter({ ...sections, filter: { offset: 1, length: 1 } }))).toThrow(/contiguous/);
  });

  it("uses the standard CRC-32", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });
});
