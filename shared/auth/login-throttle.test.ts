// The counting itself is SQL (shared/db/queries/throttle.ts), tested on both drivers by test/support/index-store-suite.ts.
import { describe, expect, it } from "vitest";
import { accountKey, addressKey, adminAddressKey, retryAfterSeconds } from "./login-throttle.ts";

describe("login throttle", () => {
  it("answers the whole seconds of lock left, or 0", () => {
    expect(retryAfterSeconds(undefined, 1000)).toBe(0);
    expect(retryAfterSeconds({ lockedUntilMs: 1000 }, 1000)).toBe(0);
    expect(retryAfterSeconds({ lockedUntilMs: 1001 }, 1000)).toBe(1);
    expect(retryAfterSeconds({ lockedUntilMs: 901_000 }, 1000)).toBe(900);
  });

  it("keeps accounts, login addresses and admin addresses apart", () => {
    expect(accountKey("A@Example.com")).toBe(accountKey("a@example.com"));
    expect(new Set([accountKey("v4:1.2.3.4"), addressKey("v4:1.2.3.4"), adminAddressKey("v4:1.2.3.4")]).size).toBe(3);
  });
});
