/**
 * @module
 * Per-tenant ingest rate limits in decompressed bytes, held globally: one token bucket per tenant
 * lives in the tenant's object (a Durable Object, workers/assembler/tenant-object.ts), and each
 * ingest isolate takes tokens from it in *leases*, so that steady traffic costs about one object
 * call per isolate per second rather than one per request.
 *
 * - `TokenBucket` (in the tenant object): refills at the tenant's rate up to its burst and grants a
 *   request's cost plus up to `want` more as a lease, or says how long until the cost is there.
 * - `LeaseLimiter` (in each ingest isolate): spends a tenant's lease locally; when it runs out or
 *   is a second old, asks the object for a new one sized to this isolate's recent use of the
 *   tenant (between the request's cost and one second of the tenant's rate). Concurrent requests
 *   of one tenant in an isolate share one call.
 *
 * Accuracy: every byte admitted was granted by the one bucket, and a lease is spent within
 * LEASE_MS of its grant, so over any window of T seconds a tenant is admitted at most
 * `burst + rate * (T + 1)` bytes: never more than one second of its rate over the limit, and that
 * only while leases granted just before the window are spent in it. The other way, a lease an
 * isolate does not spend within its second is lost, so a tenant spread over many isolates with
 * uneven traffic can be refused slightly below its rate. Two exceptions: if the object cannot be
 * reached, each isolate falls back to a bucket of its own (`TokenBuckets`, the per-isolate limit:
 * N isolates admit up to N times the rate until the object answers again), and the object keeps
 * its bucket in memory only (no billed row per lease), so an object restarted while the tenant
 * is busy starts again from a full burst.
 */

/** How long a lease may be spent after it is granted. */
export const LEASE_MS = 1000;

/** A token bucket of one tenant: `take` for a request, `grant` for a request plus a lease. */
export class TokenBucket {
  #tokens: number | undefined;
  #at = 0;

  /**
   * Takes `cost` and up to `want - cost` more (the lease), or answers how many seconds until
   * `cost` would be there. A request bigger than the burst may pass only from a full bucket, else
   * it never could.
   */
  grant(cost: number, want: number, ratePerSecond: number, burst: number, nowMs: number): { ok: true; lease: number } | { ok: false; retryAfterSeconds: number } {
    const tokens = Math.min(burst, (this.#tokens ?? burst) + (Math.max(0, nowMs - this.#at) / 1000) * ratePerSecond);
    this.#at = Math.max(this.#at, nowMs);
    const need = Math.min(cost, burst);
    if (tokens < need) {
      this.#tokens = tokens;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((need - tokens) / ratePerSecond)) };
    }
    const lease = Math.max(0, Math.min(tokens - need, want - cost));
    this.#tokens = tokens - need - lease;
    return { ok: true, lease };
  }
}

/** Per-isolate token buckets: the fallback when the tenant's object cannot be reached. */
export class TokenBuckets {
  readonly #buckets = new Map<string, TokenBucket>();

  /** Takes `cost` tokens or says how many seconds until they would be there. */
  take(key: string, cost: number, ratePerSecond: number, burst: number, nowMs: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= 10_000) this.#buckets.clear(); // crude bound; a reset bucket is full
      this.#buckets.set(key, (b = new TokenBucket()));
    }
    const r = b.grant(cost, cost, ratePerSecond, burst, nowMs);
    return r.ok ? { ok: true } : r;
  }
}

export interface LeaseRequest {
  cost: number;
  /** Cost plus the lease this isolate would like. */
  want: number;
  ratePerSecond: number;
  burst: number;
}

export type LeaseAnswer = { ok: true; lease: number } | { ok: false; retryAfterSeconds: number };

/** Asks the tenant's object (its `TokenBucket`) for `cost` plus a lease. */
export type AskForLease = (request: LeaseRequest) => Promise<LeaseAnswer>;

interface Lease {
  tokens: number;
  grantedAtMs: number;
  /** Bytes admitted from this lease, for sizing the next one. */
  used: number;
}

export interface LeaseLimiterStats {
  /** Calls to the tenant objects. */
  objectCalls: number;
  /** Requests decided from a lease alone. */
  local: number;
  /** Requests decided by the per-isolate fallback (object unreachable). */
  fallback: number;
}

export class LeaseLimiter {
  readonly stats: LeaseLimiterStats = { objectCalls: 0, local: 0, fallback: 0 };
  readonly #now: () => number;
  readonly #leases = new Map<string, Lease>();
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #fallback = new TokenBuckets();
  /** After a failed call, the objects are not asked again before this (one try per second). */
  #unreachableUntil = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Admits `cost` bytes of the tenant's or refuses them; `ask` reaches the tenant's object. */
  async take(tenantId: string, cost: number, limits: { ratePerSecond: number; burst: number }, ask: AskForLease): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }> {
    for (;;) {
      const now = this.#now();
      const lease = this.#leases.get(tenantId);
      const live = lease && now - lease.grantedAtMs < LEASE_MS ? lease : undefined;
      if (live && live.tokens >= cost) {
        live.tokens -= cost;
        live.used += cost;
        this.stats.local++;
        return { ok: true };
      }
      // Another request of this tenant is asking already: wait for its lease, then look again.
      const pending = this.#inflight.get(tenantId);
      if (pending) {
        await pending.catch(() => undefined);
        continue;
      }
      const asking = this.#ask(tenantId, cost, limits, ask, live, lease, now);
      this.#inflight.set(tenantId, asking);
      try {
        return await asking;
      } finally {
        this.#inflight.delete(tenantId);
      }
    }
  }

  async #ask(tenantId: string, cost: number, limits: { ratePerSecond: number; burst: number }, ask: AskForLease, live: Lease | undefined, last: Lease | undefined, now: number): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }> {
    // What this isolate used of its last lease per second, as a guess of the next second's need.
    const recent = last ? (last.used * 1000) / Math.max(100, now - last.grantedAtMs) : 0;
    const want = Math.min(Math.max(cost, recent * (LEASE_MS / 1000)), limits.ratePerSecond * (LEASE_MS / 1000));
    const carried = live?.tokens ?? 0;
    const fallback = () => {
      this.stats.fallback++;
      return this.#fallback.take(tenantId, cost, limits.ratePerSecond, limits.burst, now);
    };
    if (now < this.#unreachableUntil) return fallback();
    let answer: LeaseAnswer;
    try {
      this.stats.objectCalls++;
      answer = await ask({ cost: cost - carried, want: Math.max(want, cost) - carried, ratePerSecond: limits.ratePerSecond, burst: limits.burst });
    } catch (err) {
      if (this.#unreachableUntil === 0) console.error("ingest: tenant object unreachable for the rate limit; limiting per isolate until it answers", err);
      this.#unreachableUntil = now + LEASE_MS;
      return fallback();
    }
    this.#unreachableUntil = 0;
    if (!answer.ok) return answer;
    this.#leases.set(tenantId, { tokens: answer.lease, grantedAtMs: this.#now(), used: cost });
    if (this.#leases.size > 10_000) this.#leases.delete(this.#leases.keys().next().value!);
    return { ok: true };
  }
}
