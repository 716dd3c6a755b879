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

/**
 * A catalog row as trace by id's per-isolate filter cache (shared/storage/trace-filter-cache.ts)
 * needs it: the id, and the size and creation time that, with the id, tell a cached filter is the
 * row's own. `traceFilter` is null when the query was told not to send it.
 */
export interface BlockFilterRow {
  id: string;
  bytes: number;
  createdAtMs: number;
  traceFilter: Uint8Array | null;
}

/**
 * The tenant's blocks that may hold spans in [startMs, endMs], newest end first, like
 * `listBlockFilters`, but sending a row's trace-id filter only when the caller lacks it: with
 * `filtersFor`, only rows created at or after `createdFromMs` whose id is not in `exceptIds` come
 * with their filter (the rest have `traceFilter: null`; the caller reads those it does not hold
 * with `blockFiltersById`); without it, every row does. `exceptIds` is bound as one JSON parameter.
 */
export async function listBlockFilterRows(
  db: Db,
  tenantId: string,
  range: { startMs?: number; endMs?: number } = {},
  filtersFor?: { createdFromMs: number; exceptIds: readonly string[] },
): Promise<BlockFilterRow[]> {
  const conds = [eq(blocks.tenantId, tenantId)];
  if (range.startMs !== undefined) conds.push(gte(blocks.endMs, range.startMs));
  if (range.endMs !== undefined) conds.push(lte(blocks.startMs, range.endMs));
  const traceFilter = filtersFor
    ? sql<Uint8Array | null>`case when ${blocks.createdAt} >= ${filtersFor.createdFromMs} and not (${inList(blocks.id, filtersFor.exceptIds)}) then ${blocks.traceFilter} end`.mapWith(blocks.traceFilter)
    : blocks.traceFilter;
  const rows = await db.select({ id: blocks.id, bytes: blocks.bytes, createdAt: blocks.createdAt, traceFilter }).from(blocks).where(and(...conds)).orderBy(desc(blocks.endMs)).all();
  return rows.map((r) => ({ id: r.id, bytes: r.bytes, createdAtMs: r.createdAt.getTime(), traceFilter: r.traceFilter ?? null }));
}

/** The given blocks' catalog rows with their filters, in no particular order; ids not in the tenant's catalog are absent. */
export async function blockFiltersById(db: Db, tenantId: string, ids: readonly string[]): Promise<BlockFilterRow[]> {
  if (!ids.length) return [];
  const rows = await db
    .select({ id: blocks.id, bytes: blocks.bytes, createdAt: blocks.createdAt, traceFilter: blocks.traceFilter })
    .from(blocks)
    .where(and(eq(blocks.tenantId, tenantId), inList(blocks.id, ids)))
    .all();
  return rows.map((r) => ({ id: r.id, bytes: r.bytes, createdAtMs: r.createdAt.getTime(), traceFilter: r.traceFilter }));
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

export async function tenantsWithBlocks(db: Db): Promise<string[]> {
  const rows = await db.selectDistinct({ tenantId: blocks.tenantId }).from(blocks).all();
  return rows.map((r) => r.tenantId);
}

/**
 * One atomic D1 batch: the new block's catalog row and the merged metric rows. Either the block
 * and its metrics are both recorded or neither is, so a retried batch cannot count twice.
 */
export async function recordBlock(db: BatchingDb, tenantId: string, block: NewBlock, edgeRows: EdgeRow[], operationRows: OperationRow[], usage: readonly UsageDelta[] = []): Promise<void> {
  const statements = [
    db.insert(blocks).values({ ...block, tenantId }).onConflictDoNothing(),
    ...metricRowStatements(db, tenantId, edgeRows, operationRows),
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
