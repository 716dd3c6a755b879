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
 * Idempotency (delivery is at least once): the ingest object is the unit of work, named by its key
 * whether it rides in the message (inline) or sits in R2. An R2 object is deleted only after its
 * spans are in a catalogued block, so a redelivered message whose object is gone is acked without
 * work; an inline key is listed in the state's recentBatches with its block, and one whose block
 * is catalogued is acked without work the same way. The block id is a hash of its input keys, so a batch redelivered whole
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
import { writeUsageRows } from "../../shared/db/queries/usage.ts";
import { usageDeltas } from "../../shared/assembly/usage-deltas.ts";
import { decodeIngestBatch, inflateInline, type IngestBatchMessage, type IngestBatchObject } from "../../shared/ingest/batch-object.ts";
import { blocksHolding, decodeState, emptyState, encodeState, mergeAndSplit, rememberAssembled, type FlushRecord } from "../../shared/assembly/assembler-state.ts";
import { upsertEdgeRows, type EdgeRow } from "../../shared/servicegraph/aggregate.ts";
import { upsertOperationRows, type OperationRow } from "../../shared/metrics/red.ts";
import { blockKey, serviceGraphStateKey, tenantOfKey, tenantPrefix } from "../../shared/storage/keys.ts";
import { r2Store, type ObjectStore } from "../../shared/storage/object-store.ts";
import type { AssemblerEnv } from "./env.ts";

/** One ingest object to assemble: an R2 key, or a key with the object inline (a v2 message). */
export type IngestSource = Pick<IngestBatchMessage, "key"> & Partial<Pick<IngestBatchMessage, "inline" | "bytes" | "spanCount" | "rejectedSpans" | "receivedAtMs">>;

/** A message that only reports refused spans: no object exists for it (ingest's reportRejected). */
const usageOnly = (s: IngestSource) => s.bytes === 0 && !s.inline;

/**
 * Attempts after which an inline message that still fails is written to R2 at its key and acked,
 * so that the cron's sweep (which retries every run, with no attempt limit) takes it over instead
 * of the dead-letter queue.
 */
export const SPILL_AFTER_ATTEMPTS = 5;

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
      await assembleForTenant(db, store, tenantId, messages.map((m) => m.body));
      for (const m of messages) m.ack();
    } catch (err) {
      console.error("assembler: tenant batch failed, will retry", tenantId, err);
      for (const m of messages) {
        if (m.body.inline && m.attempts >= SPILL_AFTER_ATTEMPTS && (await spillInline(store, m.body))) m.ack();
        else m.retry({ delaySeconds: 10 });
      }
    }
  }
}

/** Writes an inline object to R2 at its key, where sweepIngest finds it. False if that fails too. */
async function spillInline(store: ObjectStore, body: IngestBatchMessage): Promise<boolean> {
  try {
    await store.put(body.key, await inflateInline(body.inline!, body.bytes));
    return true;
  } catch (err) {
    console.error("assembler: could not spill", body.key, "to R2; the queue retries it", err);
    return false;
  }
}

async function readSource(store: ObjectStore, tenantId: string, source: IngestSource): Promise<IngestBatchObject | undefined> {
  let bytes: Uint8Array | undefined;
  if (source.inline) {
    if (source.bytes === undefined) throw new Error(`inline message ${source.key} has no size`);
    bytes = await inflateInline(source.inline, source.bytes);
  } else {
    bytes = await store.get(source.key);
    if (!bytes) return undefined; // already assembled: a redelivery
  }
  const object = decodeIngestBatch(bytes);
  if (object.tenantId !== tenantId) throw new Error(`ingest object ${source.key} is not tenant ${tenantId}'s`);
  return object;
}

export async function assembleForTenant(db: BatchingDb, store: ObjectStore, tenantId: string, sources: readonly IngestSource[], nowMs = Date.now()): Promise<{ blockId?: string; spans: number }> {
  const unique = [...new Map(sources.map((s) => [s.key, s])).values()];
  const stateKey = serviceGraphStateKey(tenantId);
  const loaded = await store.getVersioned(stateKey);
  const state = decodeState(loaded?.bytes);

  // Inline keys already in a catalogued block: a redelivery (see the module comment).
  const holding = blocksHolding(state, unique.filter((s) => s.inline || usageOnly(s)).map((s) => s.key));
  const doneBlocks = new Set<string>();
  for (const blockId of new Set(holding.values())) if (await blockExists(db, tenantId, blockId)) doneBlocks.add(blockId);
  const todo = unique.filter((s) => !usageOnly(s) && !doneBlocks.has(holding.get(s.key) ?? ""));
  const reportsOnly = unique.filter((s) => usageOnly(s) && !doneBlocks.has(holding.get(s.key) ?? ""));

  const objects: IngestBatchObject[] = [];
  const present: IngestSource[] = [];
  for (const [i, object] of (await Promise.all(todo.map((s) => readSource(store, tenantId, s)))).entries()) {
    if (!object) continue;
    objects.push(object);
    present.push(todo[i]!);
  }
  if (!objects.length) {
    // No block to record them with, so these counts are not protected against redelivery.
    if (reportsOnly.length) await writeUsageRows(db, tenantId, usageDeltas([], reportsOnly));
    return { spans: 0 };
  }

  const assembled = assembleTenantBatch(tenantId, objects, state.edges);
  // The batch's own clock, so that a redelivery closes the same minutes as the first run.
  const watermarkMs = Math.max(...objects.map((o) => o.receivedAtMs));

  const blockId = await deterministicBlockId(0, present.map((s) => s.key));

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
        // Usage-only keys too: their counts go into this block's D1 batch.
        const inlineKeys = [...present.filter((s) => s.inline), ...reportsOnly].map((s) => s.key);
        const next = {
          edges: assembled.edgeState,
          openEdgeRows: split.openEdgeRows,
          openOperationRows: split.openOperationRows,
          lastBlockId: blockId,
          flushing: flush,
          recentBatches: rememberAssembled(state.recentBatches, { blockId, atMs: nowMs, keys: inlineKeys }, nowMs),
        };
        // State first, conditionally: a concurrent writer (the cron's flush) makes this throw
        // before anything reaches D1, and the messages are retried.
        saved = await store.putIfMatch(stateKey, encodeState(next), loaded?.etag ?? null);
        if (saved === undefined) throw new Error("assembler state changed during the batch");
      }
      try {
        const rows = await mergeWithStored(db, tenantId, flush.edgeRows, flush.operationRows);
        // Usage in the same D1 batch as the catalog row: counted once, with the block.
        const usage = usageDeltas(objects, [...present, ...reportsOnly]);
        await recordBlock(db, tenantId, catalogRow(encoded, 0, nowMs), rows.edgeRows, rows.operationRows, usage);
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
  const objectKeys = present.filter((s) => !s.inline).map((s) => s.key);
  if (objectKeys.length) await store.delete(objectKeys);
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
  for (let i = 0; i < stale.length; i += 100) await assembleForTenant(db, store, tenantId, stale.slice(i, i + 100).map((key) => ({ key })), nowMs);
  return stale.length;
}
