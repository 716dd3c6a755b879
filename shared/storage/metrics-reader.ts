/**
 * @module
 * Per-minute edge, operation and service rows as the query API should see them: the rows in D1 plus the
 * rows the tenant's object still holds for minutes not closed yet (written to D1 once a minute
 * closes, see shared/tenant-object/open-metrics.ts). Without the open rows the last three minutes
 * would be missing, or, for an idle tenant, the last minutes until the object's next flush.
 *
 * D1 is read before the object: a flush between the two reads makes the flushed rows missing from
 * that one answer, never counted twice (the object drops rows from its open set when it takes
 * them to write, before the write).
 */
import type { Db } from "../db/client.ts";
import { readEdgeRows, readOperationRows, readOperationRowsByStep, readServiceRows, readServiceRowsByStep, type SummedOperationRow, type SummedServiceRow } from "../db/queries/metrics.ts";
import { edgeRollup, type EdgeRow } from "../servicegraph/aggregate.ts";
import { operationRollup, type OperationRow, type ServiceRow } from "../metrics/red.ts";
import { bucketInWindow, type TimeWindow } from "../metrics/rows.ts";
import type { TenantObjectApi } from "../tenant-object/api.ts";

const STEP_SECONDS = 60;

/** The D1 query bounds of the minutes that may overlap the window (inclusive). */
function minuteRange(window: TimeWindow): { from: number; to: number } {
  return { from: Math.floor(window.start) - STEP_SECONDS, to: Math.ceil(window.end) };
}

/** Edge rows overlapping the window (epoch seconds), one per key, D1 and open rows merged. */
export async function readEdgeRowsWithOpen(db: Db, tenant: Pick<TenantObjectApi, "edgeRows">, tenantId: string, window: TimeWindow): Promise<EdgeRow[]> {
  const stored = await readEdgeRows(db, tenantId, minuteRange(window));
  const open = await tenant.edgeRows(tenantId, window);
  return edgeRollup.upsert(stored, open).filter((r) => bucketInWindow(r.minute, STEP_SECONDS, window));
}

/** Operation rows overlapping the window (epoch seconds), one per key, D1 and open rows merged. */
export async function readOperationRowsWithOpen(db: Db, tenant: Pick<TenantObjectApi, "operationRows">, tenantId: string, window: TimeWindow): Promise<OperationRow[]> {
  const stored = await readOperationRows(db, tenantId, minuteRange(window));
  const open = await tenant.operationRows(tenantId, window);
  return operationRollup.upsert(stored, open).filter((r) => bucketInWindow(r.minute, STEP_SECONDS, window));
}

/**
 * Operation rows of a TraceQL metrics window ([startMs, endMs), in `stepMs` steps): D1's summed
 * per step by D1 itself when no histogram is needed, else per minute with histograms; then the
 * object's open rows, per minute (the caller adds rows of one key and bucket).
 */
export async function readOperationRollupRows(db: Db, tenant: Pick<TenantObjectApi, "operationRows">, tenantId: string, bucketing: { startMs: number; endMs: number; stepMs: number }, options: { durations: boolean }): Promise<(OperationRow | SummedOperationRow)[]> {
  const window = { start: bucketing.startMs / 1000, end: bucketing.endMs / 1000 };
  const stored = options.durations ? await readOperationRows(db, tenantId, minuteRange(window)) : await readOperationRowsByStep(db, tenantId, bucketing);
  const open = await tenant.operationRows(tenantId, window);
  return [...stored, ...open];
}

/** Service rows as the TraceQL metrics read them: summed per step (no histogram), or per minute with it. */
export type ServiceRollupRow = SummedServiceRow | ServiceRow;

/**
 * The service rows of a TraceQL metrics window ([startMs, endMs), in `stepMs` steps): D1's summed
 * per step by D1 itself (`readServiceRowsByStep`), or, with `durations` (quantiles), per minute with
 * their histograms; then the object's open rows, per minute. Rows of one minute and service may
 * come from both (a late span's minute written, then reopened): the caller adds them, as it adds
 * minutes. `from`: the first minute from which the rows hold every span (the object's
 * `serviceRowsFrom`).
 */
export async function readServiceRowsWithOpen(
  db: Db,
  tenant: Pick<TenantObjectApi, "serviceRows">,
  tenantId: string,
  bucketing: { startMs: number; endMs: number; stepMs: number },
  options: { durations: boolean },
): Promise<{ rows: ServiceRollupRow[]; from: number }> {
  const window = { start: bucketing.startMs / 1000, end: bucketing.endMs / 1000 };
  const stored: ServiceRollupRow[] = options.durations ? await readServiceRows(db, tenantId, minuteRange(window)) : await readServiceRowsByStep(db, tenantId, bucketing);
  const open = await tenant.serviceRows(tenantId, window);
  return { rows: [...stored, ...open.rows], from: open.from };
}
