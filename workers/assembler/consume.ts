/**
 * @module
 * One queue batch: per tenant, read the announced ingest objects, merge them into one block,
 * record the block in D1, then delete the ingest objects and ack.
 *
 * Metric rows: the batch's per-minute edge and operation rows are merged into the open rows of the
 * tenant's state object (shared/assembly/assembler-state.ts); rows of minutes closed at the
 * batch's watermark (its newest ingest receive time) leave the state and go to D1 in the same
 * batch as the catalog row, merged with any stored row of the minute. The state is written first,
 * conditionally on the version read, then the D1 batch; a failed D1 batch puts the old state back.
 *
 * Idempotency (delivery is at least once): the ingest object is the unit of work. It is deleted
 * only after its spans are in a catalogued block, so a redelivered message whose object is gone is
 * acked without work; the block id is a hash of its input keys, so a batch redelivered whole
 * rewrites the same block and its catalog insert is ignored. A catalogued block's metrics are in
 * the state or D1 already (the state was saved first), so they are skipped. A run that saved the
 * state and stopped before the D1 batch left `flushing` in the state: the retry writes that
 * instead of counting again. Only if that retry is grouped differently (another block id) and the
 * rollback also failed are the batch's open rows counted twice. If a redelivery regroups messages
 * differently, a span can land in two blocks; reads and compaction combine traces and drop
 * duplicate spans.
 */
import { assembleTenantBatch, deterministicBlockId } from "../../shared/assembly/assemble-batch.ts";
import { catalogRow } from "../../shared/assembly/catalog-row.ts";
import { encodeBlock } from "../../shared/block/encode-block.ts";
import type { BatchingDb } from "../../shared/db/client.ts";
import { indexStore } from "../../shared/db/select-index-store.ts";
import { blockExists, recordBlock } from "../../shared/db/queries/blocks.ts";
import { readEdgeRows, readOperationRows, writeMetricRows } from "../../shared/db/queries/metrics.ts";
import { decodeIngestBatch, type IngestBatchMessage, type IngestBatchObject } from "../../shared/ingest/batch-object.ts";
import { decodeState, emptyState, encodeState, mergeAndSplit, type FlushRecord } from "../../shared/assembly/assembler-state.ts";
import { upsertEdgeRows, type EdgeRow } from "../../shared/servicegraph/aggregate.ts";
import { upsertOperationRows, type OperationRow } from "../../shared/metrics/red.ts";
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
    objects.push(decodeIngestBatch(bytes));
    present.push(keys[i]!);
  }
  if (!objects.length) return { spans: 0 };

  const stateKey = serviceGraphStateKey(tenantId);
  const loaded = await store.getVersioned(stateKey);
  const state = decodeState(loaded?.bytes);
  const assembled = assembleTenantBatch(tenantId, objects, state.edges);
  // The batch's own clock, so that a redelivery closes the same minutes as the first run.
  const watermarkMs = Math.max(...objects.map((o) => o.receivedAtMs));

  const blockId = await deterministicBlockId(0, present);
  const encoded = await encodeBlock(assembled.traces, { tenantId, blockId, createdAtMs: nowMs });
  const key = blockKey(tenantId, blockId);
  await store.put(key, encoded.bytes);

  try {
    // Catalogued: the state was saved before the catalog row (below), so this batch's metrics are
    // in the state or in D1 already.
    if (!(await blockExists(db, tenantId, blockId))) {
      let flush: FlushRecord;
      let saved: string | undefined;
      if (state.lastBlockId === blockId && state.flushing?.blockId === blockId) {
        // A run of this same batch saved the state and stopped before its D1 batch: the state
        // has its rows; write what that run took out of it.
        flush = state.flushing;
      } else {
        const split = mergeAndSplit(state, assembled.edgeRows, assembled.operationRows, watermarkMs);
        flush = { blockId, edgeRows: split.closedEdgeRows, operationRows: split.closedOperationRows };
        const next = { edges: assembled.edgeState, openEdgeRows: split.openEdgeRows, openOperationRows: split.openOperationRows, lastBlockId: blockId, flushing: flush };
        // State first, conditionally: a concurrent writer (the cron's flush) makes this throw
        // before anything reaches D1, and the messages are retried.
        saved = await store.putIfMatch(stateKey, encodeState(next), loaded?.etag ?? null);
        if (saved === undefined) throw new Error("assembler state changed during the batch");
      }
      try {
        const rows = await mergeWithStored(db, tenantId, flush.edgeRows, flush.operationRows);
        await recordBlock(db, tenantId, catalogRow(encoded, 0, nowMs), rows.edgeRows, rows.operationRows);
      } catch (err) {
        // Put the state back so that the retry counts this batch once. If that fails too, the
        // retry finds `flushing` (same block id) or counts the batch's open rows twice (regrouped).
        if (saved !== undefined) await store.putIfMatch(stateKey, loaded ? loaded.bytes : encodeState(emptyState()), saved).catch(() => undefined);
        throw err;
      }
    }
  } catch (err) {
    // If it is not catalogued, remove the object: a retry grouped differently (another block id)
    // would leave it where no read, compaction or retention finds it. Only when the catalog says
    // so for certain: a write that failed after committing must not lose its block.
    const catalogued = await blockExists(db, tenantId, blockId).catch(() => true);
    if (!catalogued) await store.delete(key).catch(() => {});
    throw err;
  }
  await store.delete(present);
  return { blockId, spans: assembled.spanCount };
}

/** Closed rows merged with what D1 holds for their minutes (late spans reach written minutes). */
async function mergeWithStored(db: BatchingDb, tenantId: string, edgeRows: EdgeRow[], operationRows: OperationRow[]): Promise<{ edgeRows: EdgeRow[]; operationRows: OperationRow[] }> {
  if (!edgeRows.length && !operationRows.length) return { edgeRows, operationRows };
  const minutes = { in: [...new Set([...edgeRows.map((r) => r.minute), ...operationRows.map((r) => r.minute)])] };
  const [storedEdges, storedOps] = await Promise.all([readEdgeRows(db, tenantId, minutes), readOperationRows(db, tenantId, minutes)]);
  return {
    edgeRows: onlyChanged(upsertEdgeRows(storedEdges, edgeRows), edgeRows, (r) => `${r.minute}|${r.source}|${r.target}|${r.connectionType}`),
    operationRows: onlyChanged(upsertOperationRows(storedOps, operationRows), operationRows, (r) => `${r.minute}|${r.service}|${r.operation}|${r.kind}`),
  };
}

/**
 * The cron's flush: writes the rows of minutes closed at `nowMs` that a tenant's state still holds
 * because no batch came since (an idle tenant). The state is written first, only if no batch wrote
 * it since it was read; on a lost race nothing is written and the next batch flushes. Returns the
 * number of rows written.
 */
export async function flushClosedMinutes(db: BatchingDb, store: ObjectStore, tenantId: string, nowMs = Date.now()): Promise<number> {
  const stateKey = serviceGraphStateKey(tenantId);
  const loaded = await store.getVersioned(stateKey);
  if (!loaded) return 0;
  const state = decodeState(loaded.bytes);
  const split = mergeAndSplit(state, [], [], nowMs);
  if (!split.closedEdgeRows.length && !split.closedOperationRows.length) return 0;
  // lastBlockId and flushing stay: they describe the last batch, which a retry may still need.
  const next = { ...state, openEdgeRows: split.openEdgeRows, openOperationRows: split.openOperationRows };
  const saved = await store.putIfMatch(stateKey, encodeState(next), loaded.etag);
  if (saved === undefined) return 0;
  try {
    const rows = await mergeWithStored(db, tenantId, split.closedEdgeRows, split.closedOperationRows);
    await writeMetricRows(db, tenantId, rows.edgeRows, rows.operationRows);
    return rows.edgeRows.length + rows.operationRows.length;
  } catch (err) {
    await store.putIfMatch(stateKey, loaded.bytes, saved).catch(() => undefined);
    throw err;
  }
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
