/**
 * @module
 * Every R2 object key is built here, and every one starts with the tenant id: no other code
 * spells a key, so no code can read or write outside a tenant's prefix by accident.
 */

const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function tenantPrefix(tenantId: string): string {
  if (!TENANT_ID.test(tenantId)) throw new Error(`invalid tenant id for a storage key: ${JSON.stringify(tenantId)}`);
  return `t/${tenantId}/`;
}

/**
 * Where one accepted ingest request lands: `t/<tenant>/ingest/<yyyy-mm-dd>/<hh>/<ms>-<id>.json`.
 * The date folders let the assembler and retention list a time window without scanning.
 */
export function ingestBatchKey(tenantId: string, receivedAtMs: number, batchId: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(batchId)) throw new Error("invalid batch id");
  const iso = new Date(receivedAtMs).toISOString();
  return `${tenantPrefix(tenantId)}ingest/${iso.slice(0, 10)}/${iso.slice(11, 13)}/${receivedAtMs}-${batchId}.json`;
}

/** The tenant a key belongs to, for code that receives keys back (queue messages, listings). */
export function tenantOfKey(key: string): string | undefined {
  const m = /^t\/([A-Za-z0-9_-]{1,64})\//.exec(key);
  return m?.[1];
}
