import { describe, expect, it } from "vitest";
import { ACCOUNT_POLICY, afterFailure, retryAfterSeconds, type ThrottleRow } from "./login-throttle.ts";

describe("login throttle", () => {
  it("locks after the policy's failures within the window, for the lock time", () => {
    let row: ThrottleRow | undefined;
    const t0 = 1_000_000;
    for (let i = 0; i < ACCOUNT_POLICY.maxFailures - 1; i++) {
      row = afterFailure(row, "acct:a", ACCOUNT_POLICY, t0 + i * 1000);
      expect(retryAfterSeconds(row, t0 + i * 1000)).toBe(0);
    }
    row = afterFailure(row, "acct:a", ACCOUNT_POLICY, t0 + 10_000);
    expect(retryAfterSeconds(row, t0 + 10_000)).toBe(ACCOUNT_POLICY.lockMs / 1000);
    expect(retryAfterSeconds(row, t0 + 10_000 + ACCOUNT_POLICY.lockMs)).toBe(0);
  });

  it("forgets failures older than the window", () => {
    let row: ThrottleRow | undefined;
    for (let i = 0; i < ACCOUNT_POLICY.maxFailures - 1; i++) row = afterFailure(row, "acct:a", ACCOUNT_POLICY, i);
    row = afterFailure(row, "acct:a", ACCOUNT_POLICY, ACCOUNT_POLICY.windowMs + 10);
    expect(row.failures).toBe(1);
    expect(retryAfterSeconds(row, ACCOUNT_POLICY.windowMs + 10)).toBe(0);
  });

  it("keeps a lock while more failures arrive during it", () => {
    let row: ThrottleRow | undefined;
    for (let i = 0; i < ACCOUNT_POLICY.maxFailures; i++) row = afterFailure(row, "acct:a", ACCOUNT_POLICY, 0);
    const locked = row!.lockedUntilMs;
    row = afterFailure(row, "acct:a", ACCOUNT_POLICY, 1000);
    expect(row.lockedUntilMs).toBe(locked);
  });
});
