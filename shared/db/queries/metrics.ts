/**
 * @module
 * Per-minute service-graph, RED (operation) and service rows. Every function takes `tenantId` first
 * and filters by it.
 */
import { and, eq, gt, gte, lt, lte, ne, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { inList } from "./in-list.ts";
import type { BatchingDb, Db } from "../client.ts";
import { edgeMinutes, metricFlushes, operationMinutes, serviceMinutes } from "../schema.ts";
import { edgeRollup, type EdgeRow } from "../../servicegraph/aggregate.ts";
import type { ConnectionType } from "../../servicegraph/edges.ts";
import { operationRollup, serviceRollup, type OperationRow, type ServiceNameType, type ServiceRow } from "../../metrics/red.ts";
import type { UsageDelta } from "../../assembly/usage-deltas.ts";
import { usageRowStatements } from "./usage.ts";

export async function readEdgeRows(db: Db, tenantId: string, minutes: { in?: number[]; from?: number; to?: number }): Promise<EdgeRow[]> {
  const conds = [eq(edgeMinutes.tenantId, tenantId)];
  if (minutes.in) {
    if (!minutes.in.length) return [];
    conds.push(inList(edgeMinutes.minute, minutes.in));
  }
  if (minutes.from !== undefined) conds.push(gte(edgeMinutes.minute, minutes.from));
  if (minutes.to !== undefined) conds.push(lte(edgeMinutes.minute, minutes.to));
  const rows = await db.select().from(edgeMinutes).where(and(...conds)).all();
  return rows.map((r) => ({
    tenant: r.tenantId,
    minute: r.minute,
    source: r.source,
    target: r.target,
    connectionType: r.connectionType as ConnectionType,
    requests: r.requests,
    failed: r.failed,
    clientDurations: r.clientDurations,
    serverDurations: r.serverDurations,
  }));
}

export async function readOperationRows(db: Db, tenantId: string, minutes: { in?: number[]; from?: number; to?: number }): Promise<OperationRow[]> {
  const conds = [eq(operationMinutes.tenantId, tenantId)];
  if (minutes.in) {
    if (!minutes.in.length) return [];
    conds.push(inList(operationMinutes.minute, minutes.in));
  }
  if (minutes.from !== undefined) conds.push(gte(operationMinutes.minute, minutes.from));
  if (minutes.to !== undefined) conds.push(lte(operationMinutes.minute, minutes.to));
  const rows = await db.select().from(operationMinutes).where(and(...conds)).all();
  return rows.map((r) => ({
    tenant: r.tenantId,
    minute: r.minute,
    service: r.service,
    operation: r.operation,
    kind: r.kind,
    count: r.count,
    errors: r.errors,
    durations: r.durations,
  }));
}

export async function readServiceRows(db: Db, tenantId: string, minutes: { in?: number[]; from?: number; to?: number }): Promise<ServiceRow[]> {
  const conds = [eq(serviceMinutes.tenantId, tenantId)];
  if (minutes.in) {
    if (!minutes.in.length) return [];
    conds.push(inList(serviceMinutes.minute, minutes.in));
  }
  if (minutes.from !== undefined) conds.push(gte(serviceMinutes.minute, minutes.from));
  if (minutes.to !== undefined) conds.push(lte(serviceMinutes.minute, minutes.to));
  const rows = await db.select().from(serviceMinutes).where(and(...conds)).all();
  return rows.map((r) => ({ tenant: r.tenantId, minute: r.minute, service: r.service, serviceNameType: r.serviceNameType as ServiceNameType, count: r.count, errors: r.errors, durations: r.durations }));
}

/**
 * Service rows summed per step, for TraceQL metrics: one row per (step, service) of the minutes
 * overlapping [startMs, endMs), step i holding the minutes that start in
 * `[startMs + i·stepMs, startMs + (i+1)·stepMs)` and step -1 a minute that starts before `startMs`
 * and reaches into the window. `minute` and `lastMinute` are the first and last minute summed, so
 * the caller can tell whether every one of them lies inside one step (shared/traceql/
 * metrics-from-rollups.ts). No histograms: the sums are done by D1, which sends one row per step
 * and service instead of one per minute (a day at a 5 m step: 288 rows per service, not 1440).
 */
export async function readServiceRowsByStep(db: Db, tenantId: string, bucketing: { startMs: number; endMs: number; stepMs: number }): Promise<SummedServiceRow[]> {
  const bucket = stepBucket(serviceMinutes.minute, bucketing);
  const rows = await db
    .select({
      minute: sql<number>`min(${serviceMinutes.minute})`,
      lastMinute: sql<number>`max(${serviceMinutes.minute})`,
      service: serviceMinutes.service,
      serviceNameType: serviceMinutes.serviceNameType,
      count: sql<number>`sum(${serviceMinutes.count})`,
      errors: sql<number>`sum(${serviceMinutes.errors})`,
    })
    .from(serviceMinutes)
    .where(
      and(
        eq(serviceMinutes.tenantId, tenantId),
        // Minutes overlapping the window: [minute, minute + 60) meets [startMs, endMs).
        gt(serviceMinutes.minute, Math.floor(bucketing.startMs / 1000) - 60),
        lt(serviceMinutes.minute, Math.ceil(bucketing.endMs / 1000)),
      ),
    )
    .groupBy(bucket, serviceMinutes.service, serviceMinutes.serviceNameType)
    .all();
  return rows.map((r) => ({ ...r, serviceNameType: r.serviceNameType as ServiceNameType, minute: Number(r.minute), lastMinute: Number(r.lastMinute), count: Number(r.count), errors: Number(r.errors) }));
}

/** The step a minute column falls in (-1 before the window's start), for GROUP BY in SQL. */
function stepBucket(minute: AnySQLiteColumn, bucketing: { startMs: number; stepMs: number }) {
  // Integers in SQL (a bound JS number may arrive as a REAL, which would divide without flooring).
  const start = sql`cast(${Math.floor(bucketing.startMs)} as integer)`;
  const step = sql`cast(${Math.max(1, Math.floor(bucketing.stepMs))} as integer)`;
  return sql<number>`case when ${minute} * 1000 < ${start} then -1 else (${minute} * 1000 - ${start}) / ${step} end`;
}

/**
 * Operation rows of a TraceQL metrics window summed per step by the database (no histograms), as
 * `readServiceRowsByStep` sums service rows: a week at a 5 m step sends 5 times fewer rows, at 1 h
 * 60 times, and nothing is decoded per minute.
 */
export async function readOperationRowsByStep(db: Db, tenantId: string, bucketing: { startMs: number; endMs: number; stepMs: number }): Promise<SummedOperationRow[]> {
  const bucket = stepBucket(operationMinutes.minute, bucketing);
  const rows = await db
    .select({
      minute: sql<number>`min(${operationMinutes.minute})`,
      lastMinute: sql<number>`max(${operationMinutes.minute})`,
      service: operationMinutes.service,
      operation: operationMinutes.operation,
      kind: operationMinutes.kind,
      count: sql<number>`sum(${operationMinutes.count})`,
      errors: sql<number>`sum(${operationMinutes.errors})`,
    })
    .from(operationMinutes)
    .where(and(eq(operationMinutes.tenantId, tenantId), gt(operationMinutes.minute, Math.floor(bucketing.startMs / 1000) - 60), lt(operationMinutes.minute, Math.ceil(bucketing.endMs / 1000))))
    .groupBy(bucket, operationMinutes.service, operationMinutes.operation, operationMinutes.kind)
    .all();
  return rows.map((r) => ({ ...r, minute: Number(r.minute), lastMinute: Number(r.lastMinute), count: Number(r.count), errors: Number(r.errors) }));
}

/** Operation rows of consecutive minutes of one step, summed (readOperationRowsByStep). */
export type SummedOperationRow = Pick<OperationRow, "minute" | "service" | "operation" | "kind" | "count" | "errors"> & { lastMinute: number };

/** Service rows of consecutive minutes of one step, summed (readServiceRowsByStep). */
export type SummedServiceRow = Pick<ServiceRow, "minute" | "service" | "serviceNameType" | "count" | "errors"> & { lastMinute: number };

export async function deleteMetricsBefore(db: Db, tenantId: string, minute: number): Promise<void> {
  await db.delete(edgeMinutes).where(and(eq(edgeMinutes.tenantId, tenantId), lt(edgeMinutes.minute, minute)));
  await db.delete(operationMinutes).where(and(eq(operationMinutes.tenantId, tenantId), lt(operationMinutes.minute, minute)));
  await db.delete(serviceMinutes).where(and(eq(serviceMinutes.tenantId, tenantId), lt(serviceMinutes.minute, minute)));
}

/** The upserts of rows already merged with the stored ones (each statement replaces its row). */
export function metricRowStatements(db: Db, tenantId: string, edgeRows: readonly EdgeRow[], operationRows: readonly OperationRow[], serviceRows: readonly ServiceRow[] = []) {
  return [
    ...edgeRows.map((r) =>
      db
        .insert(edgeMinutes)
        .values({ tenantId, minute: r.minute, source: r.source, target: r.target, connectionType: r.connectionType, requests: r.requests, failed: r.failed, clientDurations: r.clientDurations, serverDurations: r.serverDurations })
        .onConflictDoUpdate({
          target: [edgeMinutes.tenantId, edgeMinutes.minute, edgeMinutes.source, edgeMinutes.target, edgeMinutes.connectionType],
          set: { requests: sql`excluded.requests`, failed: sql`excluded.failed`, clientDurations: sql`excluded.client_durations`, serverDurations: sql`excluded.server_durations` },
        }),
    ),
    ...operationRows.map((r) =>
      db
        .insert(operationMinutes)
        .values({ tenantId, minute: r.minute, service: r.service, operation: r.operation, kind: r.kind, count: r.count, errors: r.errors, durations: r.durations })
        .onConflictDoUpdate({
          target: [operationMinutes.tenantId, operationMinutes.minute, operationMinutes.service, operationMinutes.operation, operationMinutes.kind],
          set: { count: sql`excluded.count`, errors: sql`excluded.errors`, durations: sql`excluded.durations` },
        }),
    ),
    ...serviceRows.map((r) =>
      db
        .insert(serviceMinutes)
        .values({ tenantId, minute: r.minute, service: r.service, serviceNameType: r.serviceNameType, count: r.count, errors: r.errors, durations: r.durations })
        .onConflictDoUpdate({
          target: [serviceMinutes.tenantId, serviceMinutes.minute, serviceMinutes.service, serviceMinutes.serviceNameType],
          set: { count: sql`excluded.count`, errors: sql`excluded.errors`, durations: sql`excluded.durations` },
        }),
    ),
  ];
}

/** Rows of closed minutes and usage counts that a tenant's object writes in one go. */
export interface MetricFlush {
  edgeRows: readonly EdgeRow[];
  operationRows: readonly OperationRow[];
  /** Absent in a flush an object took before service rows existed. */
  serviceRows?: readonly ServiceRow[];
  usage: readonly UsageDelta[];
  /** Minutes D1 may hold rows of already: read and merged. The rest are written as they are. */
  storedMinutes: readonly number[];
}

/**
 * Writes a tenant object's closed rows and usage exactly once: the rows of minutes D1 may hold
 * already (late spans reach minutes written before) merged with the stored ones, read first; the
 * rows of new minutes as they are, without a read (the usual case: one query); the usage added to
 * its days; and
 * `flushId` as a marker, in one atomic batch that also drops the tenant's previous marker. Only the
 * tenant's object writes these rows, one flush at a time, so the read and the batch cannot race.
 * A retry of a flush that committed (its answer was lost) fails on its marker's primary key, which
 * rolls the whole batch back, and answers "already-written".
 */
export async function writeMetricFlush(db: BatchingDb, tenantId: string, flushId: string, flush: MetricFlush, now = new Date()): Promise<"written" | "already-written"> {
  const minutes = { in: [...new Set(flush.storedMinutes)] };
  const serviceRows = flush.serviceRows ?? [];
  const [storedEdges, storedOps, storedServices] = minutes.in.length
    ? await Promise.all([readEdgeRows(db, tenantId, minutes), readOperationRows(db, tenantId, minutes), serviceRows.length ? readServiceRows(db, tenantId, minutes) : []])
    : [[], [], []];
  const statements = [
    db.insert(metricFlushes).values({ tenantId, flushId, at: now }),
    db.delete(metricFlushes).where(and(eq(metricFlushes.tenantId, tenantId), ne(metricFlushes.flushId, flushId))),
    ...metricRowStatements(
      db,
      tenantId,
      onlyTouched(edgeRollup.upsert(storedEdges, flush.edgeRows), flush.edgeRows, (r) => edgeRollup.keyOf(r)),
      onlyTouched(operationRollup.upsert(storedOps, flush.operationRows), flush.operationRows, (r) => operationRollup.keyOf(r)),
      onlyTouched(serviceRollup.upsert(storedServices, serviceRows), serviceRows, (r) => serviceRollup.keyOf(r)),
    ),
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

/** Only the merged rows whose key the flush touched: untouched stored rows need no rewrite. */
function onlyTouched<T>(merged: T[], incoming: readonly T[], key: (r: T) => string): T[] {
  const touched = new Set(incoming.map(key));
  return merged.filter((r) => touched.has(key(r)));
}
