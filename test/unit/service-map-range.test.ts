import { describe, expect, it } from "vitest";
import { RANGES, windowOf } from "../../dashboard/src/service-map/range.ts";

describe("service map window", () => {
  it("ends at the end of the current minute, so ranges from 1h up chart whole minutes", () => {
    const now = Date.UTC(2026, 0, 5, 10, 17, 23, 400);
    for (const r of RANGES) {
      const w = windowOf(r, now);
      expect(w.end).toBe(Date.UTC(2026, 0, 5, 10, 18) / 1000);
      expect(w.end - w.start).toBe(r.seconds);
      expect(w.start % 60).toBe(0);
      if (r.id !== "15m") expect(w.step % 60, r.id).toBe(0);
    }
    expect(windowOf(RANGES[1], Date.UTC(2026, 0, 5, 10, 18)).end).toBe(Date.UTC(2026, 0, 5, 10, 18) / 1000);
  });
});
