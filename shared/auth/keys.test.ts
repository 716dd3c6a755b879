import { describe, expect, it } from "vitest";
import { generateSecret, hashSecret, readKeyFromHeaders, timingSafeEqualString } from "./keys.ts";

describe("API key secrets", () => {
  it("are 256 random bits, and hash to lowercase hex SHA-256", async () => {
    const a = generateSecret();
    expect(a).toMatch(/^et_[A-Za-z0-9_-]{43}$/);
    expect(generateSecret()).not.toBe(a);
    expect(await hashSecret("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("are read from Bearer, x-api-key and Basic (key as password)", () => {
    expect(readKeyFromHeaders(new Headers({ authorization: "Bearer et_1" }))).toBe("et_1");
    expect(readKeyFromHeaders(new Headers({ "x-api-key": " et_2 " }))).toBe("et_2");
    expect(readKeyFromHeaders(new Headers({ authorization: `Basic ${btoa("tenant:et_3")}` }))).toBe("et_3");
    expect(readKeyFromHeaders(new Headers({ authorization: "Basic !!!" }))).toBeUndefined();
    expect(readKeyFromHeaders(new Headers({ authorization: "Bearer " }))).toBeUndefined();
    expect(readKeyFromHeaders(new Headers())).toBeUndefined();
  });

  it("compares tokens without short-circuiting on length", () => {
    expect(timingSafeEqualString("abc", "abc")).toBe(true);
    expect(timingSafeEqualString("abc", "abd")).toBe(false);
    expect(timingSafeEqualString("abc", "abcd")).toBe(false);
  });
});
