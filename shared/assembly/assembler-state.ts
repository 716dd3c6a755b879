/**
 * @module
 * The assembler's per-tenant state object (`t/<tenant>/state/servicegraph.json`, read and written
 * once per queue batch): the service-graph edge store's pending halves, and the per-minute edge and
 * operation rows of minutes that are not closed yet. D1 bills every row written, and a busy
 * tenant's queue batch (every few seconds) touches every row of the current minute, so the rows are
 * held here and written to D1 once, when the minute closes: its end plus LATE_WINDOW_SECONDS is
 * before the watermark (the newest ingest receive time of the batch, or the cron's clock). Late
 * spans of an already written minute are written again, merged with the stored row.
 *
 * Pure: no I/O. The worker (workers/assembler/consume.ts) reads and writes the object.
 */
import { edgeRowKey, mergeEdgeRows, upsertEdgeRows, type EdgeRow } from "../servicegraph/aggregate.ts";
import { EDGE_STORE_FORMAT, type EdgeStoreState } from "../servicegraph/edges.ts";
import { mergeOperationRows, operationRowKey, upsertOperationRows, type OperationRow } from "../metrics/red.ts";
import { mergeRowsByKey } from "../metrics/rows.ts";
import { fromBase64, toBase64 } from "../encoding/base64.ts";

export const ASSEMBLER_STATE_FORMAT = "edgetrace.assembler-state.v1";

/**
 * How long after a minute ends its rows stay open, in seconds of ingest receive time. Covers the
 * edge store's wait for a partner half (60 s: an unpaired half is emitted that late, in the minute
 * the span started) plus 60 s for SDK export intervals and queue batching. Spans later than that
 * still count: their minute's D1 row is read, merged and written again.
 */
export const LATE_WINDOW_SECONDS = 120;

/** Closed rows written to D1 with the block `blockId`, kept until the next save (see consume.ts). */
export interface FlushRecord {
  blockId: string;
  edgeRows: EdgeRow[];
  operationRows: OperationRow[];
}

/**
 * Inline ingest objects (carried in their queue message, see shared/ingest/batch-object.ts) that
 * went into a block, by the key that names them. An R2 ingest object is deleted once assembled, so
 * a redelivered message that points at one finds nothing; an inline one brings its spans again,
 * and this record is how the assembler knows it is done: listed here with a catalogued block.
 */
export interface AssembledGroup {
  blockId: string;
  /** Processing time, for pruning after RECENT_BATCHES_WINDOW_MS. */
  atMs: number;
  keys: string[];
}

/**
 * How long assembled inline keys are remembered. A message is redelivered after its consumer run
 * failed (it was then retried within seconds to minutes), or, after a crash between the D1 commit
 * and the ack, once the run's visibility ends. A redelivery later than this is assembled again:
 * reads and compaction drop its duplicate spans, but its metrics count twice.
 */
export const RECENT_BATCHES_WINDOW_MS = 30 * 60_000;

export interface AssemblerState {
  edges?: EdgeStoreState;
  openEdgeRows: EdgeRow[];
  openOperationRows: OperationRow[];
  /** The block whose batch this state includes, last. */
  lastBlockId?: string;
  /** What the batch of lastBlockId took out of the state to write to D1. */
  flushing?: FlushRecord;
  recentBatches?: AssembledGroup[];
}

type Encoded<T, K extends keyof T> = Omit<T, K> & { [P in K]: string };
type EncodedEdgeRow = Encoded<EdgeRow, "clientDurations" | "serverDurations">;
type EncodedOperationRow = Encoded<OperationRow, "durations">;

interface StateJson {
  format: typeof ASSEMBLER_STATE_FORMAT;
  edges?: EdgeStoreState;
  openEdgeRows: EncodedEdgeRow[];
  openOperationRows: EncodedOperationRow[];
  lastBlockId?: string;
  flushing?: { blockId: string; edgeRows: EncodedEdgeRow[]; operationRows: EncodedOperationRow[] };
  recentBatches?: AssembledGroup[];
}

export function emptyState(): AssemblerState {
  return { openEdgeRows: [], openOperationRows: [] };
}

/** Reads the state object, or the previous format (a plain EdgeStoreState), or nothing. */
export function decodeState(bytes: Uint8Array | undefined): AssemblerState {
  if (!bytes) return emptyState();
  const json = JSON.parse(new TextDecoder().decode(bytes)) as StateJson | EdgeStoreState;
  if (json.format === EDGE_STORE_FORMAT) return { ...emptyState(), edges: json };
  if (json.format !== ASSEMBLER_STATE_FORMAT) throw new Error(`assembler state: unknown format ${String((json as { format?: unknown }).format)}`);
  return {
    edges: json.edges,
    openEdgeRows: json.openEdgeRows.map(decodeEdgeRow),
    openOperationRows: json.openOperationRows.map(decodeOperationRow),
    lastBlockId: json.lastBlockId,
    flushing: json.flushing && { blockId: json.flushing.blockId, edgeRows: json.flushing.edgeRows.map(decodeEdgeRow), operationRows: json.flushing.operationRows.map(decodeOperationRow) },
    recentBatches: json.recentBatches,
  };
}

/** JSON, histograms as base64. */
export function encodeState(state: AssemblerState): string {
  const json: StateJson = {
    format: ASSEMBLER_STATE_FORMAT,
    edges: state.edges,
    openEdgeRows: state.openEdgeRows.map(encodeEdgeRow),
    openOperationRows: state.openOperationRows.map(encodeOperationRow),
    lastBlockId: state.lastBlockId,
    flushing: state.flushing && { blockId: state.flushing.blockId, edgeRows: state.flushing.edgeRows.map(encodeEdgeRow), operationRows: state.flushing.operationRows.map(encodeOperationRow) },
    recentBatches: state.recentBatches?.length ? state.recentBatches : undefined,
  };
  return JSON.stringify(json);
}

/** The blocks that, per the state, hold each of `keys` (inline keys assembled recently). */
export function blocksHolding(state: AssemblerState, keys: Iterable<string>): Map<string, string> {
  const wanted = new Set(keys);
  const out = new Map<string, string>();
  for (const g of state.recentBatches ?? []) for (const k of g.keys) if (wanted.has(k)) out.set(k, g.blockId);
  return out;
}

/** `recent` plus a new group, without the groups older than the window at `nowMs`. */
export function rememberAssembled(recent: readonly AssembledGroup[] | undefined, group: AssembledGroup, nowMs: number): AssembledGroup[] {
  const kept = (recent ?? []).filter((g) => g.atMs >= nowMs - RECENT_BATCHES_WINDOW_MS && g.blockId !== group.blockId);
  return group.keys.length ? [...kept, group] : kept;
}

/** Whether a row's minute is closed at `watermarkMs`: its end plus the late window has passed. */
export function minuteClosed(minute: number, watermarkMs: number, stepSeconds = 60): boolean {
  return (minute + stepSeconds + LATE_WINDOW_SECONDS) * 1000 < watermarkMs;
}

export interface SplitRows {
  openEdgeRows: EdgeRow[];
  openOperationRows: OperationRow[];
  closedEdgeRows: EdgeRow[];
  closedOperationRows: OperationRow[];
}

/** Adds new rows to the open ones (same key: merged) and splits off those closed at `watermarkMs`. */
export function mergeAndSplit(state: AssemblerState, edgeRows: readonly EdgeRow[], operationRows: readonly OperationRow[], watermarkMs: number): SplitRows {
  const edges = mergeRowsByKey([...state.openEdgeRows, ...edgeRows], edgeRowKey, mergeEdgeRows);
  const ops = mergeRowsByKey([...state.openOperationRows, ...operationRows], operationRowKey, mergeOperationRows);
  const closed = (r: { minute: number }) => minuteClosed(r.minute, watermarkMs);
  return {
    openEdgeRows: edges.filter((r) => !closed(r)),
    openOperationRows: ops.filter((r) => !closed(r)),
    closedEdgeRows: edges.filter(closed),
    closedOperationRows: ops.filter(closed),
  };
}

/** Stored D1 rows plus open rows: what a reader sees as the current rows (one per key). */
export function withOpenEdgeRows(stored: Iterable<EdgeRow>, open: Iterable<EdgeRow>): EdgeRow[] {
  return upsertEdgeRows(stored, open);
}

export function withOpenOperationRows(stored: Iterable<OperationRow>, open: Iterable<OperationRow>): OperationRow[] {
  return upsertOperationRows(stored, open);
}

function encodeEdgeRow(r: EdgeRow): EncodedEdgeRow {
  return { ...r, clientDurations: toBase64(r.clientDurations), serverDurations: toBase64(r.serverDurations) };
}

function decodeEdgeRow(r: EncodedEdgeRow): EdgeRow {
  return { ...r, clientDurations: fromBase64(r.clientDurations), serverDurations: fromBase64(r.serverDurations) };
}

function encodeOperationRow(r: OperationRow): EncodedOperationRow {
  return { ...r, durations: toBase64(r.durations) };
}

function decodeOperationRow(r: EncodedOperationRow): OperationRow {
  return { ...r, durations: fromBase64(r.durations) };
}
