/**
 * @module
 * Removes every R2 object under a tenant's prefix (blocks, ingest objects, state): the storage half
 * of deleting a tenant. Keys come from shared/storage/keys.ts, so the prefix holds exactly the
 * tenant's objects and nobody else's.
 */
import { tenantOfKey, tenantPrefix, TENANTS_PREFIX } from "./keys.ts";
import type { ObjectStore } from "./object-store.ts";

export async function deleteTenantData(store: ObjectStore, tenantId: string): Promise<number> {
  const keys = (await store.list(tenantPrefix(tenantId))).map((o) => o.key);
  if (keys.length) await store.delete(keys);
  return keys.length;
}

/**
 * Deletes the objects under every tenant prefix whose tenant has no row, and returns those
 * tenants: what a request authenticated from a cache, or a batch assembled while its tenant was
 * purged, wrote after the purge. `tenantsWithRows` must be read after this lists the prefixes (a
 * tenant's row exists before anything of it is written), which is why it is a function.
 */
export async function deleteOrphanedTenantData(store: ObjectStore, tenantsWithRows: () => Promise<Set<string>>): Promise<string[]> {
  const prefixes = await store.listPrefixes(TENANTS_PREFIX);
  const known = await tenantsWithRows();
  const orphans = prefixes.map((p) => tenantOfKey(p)).filter((id): id is string => id !== undefined && !known.has(id));
  for (const id of orphans) await deleteTenantData(store, id);
  return orphans;
}
