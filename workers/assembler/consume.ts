/**
 * @module
 * One queue batch: per tenant, read the announced ingest objects, merge them into one block,
 * record the block and its metric rows in one D1 batch, then delete the ingest objects and ack.
 *
 * Idempotency (delivery is at least once): the ingest object is the unit of work. It is deleted
 * only after its spans are in a catalogued block, so a redelivered message whose object is gone is
 * acked without work; the block id is a hash of its input keys, so a batch redelivered whole
 * rewrites the same block and its catalog insert is ignored (metrics are skipped when the block is
 * already recorded). If a redelivery regroups messages differently, a span can land in two blocks;
 * reads and compaction combine traces and drop duplicate spans.
 */
import { assembleTenantBatch, deterministicBlockId } from "../../shared/assembly/assemble-batch.ts";
import { catalogRow } from "../../shared/assembly/catalog-row.ts";
import { encodeBlock } from "../../shared/block/encode-block.ts";
import type { BatchingDb } from "../../shared/db/client.ts";
import { indexStore } from "../../shared/db/select-index-store.ts";
import { blockExists, recordBlock } from "../../shared/db/queries/blocks.ts";
import { readEdgeRows, readOperationRows } from "../../shared/db/queries/metrics.ts";
import { decodeIngestBatch, type IngestBatchMessage, type IngestBatchObject } from "../../shared/ingest/batch-object.ts";
import { upsertEdgeRows } from "../../shared/servicegraph/aggregate.ts";
import { upsertOperationRows } from "../../shared/metrics/red.ts";
import type { EdgeStoreState } from "../../shared/servicegraph/edges.ts";
import { blockKey, serviceGraphStateKey, tenantOfKey, tenantPrefix } from "../../shared/storage/keys.ts";
import { r2Store, type ObjectStore } from "../../shared/storage/object-store.ts";
import type { AssemblerEnv } from "./env.ts";

export async function consumeBatch(batch: MessageBatch<IngestBatchMessage>, env: AssemblerEnv): Promise<void> {
  const byTenant = new Map<string, Message<IngestBatchMessage>[]>();
  for (const m of batch.messages) {
    // The tenant comes from the object key, which ingest built from the authenticated key.
    const tenantId = tenantOfKey(m.body.key);
    if (!tenantId || tenantId !== m.body.tenantId) {
      console.error("assembler: dropping a message whose key is not its tenant's", m.body.key);
      m.ack();
      continue;
    }
    let list = byTenant.get(tenantId);
    if (!list) byTenant.set(tenantId, (list = []));
    list.push(m);
  }
  const store = r2Store(env.SPANS);
  const db = await indexStore(env);
  for (const [tenantId, messages] of byTenant) {
    try {
      await assembleForTenant(db, store, tenantId, messages.map((m) => m.body.key));
      for (const m of messages) m.ack();
    } catch (err) {
      console.error("assembler: tenant batch failed, will retry", tenantId, err);
      for (const m of messages) m.retry({ delaySeconds: 10 });
    }
  }
}

export async function assembleForTenant(db: BatchingDb, store: ObjectStore, tenantId: string, ingestKeys: string[], nowMs = Date.now()): Promise<{ blockId?: string; spans: number }> {
  const keys = [...new Set(ingestKeys)];
  const objects: IngestBatchObject[] = [];
  const present: string[] = [];
  for (const [i, bytes] of (await Promise.all(keys.map((k) => store.get(k)))).entries()) {
    if (!bytes) continue; // already assembled: a redelivery
    objects.push(await decodeIngestBatch(bytes));
    present.push(keys[i]!);
  }
  if (!objects.length) return { spans: 0 };

  const stateBytes = await store.get(serviceGraphStateKey(tenantId));
  const edgeState = stateBytes ? (JSON.parse(new TextDecoder().decode(stateBytes)) as EdgeStoreState) : undefined;
  const assembled = assembleTenantBatch(tenantId, objects, edgeState);

  const blockId = await deterministicBlockId(0, present);
  const encoded = await encodeBlock(assembled.traces, { tenantId, blockId, createdAtMs: nowMs });
  const key = blockKey(tenantId, blockId);
  await store.put(key, encoded.bytes);

  let recorded: boolean;
  try {
    recorded = await blockExists(db, tenantId, blockId);
    if (!recorded) {
      const minutes = { in: [...new Set([...assembled.edgeRows.map((r) => r.minute), ...assembled.operationRows.map((r) => r.minute)])] };
      const [storedEdges, storedOps] = await Promise.all([readEdgeRows(db, tenantId, minutes), readOperationRows(db, tenantId, minutes)]);
      await recordBlock(
        db,
        tenantId,
        catalogRow(encoded, 0, nowMs),
        onlyChanged(upsertEdgeRows(storedEdges, assembled.edgeRows), assembled.edgeRows, (r) => `${r.minute}|${r.source}|${r.target}|${r.connectionType}`),
        onlyChanged(upsertOperationRows(storedOps, assembled.operationRows), assembled.operationRows, (r) => `${r.minute}|${r.service}|${r.operation}|${r.kind}`),
      );
    }
  } catch (err) {
    // If it is not catalogued, remove the object: a retry grouped differently (another block id)
    // would leave it where no read, compaction or retention finds it. Only when the catalog says
    // so for certain: a write that failed after committing must not lose its block.
    const catalogued = await blockExists(db, tenantId, blockId).catch(() => true);
    if (!catalogued) await store.delete(key).catch(() => {});
    throw err;
  }
  if (!recorded) await store.put(serviceGraphStateKey(tenantId), JSON.stringify(assembled.edgeState));
  await store.delete(present);
  return { blockId, spans: assembled.spanCount };
}

/** Only the merged rows whose key this batch touched: untouched stored rows need no rewrite. */
function onlyChanged<T>(merged: T[], incoming: T[], key: (r: T) => string): T[] {
  const touched = new Set(incoming.map(key));
  return merged.filter((r) => touched.has(key(r)));
}


/** Ingest objects older than this, still present, lost their queue message (see sweepIngest). */
export const SWEEP_AFTER_MS = 10 * 60_000;

/**
 * Assembles ingest objects whose message never completed: a message that ran out of retries, or
 * a local queue lost with a restarted `wrangler dev`. The object is the unit of work, so this is
 * the same step the queue would have run. Runs on the cron, in groups of up to 100 objects.
 */
export async function sweepIngest(db: BatchingDb, store: ObjectStore, tenantId: string, nowMs = Date.now()): Promise<number> {
  const stale = (await store.list(`${tenantPrefix(tenantId)}ingest/`)).filter((o) => o.uploadedMs < nowMs - SWEEP_AFTER_MS).map((o) => o.key);
  for (let i = 0; i < stale.length; i += 100) await assembleForTenant(db, store, tenantId, stale.slice(i, i + 100), nowMs);
  return stale.length;
}
