/**
 * @module
 * Resolves an API key secret to the principal it stands for, with a per-isolate cache.
 *
 * Cache policy: a found key is trusted for KEY_CACHE_TTL_MS (30 s) and an unknown one is
 * remembered for UNKNOWN_KEY_TTL_MS (5 s), so a revoked key stops working within 30 s on every
 * isolate (the promise is 60 s) and a flood of bad keys does not turn into a flood of D1 reads.
 */
import { hashSecret, type Scope } from "./keys.ts";

export const KEY_CACHE_TTL_MS = 30_000;
export const UNKNOWN_KEY_TTL_MS = 5_000;
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
  /** True when this lookup went to the store: the moment to record the key's last use. */
  fresh: boolean;
}

export function createKeyAuthenticator(lookup: KeyLookup, now: () => number = Date.now) {
  const cache = new Map<string, { principal: Principal | undefined; expires: number }>();
  return async function authenticate(secret: string): Promise<AuthResult | undefined> {
    const hash = await hashSecret(secret);
    const hit = cache.get(hash);
    const t = now();
    if (hit && hit.expires > t) return hit.principal && { principal: hit.principal, fresh: false };
    const principal = await lookup(hash);
    if (cache.size >= MAX_CACHED_KEYS) cache.clear(); // crude bound; a cache miss only costs a read
    cache.set(hash, { principal, expires: t + (principal ? KEY_CACHE_TTL_MS : UNKNOWN_KEY_TTL_MS) });
    return principal && { principal, fresh: true };
  };
}
