import { describe, expect, it } from "vitest";
import { queueShard } from "./queue-shard.ts";

describe("queueShard", () => {
  it("gives a tenant the same queue every time, within range", () => {
    for (const id of ["a", "tn_abc", "x".repeat(64)]) {
      const s = queueShard(id, 4);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(4);
      expect(queueShard(id, 4)).toBe(s);
    }
    expect(queueShard("anything", 1)).toBe(0);
    expect(() => queueShard("a", 0)).toThrow();
  });

  it("spreads many tenants about evenly", () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[queueShard(`tn_${i.toString(36)}_${(i * 7919).toString(16)}`, 4)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
});
