import { eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { tenants, type Tenant } from "../schema.ts";
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
