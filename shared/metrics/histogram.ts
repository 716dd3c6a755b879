/**
 * @module
 * A mergeable latency histogram with fixed exponential buckets, small enough to store one per
 * edge or operation per minute in D1.
 *
 * Layout: the buckets of a Prometheus native histogram with schema 3, over milliseconds. Bucket
 * `i` holds values in `(2^((i-1)/8), 2^(i/8)]` ms, so every doubling has 8 buckets and each bucket's
 * upper bound is `BASE = 2^(1/8) ≈ 1.0905` times its lower bound. Values ≤ 0 go to a zero bucket.
 * Because the buckets are the same for every histogram, merging is adding counts per index, and
 * merging is exact: merge(a, b) has the same buckets as one histogram fed both inputs.
 *
 * Accuracy: a quantile is answered with the bucket's harmonic midpoint `2·L·U/(L+U)`, which is
 * within `(BASE-1)/(BASE+1) ≈ 4.33%` (`HISTOGRAM_RELATIVE_ERROR`) of every value in the bucket.
 * So `quantile(q)` is within that relative error of the exact nearest-rank quantile (the value of
 * rank `max(1, ceil(q·n))` in sorted order), for any data and any merge order. `interpolatedQuantile`
 * answers the quantile TraceQL metrics compute from the exact values (linear between the two nearest
 * ranks, shared/traceql/metrics.ts `quantile`) within the same bound: it interpolates between the
 * estimates of those two ranks, each within the bound of its value, and a weighted mean of two
 * estimates is within the bound of the same mean of the values (all of them are ≥ 0).
 *
 * Serialisation (`encode`), version 1, all integers as unsigned LEB128 varints:
 *   byte 0      format version (1)
 *   varint      zero-bucket count
 *   varint      sum, rounded to whole microseconds (exact up to 2^53 µs, 285 years of latency)
 *   then per non-empty bucket, by ascending index:
 *   varint      first bucket: zigzag(index); later ones: index - previous index - 1
 *   varint      count
 * The count is not stored: it is the zero count plus the bucket counts. One observation takes
 * about 6 bytes; a minute of a busy endpoint (a few dozen buckets) about 100.
 */

/** Buckets per doubling (Prometheus native histogram schema 3). */
const BUCKETS_PER_DOUBLING = 8;
const BASE = 2 ** (1 / BUCKETS_PER_DOUBLING);

/** Largest relative error of `quantile` against the exact nearest-rank quantile (≈ 0.0433). */
export const HISTOGRAM_RELATIVE_ERROR = (BASE - 1) / (BASE + 1);

const FORMAT_VERSION = 1;

export class LatencyHistogram {
  /** Bucket index to count; only non-empty buckets are present. */
  #buckets = new Map<number, number>();
  #zero = 0;
  #count = 0;
  #sum = 0;

  /** Number of observations. */
  get count(): number {
    return this.#count;
  }

  /** Sum of observed values in ms (to the microsecond after a decode). */
  get sum(): number {
    return this.#sum;
  }

  /**
   * Records `n` observations of `ms` milliseconds. Negative values count as 0 (clock skew makes
   * them); non-finite values are ignored, since one would poison the sum for good.
   */
  observe(ms: number, n = 1): void {
    if (!Number.isFinite(ms) || !(n > 0)) return;
    this.#count += n;
    if (ms <= 0) {
      this.#zero += n;
      return;
    }
    this.#sum += ms * n;
    const i = bucketIndex(ms);
    this.#buckets.set(i, (this.#buckets.get(i) ?? 0) + n);
  }

  /** Adds `other`'s observations to this histogram; returns this. */
  merge(other: LatencyHistogram): this {
    this.#count += other.#count;
    this.#zero += other.#zero;
    this.#sum += other.#sum;
    for (const [i, c] of other.#buckets) this.#buckets.set(i, (this.#buckets.get(i) ?? 0) + c);
    return this;
  }

  /**
   * The q-quantile (0 ≤ q ≤ 1) in ms, within HISTOGRAM_RELATIVE_ERROR of the exact nearest-rank
   * quantile; NaN when empty.
   */
  quantile(q: number): number {
    if (this.#count === 0 || Number.isNaN(q)) return Number.NaN;
    const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, q)) * this.#count));
    if (rank <= this.#zero) return 0;
    let seen = this.#zero;
    const indexes = this.#sortedIndexes();
    for (const i of indexes) {
      seen += this.#buckets.get(i)!;
      if (seen >= rank) return bucketEstimate(i);
    }
    // Unreachable while counts add up; answer the top bucket rather than throw.
    return bucketEstimate(indexes[indexes.length - 1]!);
  }

  /**
   * The q-quantile as shared/traceql/metrics.ts `quantile` computes it from the sorted values
   * (position `(n-1)·q`, linear between the two nearest ranks), with each rank's value estimated by
   * its bucket: within HISTOGRAM_RELATIVE_ERROR of that exact answer. NaN when empty.
   */
  interpolatedQuantile(q: number): number {
    if (this.#count === 0 || Number.isNaN(q)) return Number.NaN;
    const pos = (this.#count - 1) * Math.min(1, Math.max(0, q));
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    const a = this.#valueAt(lo);
    const b = hi === lo ? a : this.#valueAt(hi);
    return a + (b - a) * (pos - lo);
  }

  /** The estimate of the value at 0-based position `i` in sorted order (0 ≤ i < count). */
  #valueAt(i: number): number {
    if (i < this.#zero) return 0;
    let seen = this.#zero;
    const indexes = this.#sortedIndexes();
    for (const b of indexes) {
      seen += this.#buckets.get(b)!;
      if (seen > i) return bucketEstimate(b);
    }
    return bucketEstimate(indexes[indexes.length - 1]!);
  }

  /** The non-empty buckets as [index, count], by ascending index, and the zero count. */
  buckets(): { zero: number; buckets: Array<[number, number]> } {
    return { zero: this.#zero, buckets: this.#sortedIndexes().map((i) => [i, this.#buckets.get(i)!]) };
  }

  encode(): Uint8Array {
    const out: number[] = [FORMAT_VERSION];
    writeVarint(out, this.#zero);
    writeVarint(out, Math.round(this.#sum * 1000));
    let prev: number | undefined;
    for (const i of this.#sortedIndexes()) {
      writeVarint(out, prev === undefined ? zigzag(i) : i - prev - 1);
      writeVarint(out, this.#buckets.get(i)!);
      prev = i;
    }
    return Uint8Array.from(out);
  }

  /** Reads what `encode` wrote; throws on anything else rather than guess. */
  static decode(bytes: Uint8Array): LatencyHistogram {
    if (bytes.length === 0 || bytes[0] !== FORMAT_VERSION) {
      throw new Error(`latency histogram: unknown format ${bytes.length === 0 ? "(empty)" : bytes[0]}`);
    }
    const h = new LatencyHistogram();
    const pos = { at: 1 };
    h.#zero = readVarint(bytes, pos);
    h.#sum = readVarint(bytes, pos) / 1000;
    h.#count = h.#zero;
    let prev: number | undefined;
    while (pos.at < bytes.length) {
      const v = readVarint(bytes, pos);
      const i = prev === undefined ? unzigzag(v) : prev + v + 1;
      const c = readVarint(bytes, pos);
      h.#buckets.set(i, c);
      h.#count += c;
      prev = i;
    }
    return h;
  }

  #sortedIndexes(): number[] {
    return [...this.#buckets.keys()].sort((a, b) => a - b);
  }
}

/** The bucket holding `ms` > 0: the smallest i with ms ≤ 2^(i/8). */
export function bucketIndex(ms: number): number {
  // A float error at an exact bound can move a value one bucket up; the estimate of that bucket is
  // still within the documented error of it, so no correction table is needed.
  return Math.ceil(Math.log2(ms) * BUCKETS_PER_DOUBLING);
}

/** The value reported for bucket i: the harmonic midpoint of its bounds. */
function bucketEstimate(i: number): number {
  const upper = 2 ** (i / BUCKETS_PER_DOUBLING);
  return (upper * 2) / (1 + BASE);
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

// Arithmetic rather than bit operations, so counts and sums above 2^31 survive.
function writeVarint(out: number[], n: number): void {
  let v = Math.max(0, Math.floor(n));
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(bytes: Uint8Array, pos: { at: number }): number {
  let result = 0;
  let scale = 1;
  for (;;) {
    if (pos.at >= bytes.length) throw new Error("latency histogram: truncated");
    const b = bytes[pos.at++]!;
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 0x80;
    if (scale > 2 ** 63) throw new Error("latency histogram: varint too long");
  }
}
