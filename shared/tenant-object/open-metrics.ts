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
 * starting at or after it. The same when service rows gained their root and status keys
 * (migration 0010 dropped the rows before): rows without them, in a delta or a snapshot, count as
 * none.
 *
 * Pure: no I/O. `toJSON`/`fromJSON` are the snapshot the object stores; deltas are replayed on it.
 */
import { EdgeAccumulator } from "../servicegraph/aggregate.ts";
import { EdgeStore, type EdgeStoreState, type PendingHalf } from "../servicegraph/edges.ts";
import { currentServiceRows, type OperationRow } from "../metrics/red.ts";
import { decodeRowSets, encodeRowSets, MINUTE_ROLLUPS, ROW_KINDS, type EncodedRowSets, type MinuteRowSets, type RowKind, type RowOf } from "../metrics/row-kinds.ts";
import { MinuteRowMap, type TimeWindow } from "../metrics/rows.ts";
import type { UsageDelta } from "../assembly/usage-deltas.ts";

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

/**
 * What one consumer's share of a queue batch adds to a tenant's metrics (see shared/assembly/plan.ts):
 * the rows it could complete on its own (`edgeRows`: pairs, database calls, roots), and
 * `serviceRows`, every span per service and minute, absent from a consumer (or a log entry) of the
 * version before service rows: the object then counts those spans as missing from them
 * (`serviceRowsFrom`).
 */
export interface TenantDelta extends MinuteRowSets {
  /** The ingest keys it accounts for: the ledger records them with the delta. */
  keys: string[];
  /** The block their spans went into (none for a delta of usage-only messages). */
  blockId?: string;
  /** The newest ingest receive time among them: the arrival clock. */
  clockMs: number;
  /** Halves the consumer could not pair within its batch. */
  halves: PendingHalf[];
  usage: UsageDelta[];
}

/** What is final and leaves the object for D1 (`serviceRows` absent in a pending flush taken before service rows existed). */
export interface ClosedRows extends MinuteRowSets {
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
  readonly tenantId: string;
  readonly #edges: EdgeStore;
  /** The open rows of each kind, merged by key. */
  readonly #rows: { readonly [N in RowKind]: MinuteRowMap<RowOf<N>> } = {
    edgeRows: new MinuteRowMap(MINUTE_ROLLUPS.edgeRows),
    operationRows: new MinuteRowMap(MINUTE_ROLLUPS.operationRows),
    serviceRows: new MinuteRowMap(MINUTE_ROLLUPS.serviceRows),
  };
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
  constructor(tenantId: string, edges?: EdgeStore, createdAtMs = Date.now()) {
    this.tenantId = tenantId;
    this.#edges = edges ?? new EdgeStore(tenantId, { maxPending: MAX_PENDING_HALVES });
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
    return ROW_KINDS.some((kind) => this.#rows[kind].size > 0) || this.#usage.size > 0 || this.#edges.pendingCount > 0;
  }

  /** The first minute (unix seconds) from which the service rows hold every span this object counted. */
  get serviceRowsFrom(): number {
    return this.#serviceRowsFrom;
  }

  apply(delta: TenantDelta, wallMs: number): void {
    const completed = new EdgeAccumulator(this.tenantId);
    completed.add(this.#edges.addPending(delta.halves, delta.clockMs, wallMs));
    if (this.#edges.clockMs - this.#expiredAt.clockMs >= 1000 || wallMs - this.#expiredAt.wallMs >= 1000) {
      completed.add(this.#edges.expire(this.#edges.clockMs, wallMs));
      this.#expiredAt = { clockMs: this.#edges.clockMs, wallMs };
    }
    this.#rows.edgeRows.add(delta.edgeRows).add(completed.rows());
    this.#rows.operationRows.add(delta.operationRows);
    // Rows of a consumer of the version before the root/status keys count as none (migration 0010).
    const serviceRows = currentServiceRows(delta.serviceRows);
    if (serviceRows) this.#rows.serviceRows.add(serviceRows);
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
    const expired = new EdgeAccumulator(this.tenantId);
    expired.add(this.#edges.expire(closeAtMs, wallMs));
    this.#expiredAt = { clockMs: this.#edges.clockMs, wallMs };
    this.#rows.edgeRows.add(expired.rows());
    const closed = (r: { minute: number }) => minuteClosed(r.minute, closeAtMs);
    const rows = { edgeRows: this.#rows.edgeRows.take(closed), operationRows: this.#rows.operationRows.take(closed), serviceRows: this.#rows.serviceRows.take(closed) };
    const minutes = new Set(ROW_KINDS.flatMap((kind) => rows[kind].map((r) => r.minute)));
    if (!minutes.size && !(idle && this.#usage.size)) return undefined;
    const usage = [...this.#usage.values()];
    this.#usage.clear();
    const oldest = Math.floor(wallMs / 1000) - WRITTEN_MINUTES_KEPT_SECONDS;
    const storedMinutes = [...minutes].filter((m) => m < this.#trackedFromMinute || m < oldest || this.#written.has(m)).sort((a, b) => a - b);
    for (const m of minutes) this.#written.add(m);
    for (const m of this.#written) if (m < oldest) this.#written.delete(m);
    return { ...rows, usage, storedMinutes };
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

  /** Open rows of a kind whose minutes overlap the window (epoch seconds). */
  rowsIn<N extends RowKind>(kind: N, window: TimeWindow): RowOf<N>[] {
    return this.#rows[kind].rowsIn(window);
  }

  /** Usage counted and not taken out yet. */
  get usage(): UsageDelta[] {
    return [...this.#usage.values()].map((u) => ({ ...u }));
  }

  toJSON(): OpenMetricsJson {
    return {
      format: OPEN_METRICS_FORMAT,
      tenant: this.tenantId,
      edges: this.#edges.toJSON(),
      ...encodeRowSets({ edgeRows: this.#rows.edgeRows.rows(), operationRows: this.#rows.operationRows.rows(), serviceRows: this.#rows.serviceRows.rows() }),
      serviceRowsFrom: this.#serviceRowsFrom,
      serviceRowsKeys: SERVICE_ROWS_KEYS,
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
    const rows = decodeRowSets({ edgeRows: json.edgeRows, operationRows: json.operationRows, serviceRows: json.serviceRows });
    m.#rows.edgeRows.add(rows.edgeRows);
    m.#rows.operationRows.add(rows.operationRows);
    // A snapshot from before service rows, or before their root/status keys (whose D1 rows migration
    // 0010 dropped): its rows, if any, are dropped, and the minutes up to now are missing from them.
    const current = json.serviceRowsKeys === SERVICE_ROWS_KEYS ? currentServiceRows(rows.serviceRows) : undefined;
    if (json.serviceRowsFrom !== undefined) m.#serviceRowsFrom = json.serviceRowsFrom;
    if (current) m.#rows.serviceRows.add(current);
    else m.#serviceRowsMissUntil(Math.max(loadedAtMs, m.clockMs), rows.operationRows);
    for (const u of json.usage) m.#usage.set(u.day, { ...u });
    m.#lastApplyWallMs = json.lastApplyWallMs;
    m.#expiredAt = { ...json.expiredAt };
    for (const minute of json.writtenMinutes) m.#written.add(minute);
    m.#trackedFromMinute = json.trackedFromMinute;
    return m;
  }
}

export const OPEN_METRICS_FORMAT = "edgetrace.open-metrics.v1";

/** How service rows are keyed (shared/metrics/red.ts): by service, name type, root and status since migration 0010. */
const SERVICE_ROWS_KEYS = "service,serviceNameType,root,status";

export interface OpenMetricsJson extends EncodedRowSets<MinuteRowSets> {
  format: typeof OPEN_METRICS_FORMAT;
  /** The object's `tenantId`, under the name it has always been stored with (as in the rows: shared/metrics/rows.ts). */
  tenant: string;
  edges: EdgeStoreState;
  /** Absent, as `serviceRows`, in a snapshot from before service rows. */
  serviceRowsFrom?: number;
  /** The service rows' keys; absent in a snapshot from before root and status were keys. */
  serviceRowsKeys?: string;
  usage: UsageDelta[];
  lastApplyWallMs: number;
  expiredAt: { clockMs: number; wallMs: number };
  writtenMinutes: number[];
  trackedFromMinute: number;
}

// ---- JSON forms (histograms as base64: shared/metrics/row-kinds.ts), for the deltas the object logs ----

/** A delta as JSON text (what the object's log stores). */
export function encodeDelta(delta: TenantDelta): string {
  // Service rows last, where they have been in the log since they came.
  const { serviceRows, ...rest } = delta;
  return JSON.stringify(encodeRowSets({ ...rest, ...(serviceRows ? { serviceRows } : {}) }));
}

/**
 * A delta from its JSON text. One logged by the version before service rows may still carry them,
 * unencoded (that version spread the delta a newer consumer sent it, and did not count them): they
 * are dropped, so the delta counts as one without service rows.
 */
export function decodeDelta(text: string): TenantDelta {
  const { serviceRows, ...rest } = JSON.parse(text) as EncodedRowSets<TenantDelta>;
  const encoded = serviceRows?.every((r) => typeof r.durations === "string") ? serviceRows : undefined;
  return decodeRowSets({ ...rest, ...(encoded ? { serviceRows: encoded } : {}) });
}
