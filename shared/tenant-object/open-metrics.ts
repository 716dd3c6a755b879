/**
 * @module
 * A tenant's metric state that is not in D1 yet, as its tenant object holds it: the service-graph
 * halves still waiting for a partner, the per-minute edge, operation and service rows of minutes not
 * closed yet, and the usage counts not written yet. Consumers of the ingest queue, any number at once,
 * each send what their batch adds (a `TenantDelta`: rows they could complete on their own, halves
 * they could not pair, usage); the object applies deltas one at a time, in whatever order they
 * come, and every few seconds to a minute takes out what is final (`takeClosed`) to write to D1.
 *
 * Why rows are held: D1 bills every row written and a busy tenant's batches (every few seconds)
 * touch every row of the current minute, so a minute's rows are written once, when it closes: its
 * end plus LATE_WINDOW_SECONDS is before the arrival clock (the newest ingest receive time seen),
 * or, for a tenant that sent nothing for IDLE_AFTER_MS, before the wall clock. Rows of a minute
 * that comes late (a retried message) are written again, merged with the stored row.
 *
 * Order does not matter for the result: rows merge by adding counts and histograms, and a half
 * waits for its partner whichever comes first. A half expires (becomes a virtual-node edge or is
 * dropped, shared/servicegraph/edges.ts) when the arrival clock is `waitMs` past its arrival *and*
 * it has been held that long in real time, so a message retried late still finds its partner.
 *
 * Service rows (every span per service and minute, shared/metrics/red.ts) came after the other
 * rows, so the object keeps `serviceRowsFrom`: the first minute from which every span it counted
 * is in them. 0 for an object that only ever applied deltas with service rows; an object whose
 * state predates them (a snapshot without the field, the legacy state import), or that applies a
 * delta without them (from a consumer of the previous version during a deploy), moves it past the
 * minutes those spans could be in. TraceQL metrics answer from service rows only for windows
 * starting at or after it.
 *
 * Pure: no I/O. `toJSON`/`fromJSON` are the snapshot the object stores; deltas are replayed on it.
 */
import { EdgeAccumulator, edgeRowKey, mergeEdgeRows, type EdgeRow } from "../servicegraph/aggregate.ts";
import { EdgeStore, type EdgeStoreState, type PendingHalf } from "../servicegraph/edges.ts";
import { mergeOperationRows, mergeServiceRows, operationRowKey, serviceRowKey, type OperationRow, type ServiceRow } from "../metrics/red.ts";
import { bucketInWindow, type TimeWindow } from "../metrics/rows.ts";
import type { UsageDelta } from "../assembly/usage-deltas.ts";
import { fromBase64, toBase64 } from "../encoding/base64.ts";

/**
 * How long after a minute ends its rows stay open, in seconds of arrival time. Covers the edge
 * store's wait for a partner half (60 s: an unpaired half is emitted that late, in the minute the
 * span started) plus 60 s for SDK export intervals and queue batching.
 */
export const LATE_WINDOW_SECONDS = 120;

/** A tenant that sent nothing for this long is idle: its minutes close by the wall clock. */
export const IDLE_AFTER_MS = 2 * 60_000;

/**
 * Most halves one tenant object holds; past it the oldest is expired early (counted by the edge
 * store). About 250 bytes each in memory, so 100,000 is 25 MB of the object's 128 MB.
 */
export const MAX_PENDING_HALVES = 100_000;

/** What one consumer's share of a queue batch adds to a tenant's metrics (see shared/assembly/plan.ts). */
export interface TenantDelta {
  /** The ingest keys it accounts for: the ledger records them with the delta. */
  keys: string[];
  /** The block their spans went into (none for a delta of usage-only messages). */
  blockId?: string;
  /** The newest ingest receive time among them: the arrival clock. */
  clockMs: number;
  /** Halves the consumer could not pair within its batch. */
  halves: PendingHalf[];
  /** Rows of the edges it could complete (pairs, database calls, roots). */
  edgeRows: EdgeRow[];
  operationRows: OperationRow[];
  /**
   * Every span per service and minute. Absent from a consumer (or a log entry) of the version before
   * service rows: the object then counts those spans as missing from them (`serviceRowsFrom`).
   */
  serviceRows?: ServiceRow[];
  usage: UsageDelta[];
}

/** What is final and leaves the object for D1. */
export interface ClosedRows {
  edgeRows: EdgeRow[];
  operationRows: OperationRow[];
  /** Absent in a pending flush taken before service rows existed. */
  serviceRows?: ServiceRow[];
  usage: UsageDelta[];
  /**
   * Minutes of these rows that D1 may hold rows of already (written before by this object, or
   * before it kept track): their stored rows must be read and merged. The others are new: written
   * as they are, without a read.
   */
  storedMinutes: number[];
}

/** How long the object remembers which minutes it wrote (later than this, a minute is read anyway). */
export const WRITTEN_MINUTES_KEPT_SECONDS = 86_400;

/** Whether a row's minute is closed at `clockMs`: its end plus the late window has passed. */
export function minuteClosed(minute: number, clockMs: number, stepSeconds = 60): boolean {
  return (minute + stepSeconds + LATE_WINDOW_SECONDS) * 1000 < clockMs;
}

export class OpenMetrics {
  readonly tenant: string;
  readonly #edges: EdgeStore;
  readonly #edgeRows = new Map<string, EdgeRow>();
  readonly #operationRows = new Map<string, OperationRow>();
  readonly #serviceRows = new Map<string, ServiceRow>();
  /** See the module comment: unix seconds, a whole minute. */
  #serviceRowsFrom = 0;
  readonly #usage = new Map<string, UsageDelta>();
  #lastApplyWallMs = 0;
  /** Clocks of the last expiry pass: a pass walks every pending half, so at most one per second. */
  #expiredAt = { clockMs: 0, wallMs: 0 };
  /** Minutes whose rows were taken out to be written, for WRITTEN_MINUTES_KEPT_SECONDS. */
  readonly #written = new Set<number>();
  /**
   * From this minute on, `#written` knows every minute written: before it (this object did not
   * exist, or another writer, like the assembler before tenant objects, may have written them),
   * stored rows are always read.
   */
  #trackedFromMinute: number;

  /** @param createdAtMs now, for a new object: minutes before it are read before they are written. */
  constructor(tenant: string, edges?: EdgeStore, createdAtMs = Date.now()) {
    this.tenant = tenant;
    this.#edges = edges ?? new EdgeStore(tenant, { maxPending: MAX_PENDING_HALVES });
    this.#trackedFromMinute = Math.floor(createdAtMs / 60_000) * 60 + 60;
  }

  get clockMs(): number {
    return this.#edges.clockMs;
  }

  get pendingHalves(): number {
    return this.#edges.pendingCount;
  }

  /** Whether anything waits to be written: rows, usage or halves. */
  get holdsAnything(): boolean {
    return this.#edgeRows.size > 0 || this.#operationRows.size > 0 || this.#serviceRows.size > 0 || this.#usage.size > 0 || this.#edges.pendingCount > 0;
  }

  /** The first minute (unix seconds) from which the service rows hold every span this object counted. */
  get serviceRowsFrom(): number {
    return this.#serviceRowsFrom;
  }

  apply(delta: TenantDelta, wallMs: number): void {
    const completed = new EdgeAccumulator(this.tenant);
    completed.add(this.#edges.addPending(delta.halves, delta.clockMs, wallMs));
    if (this.#edges.clockMs - this.#expiredAt.clockMs >= 1000 || wallMs - this.#expiredAt.wallMs >= 1000) {
      completed.add(this.#edges.expire(this.#edges.clockMs, wallMs));
      this.#expiredAt = { clockMs: this.#edges.clockMs, wallMs };
    }
    this.#addRows(delta.edgeRows, completed.rows(), delta.operationRows);
    if (delta.serviceRows) for (const r of delta.serviceRows) upsert(this.#serviceRows, serviceRowKey(r), r, mergeServiceRows);
    else this.#serviceRowsMissUntil(Math.max(wallMs, delta.clockMs), delta.operationRows);
    for (const u of delta.usage) {
      const seen = this.#usage.get(u.day);
      this.#usage.set(u.day, seen ? { day: u.day, spansAccepted: seen.spansAccepted + u.spansAccepted, spansRejected: seen.spansRejected + u.spansRejected } : { ...u });
    }
    this.#lastApplyWallMs = Math.max(this.#lastApplyWallMs, wallMs);
  }

  /**
   * Takes out the rows of closed minutes, after ending the wait of halves whose time is up, and
   * with them the usage counts (alone only when the tenant is idle: a busy tenant's usage goes with
   * its next closed minute, so the object writes to D1 at most about once a minute). Undefined
   * when nothing is final.
   */
  takeClosed(wallMs: number): ClosedRows | undefined {
    const idle = wallMs - this.#lastApplyWallMs >= IDLE_AFTER_MS;
    const closeAtMs = idle ? Math.max(this.#edges.clockMs, wallMs) : this.#edges.clockMs;
    const expired = new EdgeAccumulator(this.tenant);
    expired.add(this.#edges.expire(closeAtMs, wallMs));
    this.#expiredAt = { clockMs: this.#edges.clockMs, wallMs };
    this.#addRows(expired.rows(), [], []);
    const edgeRows = takeWhere(this.#edgeRows, (r) => minuteClosed(r.minute, closeAtMs));
    const operationRows = takeWhere(this.#operationRows, (r) => minuteClosed(r.minute, closeAtMs));
    const serviceRows = takeWhere(this.#serviceRows, (r) => minuteClosed(r.minute, closeAtMs));
    if (!edgeRows.length && !operationRows.length && !serviceRows.length && !(idle && this.#usage.size)) return undefined;
    const usage = [...this.#usage.values()];
    this.#usage.clear();
    const oldest = Math.floor(wallMs / 1000) - WRITTEN_MINUTES_KEPT_SECONDS;
    const minutes = new Set([...edgeRows, ...operationRows, ...serviceRows].map((r) => r.minute));
    const storedMinutes = [...minutes].filter((m) => m < this.#trackedFromMinute || m < oldest || this.#written.has(m)).sort((a, b) => a - b);
    for (const m of minutes) this.#written.add(m);
    for (const m of this.#written) if (m < oldest) this.#written.delete(m);
    return { edgeRows, operationRows, serviceRows, usage, storedMinutes };
  }

  /**
   * Spans were counted without service rows (a delta of the previous version, or state from before
   * them): no minute up to the one of `atMs` (a span starts before its export is received), nor of
   * these operation rows, has them all.
   */
  #serviceRowsMissUntil(atMs: number, operationRows: readonly OperationRow[]): void {
    let from = Math.floor(atMs / 60_000) * 60 + 60;
    for (const r of operationRows) from = Math.max(from, r.minute + 60);
    this.#serviceRowsFrom = Math.max(this.#serviceRowsFrom, from);
  }

  /** Open edge rows of minutes overlapping the window (epoch seconds). */
  edgeRowsIn(window: TimeWindow): EdgeRow[] {
    return [...this.#edgeRows.values()].filter((r) => bucketInWindow(r.minute, 60, window));
  }

  /** Usage counted and not taken out yet. */
  get usage(): UsageDelta[] {
    return [...this.#usage.values()].map((u) => ({ ...u }));
  }

  operationRowsIn(window: TimeWindow): OperationRow[] {
    return [...this.#operationRows.values()].filter((r) => bucketInWindow(r.minute, 60, window));
  }

  serviceRowsIn(window: TimeWindow): ServiceRow[] {
    return [...this.#serviceRows.values()].filter((r) => bucketInWindow(r.minute, 60, window));
  }

  #addRows(edgeRows: readonly EdgeRow[], moreEdgeRows: readonly EdgeRow[], operationRows: readonly OperationRow[]): void {
    for (const r of [...edgeRows, ...moreEdgeRows]) upsert(this.#edgeRows, edgeRowKey(r), r, mergeEdgeRows);
    for (const r of operationRows) upsert(this.#operationRows, operationRowKey(r), r, mergeOperationRows);
  }

  toJSON(): OpenMetricsJson {
    return {
      format: OPEN_METRICS_FORMAT,
      tenant: this.tenant,
      edges: this.#edges.toJSON(),
      edgeRows: [...this.#edgeRows.values()].map(encodeEdgeRow),
      operationRows: [...this.#operationRows.values()].map(encodeOperationRow),
      serviceRows: [...this.#serviceRows.values()].map(encodeServiceRow),
      serviceRowsFrom: this.#serviceRowsFrom,
      usage: [...this.#usage.values()],
      lastApplyWallMs: this.#lastApplyWallMs,
      expiredAt: this.#expiredAt,
      writtenMinutes: [...this.#written],
      trackedFromMinute: this.#trackedFromMinute,
    };
  }

  /** @param loadedAtMs now: for a snapshot from before service rows, the minutes they miss end here. */
  static fromJSON(json: OpenMetricsJson, loadedAtMs = Date.now()): OpenMetrics {
    if (json.format !== OPEN_METRICS_FORMAT) throw new Error(`open metrics: unknown format ${String(json.format)}`);
    const m = new OpenMetrics(json.tenant, EdgeStore.fromJSON(json.edges, { maxPending: MAX_PENDING_HALVES }));
    for (const r of json.edgeRows.map(decodeEdgeRow)) m.#edgeRows.set(edgeRowKey(r), r);
    for (const r of json.operationRows.map(decodeOperationRow)) m.#operationRows.set(operationRowKey(r), r);
    for (const r of (json.serviceRows ?? []).map(decodeServiceRow)) m.#serviceRows.set(serviceRowKey(r), r);
    if (json.serviceRowsFrom !== undefined) m.#serviceRowsFrom = json.serviceRowsFrom;
    else m.#serviceRowsMissUntil(Math.max(loadedAtMs, m.clockMs), [...m.#operationRows.values()]);
    for (const u of json.usage) m.#usage.set(u.day, { ...u });
    m.#lastApplyWallMs = json.lastApplyWallMs;
    m.#expiredAt = { ...json.expiredAt };
    for (const minute of json.writtenMinutes) m.#written.add(minute);
    m.#trackedFromMinute = json.trackedFromMinute;
    return m;
  }
}

export const OPEN_METRICS_FORMAT = "edgetrace.open-metrics.v1";

export interface OpenMetricsJson {
  format: typeof OPEN_METRICS_FORMAT;
  tenant: string;
  edges: EdgeStoreState;
  edgeRows: EncodedEdgeRow[];
  operationRows: EncodedOperationRow[];
  /** Both absent in a snapshot from before service rows. */
  serviceRows?: EncodedServiceRow[];
  serviceRowsFrom?: number;
  usage: UsageDelta[];
  lastApplyWallMs: number;
  expiredAt: { clockMs: number; wallMs: number };
  writtenMinutes: number[];
  trackedFromMinute: number;
}

function upsert<T>(rows: Map<string, T>, key: string, row: T, merge: (a: T, b: T) => T): void {
  const seen = rows.get(key);
  rows.set(key, seen === undefined ? row : merge(seen, row));
}

function takeWhere<T>(rows: Map<string, T>, test: (row: T) => boolean): T[] {
  const out: T[] = [];
  for (const [key, row] of rows) {
    if (!test(row)) continue;
    out.push(row);
    rows.delete(key);
  }
  return out;
}

// ---- JSON forms (histograms as base64), for snapshots and the deltas the object logs -------------

type Encoded<T, K extends keyof T> = Omit<T, K> & { [P in K]: string };
export type EncodedEdgeRow = Encoded<EdgeRow, "clientDurations" | "serverDurations">;
export type EncodedOperationRow = Encoded<OperationRow, "durations">;
export type EncodedServiceRow = Encoded<ServiceRow, "durations">;

export function encodeEdgeRow(r: EdgeRow): EncodedEdgeRow {
  return { ...r, clientDurations: toBase64(r.clientDurations), serverDurations: toBase64(r.serverDurations) };
}

export function decodeEdgeRow(r: EncodedEdgeRow): EdgeRow {
  return { ...r, clientDurations: fromBase64(r.clientDurations), serverDurations: fromBase64(r.serverDurations) };
}

export function encodeOperationRow(r: OperationRow): EncodedOperationRow {
  return { ...r, durations: toBase64(r.durations) };
}

export function decodeOperationRow(r: EncodedOperationRow): OperationRow {
  return { ...r, durations: fromBase64(r.durations) };
}

export function encodeServiceRow(r: ServiceRow): EncodedServiceRow {
  return { ...r, durations: toBase64(r.durations) };
}

export function decodeServiceRow(r: EncodedServiceRow): ServiceRow {
  return { ...r, durations: fromBase64(r.durations) };
}

/** A delta as JSON text (what the object's log stores). */
export function encodeDelta(delta: TenantDelta): string {
  const { serviceRows, ...rest } = delta;
  return JSON.stringify({ ...rest, edgeRows: delta.edgeRows.map(encodeEdgeRow), operationRows: delta.operationRows.map(encodeOperationRow), ...(serviceRows ? { serviceRows: serviceRows.map(encodeServiceRow) } : {}) });
}

/**
 * A delta from its JSON text. One logged by the version before service rows may still carry them,
 * unencoded (that version spread the delta a newer consumer sent it, and did not count them): they
 * are dropped, so the delta counts as one without service rows.
 */
export function decodeDelta(text: string): TenantDelta {
  const json = JSON.parse(text) as Omit<TenantDelta, "edgeRows" | "operationRows" | "serviceRows"> & { edgeRows: EncodedEdgeRow[]; operationRows: EncodedOperationRow[]; serviceRows?: EncodedServiceRow[] };
  const { serviceRows, ...rest } = json;
  const encoded = serviceRows?.every((r) => typeof r.durations === "string") ? serviceRows : undefined;
  return { ...rest, edgeRows: json.edgeRows.map(decodeEdgeRow), operationRows: json.operationRows.map(decodeOperationRow), ...(encoded ? { serviceRows: encoded.map(decodeServiceRow) } : {}) };
}
