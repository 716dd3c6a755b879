/**
 * @module
 * Per-minute service-graph and RED rows. Every function takes `tenantId` first and filters by it.
 */
import { and, eq, gte, lt, lte, ne, sql } from "drizzle-orm";
import { inList } from "./in-list.ts";
import type { BatchingDb, Db } from "../client.ts";
import { edgeMinutes, metricFlushes, operationMinutes } from "../schema.ts";
import { edgeRowKey, upsertEdgeRows, type EdgeRow } from "../../servicegraph/aggregate.ts";
import type { ConnectionType } from "../../servicegraph/edges.ts";
import { operationRowKey, upsertOperationRows, type OperationRow } from "../../metrics/red.ts";
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

export async function deleteMetricsBefore(db: Db, tenantId: string, minute: number): Promise<void> {
  await db.delete(edgeMinutes).where(and(eq(edgeMinutes.tenantId, tenantId), lt(edgeMinutes.minute, minute)));
  await db.delete(operationMinutes).where(and(eq(operationMinutes.tenantId, tenantId), lt(operationMinutes.minute, minute)));
}

/** The upserts of rows already merged with the stored ones (each statement replaces its row). */
export function metricRowStatements(db: Db, tenantId: string, edgeRows: readonly EdgeRow[], operationRows: readonly OperationRow[]) {
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
  ];
}

/** Rows of closed minutes and usage counts that a tenant's object writes in one go. */
export interface MetricFlush {
  edgeRows: readonly EdgeRow[];
  operationRows: readonly OperationRow[];
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
  const [storedEdges, storedOps] = minutes.in.length ? await Promise.all([readEdgeRows(db, tenantId, minutes), readOperationRows(db, tenantId, minutes)]) : [[], []];
  const statements = [
    db.insert(metricFlushes).values({ tenantId, flushId, at: now }),
    db.delete(metricFlushes).where(and(eq(metricFlushes.tenantId, tenantId), ne(metricFlushes.flushId, flushId))),
    ...metricRowStatements(db, tenantId, onlyTouched(upsertEdgeRows(storedEdges, flush.edgeRows), flush.edgeRows, edgeRowKey), onlyTouched(upsertOperationRows(storedOps, flush.operationRows), flush.operationRows, operationRowKey)),
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
