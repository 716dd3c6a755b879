/**
 * A key used recently keeps working when its lookup fails with transient storage trouble: ingest
 * still stores and acknowledges (it needs D1 for nothing but the key), and a key the isolate has
 * not found (or found too long ago) gets a retryable 503. The locked database is a D1 whose every
 * statement fails with SQLITE_BUSY, as in test/dashboard/transient-errors.test.ts: a real lock
 * cannot be taken from inside workerd. The cache's clock is `Date.now`, moved past the 30 s TTL
 * here, so the failing lookup really happens (the test counts the statements it was asked for).
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KEY_CACHE_TTL_MS, KEY_GRACE_MS } from "../../shared/auth/authenticate.ts";
import { d1 } from "../../shared/db/d1.ts";
import { revokeKey } from "../../shared/db/queries/keys.ts";
import { fixture, post, PROTO, storedSpanIds, tenantWithKey } from "./helpers.ts";
import "./provided-context.ts";

/** A D1 binding that is locked: every statement throws SQLITE_BUSY. Counts what it was asked. */
function lockedDb() {
  const calls = { prepare: 0 };
  const busy = () => {
    throw new Error("D1_ERROR: database is locked: SQLITE_BUSY");
  };
  const statement: Record<string, unknown> = { bind: () => statement, all: busy, run: busy, first: busy, raw: busy };
  const db = { prepare: () => (calls.prepare++, statement), batch: busy, exec: busy, withSession: () => db } as unknown as D1Database;
  return { db, calls };
}

const realNow = Date.now.bind(Date);
let offset = 0;
/** Moves every `Date.now()` in this isolate (the key cache's clock, ingest's receive time) `ms` further on. */
function advanceClock(ms: number) {
  offset += ms;
  vi.spyOn(Date, "now").mockImplementation(() => realNow() + offset);
}

afterEach(() => {
  vi.restoreAllMocks();
  offset = 0;
});

const send = (secret: string, db?: D1Database) =>
  post("/v1/traces", fixture("valid"), { "content-type": PROTO, "x-api-key": secret }, db ? { DB: db } : {});

describe("a key seen recently keeps working while its lookup fails", () => {
  it("ingest answers 2xx and stores the spans after the key's entry expired and the lookup hit a locked D1", async () => {
    const { tenantId, secret } = await tenantWithKey();
    expect((await send(secret)).status).toBe(200); // found: cached for 30 s
    const before = (await storedSpanIds(tenantId)).length;

    advanceClock(KEY_CACHE_TTL_MS + 1_000);
    const locked = lockedDb();
    const res = await send(secret, locked.db);
    expect(res.status).toBe(200);
    expect(locked.calls.prepare).toBeGreaterThan(0); // the lookup went to the locked store and failed
    expect((await storedSpanIds(tenantId)).length).toBe(2 * before);
  });

  it("a key never found here, and one last found beyond the grace period, get a 503 with Retry-After", async () => {
    const never = await tenantWithKey();
    const locked = lockedDb();
    const first = await send(never.secret, locked.db);
    expect(first.status).toBe(503);
    expect(first.headers.get("retry-after")).toBe("1");

    const { secret } = await tenantWithKey();
    expect((await send(secret)).status).toBe(200);
    advanceClock(KEY_GRACE_MS + 1_000);
    const late = await send(secret, locked.db);
    expect(late.status).toBe(503);
    expect(late.headers.get("retry-after")).toBe("1");
  });

  it("once lookups succeed again, a key revoked during the outage stops working", async () => {
    const { tenantId, keyId, secret } = await tenantWithKey();
    expect((await send(secret)).status).toBe(200);
    expect(await revokeKey(d1(env.DB), tenantId, keyId)).toBe(true);
    advanceClock(KEY_CACHE_TTL_MS + 1_000);
    expect((await send(secret, lockedDb().db)).status).toBe(200); // the documented outage window
    advanceClock(2_000); // past the one-second hold-off after a failed lookup
    expect((await send(secret)).status).toBe(401);
  });
});
