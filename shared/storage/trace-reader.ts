/**
 * @module
 * Trace by id over the block catalog: the tenant's blocks newest first, narrowed by a time range
 * when one is given, each block's trace-id filter tested in memory before any R2 read, and the
 * fragments found in several blocks (late spans, not yet compacted) combined into one trace.
 *
 * The filters come from the isolate's cache where it holds them (shared/storage/trace-filter-cache.ts):
 * the catalog is still listed on every lookup (from its index), and a cached filter serves only a
 * block listed then.
 */
import { BlockGone, blockRangeReader } from "./block-range-reader.ts";
import type { Db } from "../db/client.ts";
import { blockFiltersById, listBlockFilterRows, listBlockFilters, listBlocksForFilterCache, type BlockFilterRow } from "../db/queries/blocks.ts";
import type { ResourceSpans } from "../model/span.ts";
import { combineTraces } from "../block/combine.ts";
import { filterMayContain, readTrace } from "../block/read-block.ts";
import type { ObjectStore } from "./object-store.ts";
import { TraceFilterCache } from "./trace-filter-cache.ts";

export interface TraceLookupStats {
  blocksInRange: number;
  blocksRead: number;
  /** Trace-id filters this lookup read from D1: every block's without a cache, the uncached ones' with it. */
  filtersRead: number;
}

/** The isolate's cache of catalog filters: module scope, so it lives as long as the isolate. */
export const isolateFilterCache = new TraceFilterCache();

/** Attempts at most: a block gone from R2 (compaction swapped it after the catalog read) runs the lookup again. */
const MAX_ATTEMPTS = 3;

/**
 * `filters`: the cache to use, the isolate's by default; `null` reads every filter from D1 as
 * before the cache (for comparisons).
 */
export async function findTrace(
  db: Db,
  store: ObjectStore,
  tenantId: string,
  traceId: string,
  range: { startMs?: number; endMs?: number } = {},
  filters: TraceFilterCache | null = isolateFilterCache,
): Promise<{ resourceSpans: ResourceSpans[]; stats: TraceLookupStats } | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await findTraceOnce(db, store, tenantId, traceId, range, filters);
    } catch (err) {
      // Compaction may have swapped blocks between our catalog read and the R2 reads: look again.
      if (err instanceof BlockGone && attempt < MAX_ATTEMPTS) continue;
      throw err;
    }
  }
}

export interface CandidateBlock {
  id: string;
  bytes: number;
  traceFilter: Uint8Array;
}

type Range = { startMs?: number; endMs?: number };

/**
 * The tenant's catalog rows in range, newest end first, each with its trace-id filter: without a
 * cache, or with nothing cached for the tenant, every row from D1 (`listBlockFilters`); with some,
 * one statement that lists the blocks from the index and reads the rows only of blocks the cache
 * lacks, and (past the cache's `maxKnownIds` only) a second query by id.
 */
export async function catalogFilters(db: Db, tenantId: string, range: Range, filters: TraceFilterCache | null): Promise<{ blocks: CandidateBlock[]; filtersRead: number }> {
  if (!filters) {
    const rows = await listBlockFilters(db, tenantId, range);
    return { blocks: rows, filtersRead: rows.length };
  }
  const known = filters.known(tenantId);
  if (!known.ids.length) {
    // Nothing cached for the tenant: one plain read of its rows, as without a cache, kept.
    const rows = await listBlockFilterRows(db, tenantId, range);
    remember(filters, tenantId, range, rows, rows);
    return { blocks: rows, filtersRead: rows.length };
  }
  const { listed, rows } = await listBlocksForFilterCache(db, tenantId, { endFromMs: range.startMs, knownIds: known.ids, rowsFromMs: known.rowsFromMs });
  const read = new Map(rows.map((r) => [r.id, r]));
  const found = listed.map((l) => read.get(l.id) ?? filters.get(tenantId, l.id, l.endMs));
  const missing = listed.filter((_, i) => !found[i]);
  if (missing.length) {
    const byId = new Map((await blockFiltersById(db, tenantId, missing.map((l) => l.id))).map((r) => [r.id, r]));
    if (missing.some((l) => byId.get(l.id)?.endMs !== l.endMs)) {
      // A listed block left the catalog before this second read, and what replaced it is not in
      // the listing: read the catalog again, filters and all, in one statement.
      const all = await listBlockFilters(db, tenantId, range);
      return { blocks: all, filtersRead: read.size + byId.size + all.length };
    }
    for (const [i, l] of listed.entries()) found[i] ??= byId.get(l.id);
    for (const r of byId.values()) read.set(r.id, r);
  }
  remember(filters, tenantId, range, listed, read.values());
  // The index gave blocks ending at or after the range's start; those starting after its end go here.
  const blocks = (found as BlockFilterRow[]).filter((b) => range.endMs === undefined || b.startMs <= range.endMs);
  return { blocks, filtersRead: read.size };
}

/**
 * Caches the rows read, oldest first (a tenant over the byte cap keeps its newest); a listing
 * without a range also tells which cached blocks left the catalog.
 */
function remember(filters: TraceFilterCache, tenantId: string, range: Range, listed: readonly { id: string }[], read: Iterable<BlockFilterRow>): void {
  if (range.startMs === undefined && range.endMs === undefined) filters.retain(tenantId, new Set(listed.map((l) => l.id)));
  for (const r of [...read].sort((a, b) => a.endMs - b.endMs)) filters.put(tenantId, r);
}

async function findTraceOnce(
  db: Db,
  store: ObjectStore,
  tenantId: string,
  traceId: string,
  range: Range,
  filters: TraceFilterCache | null,
): Promise<{ resourceSpans: ResourceSpans[]; stats: TraceLookupStats } | undefined> {
  const { blocks: candidates, filtersRead } = await catalogFilters(db, tenantId, range, filters);
  const hits = candidates.filter((b) => filterMayContain(b.traceFilter, traceId));
  const parts = await Promise.all(
    hits.map(async (b) => {
      try {
        const found = await readTrace(blockRangeReader(store, tenantId, b.id), b.bytes, traceId);
        return found?.resourceSpans;
      } catch (err) {
        if (err instanceof BlockGone) filters?.drop(tenantId, b.id);
        throw err;
      }
    }),
  );
  const found = parts.filter((p): p is ResourceSpans[] => p !== undefined);
  if (!found.length) return undefined;
  return { resourceSpans: found.length === 1 ? found[0]! : combineTraces(found), stats: { blocksInRange: candidates.length, blocksRead: hits.length, filtersRead } };
}
