/**
 * @module
 * Trace by id over the block catalog: the tenant's blocks newest first, narrowed by a time range
 * when one is given, each block's trace-id filter tested in memory before any R2 read, and the
 * fragments found in several blocks (late spans, not yet compacted) combined into one trace.
 *
 * The filters come from the isolate's cache where it holds them (shared/storage/trace-filter-cache.ts):
 * the catalog is still listed on every lookup, and a cached filter serves only a block listed then.
 */
import { BlockGone, blockRangeReader } from "./block-range-reader.ts";
import type { Db } from "../db/client.ts";
import { blockFiltersById, listBlockFilterRows, listBlockFilters, type BlockFilterRow } from "../db/queries/blocks.ts";
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

/** Lookups after a block turned out gone from R2 (compaction swapped it after the catalog read). */
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

/**
 * The tenant's catalog rows in range, newest end first, each with its trace-id filter: one D1
 * query that sends only the filters `filters` lacks (or every filter, without a cache), and a
 * second one by id for listed blocks whose filter neither the cache nor the first query had.
 */
export async function catalogFilters(
  db: Db,
  tenantId: string,
  range: { startMs?: number; endMs?: number },
  filters: TraceFilterCache | null,
): Promise<{ blocks: CandidateBlock[]; filtersRead: number }> {
  if (!filters) {
    const rows = await listBlockFilters(db, tenantId, range);
    return { blocks: rows, filtersRead: rows.length };
  }
  const rows = await listBlockFilterRows(db, tenantId, range, filters.known(tenantId));
  const found = rows.map((r) => r.traceFilter ?? filters.get(tenantId, r));
  let read = rows.filter(hasFilter);
  const missing = rows.filter((_, i) => !found[i]);
  if (missing.length) {
    const byId = new Map((await blockFiltersById(db, tenantId, missing.map((r) => r.id))).map((r) => [r.id, r]));
    const same = (r: BlockFilterRow) => {
      const now = byId.get(r.id);
      return now !== undefined && now.bytes === r.bytes && now.createdAtMs === r.createdAtMs;
    };
    if (missing.every(same)) {
      for (const [i, r] of rows.entries()) found[i] ??= byId.get(r.id)!.traceFilter!;
      read = [...read, ...missing.map((r) => ({ ...r, traceFilter: byId.get(r.id)!.traceFilter! }))];
    } else {
      // A listed block left the catalog (or came back changed) between the two queries: its
      // replacement may be missing from the listing. Read the catalog once more, filters and all,
      // in one query, as the uncached path does.
      const all = await listBlockFilterRows(db, tenantId, range);
      remember(filters, tenantId, all.filter(hasFilter), range);
      return { blocks: all.map((r) => ({ id: r.id, bytes: r.bytes, traceFilter: r.traceFilter! })), filtersRead: read.length + byId.size + all.length };
    }
  }
  remember(filters, tenantId, read, range, rows);
  return { blocks: rows.map((r, i) => ({ id: r.id, bytes: r.bytes, traceFilter: found[i]! })), filtersRead: read.length };
}

type RowWithFilter = BlockFilterRow & { traceFilter: Uint8Array };
const hasFilter = (r: BlockFilterRow): r is RowWithFilter => r.traceFilter !== null;

/** Caches the filters read, oldest block first (so a tenant over the byte cap keeps its newest); a full listing also drops what left the catalog. */
function remember(filters: TraceFilterCache, tenantId: string, read: RowWithFilter[], range: { startMs?: number; endMs?: number }, listed: readonly { id: string }[] = read): void {
  if (range.startMs === undefined && range.endMs === undefined) filters.retain(tenantId, new Set(listed.map((r) => r.id)));
  for (let i = read.length - 1; i >= 0; i--) filters.put(tenantId, read[i]!);
}

async function findTraceOnce(
  db: Db,
  store: ObjectStore,
  tenantId: string,
  traceId: string,
  range: { startMs?: number; endMs?: number },
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
