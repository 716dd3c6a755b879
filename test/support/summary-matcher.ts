import { expect } from "vitest";
import type { TraceFacts } from "../../shared/block/summarize.ts";
import type { TraceMatcher } from "../../shared/search/matcher.ts";

/** `m` is decided by a trace's summary alone, names `service` for block pruning, and admits `summary`. */
export function expectSummaryOnlyFor(m: TraceMatcher & { readonly requiredServices?: readonly string[] }, service: string, summary: TraceFacts): void {
  expect(m.summaryOnly).toBe(true);
  expect(m.requiredServices).toEqual([service]);
  expect(m.mayMatch(summary)).toBe(true);
}
