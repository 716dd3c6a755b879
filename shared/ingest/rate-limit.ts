/**
 * @module
 * Per-tenant token buckets for ingest, in decompressed bytes.
 *
 * The buckets live in one isolate, so the limit is enforced per isolate: a tenant spread over N
 * isolates can reach up to N times its rate. That is the usual trade of edge rate limiting for
 * zero added latency; a global limiter (a Durable Object per tenant) is the upgrade path.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /** Takes `cost` tokens or says how many seconds until they would be there. */
  take(key: string, cost: number, ratePerSecond: number, burst: number, nowMs: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const b = this.buckets.get(key) ?? { tokens: burst, at: nowMs };
    b.tokens = Math.min(burst, b.tokens + ((nowMs - b.at) / 1000) * ratePerSecond);
    b.at = nowMs;
    this.buckets.set(key, b);
    // A request bigger than the burst may pass only when the bucket is full, else it never could.
    const need = Math.min(cost, burst);
    if (b.tokens >= need) {
      b.tokens -= need;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((need - b.tokens) / ratePerSecond)) };
  }
}
