/** Metrics series as tables a test can compare with answers worked out by hand. */
import { expect } from "vitest";
import type { Series } from "../../shared/traceql/metrics.ts";

/** Series as `promLabels -> [[timestamp, value], ...]`. */
export function table(series: Series[]): Record<string, [number, number][]> {
  return Object.fromEntries(series.map((s) => [s.promLabels, s.samples.map((p) => [Number(p.timestampMs), p.value] as [number, number])]));
}

/** The same series and timestamps, values equal to 9 decimal places. */
export function expectCloseTables(got: Record<string, [number, number][]>, want: Record<string, [number, number][]>) {
  expect(Object.keys(got)).toEqual(Object.keys(want));
  for (const [k, samples] of Object.entries(want)) {
    expect(got[k]!.map((p) => p[0]), k).toEqual(samples.map((p) => p[0]));
    samples.forEach(([, v], i) => expect(got[k]![i]![1], k).toBeCloseTo(v, 9));
  }
}
