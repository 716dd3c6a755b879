/**
 * @module
 * The time range of the service map and services pages: a few fixed lengths ending now, kept in
 * the URL as `range=` (the search page reads the same tokens), so a link or reload shows the same
 * window.
 */

export interface RangeOption {
  token: string;
  label: string;
  seconds: number;
}

export const RANGES: readonly RangeOption[] = [
  { token: "15m", label: "Last 15 minutes", seconds: 15 * 60 },
  { token: "1h", label: "Last hour", seconds: 3600 },
  { token: "3h", label: "Last 3 hours", seconds: 3 * 3600 },
  { token: "6h", label: "Last 6 hours", seconds: 6 * 3600 },
  { token: "12h", label: "Last 12 hours", seconds: 12 * 3600 },
  { token: "24h", label: "Last 24 hours", seconds: 24 * 3600 },
  { token: "2d", label: "Last 2 days", seconds: 2 * 86400 },
  { token: "7d", label: "Last 7 days", seconds: 7 * 86400 },
];

export const DEFAULT_RANGE = "1h";

export function rangeOption(token: string | null | undefined): RangeOption {
  return RANGES.find((r) => r.token === token) ?? (RANGES.find((r) => r.token === DEFAULT_RANGE) as RangeOption);
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

/** The window of a range, ending now. */
export function windowOf(range: RangeOption, nowMs = Date.now()): Window {
  const end = Math.ceil(nowMs / 1000);
  return { start: end - range.seconds, end, step: Math.max(15, Math.round(range.seconds / 60)) };
}
