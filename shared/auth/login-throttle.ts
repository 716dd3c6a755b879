/**
 * @module
 * Throttling of password logins and admin-token attempts. Every attempt is counted per key (an
 * account, a client address) in a fixed window, atomically in the index store, BEFORE the secret
 * is checked (shared/db/queries/throttle.ts): so concurrent attempts cannot all pass a check that
 * ran before any of them was counted. The attempt past the limit locks the key for a while and
 * is refused (429 with Retry-After) without checking. An attempt that succeeds, or is refused by
 * another key, is given back to the keys that counted it; a successful login also clears its
 * account's key (not the address's: one good password must not reset a spray across accounts).
 * The rows live in D1 (`login_throttle`).
 */

export interface ThrottlePolicy {
  /** Attempts a key may spend per window (given-back attempts excluded). */
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

/** Five wrong passwords for one account in 15 minutes lock it for 15 minutes. */
export const ACCOUNT_POLICY: ThrottlePolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };
/** An address gets more room (offices share one), still far from a guessing rate. */
export const ADDRESS_POLICY: ThrottlePolicy = { maxFailures: 30, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };
/**
 * Wrong admin tokens per address. The token is long and random (admin-token-rules.mjs), so this
 * is about not being an oracle at all, not about the odds; room for an operator's parallel calls.
 */
export const ADMIN_POLICY: ThrottlePolicy = { maxFailures: 20, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };

export interface ThrottleRow {
  key: string;
  failures: number;
  windowStartMs: number;
  lockedUntilMs: number;
}

export const accountKey = (email: string) => `acct:${email.toLowerCase()}`;
/** `address` as clientAddress() gives it (shared/http/client-address.ts). */
export const addressKey = (address: string) => `addr:${address}`;
export const adminAddressKey = (address: string) => `admin:${address}`;

/** Seconds until the key may try again, or 0. */
export function retryAfterSeconds(row: Pick<ThrottleRow, "lockedUntilMs"> | undefined, nowMs: number): number {
  return row && row.lockedUntilMs > nowMs ? Math.ceil((row.lockedUntilMs - nowMs) / 1000) : 0;
}
