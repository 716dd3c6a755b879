/**
 * @module
 * Scheduled retention: for each tenant, blocks whose newest span is older than the tenant's
 * retention, their catalog rows, metric rows of those minutes, and ingest objects of that age
 * (left when a request failed half-way and its cleanup failed too, or that the sweep could not
 * assemble). Nothing newer is touched.
 */
import type { Db } from "../../shared/db/client.ts";
import { deleteBlocks, expiredBlocks } from "../../shared/db/queries/blocks.ts";
import { deleteMetricsBefore } from "../../shared/db/queries/metrics.ts";
import { blockKey, tenantPrefix } from "../../shared/storage/keys.ts";
import type { ObjectStore } from "../../shared/storage/object-store.ts";

const DAY_MS = 86_400_000;

export async function applyRetention(db: Db, store: ObjectStore, tenantId: string, retentionDays: number, nowMs = Date.now()): Promise<{ blocks: number; ingestObjects: number }> {
  const cutoffMs = nowMs - retentionDays * DAY_MS;
  const expired = await expiredBlocks(db, tenantId, cutoffMs);
  // Objects first: a crash leaves a catalog row without an object, which the next run removes,
  // never an object no catalog row points at.
  await store.delete(expired.map((b) => blockKey(tenantId, b.id)));
  await deleteBlocks(db, tenantId, expired.map((b) => b.id));
  await deleteMetricsBefore(db, tenantId, Math.floor(cutoffMs / 60_000) * 60);
  const strays = (await store.list(`${tenantPrefix(tenantId)}ingest/`)).filter((o) => o.uploadedMs < cutoffMs);
  await store.delete(strays.map((o) => o.key));
  return { blocks: expired.length, ingestObjects: strays.length };
}
