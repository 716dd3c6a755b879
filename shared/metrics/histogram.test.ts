import { describe, expect, it } from "vitest";
import { Rng } from "../../test/support/random-otlp.ts";
import { log2Bucket, quantile as scanQuantile } from "../traceql/metrics.ts";
import { durationMs } from "./span-fields.ts";
import { HISTOGRAM_RELATIVE_ERROR, LatencyHistogram, bucketIndex } from "./histogram.ts";

/** The exact nearest-rank quantile, the definition the histogram promises to approximate. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

function relativeError(estimate: number, exact: number): number {
  return exact === 0 ? Math.abs(estimate) : Math.abs(estimate - exact) / exact;
}

// A float error at a bucket bound may add a few ulps to the worst case.
const BOUND = HISTOGRAM_RELATIVE_ERROR + 1e-9;

function logNormal(rng: Rng, medianMs: number, sigma: number): number {
  // Box-Muller; 1 - next() keeps log away from 0.
  const z = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return medianMs * Math.exp(sigma * z);
}

const QUANTILES = [0, 0.001, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1];

describe("LatencyHistogram", () => {
  it("documents an error under 5%", () => {
    expect(HISTOGRAM_RELATIVE_ERROR).toBeCloseTo(0.0433, 4);
    expect(HISTOGRAM_RELATIVE_ERROR).toBeLessThan(0.05);
  });

  it("places values by upper-inclusive bounds 2^(i/8) ms", () => {
    expect(bucketIndex(1)).toBe(0);
    expect(bucketIndex(1.0001)).toBe(1);
    expect(bucketIndex(2)).toBe(8);
    expect(bucketIndex(0.5)).toBe(-8);
    expect(bucketIndex(1000)).toBe(80); // 8·log2(1000) = 79.7
  });

  const distributions: Array<[string, (rng: Rng) => number]> = [
    ["log-normal around 20 ms", (rng) => logNormal(rng, 20, 1)],
    ["bimodal cache hit/miss", (rng) => (rng.chance(0.8) ? logNormal(rng, 0.3, 0.3) : logNormal(rng, 250, 0.5))],
    ["uniform 0..5 s", (rng) => rng.next() * 5000],
    ["whole nanoseconds, some zero", (rng) => rng.int(3000) / 1e6],
  ];
  for (const [name, draw] of distributions) {
    for (const n of [1, 7, 100, 20_000]) {
      it(`answers quantiles within the documented error: ${name}, n=${n}`, () => {
        const rng = new Rng(n * 7919 + name.length);
        const values: number[] = [];
        const h = new LatencyHistogram();
        for (let i = 0; i < n; i++) {
          const v = draw(rng);
          values.push(v);
          h.observe(v);
        }
        values.sort((a, b) => a - b);
        expect(h.count).toBe(n);
        const exactSum = values.reduce((s, v) => s + v, 0);
        expect(Math.abs(h.sum - exactSum)).toBeLessThanOrEqual(1e-9 * exactSum);
        for (const q of QUANTILES) {
          expect(relativeError(h.quantile(q), exactQuantile(values, q)), `q=${q}`).toBeLessThanOrEqual(BOUND);
          // TraceQL metrics' quantile (linear between the two nearest ranks), as the scan computes it.
          expect(relativeError(h.interpolatedQuantile(q), scanQuantile(values, q)), `interpolated q=${q}`).toBeLessThanOrEqual(BOUND);
        }
        // And the same after a round trip through the stored form.
        const back = LatencyHistogram.decode(h.encode());
        expect(back.count).toBe(n);
        for (const q of QUANTILES) expect(back.quantile(q)).toBe(h.quantile(q));
        for (const q of QUANTILES) expect(back.interpolatedQuantile(q)).toBe(h.interpolatedQuantile(q));
      });
    }
  }

  it("merges exactly: parts merged in any order equal the whole", () => {
    const rng = new Rng(42);
    const whole = new LatencyHistogram();
    const parts = Array.from({ length: 5 }, () => new LatencyHistogram());
    for (let i = 0; i < 5000; i++) {
      const v = logNormal(rng, 40, 1.5);
      whole.observe(v);
      rng.pick(parts).observe(v);
    }
    const forward = new LatencyHistogram();
    for (const p of parts) forward.merge(p);
    const backward = new LatencyHistogram();
    for (const p of [...parts].reverse()) backward.merge(LatencyHistogram.decode(p.encode()));
    expect(forward.buckets()).toEqual(whole.buckets());
    expect(backward.buckets()).toEqual(whole.buckets());
    expect(backward.sum).toBeCloseTo(whole.sum, 2);
  });

  it("keeps the stored form small", () => {
    const one = new LatencyHistogram();
    one.observe(12.5);
    expect(one.encode().length).toBeLessThanOrEqual(9);
    expect(new LatencyHistogram().encode()).toEqual(Uint8Array.from([2, 0, 0, 0]));

    const rng = new Rng(7);
    const busy = new LatencyHistogram();
    for (let i = 0; i < 10_000; i++) busy.observe(logNormal(rng, 30, 0.6));
    // One byte per index step and one or two per count, plus the header and the sum.
    const { buckets } = busy.buckets();
    const tempo = busy.tempoBuckets()!;
    expect(busy.encode().length).toBeLessThanOrEqual(3 * (buckets.length + tempo.length) + 14);
    expect(busy.encode().length).toBeLessThan(200);
  });

  it("keeps big counts and sums through the stored form", () => {
    const h = new LatencyHistogram();
    h.observe(100, 5_000_000_000); // 100 ms, five billion times: a sum of 5e14 µs
    h.observe(0, 3_000_000_000);
    const back = LatencyHistogram.decode(h.encode());
    expect(back.count).toBe(8_000_000_000);
    expect(back.sum).toBe(h.sum);
    expect(back.quantile(0.1)).toBe(0);
    expect(relativeError(back.quantile(0.99), 100)).toBeLessThanOrEqual(BOUND);
  });

  it("treats negatives as zero, ignores non-finite values, and answers NaN when empty", () => {
    const h = new LatencyHistogram();
    expect(h.quantile(0.5)).toBeNaN();
    expect(h.interpolatedQuantile(0.5)).toBeNaN();
    h.observe(-3);
    h.observe(Number.NaN);
    h.observe(Number.POSITIVE_INFINITY);
    expect(h.count).toBe(1);
    expect(h.quantile(0.5)).toBe(0);
    expect(h.interpolatedQuantile(0.5)).toBe(0);
    expect(h.sum).toBe(0);
  });

  it("interpolates between the two nearest ranks as TraceQL metrics do", () => {
    const h = new LatencyHistogram();
    h.observe(1);
    h.observe(1000);
    // (n-1)·0.5 = 0.5: halfway between the estimates of 1 ms and 1000 ms (nearest rank: 1 ms).
    expect(relativeError(h.interpolatedQuantile(0.5), 500.5)).toBeLessThanOrEqual(BOUND);
    expect(relativeError(h.quantile(0.5), 1)).toBeLessThanOrEqual(BOUND);
    expect(relativeError(h.interpolatedQuantile(0.75), 750.25)).toBeLessThanOrEqual(BOUND);
  });

  it("refuses bytes it did not write", () => {
    expect(() => LatencyHistogram.decode(new Uint8Array())).toThrow(/unknown format/);
    expect(() => LatencyHistogram.decode(Uint8Array.from([3, 0, 0]))).toThrow(/unknown format/);
    expect(() => LatencyHistogram.decode(Uint8Array.from([2, 0, 0]))).toThrow(/truncated/);
    expect(() => LatencyHistogram.decode(Uint8Array.from([2, 0, 0, 2, 0, 1]))).toThrow(/truncated/);
    expect(() => LatencyHistogram.decode(Uint8Array.from([1, 0x80]))).toThrow(/truncated/);
    expect(() => LatencyHistogram.decode(Uint8Array.from([1, 0, 0, 4]))).toThrow(/truncated/);
  });

  describe("Tempo's power-of-two buckets", () => {
    /** Durations in whole ns as spans have them: powers of two and their neighbours, and random ones. */
    function durations(rng: Rng): number[] {
      const out = [0, 1, 2, 3, 4, 5];
      for (let k = 2; k <= 45; k++) out.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
      for (let i = 0; i < 5000; i++) out.push(Math.floor(2 ** (rng.next() * 42)));
      return out;
    }

    /** What TraceQL's histogram_over_time counts: per Tempo bucket, in ascending order. */
    function scanCounts(ns: number[]): Array<[number, number]> {
      const m = new Map<number, number>();
      for (const v of ns) {
        const b = log2Bucket(v);
        if (b !== undefined) m.set(b, (m.get(b) ?? 0) + 1);
      }
      return [...m].sort((a, b) => a[0] - b[0]);
    }

    it("counts every duration in the bucket the scan puts it in, given in ms as the rows give it", () => {
      const ns = durations(new Rng(11));
      const h = new LatencyHistogram();
      // As red.ts observes a span: durationMs of its decimal-nanosecond start and end.
      for (const v of ns) h.observe(durationMs("1700000000123456789", String(1700000000123456789n + BigInt(v))));
      expect(h.tempoBuckets()).toEqual(scanCounts(ns));
      // 0 and 1 ns are in the histogram, not in Tempo's buckets.
      expect(h.count).toBe(ns.length);
      expect(h.tempoBuckets()!.reduce((n, [, c]) => n + c, 0)).toBe(ns.filter((v) => v >= 2).length);
    });

    it("keeps them through merges in any order and the stored form", () => {
      const rng = new Rng(5);
      const ns = durations(rng);
      const parts = Array.from({ length: 4 }, () => new LatencyHistogram());
      for (const v of ns) rng.pick(parts).observe(v / 1e6, 1);
      const merged = new LatencyHistogram();
      for (const p of [...parts].reverse()) merged.merge(LatencyHistogram.decode(p.encode()));
      expect(merged.tempoBuckets()).toEqual(scanCounts(ns));
      expect(LatencyHistogram.decode(merged.encode()).tempoBuckets()).toEqual(scanCounts(ns));
      // n observations at once count n times.
      const many = new LatencyHistogram();
      many.observe(3e-6, 4);
      expect(many.tempoBuckets()).toEqual([[4, 4]]);
    });

    it("are unknown once a histogram stored without them is merged in, and known for an empty one", () => {
      const h = new LatencyHistogram();
      h.observe(2);
      // Format 1: zero count 0, sum 2000 µs, bucket 8 (2 ms) once.
      const stored = Uint8Array.from([1, 0, 0xd0, 0x0f, 16, 1]);
      const old = LatencyHistogram.decode(stored);
      expect(old.count).toBe(1);
      expect(old.tempoBuckets()).toBeUndefined();
      expect(old.quantile(0.5)).toBe(h.quantile(0.5));
      expect(LatencyHistogram.decode(old.encode())).toEqual(old);
      expect(old.encode()[0]).toBe(1);
      expect(new LatencyHistogram().merge(h).merge(old).tempoBuckets()).toBeUndefined();
      expect(new LatencyHistogram().merge(old).merge(h).tempoBuckets()).toBeUndefined();
      // An empty old one changes nothing; merging into an empty one takes the other's knowledge.
      expect(LatencyHistogram.decode(Uint8Array.from([1, 0, 0])).tempoBuckets()).toEqual([]);
      expect(LatencyHistogram.decode(Uint8Array.from([1, 0, 0])).encode()).toEqual(Uint8Array.from([1, 0, 0]));
      const emptyOld = LatencyHistogram.decode(Uint8Array.from([1, 0, 0]));
      emptyOld.observe(2);
      expect(emptyOld.tempoBuckets()).toEqual([[2 ** 21, 1]]);
      expect(new LatencyHistogram().merge(LatencyHistogram.decode(Uint8Array.from([1, 0, 0]))).merge(h).tempoBuckets()).toEqual([[2 ** 21, 1]]);
    });
  });
});
