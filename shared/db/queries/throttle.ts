/**
 * @module
 * The throttle counters (shared/auth/login-throttle.ts) in the index store. `countAttempt` is the
 * whole decision in one UPSERT per key, all keys in one batch: SQLite applies each statement
 * atomically, so N concurrent attempts get N distinct counts and only those within the limit pass.
 */
import { and, eq, inArray, lte, sql } from "drizzle-orm";
import type { BatchingDb, Db } from "../client.ts";
import { loginThrottle } from "../schema.ts";
import { retryAfterSeconds, type ThrottlePolicy, type ThrottleRow } from "../../auth/login-throttle.ts";

export interface ThrottleKey {
  key: string;
  policy: ThrottlePolicy;
}

/**
 * Counts one attempt on every key and answers how long the caller must wait: 0 means the attempt
 * may go on to check its secret; more means it is refused (that many seconds of lock left, the
 * longest of the keys). A key already locked is not counted further; the count that passes the
 * limit locks the key for the policy's lock time and starts a new window after it.
 */
export async function countAttempt(db: BatchingDb, keys: readonly ThrottleKey[], nowMs: number): Promise<number> {
  if (keys.length === 0) return 0;
  const [first, ...rest] = keys.map(({ key, policy }) => upsertAttempt(db, key, policy, nowMs));
  const results = (await db.batch([first!, ...rest])) as { lockedUntilMs: number }[][];
  return Math.max(...results.map((rows) => retryAfterSeconds(rows[0], nowMs)));
}

function upsertAttempt(db: Db, key: string, policy: ThrottlePolicy, nowMs: number) {
  const t = loginThrottle;
  const locked = sql`${t.lockedUntilMs} > ${nowMs}`;
  const expired = sql`${nowMs} - ${t.windowStartMs} >= ${policy.windowMs}`;
  const next = sql`(CASE WHEN ${expired} THEN 1 ELSE ${t.failures} + 1 END)`;
  const locks = sql`${next} > ${policy.maxFailures}`;
  // Every right-hand side reads the row as it was before this statement.
  return db
    .insert(t)
    .values({ key, failures: 1, windowStartMs: nowMs, lockedUntilMs: 0 })
    .onConflictDoUpdate({
      target: t.key,
      set: {
        failures: sql`CASE WHEN ${locked} THEN ${t.failures} WHEN ${locks} THEN 0 ELSE ${next} END`,
        windowStartMs: sql`CASE WHEN ${locked} THEN ${t.windowStartMs} WHEN ${locks} OR ${expired} THEN ${nowMs} ELSE ${t.windowStartMs} END`,
        lockedUntilMs: sql`CASE WHEN ${locked} THEN ${t.lockedUntilMs} WHEN ${locks} THEN ${nowMs + policy.lockMs} ELSE ${t.lockedUntilMs} END`,
      },
    })
    .returning({ lockedUntilMs: t.lockedUntilMs });
}

/**
 * Gives back one counted attempt on each key that is not locked: for an attempt that succeeded,
 * or that another key refused (it was never checked, so it is not a failure).
 */
export async function refundAttempt(db: Db, keys: readonly string[], nowMs: number): Promise<void> {
  if (keys.length === 0) return;
  await db
    .update(loginThrottle)
    .set({ failures: sql`MAX(${loginThrottle.failures} - 1, 0)` })
    .where(and(inArray(loginThrottle.key, [...keys]), lte(loginThrottle.lockedUntilMs, nowMs)));
}

export async function clearThrottle(db: Db, key: string): Promise<void> {
  await db.delete(loginThrottle).where(eq(loginThrottle.key, key));
}

export async function readThrottle(db: Db, keys: string[]): Promise<Map<string, ThrottleRow>> {
  const rows = await db.select().from(loginThrottle).where(inArray(loginThrottle.key, keys)).all();
  return new Map(rows.map((r) => [r.key, r]));
}
