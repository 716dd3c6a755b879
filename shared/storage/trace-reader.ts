/**
 * @module
 * Trace by id over the block catalog: the tenant's blocks newest first, narrowed by a time range
 * when one is given, each block's trace-id filter tested in memory before any R2 read, and the
 * fragments found in several blocks (late spans, not yet compacted) combined into one trace.
 */
import { BlockGone, blockRangeReader } from "./block-range-reader.ts";
import type { Db } from "../db/client.ts";
import { listBlockFilters } from "../db/queries/blocks.ts";
import type { ResourceSpans } from "../model/span.ts";
import { combineTraces } from "../block/combine.ts";
import { filterMayContain, readTrace } from "../block/read-block.ts";
import type { ObjectStore } from "./object-store.ts";

export interface TraceLookupStats {
  blocksInRange: number;
  blocksRead: number;
}

export async function findTrace(
  db: Db,
  store: ObjectStore,
  tenantId: string,
  traceId: string,
  range: { startMs?: number; endMs?: number } = {},
): Promise<{ resourceSpans: ResourceSpans[]; stats: TraceLookupStats } | undefined> {
  try {
    return await findTraceOnce(db, store, tenantId, traceId, range);
  } catch (err) {
    // Compaction may have swapped blocks between our catalog read and the R2 reads: look again.
    if (err instanceof BlockGone) return findTraceOnce(db, store, tenantId, traceId, range);
    throw err;
  }
}


async function findTraceOnce(
  db: Db,
  store: ObjectStore,
  tenantId: string,
  traceId: string,
  range: { startMs?: number; endMs?: number } = {},
): Promise<{ resourceSpans: ResourceSpans[]; stats: TraceLookupStats } | undefined> {
  const candidates = await listBlockFilters(db, tenantId, range);
  const hits = candidates.filter((b) => filterMayContain(b.traceFilter, traceId));
  const parts = await Promise.all(
    hits.map(async (b) => {
      const found = await readTrace(blockRangeReader(store, tenantId, b.id), b.bytes, traceId);
      return found?.resourceSpans;
    }),
  );
  const found = parts.filter((p): p is ResourceSpans[] => p !== undefined);
  if (!found.length) return undefined;
  return { resourceSpans: found.length === 1 ? found[0]! : combineTraces(found), stats: { blocksInRange: candidates.length, blocksRead: hits.length } };
}
