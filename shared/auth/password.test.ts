import { describe, expect, it } from "vitest";
import { DUMMY_HASH, hashPassword, passwordProblem, PBKDF2_ITERATIONS, verifyPassword } from "./password.ts";

describe("password hashing", () => {
  it("verifies the right password and refuses others", async () => {
    const stored = await hashPassword("correct horse battery");
    expect(stored.iterations).toBe(PBKDF2_ITERATIONS);
    expect(await verifyPassword("correct horse battery", stored)).toBe(true);
    expect(await verifyPassword("correct horse batterY", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("salts every hash", async () => {
    const a = await hashPassword("same password here");
    const b = await hashPassword("same password here");
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
  });

  it("matches a known PBKDF2-HMAC-SHA256 vector (RFC 7914 section 11)", async () => {
    const salt = new TextEncoder().encode("salt");
    const stored = await hashPassword("passwd", 1, salt);
    // RFC 7914's vector is 64 bytes; the first 32 are what a 256-bit derivation gives.
    const hex = [...atob(stored.hash)].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
    expect(hex).toBe("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
  });

  it("has a dummy hash that verifies nothing (for unknown accounts)", async () => {
    expect(await verifyPassword("anything at all", DUMMY_HASH)).toBe(false);
  });

  it("refuses weak new passwords with a reason", () => {
    expect(passwordProblem("short")).toMatch(/at least/);
    expect(passwordProblem("aaaaaaaaaaaa")).toMatch(/repeats/);
    expect(passwordProblem("me@example.com", "ME@example.com")).toMatch(/email/);
    expect(passwordProblem("a long enough passphrase")).toBeUndefined();
  });
});
