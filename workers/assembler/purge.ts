/**
 * @module
 * The second step of deleting a project, on the cron. The dashboard marks the tenant deleted and
 * revokes its keys (markTenantDeleted); an isolate that cached a key before that may still accept
 * its requests until the cache entry expires, so the data is purged only after PURGE_AFTER_MS.
 * Whatever is written later still (a batch in flight, a queue retry) is the orphan sweep's: the
 * consumer drops messages of tenants that are not live, and the sweep deletes prefixes of tenants
 * that have no row.
 */
import { KEY_CACHE_TTL_MS } from "../../shared/auth/authenticate.ts";
import { deleteTenantRows, listTenantIdsWithRows, listTenantsDeletedBefore } from "../../shared/db/queries/tenants.ts";
import { deleteOrphanedTenantData, deleteTenantData } from "../../shared/storage/delete-tenant-data.ts";
import type { AssemblerDeps } from "./consume.ts";

/** Well past the key cache's lifetime and a request in flight. */
export const PURGE_AFTER_MS = KEY_CACHE_TTL_MS + 90_000;

/** Purges the tenants deleted long enough ago: their objects in R2, their object, their rows. */
export async function purgeDeletedTenants(deps: AssemblerDeps, nowMs = Date.now()): Promise<string[]> {
  const due = await listTenantsDeletedBefore(deps.db, nowMs - PURGE_AFTER_MS);
  for (const tenant of due) {
    await deleteTenantData(deps.store, tenant.id);
    await deps.tenant(tenant.id).destroy();
    // The row goes last: until then a failed purge is found again by the next cron.
    await deleteTenantRows(deps.db, tenant.id);
  }
  return due.map((t) => t.id);
}

/** Deletes storage prefixes that belong to no tenant row (see deleteOrphanedTenantData). */
export function sweepOrphanedPrefixes(deps: AssemblerDeps): Promise<string[]> {
  return deleteOrphanedTenantData(deps.store, () => listTenantIdsWithRows(deps.db));
}
