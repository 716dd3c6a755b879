/**
 * @module
 * Dashboard accounts, sessions and memberships in the index store (the login throttle's counters
 * are in throttle.ts). Functions over one tenant's rows take `tenantId` first; the membership
 * lookup is the one place a session is turned into a tenant (shared/http/middleware/session-auth.ts).
 */
import { and, eq, lt, ne, or } from "drizzle-orm";
import type { Db } from "../client.ts";
import { loginThrottle, memberships, sessions, tenants, users, type Membership, type Session, type Tenant, type User } from "../schema.ts";
import { generateId, hashSecret } from "../../auth/keys.ts";
import type { PasswordHash } from "../../auth/password.ts";

export type Role = Membership["role"];

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Creates a user, or returns undefined when the email is taken. */
export async function createUser(db: Db, email: string, password: PasswordHash, now = new Date()): Promise<User | undefined> {
  const rows = await db
    .insert(users)
    .values({ id: generateId("usr"), email: normalizeEmail(email), passwordHash: password.hash, passwordSalt: password.salt, passwordIterations: password.iterations, createdAt: now, passwordChangedAt: now })
    .onConflictDoNothing({ target: users.email })
    .returning();
  return rows[0];
}

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  return db.select().from(users).where(eq(users.email, normalizeEmail(email))).get();
}

export const storedPassword = (u: User): PasswordHash => ({ hash: u.passwordHash, salt: u.passwordSalt, iterations: u.passwordIterations });

/** Sets a new password and ends every session of the user except `keepSessionHash`. */
export async function changePassword(db: Db, userId: string, password: PasswordHash, keepSessionHash: string | undefined, now = new Date()): Promise<void> {
  await db.update(users).set({ passwordHash: password.hash, passwordSalt: password.salt, passwordIterations: password.iterations, passwordChangedAt: now }).where(eq(users.id, userId));
  await db.delete(sessions).where(keepSessionHash ? and(eq(sessions.userId, userId), ne(sessions.idHash, keepSessionHash)) : eq(sessions.userId, userId));
}

// ---- sessions -----------------------------------------------------------------------------------

export async function createSession(db: Db, userId: string, sessionId: string, csrfToken: string, expiresAt: Date, now = new Date()): Promise<void> {
  await db.insert(sessions).values({ idHash: await hashSecret(sessionId), userId, csrfToken, createdAt: now, lastSeenAt: now, expiresAt });
}

/**
 * The session and its user; with `tenantId`, also the user's membership of that tenant (undefined
 * when they are not a member, or it does not exist), read in the same statement: a page of a project
 * then costs one round trip to D1 before its own reads, not two.
 */
export async function findSession(db: Db, sessionId: string, tenantId?: string): Promise<{ session: Session; user: User; membership?: { role: Role; tenant: Tenant } } | undefined> {
  const idHash = await hashSecret(sessionId);
  if (tenantId === undefined) {
    const row = await db.select({ session: sessions, user: users }).from(sessions).innerJoin(users, eq(users.id, sessions.userId)).where(eq(sessions.idHash, idHash)).get();
    return row ?? undefined;
  }
  const row = await db
    .select({ session: sessions, user: users, role: memberships.role, tenant: tenants })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(memberships, and(eq(memberships.userId, sessions.userId), eq(memberships.tenantId, tenantId)))
    .leftJoin(tenants, eq(tenants.id, memberships.tenantId))
    .where(eq(sessions.idHash, idHash))
    .get();
  if (!row) return undefined;
  return { session: row.session, user: row.user, membership: row.role && row.tenant ? { role: row.role, tenant: row.tenant } : undefined };
}

export async function touchSession(db: Db, idHash: string, now = new Date()): Promise<void> {
  await db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.idHash, idHash));
}

export async function deleteSession(db: Db, idHash: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.idHash, idHash));
}

/**
 * The cron's housekeeping: sessions past their absolute expiry or idle longer than `idleMs`, and
 * throttle rows whose window and lock are both over. Returns the number of rows removed.
 */
export async function deleteExpiredAuthRows(db: Db, idleMs: number, throttleWindowMs: number, now = Date.now()): Promise<number> {
  const gone = await db
    .delete(sessions)
    .where(or(lt(sessions.expiresAt, new Date(now)), lt(sessions.lastSeenAt, new Date(now - idleMs))))
    .returning({ id: sessions.idHash });
  const stale = await db
    .delete(loginThrottle)
    .where(and(lt(loginThrottle.windowStartMs, now - throttleWindowMs), lt(loginThrottle.lockedUntilMs, now)))
    .returning({ key: loginThrottle.key });
  return gone.length + stale.length;
}

// ---- memberships --------------------------------------------------------------------------------

export async function addMember(db: Db, tenantId: string, userId: string, role: Role, now = new Date()): Promise<boolean> {
  const rows = await db.insert(memberships).values({ tenantId, userId, role, createdAt: now }).onConflictDoNothing().returning();
  return rows.length > 0;
}

export async function removeMember(db: Db, tenantId: string, userId: string): Promise<boolean> {
  const rows = await db.delete(memberships).where(and(eq(memberships.tenantId, tenantId), eq(memberships.userId, userId))).returning();
  return rows.length > 0;
}

export async function getMembership(db: Db, tenantId: string, userId: string): Promise<{ role: Role; tenant: Tenant } | undefined> {
  const row = await db
    .select({ role: memberships.role, tenant: tenants })
    .from(memberships)
    .innerJoin(tenants, eq(tenants.id, memberships.tenantId))
    .where(and(eq(memberships.tenantId, tenantId), eq(memberships.userId, userId)))
    .get();
  return row ?? undefined;
}

export async function listUserTenants(db: Db, userId: string): Promise<{ role: Role; tenant: Tenant }[]> {
  return db.select({ role: memberships.role, tenant: tenants }).from(memberships).innerJoin(tenants, eq(tenants.id, memberships.tenantId)).where(eq(memberships.userId, userId)).orderBy(tenants.name).all();
}

export async function listMembers(db: Db, tenantId: string): Promise<{ userId: string; email: string; role: Role; createdAt: Date }[]> {
  return db
    .select({ userId: users.id, email: users.email, role: memberships.role, createdAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.tenantId, tenantId))
    .orderBy(users.email)
    .all();
}
