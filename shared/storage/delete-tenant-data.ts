/**
 * @module
 * Removes every R2 object under a tenant's prefix (blocks, ingest objects, state): the storage half
 * of deleting a tenant. Keys come from shared/storage/keys.ts, so the prefix holds exactly the
 * tenant's objects and nobody else's.
 */
import { tenantPrefix } from "./keys.ts";
import type { ObjectStore } from "./object-store.ts";

export async function deleteTenantData(store: ObjectStore, tenantId: string): Promise<number> {
  const keys = (await store.list(tenantPrefix(tenantId))).map((o) => o.key);
  if (keys.length) await store.delete(keys);
  return keys.length;
}
