import { describe, expect, it } from "vitest";
import { LEASE_MS, LeaseLimiter, TokenBucket, TokenBuckets, type LeaseRequest } from "./rate-limit.ts";

describe("TokenBuckets (per isolate: the fallback)", () => {
  it("allows the burst, then refuses with the seconds until enough tokens return", () => {
    const b = new TokenBuckets();
    expect(b.take("t1", 600, 100, 1000, 0)).toEqual({ ok: true });
    expect(b.take("t1", 600, 100, 1000, 0)).toEqual({ ok: false, retryAfterSeconds: 2 });
    expect(b.take("t1", 600, 100, 1000, 2000)).toEqual({ ok: true });
  });
  it("keeps tenants apart", () => {
    const b = new TokenBuckets();
    expect(b.take("t1", 1000, 1, 1000, 0).ok).toBe(true);
    expect(b.take("t2", 1000, 1, 1000, 0).ok).toBe(true);
    expect(b.take("t1", 1, 1, 1000, 0).ok).toBe(false);
  });
  it("lets a request larger than the burst through only from a full bucket", () => {
    const b = new TokenBuckets();
    expect(b.take("t", 5000, 100, 1000, 0).ok).toBe(true);
    expect(b.take("t", 5000, 100, 1000, 5000).ok).toBe(false);
    expect(b.take("t", 5000, 100, 1000, 10_000).ok).toBe(true);
  });
});

describe("TokenBucket.grant (in the tenant object)", () => {
  it("grants the cost plus what is left up to the lease wanted", () => {
    const b = new TokenBucket();
    expect(b.grant(100, 400, 100, 1000, 0)).toEqual({ ok: true, lease: 300 });
    expect(b.grant(100, 5000, 100, 1000, 0)).toEqual({ ok: true, lease: 500 }); // all that is left
    expect(b.grant(100, 100, 100, 1000, 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(b.grant(100, 100, 100, 1000, 1000)).toEqual({ ok: true, lease: 0 });
  });
});

/** Two ingest isolates (two limiters) against one tenant object (one bucket), on a fake clock. */
function simulate(opts: { rate: number; burst: number; cost: number; offeredPerSecond: number; seconds: number; isolates: number; objectDownMs?: [number, number] }) {
  let now = 0;
  const bucket = new TokenBucket();
  let objectCalls = 0;
  const ask = async (r: LeaseRequest) => {
    objectCalls++;
    if (opts.objectDownMs && now >= opts.objectDownMs[0] && now < opts.objectDownMs[1]) throw new Error("unreachable");
    return bucket.grant(r.cost, r.want, r.ratePerSecond, r.burst, now);
  };
  const limiters = Array.from({ length: opts.isolates }, () => new LeaseLimiter(() => now));
  const admitted: number[] = []; // admission times
  let requests = 0;
  return (async () => {
    const step = 1000 / opts.offeredPerSecond;
    for (let t = 0; t < opts.seconds * 1000; t += step) {
      now = Math.floor(t);
      requests++;
      const limiter = limiters[requests % limiters.length]!;
      const r = await limiter.take("tn", opts.cost, { ratePerSecond: opts.rate, burst: opts.burst }, ask);
      if (r.ok) admitted.push(now);
    }
    return { admitted, requests, objectCalls, limiters };
  })();
}

/** Largest bytes admitted in any window of `windowMs`. */
function maxInWindow(times: number[], cost: number, windowMs: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    best = Math.max(best, (hi - lo + 1) * cost);
  }
  return best;
}

describe("LeaseLimiter: one limit across isolates", () => {
  it("keeps a tenant sending 3x its rate through two isolates within burst + rate x (T + 1 s) in every window", async () => {
    const rate = 100_000;
    const burst = 150_000;
    const cost = 1_000;
    const { admitted, requests } = await simulate({ rate, burst, cost, offeredPerSecond: 300, seconds: 20, isolates: 2 });
    for (const windowMs of [1000, 5000, 20_000]) {
      expect(maxInWindow(admitted, cost, windowMs), `${windowMs} ms`).toBeLessThanOrEqual(burst + rate * (windowMs / 1000 + LEASE_MS / 1000));
    }
    // And it admits about the rate, not far below it (leases lost by the other isolate aside).
    const total = admitted.length * cost;
    expect(total).toBeGreaterThan(0.85 * (burst + rate * 20));
    expect(admitted.length).toBeLessThan(requests);
  });

  it("costs far less than one object call per request for steady traffic", async () => {
    const { objectCalls, requests, admitted } = await simulate({ rate: 10_000_000, burst: 10_000_000, cost: 10_000, offeredPerSecond: 200, seconds: 10, isolates: 2 });
    expect(admitted.length).toBe(requests); // under the limit: everything passes
    expect(objectCalls / requests).toBeLessThan(0.05);
  });

  it("falls back to a bucket per isolate while the object cannot be reached", async () => {
    const rate = 100_000;
    const burst = 100_000;
    const { admitted, limiters } = await simulate({ rate, burst, cost: 1000, offeredPerSecond: 400, seconds: 6, isolates: 2, objectDownMs: [2000, 4000] });
    expect(limiters.every((l) => l.stats.fallback > 0)).toBe(true);
    // Each isolate limits on its own: up to twice the rate while the object is away.
    const during = admitted.filter((t) => t >= 2000 && t < 4000).length * 1000;
    expect(during).toBeLessThanOrEqual(2 * (burst + rate * 2));
    expect(admitted.filter((t) => t >= 4500).length).toBeGreaterThan(0);
  });

  it("shares one object call among concurrent requests of a tenant in one isolate", async () => {
    const bucket = new TokenBucket();
    let calls = 0;
    const ask = async (r: LeaseRequest) => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return bucket.grant(r.cost, r.want, r.ratePerSecond, r.burst, 0);
    };
    const limiter = new LeaseLimiter(() => 0);
    // The first request sizes its lease to itself; once one has been used, the next is sized to use.
    await limiter.take("tn", 100, { ratePerSecond: 1_000_000, burst: 1_000_000 }, ask);
    calls = 0;
    const results = await Promise.all(Array.from({ length: 20 }, () => limiter.take("tn", 100, { ratePerSecond: 1_000_000, burst: 1_000_000 }, ask)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(calls).toBeLessThan(20);
  });
});
