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
 * Tempo's buckets: beside its own buckets the histogram counts every value of at least 2 ns in
 * the power-of-two bucket TraceQL's `histogram_over_time` puts it in (Tempo's `Log2Bucketize`: the
 * smallest `2^k` ns at or above it; 0 and 1 ns are left out, as Tempo leaves them out). Those
 * counts cannot be read off the millisecond buckets (2^k ns is no bound of theirs), and with them
 * the per-minute rows answer `histogram_over_time(duration)` exactly instead of a scan of every
 * span. A value given in ms is rounded to whole nanoseconds first: a span's duration is whole
 * nanoseconds, and `round(ns / 1e6 * 1e6)` is `ns` for any duration under 2^50 ns (13 days).
 * Counts are known only while every observation came with them (`tempoBuckets()` is undefined
 * once a histogram stored before them, format 1, is merged in).
 *
 * Serialisation (`encode`), all integers as unsigned LEB128 varints. Format 2:
 *   byte 0      format version (2)
 *   varint      zero-bucket count
 *   varint      sum, rounded to whole microseconds (exact up to 2^53 µs, 285 years of latency)
 *   varint      number of non-empty buckets
 *   then per non-empty bucket, by ascending index:
 *   varint      first bucket: zigzag(index); later ones: index - previous index - 1
 *   varint      count
 *   then per non-empty Tempo bucket 2^k ns, by ascending k (k ≥ 1), to the end:
 *   varint      first: k; later ones: k - previous k - 1
 *   varint      count
 * Format 1 (written before the Tempo counts, and still when they are unknown) is format 2 without
 * the bucket count and the Tempo section: the buckets run to the end.
 * The count is not stored: it is the zero count plus the bucket counts. One observation takes
 * about 10 bytes; a minute of a busy endpoint (1,000 spans, a few dozen buckets) about 160, of
 * which Tempo's counts are about 25 (format 1: about 137).
 */

/** Buckets per doubling (Prometheus native histogram schema 3). */
const BUCKETS_PER_DOUBLING = 8;
const BASE = 2 ** (1 / BUCKETS_PER_DOUBLING);

/** Largest relative error of `quantile` against the exact nearest-rank quantile (≈ 0.0433). */
export const HISTOGRAM_RELATIVE_ERROR = (BASE - 1) / (BASE + 1);

/** Stored before the Tempo counts; still written when they are unknown. */
const FORMAT_WITHOUT_TEMPO = 1;
const FORMAT_VERSION = 2;

export class LatencyHistogram {
  /** Bucket index to count; only non-empty buckets are present. */
  #buckets = new Map<number, number>();
  #zero = 0;
  #count = 0;
  #sum = 0;
  /** Tempo bucket exponent k (values in (2^(k-1), 2^k] ns) to count; undefined: not known. */
  #tempo: Map<number, number> | undefined = new Map();

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
    // Nothing held yet: the Tempo counts are known from here on (an empty format-1 histogram).
    if (this.#count === 0) this.#tempo ??= new Map();
    this.#count += n;
    if (ms <= 0) {
      this.#zero += n;
      return;
    }
    this.#sum += ms * n;
    const i = bucketIndex(ms);
    this.#buckets.set(i, (this.#buckets.get(i) ?? 0) + n);
    const k = tempoBucketExponent(Math.round(ms * 1e6));
    if (this.#tempo && k !== undefined) this.#tempo.set(k, (this.#tempo.get(k) ?? 0) + n);
  }

  /** Adds `other`'s observations to this histogram; returns this. */
  merge(other: LatencyHistogram): this {
    // Tempo counts stay known while both sides know them for all they hold.
    if (other.#count > 0) {
      if (this.#count === 0) this.#tempo = other.#tempo && new Map();
      if (this.#tempo && other.#tempo) for (const [k, c] of other.#tempo) this.#tempo.set(k, (this.#tempo.get(k) ?? 0) + c);
      else this.#tempo = undefined;
    }
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

  /**
   * The counts per Tempo histogram bucket, as `[2^k ns, count]` by ascending bound, of every value
   * of at least 2 ns; undefined when not known (a histogram stored before them was merged in).
   */
  tempoBuckets(): Array<[number, number]> | undefined {
    if (this.#count === 0) return [];
    if (!this.#tempo) return undefined;
    return [...this.#tempo.keys()].sort((a, b) => a - b).map((k) => [2 ** k, this.#tempo!.get(k)!]);
  }

  encode(): Uint8Array {
    const out: number[] = [this.#tempo ? FORMAT_VERSION : FORMAT_WITHOUT_TEMPO];
    writeVarint(out, this.#zero);
    writeVarint(out, Math.round(this.#sum * 1000));
    const indexes = this.#sortedIndexes();
    if (this.#tempo) writeVarint(out, indexes.length);
    let prev: number | undefined;
    for (const i of indexes) {
      writeVarint(out, prev === undefined ? zigzag(i) : i - prev - 1);
      writeVarint(out, this.#buckets.get(i)!);
      prev = i;
    }
    if (this.#tempo) {
      let prevK = 0;
      for (const k of [...this.#tempo.keys()].sort((a, b) => a - b)) {
        writeVarint(out, k - prevK - 1);
        writeVarint(out, this.#tempo.get(k)!);
        prevK = k;
      }
    }
    return Uint8Array.from(out);
  }

  /** Reads what `encode` wrote; throws on anything else rather than guess. */
  static decode(bytes: Uint8Array): LatencyHistogram {
    const format = bytes[0];
    if (format !== FORMAT_VERSION && format !== FORMAT_WITHOUT_TEMPO) {
      throw new Error(`latency histogram: unknown format ${bytes.length === 0 ? "(empty)" : format}`);
    }
    const h = new LatencyHistogram();
    const pos = { at: 1 };
    h.#zero = readVarint(bytes, pos);
    h.#sum = readVarint(bytes, pos) / 1000;
    h.#count = h.#zero;
    let left = format === FORMAT_VERSION ? readVarint(bytes, pos) : Number.POSITIVE_INFINITY;
    let prev: number | undefined;
    for (; left > 0 && pos.at < bytes.length; left--) {
      const v = readVarint(bytes, pos);
      const i = prev === undefined ? unzigzag(v) : prev + v + 1;
      const c = readVarint(bytes, pos);
      h.#buckets.set(i, c);
      h.#count += c;
      prev = i;
    }
    if (format === FORMAT_WITHOUT_TEMPO) {
      // A histogram stored without Tempo's counts: unknown (an empty one is written back as it came).
      h.#tempo = undefined;
      return h;
    }
    if (left > 0) throw new Error("latency histogram: truncated");
    let k = 0;
    while (pos.at < bytes.length) {
      k += readVarint(bytes, pos) + 1;
      h.#tempo!.set(k, readVarint(bytes, pos));
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

/** Tempo's bucket of a duration in whole ns: k for (2^(k-1), 2^k]; undefined below 2 ns (Tempo drops those). */
function tempoBucketExponent(ns: number): number | undefined {
  return ns >= 2 ? Math.ceil(Math.log2(ns)) : undefined;
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
