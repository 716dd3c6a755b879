/**
 * @module
 * Byte-range hashing and comparison for the decoder's intern caches. Both work through DataViews
 * four bytes at a time: one bounds-checked load per word instead of four byte loads.
 */

/**
 * A hash of the bytes [p, p + n) from their length and three 4-byte windows (start, middle, end):
 * constant time whatever the length. Strings that share all three windows and the length only
 * cost a failed comparison. Needs n >= 4.
 */
export function hashWindows(v: DataView, p: number, n: number): number {
  let h = Math.imul(n ^ v.getInt32(p, true), 0x9e3779b1);
  h = Math.imul(h ^ v.getInt32(p + ((n - 4) >> 1), true), 0x85ebca6b);
  h = Math.imul(h ^ v.getInt32(p + n - 4, true), 0xc2b2ae35);
  return h ^ (h >>> 15);
}

/** Whether a[p, p + n) equals b[q, q + n). */
export function sameBytes(a: DataView, p: number, b: DataView, q: number, n: number): boolean {
  let i = 0;
  for (; i + 4 <= n; i += 4) if (a.getInt32(p + i, true) !== b.getInt32(q + i, true)) return false;
  for (; i < n; i++) if (a.getUint8(p + i) !== b.getUint8(q + i)) return false;
  return true;
}

/** Copies n bytes; for the short ranges cached here a loop beats allocating a subarray for set(). */
export function copyBytes(from: Uint8Array, p: number, to: Uint8Array, q: number, n: number): void {
  for (let i = 0; i < n; i++) to[q + i] = from[p + i]!;
}
