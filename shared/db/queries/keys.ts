/**
 * @module
 * API keys in the index store. Every function that touches one tenant's keys takes `tenantId`
 * first and puts it in the WHERE clause; the one exception is `findKeyByHash`, which is how a
 * request's tenant is discovered in the first place.
 */
import { and, desc, eq, isNull } from "drizzle-orm";
import type { Db } from "../client.ts";
import { apiKeys, tenants, type ApiKey, type Tenant } from "../schema.ts";
import { generateId, generateSecret, hashSecret, secretPrefix, type Scope } from "../../auth/keys.ts";

/** A key as shown to users: never the secret, never its hash. */
export type PublicKey = Omit<ApiKey, "secretHash">;

export function toPublicKey(key: ApiKey): PublicKey {
  const { secretHash: _secretHash, ...rest } = key;
  return rest;
}

export async function createKey(
  db: Db,
  tenantId: string,
  input: { name: string; scopes: Scope[] },
  now = new Date(),
): Promise<{ key: PublicKey; secret: string }> {
  const secret = generateSecret();
  const [row] = await db
    .insert(apiKeys)
    .values({
      id: generateId("key"),
      tenantId,
      name: input.name,
      scopes: [...new Set(input.scopes)],
      secretHash: await hashSecret(secret),
      prefix: secretPrefix(secret),
      createdAt: now,
    })
    .returning();
  if (!row) throw new Error("insert returned no row");
  return { key: toPublicKey(row), secret };
}

export async function listKeys(db: Db, tenantId: string): Promise<PublicKey[]> {
  const rows = await db.select().from(apiKeys).where(eq(apiKeys.tenantId, tenantId)).orderBy(desc(apiKeys.createdAt)).all();
  return rows.map(toPublicKey);
}

/** Marks a key revoked. Returns false when the tenant has no such key (or it was revoked already). */
export async function revokeKey(db: Db, tenantId: string, keyId: string, now = new Date()): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

export async function touchKey(db: Db, tenantId: string, keyId: string, now = new Date()): Promise<void> {
  await db.update(apiKeys).set({ lastUsedAt: now }).where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, keyId)));
}

/** The live key with this secret hash and its tenant, or undefined when unknown or revoked. */
export async function findKeyByHash(db: Db, secretHash: string): Promise<{ key: ApiKey; tenant: Tenant } | undefined> {
  const row = await db
    .select({ key: apiKeys, tenant: tenants })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(and(eq(apiKeys.secretHash, secretHash), isNull(apiKeys.revokedAt), isNull(tenants.deletedAt)))
    .get();
  return row ?? undefined;
}
