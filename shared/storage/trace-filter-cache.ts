/**
 * @module
 * Trace by id's per-isolate cache of the tenants' catalog filters (`blocks.trace_filter`), so a
 * lookup without a time range does not read every block's filter from D1 again.
 *
 * The cache only ever answers "this is block X's filter", never "these are the tenant's blocks":
 * every lookup still lists the tenant's catalog rows (ids, sizes, creation times, newest end first)
 * in the same D1 query as before, and the cache spares that query the filters it already holds
 * (`listBlockFilterRows` with `filtersFor`). A cached filter is used only for a block the listing
 * just returned, with the same id, size and creation time (catalog rows are never updated; a block
 * id depends only on its inputs). So a block that compaction or retention removed is not read
 * however long the cache keeps it, a block added in any order by any consumer is seen by the next
 * lookup, and an isolate whose cache is empty, evicted or full of dead entries answers exactly as
 * the uncached path does, only slower.
 *
 * What the listing sends: the filters of rows created at or after `RECENT_MARGIN_MS` before the
 * newest creation time cached, minus the ids cached among them. New blocks are almost always
 * there (a level-0 block's `created_at` is the newest receive time of its inputs, so a backlog or
 * a slow consumer can catalogue a block whose `created_at` is a few minutes older than blocks
 * already catalogued; compaction's blocks carry the time of the merge), so a lookup normally costs
 * one D1 query; an uncached row older than that (a long backlog, or a filter evicted by the byte
 * cap) comes without its filter and is read by id in a second query. The margin only decides which
 * of the two queries carries a filter, never whether a block is tested.
 *
 * Memory: at most `FILTER_CACHE_MAX_BYTES` (8 MiB of the isolate's 128 MB) over all tenants,
 * counted as the filter's bytes plus `ENTRY_OVERHEAD_BYTES` and the id per block. Tenants are
 * evicted least recently used first; a tenant whose filters alone exceed the cap loses its
 * first-cached blocks (a first fill caches oldest first, so those are the oldest), and on every
 * lookup reads from D1 the filters that do not fit, as many as without a cache. A week of 10-minute blocks of 200 traces
 * (the trace-by-id bench: 1,008 blocks, 409-byte filters) is about 0.7 MB; 10,000-trace blocks
 * (12.5 KB filters) fit about 640 blocks.
 */
import type { BlockFilterRow } from "../db/queries/blocks.ts";

export const FILTER_CACHE_MAX_BYTES = 8 * 1024 * 1024;
/** The Map entry, the entry object, the Uint8Array and its ArrayBuffer, rounded up. */
export const ENTRY_OVERHEAD_BYTES = 256;
/** How far before the newest cached block's `created_at` the listing still sends filters of blocks not cached. */
export const RECENT_MARGIN_MS = 15 * 60_000;
/** The most cached ids the listing is told to leave out (one JSON parameter); older ones are sent again. */
export const MAX_EXCEPT_IDS = 500;

interface CachedFilter {
  bytes: number;
  createdAtMs: number;
  filter: Uint8Array;
  size: number;
}

interface TenantFilters {
  blocks: Map<string, CachedFilter>;
  size: number;
}

export class TraceFilterCache {
  /** Least recently used tenant first (Map order; a use moves the tenant to the end). */
  private readonly tenants = new Map<string, TenantFilters>();
  private size = 0;

  readonly maxBytes: number;

  constructor(maxBytes = FILTER_CACHE_MAX_BYTES) {
    this.maxBytes = maxBytes;
  }

  /**
   * What the catalog listing may leave out for this tenant: filters of blocks created before
   * `createdFromMs`, and of the cached blocks created since. Undefined (send every filter) when
   * nothing is cached for the tenant.
   */
  known(tenantId: string): { createdFromMs: number; exceptIds: string[] } | undefined {
    const t = this.touch(tenantId);
    if (!t?.blocks.size) return undefined;
    let newest = -Infinity;
    for (const b of t.blocks.values()) newest = Math.max(newest, b.createdAtMs);
    let createdFromMs = newest - RECENT_MARGIN_MS;
    let recent = [...t.blocks].filter(([, b]) => b.createdAtMs >= createdFromMs);
    if (recent.length > MAX_EXCEPT_IDS) {
      recent.sort(([, a], [, b]) => b.createdAtMs - a.createdAtMs);
      recent = recent.slice(0, MAX_EXCEPT_IDS);
      // Blocks created at this instant but cut off are sent again: wasted bytes, never a miss.
      createdFromMs = recent[recent.length - 1]![1].createdAtMs;
    }
    return { createdFromMs, exceptIds: recent.map(([id]) => id) };
  }

  /** The cached filter of this catalog row, if it is the row's own (same size and creation time). */
  get(tenantId: string, row: Pick<BlockFilterRow, "id" | "bytes" | "createdAtMs">): Uint8Array | undefined {
    const b = this.tenants.get(tenantId)?.blocks.get(row.id);
    return b && b.bytes === row.bytes && b.createdAtMs === row.createdAtMs ? b.filter : undefined;
  }

  put(tenantId: string, row: BlockFilterRow & { traceFilter: Uint8Array }): void {
    let t = this.touch(tenantId);
    if (!t) {
      t = { blocks: new Map(), size: 0 };
      this.tenants.set(tenantId, t);
    }
    this.remove(t, row.id);
    const f = row.traceFilter;
    // A view into a larger buffer (a driver's row buffer) would keep all of it alive: copy.
    const filter = f.byteOffset === 0 && f.buffer.byteLength === f.byteLength ? f : f.slice();
    const size = filter.byteLength + ENTRY_OVERHEAD_BYTES + 2 * row.id.length;
    t.blocks.set(row.id, { bytes: row.bytes, createdAtMs: row.createdAtMs, filter, size });
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

  /** Least recently used tenants out first; the tenant being filled last, its oldest-cached blocks first. */
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
