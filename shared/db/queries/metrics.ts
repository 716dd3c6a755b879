/**
 * @module
 * Per-minute rows in D1, every kind (service-graph edges, RED per operation, services) through the
 * same functions, driven by the kind's `MinuteRollup` (shared/metrics/rows.ts): its table holds
 * `tenant_id`, `minute` and a column per field, its primary key is tenant, minute and the key
 * fields. Every function takes `tenantId` first and filters by it.
 */
import { and, eq, getTableColumns, gt, gte, lt, lte, ne, sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { inList } from "./in-list.ts";
import type { BatchingDb, Db } from "../client.ts";
import { metricFlushes } from "../schema.ts";
import { edgeRollup, type EdgeRow } from "../../servicegraph/aggregate.ts";
import { operationRollup, serviceRollup, type OperationRow, type ServiceRow } from "../../metrics/red.ts";
import { MINUTE_ROLLUPS, ROW_KINDS, type MinuteRowSets } from "../../metrics/row-kinds.ts";
import type { MinuteRollup, MinuteRow, SummedRow } from "../../metrics/rows.ts";
import type { UsageDelta } from "../../assembly/usage-deltas.ts";
import { usageRowStatements } from "./usage.ts";

/** Which minutes to read: a list, and/or bounds (inclusive). */
export interface MinuteSelection {
  in?: readonly number[];
  from?: number;
  to?: number;
}

/** Rows of a kind in the selected minutes. */
export async function readMinuteRows<R extends MinuteRow>(db: Db, rollup: MinuteRollup<R>, tenantId: string, minutes: MinuteSelection): Promise<R[]> {
  const { columns } = tableOf(rollup);
  const conds = [eq(columns.tenantId, tenantId)];
  if (minutes.in) {
    if (!minutes.in.length) return [];
    conds.push(inList(columns.minute, minutes.in));
  }
  if (minutes.from !== undefined) conds.push(gte(columns.minute, minutes.from));
  if (minutes.to !== undefined) conds.push(lte(columns.minute, minutes.to));
  const rows = (await db.select().from(rollup.table).where(and(...conds)).all()) as Record<string, unknown>[];
  const fields = [...rollup.keys, ...rollup.counts, ...rollup.histograms];
  return rows.map((r) => {
    const row: Record<string, unknown> = { tenantId: r.tenantId, minute: r.minute };
    for (const f of fields) row[f] = r[f];
    return row as unknown as R;
  });
}

export const readEdgeRows = (db: Db, tenantId: string, minutes: MinuteSelection): Promise<EdgeRow[]> => readMinuteRows(db, edgeRollup, tenantId, minutes);
export const readOperationRows = (db: Db, tenantId: string, minutes: MinuteSelection): Promise<OperationRow[]> => readMinuteRows(db, operationRollup, tenantId, minutes);
export const readServiceRows = (db: Db, tenantId: string, minutes: MinuteSelection): Promise<ServiceRow[]> => readMinuteRows(db, serviceRollup, tenantId, minutes);

/**
 * Rows of a kind summed per step, for TraceQL metrics: one row per (step, key) of the minutes
 * overlapping [startMs, endMs), step i holding the minutes that start in
 * `[startMs + i·stepMs, startMs + (i+1)·stepMs)` and step -1 a minute that starts before `startMs`
 * and reaches into the window. `minute` and `lastMinute` are the first and last minute summed, so
 * the caller can tell whether every one of them lies inside one step (shared/traceql/
 * metrics-from-rollups.ts). No histograms: the counts are summed by D1, which sends one row per step
 * and key instead of one per minute (a day at a 5 m step: 288 rows per key, not 1440; a week at a
 * 1 h step 60 times fewer), and nothing is decoded per minute.
 */
export async function readMinuteRowsByStep<R extends MinuteRow>(db: Db, rollup: MinuteRollup<R>, tenantId: string, bucketing: { startMs: number; endMs: number; stepMs: number }): Promise<SummedRow<R>[]> {
  const { columns } = tableOf(rollup);
  const select: Record<string, SQL | AnySQLiteColumn> = { minute: sql<number>`min(${columns.minute})`, lastMinute: sql<number>`max(${columns.minute})` };
  for (const k of rollup.keys) select[k] = columns[k]!;
  for (const c of rollup.counts) select[c] = sql<number>`sum(${columns[c]})`;
  const rows = (await db
    .select(select)
    .from(rollup.table)
    .where(
      and(
        eq(columns.tenantId, tenantId),
        // Minutes overlapping the window: [minute, minute + 60) meets [startMs, endMs).
        gt(columns.minute, Math.floor(bucketing.startMs / 1000) - 60),
        lt(columns.minute, Math.ceil(bucketing.endMs / 1000)),
      ),
    )
    .groupBy(stepBucket(columns.minute, bucketing), ...rollup.keys.map((k) => columns[k]!))
    .all()) as Record<string, unknown>[];
  return rows.map((r) => {
    const row: Record<string, unknown> = { ...r, minute: Number(r.minute), lastMinute: Number(r.lastMinute) };
    for (const c of rollup.counts) row[c] = Number(r[c]);
    return row as SummedRow<R>;
  });
}

/** The step a minute column falls in (-1 before the window's start), for GROUP BY in SQL. */
function stepBucket(minute: AnySQLiteColumn, bucketing: { startMs: number; stepMs: number }) {
  // Integers in SQL (a bound JS number may arrive as a REAL, which would divide without flooring).
  const start = sql`cast(${Math.floor(bucketing.startMs)} as integer)`;
  const step = sql`cast(${Math.max(1, Math.floor(bucketing.stepMs))} as integer)`;
  return sql<number>`case when ${minute} * 1000 < ${start} then -1 else (${minute} * 1000 - ${start}) / ${step} end`;
}

/** Operation rows of consecutive minutes of one step, summed (readMinuteRowsByStep). */
export type SummedOperationRow = SummedRow<OperationRow>;

/** Service rows of consecutive minutes of one step, summed (readMinuteRowsByStep). */
export type SummedServiceRow = SummedRow<ServiceRow>;

/** Deletes the tenant's rows of every kind before the minute. */
export async function deleteMetricsBefore(db: Db, tenantId: string, minute: number): Promise<void> {
  for (const kind of ROW_KINDS) {
    const { columns, table } = tableOf(MINUTE_ROLLUPS[kind]);
    await db.delete(table).where(and(eq(columns.tenantId, tenantId), lt(columns.minute, minute)));
  }
}

/** The upserts of rows of a kind already merged with the stored ones (each statement replaces its row). */
export function minuteRowStatements<R extends MinuteRow>(db: Db, rollup: MinuteRollup<R>, tenantId: string, rows: readonly R[]) {
  const { columns, table } = tableOf(rollup);
  const target = [columns.tenantId, columns.minute, ...rollup.keys.map((k) => columns[k]!)];
  const set: Record<string, SQL> = {};
  for (const f of [...rollup.counts, ...rollup.histograms]) set[f] = sql.raw(`excluded.${columns[f]!.name}`);
  return rows.map((r) => {
    const { tenantId: _rowTenantId, ...fields } = r;
    return db
      .insert(table)
      .values({ tenantId, ...fields } as SQLiteTable["$inferInsert"])
      .onConflictDoUpdate({ target, set });
  });
}

/** The upserts of rows of every kind the sets carry (see minuteRowStatements). */
export function metricRowStatements(db: Db, tenantId: string, sets: Partial<MinuteRowSets>) {
  return ROW_KINDS.flatMap((kind) => minuteRowStatements<MinuteRow>(db, MINUTE_ROLLUPS[kind], tenantId, sets[kind] ?? []));
}

/** Rows of closed minutes and usage counts that a tenant's object writes in one go (`serviceRows` absent in a flush taken before service rows existed). */
export interface MetricFlush extends Readonly<MinuteRowSets> {
  usage: readonly UsageDelta[];
  /** Minutes D1 may hold rows of already: read and merged. The rest are written as they are. */
  storedMinutes: readonly number[];
}

/**
 * Writes a tenant object's closed rows and usage exactly once: the rows of minutes D1 may hold
 * already (late spans reach minutes written before) merged with the stored ones of their kind,
 * read first (only kinds the flush has rows of); the rows of new minutes as they are, without a
 * read (the usual case: one query); the usage added to its days; and `flushId` as a marker, in one
 * atomic batch that also drops the tenant's previous marker. Only the tenant's object writes these
 * rows, one flush at a time, so the read and the batch cannot race. A retry of a flush that
 * committed (its answer was lost) fails on its marker's primary key, which rolls the whole batch
 * back, and answers "already-written".
 */
export async function writeMetricFlush(db: BatchingDb, tenantId: string, flushId: string, flush: MetricFlush, now = new Date()): Promise<"written" | "already-written"> {
  const minutes = { in: [...new Set(flush.storedMinutes)] };
  const rows = await Promise.all(
    ROW_KINDS.map(async (kind) => {
      const rollup: MinuteRollup = MINUTE_ROLLUPS[kind];
      const incoming = flush[kind] ?? [];
      const stored = minutes.in.length && incoming.length ? await readMinuteRows(db, rollup, tenantId, minutes) : [];
      // Only the merged rows whose key the flush touched: untouched stored rows need no rewrite.
      const touched = new Set(incoming.map((r) => rollup.keyOf(r)));
      return minuteRowStatements(db, rollup, tenantId, rollup.upsert(stored, incoming).filter((r) => touched.has(rollup.keyOf(r))));
    }),
  );
  const statements = [
    db.insert(metricFlushes).values({ tenantId, flushId, at: now }),
    db.delete(metricFlushes).where(and(eq(metricFlushes.tenantId, tenantId), ne(metricFlushes.flushId, flushId))),
    ...rows.flat(),
    ...usageRowStatements(db, tenantId, flush.usage),
  ];
  try {
    await db.batch(statements as unknown as readonly [unknown, ...unknown[]]);
  } catch (err) {
    // The batch may have committed with its answer lost: the marker says.
    if (await flushWritten(db, tenantId, flushId).catch(() => false)) return "already-written";
    throw err;
  }
  return "written";
}

async function flushWritten(db: Db, tenantId: string, flushId: string): Promise<boolean> {
  const row = await db.select({ id: metricFlushes.flushId }).from(metricFlushes).where(and(eq(metricFlushes.tenantId, tenantId), eq(metricFlushes.flushId, flushId))).get();
  return row !== undefined;
}

/** A kind's table and its columns by field name, checked once against the kind's fields. */
function tableOf(rollup: MinuteRollup): { table: SQLiteTable; columns: Record<string, AnySQLiteColumn> & { tenantId: AnySQLiteColumn; minute: AnySQLiteColumn } } {
  let found = tables.get(rollup);
  if (found === undefined) {
    const columns = getTableColumns(rollup.table) as Record<string, AnySQLiteColumn>;
    const fields = ["tenantId", "minute", ...rollup.keys, ...rollup.counts, ...rollup.histograms];
    if (fields.length !== Object.keys(columns).length || fields.some((f) => !(f in columns))) throw new Error(`${rollup.name} rows: the table's columns are not the row's fields`);
    found = { table: rollup.table, columns: columns as Record<string, AnySQLiteColumn> & { tenantId: AnySQLiteColumn; minute: AnySQLiteColumn } };
    tables.set(rollup, found);
  }
  return found;
}

const tables = new WeakMap<MinuteRollup, ReturnType<typeof tableOf>>();
