import { and, eq, inArray, isNotNull, isNull, lt } from "drizzle-orm";
import type { BatchingDb, Db } from "../client.ts";
import { apiKeys, blocks, edgeMinutes, memberships, operationMinutes, serviceMinutes, tenants, usageDays, metricFlushes, type Tenant } from "../schema.ts";
import { generateId } from "../../auth/keys.ts";

export async function createTenant(db: Db, name: string, now = new Date()): Promise<Tenant> {
  const [row] = await db.insert(tenants).values({ id: generateId("tn"), name, createdAt: now }).returning();
  if (!row) throw new Error("insert returned no row");
  return row;
}

/** A live tenant (not deleted). */
export async function getTenant(db: Db, tenantId: string): Promise<Tenant | undefined> {
  return db
    .select()
    .from(tenants)
    .where(and(eq(tenants.id, tenantId), isNull(tenants.deletedAt)))
    .get();
}

/** The live tenants, oldest first. */
export async function listTenants(db: Db): Promise<Tenant[]> {
  return db.select().from(tenants).where(isNull(tenants.deletedAt)).orderBy(tenants.createdAt).all();
}

/** Which of these tenant ids are live (exist and are not deleted). */
export async function liveTenantIds(db: Db, tenantIds: readonly string[]): Promise<Set<string>> {
  if (!tenantIds.length) return new Set();
  const rows = await db
    .select({ id: tenants.id })
    .from(tenants)
    .where(and(inArray(tenants.id, [...tenantIds]), isNull(tenants.deletedAt)))
    .all();
  return new Set(rows.map((r) => r.id));
}

/** Every tenant id with a row, deleted or not: a storage prefix of any other id belongs to nobody. */
export async function listTenantIdsWithRows(db: Db): Promise<Set<string>> {
  return new Set((await db.select({ id: tenants.id }).from(tenants).all()).map((r) => r.id));
}

/** Tenants deleted before `beforeMs`, whose data is due to be purged. */
export async function listTenantsDeletedBefore(db: Db, beforeMs: number): Promise<Tenant[]> {
  return db
    .select()
    .from(tenants)
    .where(and(isNotNull(tenants.deletedAt), lt(tenants.deletedAt, new Date(beforeMs))))
    .all();
}

/**
 * The first step of deleting a project, in one batch: every key revoked, every member removed and
 * the tenant marked deleted, so that no lookup finds it again. Its data stays until every
 * isolate's key cache has expired (a request authenticated from a cache may still be written), then
 * the assembler's cron purges it (deleteTenantRows and the R2 prefix).
 */
export async function markTenantDeleted(db: BatchingDb, tenantId: string, now = new Date()): Promise<void> {
  await db.batch([
    db
      .update(apiKeys)
      .set({ revokedAt: now })
      .where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt))),
    db.delete(memberships).where(eq(memberships.tenantId, tenantId)),
    db
      .update(tenants)
      .set({ deletedAt: now })
      .where(and(eq(tenants.id, tenantId), isNull(tenants.deletedAt))),
  ]);
}

export async function renameTenant(db: Db, tenantId: string, name: string): Promise<void> {
  await db.update(tenants).set({ name }).where(eq(tenants.id, tenantId));
}

export async function updateTenantLimits(db: Db, tenantId: string, limits: { retentionDays: number; ingestBytesPerSecond: number; ingestBurstBytes: number; logsUrlTemplate?: string | null }): Promise<void> {
  await db.update(tenants).set(limits).where(eq(tenants.id, tenantId));
}

/**
 * Deletes every index row of the tenant in one batch. Explicitly, table by table: D1 enforces the
 * foreign keys' cascades but libSQL does not unless asked, and the metric tables have no foreign
 * key at all. The R2 objects are the caller's to delete (shared/storage/delete-tenant-data.ts).
 */
export async function deleteTenantRows(db: BatchingDb, tenantId: string): Promise<void> {
  await db.batch([
    db.delete(apiKeys).where(eq(apiKeys.tenantId, tenantId)),
    db.delete(memberships).where(eq(memberships.tenantId, tenantId)),
    db.delete(blocks).where(eq(blocks.tenantId, tenantId)),
    db.delete(edgeMinutes).where(eq(edgeMinutes.tenantId, tenantId)),
    db.delete(operationMinutes).where(eq(operationMinutes.tenantId, tenantId)),
    db.delete(serviceMinutes).where(eq(serviceMinutes.tenantId, tenantId)),
    db.delete(usageDays).where(eq(usageDays.tenantId, tenantId)),
    db.delete(metricFlushes).where(eq(metricFlushes.tenantId, tenantId)),
    db.delete(tenants).where(eq(tenants.id, tenantId)),
  ]);
}
