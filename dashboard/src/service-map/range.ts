/**
 * @module
 * The time range of the service map and services pages: a few fixed lengths ending now, kept in
 * the URL as `range=` (the search page reads the same tokens), so a link or reload shows the same
 * window.
 */

import { RANGES, type PresetRange } from "../time-ranges.ts";

export { RANGES };
export type RangeOption = PresetRange;



export const DEFAULT_RANGE = "1h";

export function rangeOption(token: string | null | undefined): RangeOption {
  return RANGES.find((r) => r.id === token) ?? (RANGES.find((r) => r.id === DEFAULT_RANGE) as RangeOption);
}

/** The range token in the page's URL, or the default. */
export function rangeFromUrl(): RangeOption {
  return rangeOption(new URLSearchParams(location.search).get("range"));
}

/** Puts the range into the URL without a reload (replaceState: the range is not a navigation). */
export function rangeToUrl(token: string): void {
  const url = new URL(location.href);
  url.searchParams.set("range", token);
  history.replaceState(null, "", url);
}

export interface Window {
  /** Epoch seconds. */
  start: number;
  end: number;
  /** Metrics step in seconds: about 60 points over the window. */
  step: number;
}

/**
 * The window of a range, ending at the end of the current minute: over whole minutes, with a step
 * of whole minutes (every range but 15m), the metrics charts are answered from the per-minute rows
 * instead of the blocks (README, TraceQL metrics).
 */
export function windowOf(range: RangeOption, nowMs = Date.now()): Window {
  const end = Math.ceil(nowMs / 60_000) * 60;
  return { start: end - range.seconds, end, step: Math.max(15, Math.round(range.seconds / 60)) };
}
