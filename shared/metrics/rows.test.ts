import { describe, expect, it } from "vitest";
import { bucketInWindow, mergeRowsByKey, roundMs } from "./rows.ts";

describe("rows", () => {
  it("merge rows by key in first-seen order", () => {
    const rows = [
      { k: "a", n: 1 },
      { k: "b", n: 2 },
      { k: "a", n: 3 },
    ];
    expect(mergeRowsByKey(rows, (r) => r.k, (x, y) => ({ k: x.k, n: x.n + y.n }))).toEqual([
      { k: "a", n: 4 },
      { k: "b", n: 2 },
    ]);
  });

  it("count a bucket in a window when they overlap", () => {
    const w = { start: 130, end: 250 };
    expect(bucketInWindow(60, 60, w)).toBe(false); // 60..120
    expect(bucketInWindow(120, 60, w)).toBe(true); // partly inside
    expect(bucketInWindow(240, 60, w)).toBe(true);
    expect(bucketInWindow(250, 60, w)).toBe(false); // end is exclusive
  });

  it("round quantiles to 4 significant digits, NaN to 0", () => {
    expect(roundMs(12.345678)).toBe(12.35);
    expect(roundMs(0.000123456)).toBe(0.0001235);
    expect(roundMs(Number.NaN)).toBe(0);
  });
});
