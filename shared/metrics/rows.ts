/**
 * @module
 * What the per-minute row kinds (RED per operation, service-graph edges) share: combining rows of
 * the same key, and which rows a query window covers.
 */

/**
 * Combines rows with the same key, keeping first-seen order: the upsert step when a batch brings
 * rows for minutes that already have one (read the stored rows, pass them first, write the result).
 */
export function mergeRowsByKey<T>(rows: Iterable<T>, key: (row: T) => string, merge: (a: T, b: T) => T): T[] {
  const byKey = new Map<string, T>();
  for (const row of rows) {
    const k = key(row);
    const seen = byKey.get(k);
    byKey.set(k, seen === undefined ? row : merge(seen, row));
  }
  return [...byKey.values()];
}

/** A window over epoch seconds, `start` inclusive and `end` exclusive. */
export interface TimeWindow {
  start: number;
  end: number;
}

/** Whether the bucket starting at `bucketStart` (`stepSeconds` long) overlaps the window at all. */
export function bucketInWindow(bucketStart: number, stepSeconds: number, window: TimeWindow): boolean {
  return bucketStart < window.end && bucketStart + stepSeconds > window.start;
}

/**
 * A quantile for the API: 4 significant digits (well inside the histogram's 4.3%, and tidy in
 * JSON), and 0 for an empty histogram's NaN.
 */
export function roundMs(ms: number): number {
  return Number.isFinite(ms) ? Number(ms.toPrecision(4)) : 0;
}
