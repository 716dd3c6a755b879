import { describe, expect, it } from "vitest";
import { Rng } from "../../test/support/random-otlp.ts";
import { buildFilter, filterMayContain } from "./trace-filter.ts";

describe("trace-id filter", () => {
  it("never answers no for an id it holds, and is about 10 bits per trace", () => {
    const rng = new Rng(1);
    const ids = Array.from({ length: 10_000 }, () => rng.hex(16));
    const filter = buildFilter(ids, ids.length);
    expect(filter.length).toBe(2 + 12_500);
    for (const id of ids) expect(filterMayContain(filter, id)).toBe(true);
  });

  it("has the documented false-positive rate (about 0.82% at 10 bits per trace)", () => {
    const rng = new Rng(2);
    let falsePositives = 0;
    const probes = 200_000;
    for (let block = 0; block < 10; block++) {
      const ids = Array.from({ length: 5_000 }, () => rng.hex(16));
      const filter = buildFilter(ids, ids.length);
      for (let i = 0; i < probes / 10; i++) if (filterMayContain(filter, rng.hex(16))) falsePositives++;
    }
    const rate = falsePositives / probes;
    expect(rate).toBeGreaterThan(0.005);
    expect(rate).toBeLessThan(0.012);
  });

  it("works for tiny and empty blocks and odd ids", () => {
    const empty = buildFilter([], 0);
    expect(filterMayContain(empty, "ab")).toBe(false);
    const odd = ["", "a", "ABC", "é🚀", "00".repeat(16)];
    const f = buildFilter(odd, odd.length);
    for (const id of odd) expect(filterMayContain(f, id)).toBe(true);
  });

  it("rejects an unknown filter kind", () => {
    const f = buildFilter(["ab"], 1);
    f[0] = 9;
    expect(() => filterMayContain(f, "ab")).toThrow(/unknown trace filter kind/);
  });
});
