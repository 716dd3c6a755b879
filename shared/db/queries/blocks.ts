/**
 * @module
 * The block catalog. Every function takes `tenantId` first and filters by it.
 */
import { and, asc, desc, eq, gte, lt, lte, sql } from "drizzle-orm";
import { inList } from "./in-list.ts";
import type { BatchingDb, Db } from "../client.ts";
import { blocks, type Block } from "../schema.ts";
import { metricRowStatements } from "./metrics.ts";
import type { EdgeRow } from "../../servicegraph/aggregate.ts";
import type { OperationRow } from "../../metrics/red.ts";
import type { UsageDelta } from "../../assembly/usage-deltas.ts";
import { usageRowStatements } from "./usage.ts";

export type NewBlock = Omit<Block, "tenantId">;

export async function blockExists(db: Db, tenantId: string, blockId: string): Promise<boolean> {
  const row = await db.select({ id: blocks.id }).from(blocks).where(and(eq(blocks.tenantId, tenantId), eq(blocks.id, blockId))).get();
  return row !== undefined;
}

/** Blocks that may hold spans in [startMs, endMs], newest first. */
export async function listBlocks(db: Db, tenantId: string, range: { startMs?: number; endMs?: number; level?: number; limit?: number } = {}): Promise<Block[]> {
  const conds = [eq(blocks.tenantId, tenantId)];
  if (range.startMs !== undefined) conds.push(gte(blocks.endMs, range.startMs));
  if (range.endMs !== undefined) conds.push(lte(blocks.startMs, range.endMs));
  if (range.level !== undefined) conds.push(eq(blocks.level, range.level));
  const q = db.select().from(blocks).where(and(...conds)).orderBy(desc(blocks.endMs));
  return range.limit ? q.limit(range.limit).all() : q.all();
}

/**
 * What trace by id needs of each candidate block, newest first: no services list or counts, so
 * a week of catalog rows comes back with less to transfer and parse.
 */
export async function listBlockFilters(db: Db, tenantId: string, range: { startMs?: number; endMs?: number } = {}): Promise<Pick<Block, "id" | "bytes" | "traceFilter">[]> {
  const conds = [eq(blocks.tenantId, tenantId)];
  if (range.startMs !== undefined) conds.push(gte(blocks.endMs, range.startMs));
  if (range.endMs !== undefined) conds.push(lte(blocks.startMs, range.endMs));
  return db.select({ id: blocks.id, bytes: blocks.bytes, traceFilter: blocks.traceFilter }).from(blocks).where(and(...conds)).orderBy(desc(blocks.endMs)).all();
}

/** A catalog row as trace by id's per-isolate filter cache (shared/storage/trace-filter-cache.ts) keeps it. */
export interface BlockFilterRow {
  id: string;
  startMs: number;
  endMs: number;
  bytes: number;
  traceFilter: Uint8Array;
}

/**
 * The catalog read behind trace by id's filter cache, in one statement (one round trip, one
 * snapshot): `listed`, the tenant's blocks that end at or after `endFromMs`, newest end first
 * (ties by id descending, the order `listBlockFilters` gets from the same index), as id and end
 * only, read from the `blocks_tenant_end` index without touching the rows; and `rows`, the whole
 * rows of those listed blocks that end at or after `rowsFromMs` and are not in `knownIds` (bound
 * as one JSON parameter), each read by primary key.
 *
 * Reading only the index matters: a catalog row carries its filter, services and attribute index
 * (about 1.7 KB in the trace-by-id bench), and looking up 1,008 of them is most of what reading
 * the filters cost, even without sending the filters back.
 */
export async function listBlocksForFilterCache(
  db: Db,
  tenantId: string,
  opts: { endFromMs?: number; knownIds: readonly string[]; rowsFromMs?: number },
): Promise<{ listed: { id: string; endMs: number }[]; rows: BlockFilterRow[] }> {
  const endFrom = opts.endFromMs ?? Number.MIN_SAFE_INTEGER;
  const rowsFrom = Math.max(endFrom, opts.rowsFromMs ?? Number.MIN_SAFE_INTEGER);
  const listed = db
    .select({
      part: sql<number>`0`,
      id: blocks.id,
      endMs: blocks.endMs,
      startMs: sql<number | null>`null`,
      bytes: sql<number | null>`null`,
      traceFilter: sql<Uint8Array | null>`null`.mapWith(blocks.traceFilter),
    })
    .from(blocks)
    .where(and(eq(blocks.tenantId, tenantId), gte(blocks.endMs, endFrom)));
  // `+tenant_id` keeps SQLite from walking the tenant's index entries and reading every row to
  // test the id: the ids come from the index (the subquery) and the rows by primary key.
  const unknown = db
    .select({ part: sql<number>`1`, id: blocks.id, endMs: blocks.endMs, startMs: blocks.startMs, bytes: blocks.bytes, traceFilter: blocks.traceFilter })
    .from(blocks)
    .where(
      and(
        sql`+${blocks.tenantId} = ${tenantId}`,
        sql`${blocks.id} in (select b.id from blocks b where b.tenant_id = ${tenantId} and b.end_ms >= ${rowsFrom} except select value from json_each(${JSON.stringify(opts.knownIds)}))`,
      ),
    );
  const all = await listed.unionAll(unknown).orderBy(sql`1`, sql`3 desc`, sql`2 desc`).all();
  const out: { listed: { id: string; endMs: number }[]; rows: BlockFilterRow[] } = { listed: [], rows: [] };
  for (const r of all) {
    if (r.part === 0) out.listed.push({ id: r.id, endMs: r.endMs });
    else out.rows.push({ id: r.id, startMs: r.startMs!, endMs: r.endMs, bytes: r.bytes!, traceFilter: r.traceFilter! });
  }
  return out;
}

/** `listBlockFilters` with each block's time span: what the filter cache keeps, for a tenant it holds nothing of. */
export async function listBlockFilterRows(db: Db, tenantId: string, range: { startMs?: number; endMs?: number } = {}): Promise<BlockFilterRow[]> {
  const conds = [eq(blocks.tenantId, tenantId)];
  if (range.startMs !== undefined) conds.push(gte(blocks.endMs, range.startMs));
  if (range.endMs !== undefined) conds.push(lte(blocks.startMs, range.endMs));
  return db
    .select({ id: blocks.id, startMs: blocks.startMs, endMs: blocks.endMs, bytes: blocks.bytes, traceFilter: blocks.traceFilter })
    .from(blocks)
    .where(and(...conds))
    .orderBy(desc(blocks.endMs))
    .all();
}

/** The given blocks' catalog rows, in no particular order; ids not in the tenant's catalog are absent. */
export async function blockFiltersById(db: Db, tenantId: string, ids: readonly string[]): Promise<BlockFilterRow[]> {
  if (!ids.length) return [];
  return db
    .select({ id: blocks.id, startMs: blocks.startMs, endMs: blocks.endMs, bytes: blocks.bytes, traceFilter: blocks.traceFilter })
    .from(blocks)
    .where(and(eq(blocks.tenantId, tenantId), inList(blocks.id, ids)))
    .all();
}

/** Oldest-first blocks of a level created before a time: compaction's input. */
export async function compactionCandidates(db: Db, tenantId: string, level: number, createdBeforeMs: number, limit: number): Promise<Block[]> {
  return db
    .select()
    .from(blocks)
    .where(and(eq(blocks.tenantId, tenantId), eq(blocks.level, level), lt(blocks.createdAt, new Date(createdBeforeMs))))
    .orderBy(asc(blocks.startMs))
    .limit(limit)
    .all();
}

/**
 * One atomic D1 batch: the new block's catalog row and the merged metric rows. Either the block
 * and its metrics are both recorded or neither is, so a retried batch cannot count twice.
 */
export async function recordBlock(db: BatchingDb, tenantId: string, block: NewBlock, edgeRows: EdgeRow[], operationRows: OperationRow[], usage: readonly UsageDelta[] = []): Promise<void> {
  const statements = [
    db.insert(blocks).values({ ...block, tenantId }).onConflictDoNothing(),
    ...metricRowStatements(db, tenantId, { edgeRows, operationRows }),
    ...usageRowStatements(db, tenantId, usage),
  ] as const;
  await db.batch(statements as unknown as readonly [unknown, ...unknown[]]);
}

/**
 * Catalog rows of several tenants' blocks in one atomic D1 batch (a consumer's batch: one write
 * transaction for all its tenants). Each row is inserted under its own tenant id; a block already
 * catalogued (a redelivery) is left as it is.
 */
export async function recordBlocks(db: BatchingDb, rows: readonly { tenantId: string; block: NewBlock }[]): Promise<void> {
  if (!rows.length) return;
  const statements = rows.map((r) => db.insert(blocks).values({ ...r.block, tenantId: r.tenantId }).onConflictDoNothing());
  await db.batch(statements as unknown as readonly [unknown, ...unknown[]]);
}

/** Compaction's catalog swap, atomic: the merged block in, its inputs out. */
export async function replaceBlocks(db: BatchingDb, tenantId: string, merged: NewBlock, inputIds: string[]): Promise<void> {
  await db.batch([
    db.insert(blocks).values({ ...merged, tenantId }).onConflictDoNothing(),
    db.delete(blocks).where(and(eq(blocks.tenantId, tenantId), inList(blocks.id, inputIds))),
  ]);
}

export async function expiredBlocks(db: Db, tenantId: string, cutoffMs: number): Promise<Block[]> {
  return db.select().from(blocks).where(and(eq(blocks.tenantId, tenantId), lt(blocks.endMs, cutoffMs))).all();
}

export async function deleteBlocks(db: Db, tenantId: string, ids: string[]): Promise<void> {
  if (ids.length) await db.delete(blocks).where(and(eq(blocks.tenantId, tenantId), inList(blocks.id, ids)));
}
