import { eq } from "drizzle-orm";
import type { BatchingDb, Db } from "../client.ts";
import { apiKeys, blocks, edgeMinutes, memberships, operationMinutes, serviceMinutes, tenants, usageDays, metricFlushes, type Tenant } from "../schema.ts";
import { generateId } from "../../auth/keys.ts";

export async function createTenant(db: Db, name: string, now = new Date()): Promise<Tenant> {
  const [row] = await db.insert(tenants).values({ id: generateId("tn"), name, createdAt: now }).returning();
  if (!row) throw new Error("insert returned no row");
  return row;
}

export async function getTenant(db: Db, tenantId: string): Promise<Tenant | undefined> {
  return db.select().from(tenants).where(eq(tenants.id, tenantId)).get();
}

export async function listTenants(db: Db): Promise<Tenant[]> {
  return db.select().from(tenants).orderBy(tenants.createdAt).all();
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
