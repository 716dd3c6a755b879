/** The trace pages' durations, axis ticks and timestamps (dashboard/src/time-format.ts, pure). */
import { describe, expect, test } from "vitest";
import { axisTicks, formatDuration, formatTimestamp, niceStep } from "../../dashboard/src/time-format.ts";

describe("formatDuration (microseconds)", () => {
  test("three significant digits, a space before the unit", () => {
    expect(formatDuration(0)).toBe("0 µs");
    expect(formatDuration(0.3)).toBe("0 µs");
    expect(formatDuration(7)).toBe("7 µs");
    expect(formatDuration(789)).toBe("789 µs");
    expect(formatDuration(1500)).toBe("1.5 ms");
    expect(formatDuration(45_600)).toBe("45.6 ms");
    expect(formatDuration(600_000)).toBe("600 ms");
    expect(formatDuration(110_000)).toBe("110 ms");
    expect(formatDuration(1_234_567)).toBe("1.23 s");
    expect(formatDuration(59_000_000)).toBe("59 s");
    expect(formatDuration(125_000_000)).toBe("2 m 5 s");
    expect(formatDuration(120_000_000)).toBe("2 m");
  });

  test("rounding that reaches the next unit uses it (never 1000 µs or 1000 ms)", () => {
    expect(formatDuration(999.7)).toBe("1 ms");
    expect(formatDuration(999_700)).toBe("1 s");
    expect(formatDuration(59_999_000)).toBe("1 m");
  });

  test("negative and not-finite values", () => {
    expect(formatDuration(-1500)).toBe("−1.5 ms");
    expect(formatDuration(Number.NaN)).toBe("—");
  });
});

describe("axis ticks", () => {
  test("round steps: 1, 2 or 5 times a power of ten", () => {
    expect(niceStep(300_000)).toBe(100_000);
    expect(niceStep(1_000_000)).toBe(500_000);
    expect(niceStep(80)).toBe(20);
    expect(niceStep(3)).toBe(1);
    expect(niceStep(0)).toBe(1);
  });

  test("a whole trace: 0 to its end", () => {
    expect(axisTicks(0, 300_000)).toEqual({ step: 100_000, ticks: [0, 100_000, 200_000, 300_000] });
    expect(axisTicks(0, 300_000).ticks.map(formatDuration)).toEqual(["0 µs", "100 ms", "200 ms", "300 ms"]);
  });

  test("a zoomed window: only multiples of the step inside it (600 ms, never 599ms)", () => {
    const { step, ticks } = axisTicks(38_961.2, 183_116.9);
    expect(step).toBe(50_000);
    expect(ticks).toEqual([50_000, 100_000, 150_000]);
    for (const start of [0.1, 17, 1234.5, 599_321, 10_000_001]) {
      const r = axisTicks(start, start * 3 + 977);
      expect(r.ticks.length).toBeGreaterThanOrEqual(2);
      expect(r.ticks.length).toBeLessThanOrEqual(5);
      for (const t of r.ticks) {
        expect(t).toBeGreaterThanOrEqual(start);
        expect(t).toBeLessThanOrEqual(start * 3 + 977);
        expect(Math.abs(t / r.step - Math.round(t / r.step))).toBeLessThan(1e-6);
      }
    }
  });
});

describe("formatTimestamp", () => {
  const ns = "1796311814320123456"; // 2026-12-03T15:30:14.320123456Z

  test("UTC: the date, the time to the microsecond, and the zone", () => {
    expect(formatTimestamp(ns, "utc")).toBe("2026-12-03 15:30:14.320123 UTC");
    expect(formatTimestamp(BigInt(ns), "utc")).toBe("2026-12-03 15:30:14.320123 UTC");
  });

  test("local: the same instant in this process's zone, its name written", () => {
    const local = formatTimestamp(ns, "local");
    expect(local).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:14\.320123 \S+/);
    const d = new Date(1796311814320);
    expect(local.slice(11, 16)).toBe(`${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`);
  });

  test("a value that is not a time is shown as it is", () => {
    expect(formatTimestamp("soon", "utc")).toBe("soon");
  });
});
