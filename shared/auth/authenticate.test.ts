import { describe, expect, it } from "vitest";
import { createKeyAuthenticator, KEY_CACHE_TTL_MS, UNKNOWN_KEY_TTL_MS, type Principal } from "./authenticate.ts";
import { hashSecret } from "./keys.ts";

const principal: Principal = {
  tenantId: "tn_a",
  keyId: "key_a",
  scopes: ["ingest"],
  limits: { maxRequestBytes: 1, ingestBytesPerSecond: 1, ingestBurstBytes: 1, maxAttributeValueBytes: 1, retentionDays: 14 },
};

describe("key authenticator cache", () => {
  it("looks a key up by its hash and caches it for the TTL, so a revocation lands within 60 s", async () => {
    let t = 0;
    const store = new Map([[await hashSecret("et_good"), principal]]);
    let lookups = 0;
    const auth = createKeyAuthenticator(async (h) => (lookups++, store.get(h)), () => t);
    expect(await auth("et_good")).toEqual({ principal, fresh: true });
    expect(await auth("et_good")).toEqual({ principal, fresh: false });
    expect(lookups).toBe(1);
    store.clear(); // revoked
    t = KEY_CACHE_TTL_MS - 1;
    expect((await auth("et_good"))?.principal).toBe(principal);
    t = KEY_CACHE_TTL_MS + 1;
    expect(await auth("et_good")).toBeUndefined();
    expect(KEY_CACHE_TTL_MS).toBeLessThanOrEqual(60_000);
  });

  it("remembers unknown keys briefly, so a new key works within seconds", async () => {
    let t = 0;
    const store = new Map<string, Principal>();
    const auth = createKeyAuthenticator(async (h) => store.get(h), () => t);
    expect(await auth("et_new")).toBeUndefined();
    store.set(await hashSecret("et_new"), principal);
    expect(await auth("et_new")).toBeUndefined();
    t = UNKNOWN_KEY_TTL_MS + 1;
    expect((await auth("et_new"))?.principal).toBe(principal);
  });
});
