/**
 * @module
 * Scheduled compaction: small level-n blocks of a tenant are merged into one level-n+1 block, with
 * the fragments of each trace combined and duplicate spans dropped. The catalog swap is one D1
 * batch; input objects are deleted after it (a reader caught in between retries, see
 * trace-reader.ts). The output id is a hash of the input ids, so a rerun after a crash rewrites
 * the same block.
 */
import { deterministicBlockId } from "../../shared/assembly/plan.ts";
import { mergeTraceFragments } from "../../shared/block/combine.ts";
import { encodeBlock } from "../../shared/block/encode-block.ts";
import { decodeBlock } from "../../shared/block/read-block.ts";
import type { BatchingDb } from "../../shared/db/client.ts";
import { compactionCandidates, replaceBlocks } from "../../shared/db/queries/blocks.ts";
import { blockKey } from "../../shared/storage/keys.ts";
import type { ObjectStore } from "../../shared/storage/object-store.ts";
import { catalogRow } from "../../shared/assembly/catalog-row.ts";

/** Per level: how many blocks wait before a merge, and at most how many one merge takes. */
export const COMPACTION_LEVELS = [
  { level: 0, minInputs: 4, maxInputs: 32 },
  { level: 1, minInputs: 8, maxInputs: 16 },
] as const;
/** Blocks younger than this are left alone: late spans for them may still be arriving. */
export const COMPACTION_MIN_AGE_MS = 2 * 60_000;

export async function compactTenant(db: BatchingDb, store: ObjectStore, tenantId: string, nowMs = Date.now()): Promise<{ merged: number; into: string[] }> {
  let merged = 0;
  const into: string[] = [];
  for (const { level, minInputs, maxInputs } of COMPACTION_LEVELS) {
    const inputs = await compactionCandidates(db, tenantId, level, nowMs - COMPACTION_MIN_AGE_MS, maxInputs);
    if (inputs.length < minInputs) continue;
    const fragments = [];
    for (const b of inputs) {
      const bytes = await store.get(blockKey(tenantId, b.id));
      if (!bytes) throw new Error(`compaction: block ${b.id} is catalogued but missing`);
      for (const t of (await decodeBlock(bytes)).traces) fragments.push({ traceId: t.summary.traceId, resourceSpans: t.resourceSpans });
    }
    // The same merge as assembly (shared/assembly/plan.ts): fragments by trace id, duplicates dropped.
    const traces = mergeTraceFragments(fragments);
    const blockId = await deterministicBlockId(level + 1, inputs.map((b) => b.id));
    const encoded = await encodeBlock(traces, { tenantId, blockId, createdAtMs: nowMs });
    await store.put(blockKey(tenantId, blockId), encoded.bytes);
    await replaceBlocks(
      db,
      tenantId,
      catalogRow(encoded, level + 1, nowMs),
      inputs.map((b) => b.id),
    );
    await store.delete(inputs.map((b) => blockKey(tenantId, b.id)));
    merged += inputs.length;
    into.push(blockId);
  }
  return { merged, into };
}
