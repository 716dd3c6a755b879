/**
 * @module
 * Resolves an API key secret to the principal it stands for, with a per-isolate cache.
 *
 * Cache policy: a found key is trusted for KEY_CACHE_TTL_MS (30 s) after the lookup that found it
 * started, and an unknown one is remembered for UNKNOWN_KEY_TTL_MS (5 s), so a flood of bad keys
 * does not turn into a flood of D1 reads and a new key works within seconds. Concurrent requests
 * for one key in one isolate share one lookup (single-flight), so a burst after the entry expires
 * costs one read, not one per request.
 *
 * Revocation, when lookups succeed: a revoked key stops working on every isolate within 30 s of the
 * revocation (the promise is 60 s), because every use after its cache entry expires looks it up.
 *
 * During storage trouble: when the lookup fails with a transient storage error (SQLITE_BUSY, D1
 * overloaded; `isTransientStorageError`), a key whose last successful lookup found it no more than
 * KEY_GRACE_MS (10 min) ago keeps working with the principal that lookup returned, and the
 * isolate tries the store again for it at most once per FAILED_LOOKUP_RETRY_MS (1 s). So while
 * lookups of a key keep failing, a key revoked (or a tenant changed) meanwhile can keep working up
 * to 10 minutes after the last lookup that succeeded, never longer; the first lookup that succeeds
 * ends that, and the 30 s promise holds again. A key never found in this isolate (never seen, or
 * last seen unknown), one last found more than 10 minutes ago, and any failure that is not
 * transient, get the error (a retryable 503 for storage trouble, through `apiErrorOf`).
 */
import { isTransientStorageError } from "../http/errors.ts";
import { hashSecret, type Scope } from "./keys.ts";

export const KEY_CACHE_TTL_MS = 30_000;
export const UNKNOWN_KEY_TTL_MS = 5_000;
/** How long after its last successful lookup a found key is served when lookups fail transiently. */
export const KEY_GRACE_MS = 10 * 60_000;
/** While a key is served from its stale entry, how often the store is asked again. */
export const FAILED_LOOKUP_RETRY_MS = 1_000;
const MAX_CACHED_KEYS = 10_000;

export interface TenantLimits {
  maxRequestBytes: number;
  ingestBytesPerSecond: number;
  ingestBurstBytes: number;
  maxAttributeValueBytes: number;
  retentionDays: number;
}

export interface Principal {
  tenantId: string;
  keyId: string;
  scopes: readonly Scope[];
  limits: TenantLimits;
}

export type KeyLookup = (secretHash: string) => Promise<Principal | undefined>;

export interface AuthResult {
  principal: Principal;
  /** True for the one request whose lookup went to the store and succeeded: the moment to record the key's last use. */
  fresh: boolean;
  /** True when the store could not be asked and the principal is the last one it returned (within KEY_GRACE_MS). */
  stale?: true;
}

interface Entry {
  principal: Principal | undefined;
  /** When the lookup that returned `principal` started. */
  checkedAt: number;
  /** After a transient failure: no new lookup before this time (the stale principal is served). */
  retryAt?: number;
}

export interface KeyAuthenticatorOptions {
  /** The clock; read on every call (so a test that moves `Date.now` moves it too). */
  now?: () => number;
}

/**
 * One cache per call; the lookup comes with each request (it reads the request's own binding). A
 * request that joins another's lookup gets that lookup's answer, whichever binding it came with.
 */
export function createKeyAuthenticator({ now = () => Date.now() }: KeyAuthenticatorOptions = {}) {
  const cache = new Map<string, Entry>();
  const inflight = new Map<string, Promise<Principal | undefined>>();

  function remember(hash: string, entry: Entry) {
    cache.delete(hash); // re-inserted last: the map's order is oldest-checked first
    cache.set(hash, entry);
    if (cache.size > MAX_CACHED_KEYS) cache.delete(cache.keys().next().value!); // a miss only costs a read
  }

  return async function authenticate(secret: string, lookup: KeyLookup): Promise<AuthResult | undefined> {
    const hash = await hashSecret(secret);
    const t = now();
    const hit = cache.get(hash);
    if (hit && t < hit.checkedAt + (hit.principal ? KEY_CACHE_TTL_MS : UNKNOWN_KEY_TTL_MS)) {
      return hit.principal && { principal: hit.principal, fresh: false };
    }
    const stale = hit?.principal && t - hit.checkedAt <= KEY_GRACE_MS ? hit.principal : undefined;
    if (stale && hit!.retryAt !== undefined && t < hit!.retryAt) return { principal: stale, fresh: false, stale: true };

    let flight = inflight.get(hash);
    const owner = !flight;
    if (!flight) {
      flight = lookup(hash).then((principal) => {
        remember(hash, { principal, checkedAt: t });
        return principal;
      });
      inflight.set(hash, flight);
      // Removed once settled, success or failure: the next expiry or failure asks the store again.
      void flight.then(() => inflight.delete(hash), () => inflight.delete(hash));
    }
    try {
      const principal = await flight;
      return principal && { principal, fresh: owner };
    } catch (err) {
      if (!stale || !isTransientStorageError(err)) throw err;
      const entry = cache.get(hash);
      // Hold off the next lookup briefly, unless a lookup that succeeded meanwhile replaced the entry.
      if (entry === hit) entry!.retryAt = now() + FAILED_LOOKUP_RETRY_MS;
      return { principal: stale, fresh: false, stale: true };
    }
  };
}
