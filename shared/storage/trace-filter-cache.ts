/**
 * @module
 * Trace by id's per-isolate cache of the tenants' catalog filters (`blocks.trace_filter`), so a
 * lookup does not read every block's catalog row from D1 again.
 *
 * The cache only ever answers "this is block X's filter (and size and time span)", never "these
 * are the tenant's blocks": every lookup still lists the tenant's blocks in D1, and in the same
 * statement reads the whole rows of the listed blocks the cache does not hold
 * (`listBlocksForFilterCache`). The listing comes from the `(tenant_id, end_ms)` index alone, which
 * is what makes it cheap; reading the rows was most of the cost, whether or not their filters were
 * sent back. A cached filter is used only for a block that listing just returned, so a block that
 * compaction or retention removed is never read however long the cache keeps it, a block added in
 * any order by any consumer is read by the next lookup, and an isolate whose cache is empty,
 * evicted or full of dead entries answers exactly as the uncached path does, only slower.
 *
 * Identity: a block id is a hash of the block's inputs (`deterministicBlockId`: ingest keys for
 * level 0, input block ids above) and catalog rows are never updated, so an id names one set of
 * trace ids for good; the cache also checks the listed `end_ms` (free from the index).
 *
 * The listing's statement carries the cached ids of the tenant as one JSON parameter. Past
 * `maxKnownIds` (2,000, about 60 KB of JSON) only the newest-ending are sent and rows are read
 * only for blocks ending after the last of them; a listed block older than that and not cached
 * is read by id in a second query (the cache keeps serving the older blocks it holds).
 *
 * Memory: at most `maxBytes` (8 MiB by default, of an isolate's 128 MB) over all tenants, counted
 * as the filter's bytes plus `ENTRY_OVERHEAD_BYTES` and the id per block. Tenants are evicted
 * least recently used first; a tenant whose filters alone exceed the cap loses its first-cached
 * blocks (a first fill caches oldest first, so those are the oldest) and has them read from D1 on
 * every lookup. A week of 10-minute blocks of 200 traces (the trace-by-id bench: 1,008 blocks,
 * 402-byte filters) is about 0.7 MB; 10,000-trace blocks (20 KB filters at 16 bits per trace) fit
 * about 400.
 */
import type { BlockFilterRow } from "../db/queries/blocks.ts";

export const FILTER_CACHE_MAX_BYTES = 8 * 1024 * 1024;
export const MAX_KNOWN_IDS = 2_000;
/** The Map entry, the entry object, the Uint8Array and its ArrayBuffer, rounded up. */
export const ENTRY_OVERHEAD_BYTES = 256;

interface CachedBlock extends Omit<BlockFilterRow, "id"> {
  size: number;
}

interface TenantFilters {
  blocks: Map<string, CachedBlock>;
  size: number;
}

export class TraceFilterCache {
  readonly maxBytes: number;
  readonly maxKnownIds: number;
  /** Least recently used tenant first (Map order; a use moves the tenant to the end). */
  private readonly tenants = new Map<string, TenantFilters>();
  private size = 0;

  constructor(opts: { maxBytes?: number; maxKnownIds?: number } = {}) {
    this.maxBytes = opts.maxBytes ?? FILTER_CACHE_MAX_BYTES;
    this.maxKnownIds = opts.maxKnownIds ?? MAX_KNOWN_IDS;
  }

  /**
   * What the catalog read may skip for this tenant: the rows of `ids`, and of every block ending
   * before `rowsFromMs` (set when the cached ids are more than `maxKnownIds`).
   */
  known(tenantId: string): { ids: string[]; rowsFromMs?: number } {
    const t = this.touch(tenantId);
    if (!t) return { ids: [] };
    if (t.blocks.size <= this.maxKnownIds) return { ids: [...t.blocks.keys()] };
    const newest = [...t.blocks].sort(([, a], [, b]) => b.endMs - a.endMs).slice(0, this.maxKnownIds);
    // Blocks ending at that very millisecond but cut off are read again: bytes wasted, never a miss.
    return { ids: newest.map(([id]) => id), rowsFromMs: newest.at(-1)![1].endMs };
  }

  /** The cached block `id`, if the listing's end time is the cached one's. */
  get(tenantId: string, id: string, endMs: number): BlockFilterRow | undefined {
    const b = this.tenants.get(tenantId)?.blocks.get(id);
    return b && b.endMs === endMs ? { id, startMs: b.startMs, endMs: b.endMs, bytes: b.bytes, traceFilter: b.traceFilter } : undefined;
  }

  put(tenantId: string, row: BlockFilterRow): void {
    let t = this.touch(tenantId);
    if (!t) {
      t = { blocks: new Map(), size: 0 };
      this.tenants.set(tenantId, t);
    }
    this.remove(t, row.id);
    const f = row.traceFilter;
    // A view into a larger buffer (a driver's row buffer) would keep all of it alive: copy.
    const traceFilter = f.byteOffset === 0 && f.buffer.byteLength === f.byteLength ? f : f.slice();
    const size = traceFilter.byteLength + ENTRY_OVERHEAD_BYTES + 2 * row.id.length;
    t.blocks.set(row.id, { startMs: row.startMs, endMs: row.endMs, bytes: row.bytes, traceFilter, size });
    t.size += size;
    this.size += size;
    this.evict(tenantId);
  }

  /** Forgets one block (its object is gone from R2). */
  drop(tenantId: string, blockId: string): void {
    const t = this.tenants.get(tenantId);
    if (t) this.remove(t, blockId);
  }

  /** Forgets the tenant's cached blocks that a full (unranged) listing no longer holds. */
  retain(tenantId: string, ids: ReadonlySet<string>): void {
    const t = this.tenants.get(tenantId);
    if (!t) return;
    for (const id of [...t.blocks.keys()]) if (!ids.has(id)) this.remove(t, id);
  }

  stats(): { tenants: number; blocks: number; bytes: number; byTenant: Record<string, { blocks: number; bytes: number }> } {
    const byTenant: Record<string, { blocks: number; bytes: number }> = {};
    let blocks = 0;
    for (const [id, t] of this.tenants) {
      byTenant[id] = { blocks: t.blocks.size, bytes: t.size };
      blocks += t.blocks.size;
    }
    return { tenants: this.tenants.size, blocks, bytes: this.size, byTenant };
  }

  clear(): void {
    this.tenants.clear();
    this.size = 0;
  }

  private touch(tenantId: string): TenantFilters | undefined {
    const t = this.tenants.get(tenantId);
    if (t) {
      this.tenants.delete(tenantId);
      this.tenants.set(tenantId, t);
    }
    return t;
  }

  private remove(t: TenantFilters, blockId: string): void {
    const b = t.blocks.get(blockId);
    if (!b) return;
    t.blocks.delete(blockId);
    t.size -= b.size;
    this.size -= b.size;
  }

  /** Least recently used tenants out first; the tenant being filled last, its first-cached blocks first. */
  private evict(current: string): void {
    for (const [id, t] of this.tenants) {
      if (this.size <= this.maxBytes) return;
      if (id === current) continue;
      this.size -= t.size;
      this.tenants.delete(id);
    }
    const t = this.tenants.get(current);
    if (!t) return;
    for (const id of t.blocks.keys()) {
      if (this.size <= this.maxBytes) break;
      this.remove(t, id);
    }
    if (!t.blocks.size) this.tenants.delete(current);
  }
}
