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
import { readMinuteRows, readMinuteRowsByStep, type SummedOperationRow, type SummedServiceRow } from "../db/queries/metrics.ts";
import { edgeRollup, type EdgeRow } from "../servicegraph/aggregate.ts";
import { operationRollup, serviceRollup, type OperationRow, type ServiceRow } from "../metrics/red.ts";
import { bucketInWindow, type MinuteRollup, type MinuteRow, type SummedRow, type TimeWindow } from "../metrics/rows.ts";
import type { TenantObjectApi } from "../tenant-object/api.ts";

const STEP_SECONDS = 60;

/** A kind's open rows in the tenant's object for a window (one of its RPC methods). */
type OpenRows<R> = (window: TimeWindow) => Promise<R[]>;

/** The D1 query bounds of the minutes that may overlap the window (inclusive). */
function minuteRange(window: TimeWindow): { from: number; to: number } {
  return { from: Math.floor(window.start) - STEP_SECONDS, to: Math.ceil(window.end) };
}

/** Rows of a kind overlapping the window (epoch seconds), one per key, D1 and open rows merged. */
export async function readMinuteRowsWithOpen<R extends MinuteRow>(db: Db, rollup: MinuteRollup<R>, open: OpenRows<R>, tenantId: string, window: TimeWindow): Promise<R[]> {
  const stored = await readMinuteRows(db, rollup, tenantId, minuteRange(window));
  return rollup.upsert(stored, await open(window)).filter((r) => bucketInWindow(r.minute, STEP_SECONDS, window));
}

/**
 * Rows of a kind for a TraceQL metrics window ([startMs, endMs), in `stepMs` steps): D1's summed
 * per step by D1 itself (`readMinuteRowsByStep`), or, with `durations` (quantiles), per minute with
 * their histograms; then the object's open rows, per minute. Rows of one minute and key may come
 * from both (a late span's minute written, then reopened): the caller adds them, as it adds
 * minutes.
 */
export async function readRollupRowsWithOpen<R extends MinuteRow>(
  db: Db,
  rollup: MinuteRollup<R>,
  open: OpenRows<R>,
  tenantId: string,
  bucketing: { startMs: number; endMs: number; stepMs: number },
  options: { durations: boolean },
): Promise<(R | SummedRow<R>)[]> {
  const window = { start: bucketing.startMs / 1000, end: bucketing.endMs / 1000 };
  const stored = options.durations ? await readMinuteRows(db, rollup, tenantId, minuteRange(window)) : await readMinuteRowsByStep(db, rollup, tenantId, bucketing);
  return [...stored, ...(await open(window))];
}

/** Edge rows overlapping the window (epoch seconds), one per key, D1 and open rows merged. */
export function readEdgeRowsWithOpen(db: Db, tenant: Pick<TenantObjectApi, "edgeRows">, tenantId: string, window: TimeWindow): Promise<EdgeRow[]> {
  return readMinuteRowsWithOpen(db, edgeRollup, (w) => tenant.edgeRows(tenantId, w), tenantId, window);
}

/** Operation rows overlapping the window (epoch seconds), one per key, D1 and open rows merged. */
export function readOperationRowsWithOpen(db: Db, tenant: Pick<TenantObjectApi, "operationRows">, tenantId: string, window: TimeWindow): Promise<OperationRow[]> {
  return readMinuteRowsWithOpen(db, operationRollup, (w) => tenant.operationRows(tenantId, w), tenantId, window);
}

/** Operation rows of a TraceQL metrics window (readRollupRowsWithOpen). */
export function readOperationRollupRows(db: Db, tenant: Pick<TenantObjectApi, "operationRows">, tenantId: string, bucketing: { startMs: number; endMs: number; stepMs: number }, options: { durations: boolean }): Promise<(OperationRow | SummedOperationRow)[]> {
  return readRollupRowsWithOpen(db, operationRollup, (w) => tenant.operationRows(tenantId, w), tenantId, bucketing, options);
}

/** Service rows as the TraceQL metrics read them: summed per step (no histogram), or per minute with it. */
export type ServiceRollupRow = SummedServiceRow | ServiceRow;

/**
 * The service rows of a TraceQL metrics window (readRollupRowsWithOpen), and `from`: the first
 * minute from which the rows hold every span (the object's `serviceRowsFrom`).
 */
export async function readServiceRowsWithOpen(
  db: Db,
  tenant: Pick<TenantObjectApi, "serviceRows">,
  tenantId: string,
  bucketing: { startMs: number; endMs: number; stepMs: number },
  options: { durations: boolean },
): Promise<{ rows: ServiceRollupRow[]; from: number }> {
  let from = 0;
  const rows = await readRollupRowsWithOpen(
    db,
    serviceRollup,
    async (w) => {
      const open = await tenant.serviceRows(tenantId, w);
      from = open.from;
      return open.rows;
    },
    tenantId,
    bucketing,
    options,
  );
  return { rows, from };
}
