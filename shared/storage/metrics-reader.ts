/**
 * @module
 * Per-minute edge and operation rows as the query API should see them: the rows in D1 plus the
 * rows the assembler still holds in the tenant's state object for minutes not closed yet (written
 * to D1 once a minute closes, see shared/assembly/assembler-state.ts). Without the open rows the
 * last two or three minutes would be missing, or, for an idle tenant, the last minutes until the
 * cron's flush.
 *
 * D1 is read before the state: a flush between the two reads makes the flushed rows missing from
 * that one answer, never counted twice.
 */
import type { Db } from "../db/client.ts";
import { readEdgeRows, readOperationRows } from "../db/queries/metrics.ts";
import { decodeState, withOpenEdgeRows, withOpenOperationRows, type AssemblerState } from "../assembly/assembler-state.ts";
import type { EdgeRow } from "../servicegraph/aggregate.ts";
import type { OperationRow } from "../metrics/red.ts";
import { bucketInWindow, type TimeWindow } from "../metrics/rows.ts";
import { serviceGraphStateKey } from "./keys.ts";
import type { ObjectStore } from "./object-store.ts";

const STEP_SECONDS = 60;

/** The D1 query bounds of the minutes that may overlap the window (inclusive). */
function minuteRange(window: TimeWindow): { from: number; to: number } {
  return { from: Math.floor(window.start) - STEP_SECONDS, to: Math.ceil(window.end) };
}

async function openState(store: ObjectStore, tenantId: string): Promise<AssemblerState> {
  return decodeState(await store.get(serviceGraphStateKey(tenantId)));
}

/** Edge rows overlapping the window (epoch seconds), one per key, D1 and open rows merged. */
export async function readEdgeRowsWithOpen(db: Db, store: ObjectStore, tenantId: string, window: TimeWindow): Promise<EdgeRow[]> {
  const stored = await readEdgeRows(db, tenantId, minuteRange(window));
  const state = await openState(store, tenantId);
  return withOpenEdgeRows(stored, state.openEdgeRows).filter((r) => bucketInWindow(r.minute, STEP_SECONDS, window));
}

/** Operation rows overlapping the window (epoch seconds), one per key, D1 and open rows merged. */
export async function readOperationRowsWithOpen(db: Db, store: ObjectStore, tenantId: string, window: TimeWindow): Promise<OperationRow[]> {
  const stored = await readOperationRows(db, tenantId, minuteRange(window));
  const state = await openState(store, tenantId);
  return withOpenOperationRows(stored, state.openOperationRows).filter((r) => bucketInWindow(r.minute, STEP_SECONDS, window));
}
