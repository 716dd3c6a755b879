/**
 * @module
 * Login throttling policy, pure: failed attempts are counted per account and per client address in
 * a fixed window; past the limit the key is locked for a while and logins answer 429 with
 * Retry-After. A success clears the account's counter (not the address's: one good password must
 * not reset a spray across many accounts). The rows live in D1 (`login_throttle`).
 */

export interface ThrottlePolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

/** Five wrong passwords for one account in 15 minutes lock it for 15 minutes. */
export const ACCOUNT_POLICY: ThrottlePolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };
/** An address gets more room (offices share one), still far from a guessing rate. */
export const ADDRESS_POLICY: ThrottlePolicy = { maxFailures: 30, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };

export interface ThrottleRow {
  key: string;
  failures: number;
  windowStartMs: number;
  lockedUntilMs: number;
}

export const accountKey = (email: string) => `acct:${email.toLowerCase()}`;
export const addressKey = (address: string) => `addr:${address}`;

/** Seconds until the key may try again, or 0. */
export function retryAfterSeconds(row: ThrottleRow | undefined, nowMs: number): number {
  return row && row.lockedUntilMs > nowMs ? Math.ceil((row.lockedUntilMs - nowMs) / 1000) : 0;
}

/** The row after one more failure at `nowMs`. */
export function afterFailure(row: ThrottleRow | undefined, key: string, policy: ThrottlePolicy, nowMs: number): ThrottleRow {
  const fresh = !row || nowMs - row.windowStartMs >= policy.windowMs;
  const failures = fresh ? 1 : row.failures + 1;
  const windowStartMs = fresh ? nowMs : row.windowStartMs;
  const lockedUntilMs = failures >= policy.maxFailures ? nowMs + policy.lockMs : (row?.lockedUntilMs ?? 0);
  return { key, failures: failures >= policy.maxFailures ? 0 : failures, windowStartMs: failures >= policy.maxFailures ? nowMs : windowStartMs, lockedUntilMs };
}
