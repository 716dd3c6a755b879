/**
 * @module
 * Per-minute service-graph and RED rows. Every function takes `tenantId` first and filters by it.
 */
import { and, eq, gte, lt, lte, sql } from "drizzle-orm";
import { inList } from "./in-list.ts";
import type { BatchingDb, Db } from "../client.ts";
import { edgeMinutes, operationMinutes } from "../schema.ts";
import type { EdgeRow } from "../../servicegraph/aggregate.ts";
import type { ConnectionType } from "../../servicegraph/edges.ts";
import type { OperationRow } from "../../metrics/red.ts";

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

/** One atomic D1 batch of merged metric rows (no catalog row): the cron's flush of closed minutes. */
export async function writeMetricRows(db: BatchingDb, tenantId: string, edgeRows: readonly EdgeRow[], operationRows: readonly OperationRow[]): Promise<void> {
  const statements = metricRowStatements(db, tenantId, edgeRows, operationRows);
  if (statements.length) await db.batch(statements as unknown as readonly [unknown, ...unknown[]]);
}
