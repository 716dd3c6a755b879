/**
 * @module
 * Every R2 object key is built here, and every one starts with the tenant id: no other code
 * spells a key, so no code can read or write outside a tenant's prefix by accident.
 */

const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Where every tenant's prefix lives (nothing else is stored outside it). */
export const TENANTS_PREFIX = "t/";

export function tenantPrefix(tenantId: string): string {
  if (!TENANT_ID.test(tenantId)) throw new Error(`invalid tenant id for a storage key: ${JSON.stringify(tenantId)}`);
  return `${TENANTS_PREFIX}${tenantId}/`;
}

/**
 * Where one accepted ingest request lands: `t/<tenant>/ingest/<yyyy-mm-dd>/<hh>/<ms>-<id>.etb`.
 * The date folders let the assembler and retention list a time window without scanning.
 */
export function ingestBatchKey(tenantId: string, receivedAtMs: number, batchId: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(batchId)) throw new Error("invalid batch id");
  const iso = new Date(receivedAtMs).toISOString();
  return `${tenantPrefix(tenantId)}ingest/${iso.slice(0, 10)}/${iso.slice(11, 13)}/${receivedAtMs}-${batchId}.etb`;
}

/** The tenant a key belongs to, for code that receives keys back (queue messages, listings). */
export function tenantOfKey(key: string): string | undefined {
  const m = /^t\/([A-Za-z0-9_-]{1,64})\//.exec(key);
  return m?.[1];
}

/** An immutable block of assembled traces: `t/<tenant>/blocks/<blockId>`. */
export function blockKey(tenantId: string, blockId: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(blockId)) throw new Error("invalid block id");
  return `${tenantPrefix(tenantId)}blocks/${blockId}`;
}

/**
 * The R2 state object of assemblers before the tenant object (pending service-graph halves, open
 * metric rows, recent inline keys), read once by the tenant's object and deleted
 * (shared/tenant-object/legacy-state.ts). Nothing writes it any more; the path is kept as written.
 */
export function legacyAssemblerStateKey(tenantId: string): string {
  return `${tenantPrefix(tenantId)}state/servicegraph.json`;
}
