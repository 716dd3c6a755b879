import { describe, expect, it } from "vitest";
import { createKeyAuthenticator, FAILED_LOOKUP_RETRY_MS, KEY_CACHE_TTL_MS, KEY_GRACE_MS, UNKNOWN_KEY_TTL_MS, type KeyLookup, type Principal } from "./authenticate.ts";
import { hashSecret } from "./keys.ts";

const principal: Principal = {
  tenantId: "tn_a",
  keyId: "key_a",
  scopes: ["ingest"],
  limits: { maxRequestBytes: 1, ingestBytesPerSecond: 1, ingestBurstBytes: 1, maxAttributeValueBytes: 1, retentionDays: 14 },
};
const changed: Principal = { ...principal, scopes: ["ingest", "read"] };

/** What local D1 throws on a lock, wrapped as drizzle wraps it. */
const busy = () => new Error("Failed query: select ...", { cause: new Error("D1_ERROR: database is locked: SQLITE_BUSY") });

/** A store behind a fake lookup: `fail` makes lookups throw it, `gate` holds them; counts lookups. */
function fakeStore() {
  const keys = new Map<string, Principal>();
  const store = {
    keys,
    lookups: 0,
    fail: undefined as (() => Error) | undefined,
    gate: Promise.resolve(),
    lookup: (async (hash) => {
      store.lookups++;
      await store.gate;
      if (store.fail) throw store.fail();
      return keys.get(hash);
    }) as KeyLookup,
  };
  return store;
}

async function setup() {
  let t = 1_000_000;
  // `reads` counts calls: each authenticate call reads the clock once, after hashing the secret.
  const clock = { reads: 0, now: () => (clock.reads++, t), set: (ms: number) => void (t = ms) };
  const store = fakeStore();
  store.keys.set(await hashSecret("et_good"), principal);
  const authenticate = createKeyAuthenticator({ now: clock.now });
  const auth = (secret: string) => authenticate(secret, store.lookup);
  return { clock, store, auth, t0: t };
}

describe("key authenticator cache", () => {
  it("a fresh hit is served from the cache without a lookup", async () => {
    const { clock, store, auth, t0 } = await setup();
    expect(await auth("et_good")).toEqual({ principal, fresh: true });
    clock.set(t0 + KEY_CACHE_TTL_MS - 1);
    expect(await auth("et_good")).toEqual({ principal, fresh: false });
    expect(store.lookups).toBe(1);
  });

  it("an expired entry is looked up again: the new principal, and a revoked key stops within the TTL (promise: 60 s)", async () => {
    const { clock, store, auth, t0 } = await setup();
    const hash = await hashSecret("et_good");
    expect((await auth("et_good"))?.principal).toBe(principal);
    store.keys.set(hash, changed);
    clock.set(t0 + KEY_CACHE_TTL_MS);
    expect(await auth("et_good")).toEqual({ principal: changed, fresh: true });
    expect(store.lookups).toBe(2);
    store.keys.delete(hash); // revoked
    clock.set(t0 + 2 * KEY_CACHE_TTL_MS - 1);
    expect((await auth("et_good"))?.principal).toBe(changed);
    clock.set(t0 + 2 * KEY_CACHE_TTL_MS);
    expect(await auth("et_good")).toBeUndefined();
    expect(KEY_CACHE_TTL_MS).toBeLessThanOrEqual(60_000);
  });

  it("remembers unknown keys briefly, so a new key works within seconds", async () => {
    const { clock, store, auth, t0 } = await setup();
    expect(await auth("et_new")).toBeUndefined();
    store.keys.set(await hashSecret("et_new"), principal);
    expect(await auth("et_new")).toBeUndefined();
    expect(store.lookups).toBe(1);
    clock.set(t0 + UNKNOWN_KEY_TTL_MS);
    expect((await auth("et_new"))?.principal).toBe(principal);
  });

  it("expired, and the lookup fails transiently within the grace period: the last known principal", async () => {
    const { clock, store, auth, t0 } = await setup();
    expect((await auth("et_good"))?.principal).toBe(principal);
    store.keys.delete(await hashSecret("et_good")); // revoked, but the store cannot say so
    store.fail = busy;
    clock.set(t0 + KEY_CACHE_TTL_MS);
    expect(await auth("et_good")).toEqual({ principal, fresh: false, stale: true });
    clock.set(t0 + KEY_GRACE_MS);
    expect(await auth("et_good")).toEqual({ principal, fresh: false, stale: true });
    expect(store.lookups).toBe(3); // each expired use asked the store
    // The first lookup that succeeds ends it: the revocation lands.
    store.fail = undefined;
    clock.set(t0 + KEY_GRACE_MS + FAILED_LOOKUP_RETRY_MS);
    expect(await auth("et_good")).toBeUndefined();
  });

  it("a successful lookup during the outage restarts the grace period from its own time", async () => {
    const { clock, store, auth, t0 } = await setup();
    await auth("et_good");
    store.fail = busy;
    clock.set(t0 + 5 * 60_000);
    expect((await auth("et_good"))?.stale).toBe(true);
    store.fail = undefined;
    clock.set(t0 + 5 * 60_000 + FAILED_LOOKUP_RETRY_MS);
    expect(await auth("et_good")).toEqual({ principal, fresh: true });
    store.fail = busy;
    clock.set(t0 + 5 * 60_000 + FAILED_LOOKUP_RETRY_MS + KEY_GRACE_MS);
    expect((await auth("et_good"))?.stale).toBe(true);
    clock.set(t0 + 5 * 60_000 + FAILED_LOOKUP_RETRY_MS + KEY_GRACE_MS + 1);
    await expect(auth("et_good")).rejects.toThrow(/SQLITE_BUSY|Failed query/);
  });

  it("after a transient failure the stale principal is served without asking the store again for a second", async () => {
    const { clock, store, auth, t0 } = await setup();
    await auth("et_good");
    store.fail = busy;
    clock.set(t0 + KEY_CACHE_TTL_MS);
    await auth("et_good");
    expect(store.lookups).toBe(2);
    clock.set(t0 + KEY_CACHE_TTL_MS + FAILED_LOOKUP_RETRY_MS - 1);
    expect((await auth("et_good"))?.principal).toBe(principal);
    expect(store.lookups).toBe(2);
    clock.set(t0 + KEY_CACHE_TTL_MS + FAILED_LOOKUP_RETRY_MS);
    expect((await auth("et_good"))?.principal).toBe(principal);
    expect(store.lookups).toBe(3);
  });

  it("expired beyond the grace period and the lookup fails: the error", async () => {
    const { clock, store, auth, t0 } = await setup();
    await auth("et_good");
    store.fail = busy;
    clock.set(t0 + KEY_GRACE_MS + 1);
    await expect(auth("et_good")).rejects.toThrow("Failed query");
    expect(store.lookups).toBe(2);
  });

  it("a key never seen, or last seen unknown, gets the error when the lookup fails", async () => {
    const { clock, store, auth, t0 } = await setup();
    store.fail = busy;
    await expect(auth("et_good")).rejects.toThrow("Failed query");
    store.fail = undefined;
    expect(await auth("et_unknown")).toBeUndefined();
    store.fail = busy;
    clock.set(t0 + UNKNOWN_KEY_TTL_MS);
    await expect(auth("et_unknown")).rejects.toThrow("Failed query");
  });

  it("a failure that is not transient storage trouble is the error, even for a key found a moment ago", async () => {
    const { clock, store, auth, t0 } = await setup();
    await auth("et_good");
    store.fail = () => new Error("Failed query: select ...", { cause: new Error("D1_ERROR: no such table: api_keys: SQLITE_ERROR") });
    clock.set(t0 + KEY_CACHE_TTL_MS);
    await expect(auth("et_good")).rejects.toThrow("Failed query");
  });

  it("concurrent uses of one key share one lookup (single-flight); only one of them records the use", async () => {
    const { clock, store, auth, t0 } = await setup();
    /** Sixteen uses at once, the lookup held until every one of them is past its cache check. */
    const burst = async () => {
      let release!: () => void;
      store.gate = new Promise((r) => (release = r));
      const readsBefore = clock.reads;
      const pending = Promise.all(Array.from({ length: 16 }, () => auth("et_good")));
      while (clock.reads < readsBefore + 16) await new Promise((r) => setTimeout(r, 1));
      release();
      return pending;
    };
    const results = await burst();
    expect(store.lookups).toBe(1);
    expect(results.every((r) => r?.principal === principal)).toBe(true);
    expect(results.filter((r) => r?.fresh)).toHaveLength(1);
    // Again after expiry, and a failing shared lookup serves every waiter the stale principal.
    store.fail = busy;
    clock.set(t0 + KEY_CACHE_TTL_MS);
    const stale = await burst();
    expect(store.lookups).toBe(2);
    expect(stale.every((r) => r?.principal === principal && r.stale)).toBe(true);
    // Different keys are not merged, and a settled lookup is not reused.
    store.fail = undefined;
    clock.set(t0 + KEY_CACHE_TTL_MS + FAILED_LOOKUP_RETRY_MS);
    const [a, b] = await Promise.all([auth("et_good"), auth("et_other")]);
    expect(a?.fresh).toBe(true);
    expect(b).toBeUndefined();
    expect(store.lookups).toBe(4);
  });
});
