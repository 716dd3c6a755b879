import { describe, expect, it } from "vitest";
import { TokenBuckets } from "./rate-limit.ts";

describe("TokenBuckets", () => {
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
