/**
 * @module
 * The per-minute rollup: what every per-minute row kind (service-graph edges, RED per operation,
 * spans per service) is, once. A row is a tenant, a minute (the start of its time bucket), the
 * fields that name it (its key), counts that add and latency histograms that merge exactly. A kind
 * is described once, by a `MinuteRollup` (`minuteRollup<EdgeRow>()({ keys, counts, histograms,
 * table })`), and from that description alone the same code, for every kind:
 * - counts rows (`MinuteAccumulator`: histograms decoded while spans come in, encoded once);
 * - merges rows of one key (`merge`, `upsert`, `MinuteRowMap`): the upsert when a minute's row
 *   exists already, in the tenant object and against D1;
 * - turns them into their JSON form and back (`encode`, `decode`: histograms as base64, the tenant
 *   id under its stored name `tenant`), for the tenant object's snapshots, logged deltas and pending
 *   flushes;
 * - reads and writes them in D1 (shared/db/queries/metrics.ts: the table has a column of the
 *   same name for each field, `tenantId` included; the key is the primary key).
 * The kinds themselves: `edgeRollup` (shared/servicegraph/aggregate.ts), `operationRollup` and
 * `serviceRollup` (shared/metrics/red.ts); all three as one set: shared/metrics/row-kinds.ts.
 *
 * Merging is exact and order-free: counts add and histograms merge bucket by bucket, so rows of a
 * key can be merged in any grouping and order and give the same row (rows.test.ts). The fields keep
 * one order in every row made here (tenantId, minute, keys, counts, histograms, as the kinds declare
 * them), and a merge keeps the first row's, so the JSON forms stay byte for byte what they were.
 */
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { fromBase64, toBase64 } from "../encoding/base64.ts";
import { LatencyHistogram } from "./histogram.ts";

/** What every per-minute row has. */
export interface MinuteRow {
  tenantId: string;
  /** Start of the time bucket in unix seconds, a multiple of the step (60 unless configured). */
  minute: number;
}

/** The fields of R whose values are T. */
type FieldsOf<R, T> = { [P in keyof R]-?: R[P] extends T ? P : never }[keyof R] & string;

/** The fields of a row that may name it: all but tenantId and minute. */
export type KeyField<R> = Exclude<keyof R & string, "tenantId" | "minute">;

/**
 * A row in its JSON form: each histogram as base64, and the tenant id as `tenant` (ENCODED_TENANT_FIELD):
 * the name rows had before it was `tenantId`, kept in the JSON the tenant object stores.
 */
export type EncodedRow<R> = { [P in keyof R as P extends "tenantId" ? typeof ENCODED_TENANT_FIELD : P]: R[P] extends Uint8Array ? string : R[P] };

/**
 * The name of a row's `tenantId` in its JSON form: the field's name before it was `tenantId`. The
 * tenant object's stored snapshots, logged deltas and pending flushes were written with it, and an
 * object of either version (a deploy, a rollback) must read what the other wrote, so the JSON keeps
 * it; `decode` also takes a row written as `tenantId`.
 */
export const ENCODED_TENANT_FIELD = "tenant";

/** A row being counted: each histogram decoded, to observe into. */
export type OpenRow<R> = { [P in keyof R]: R[P] extends Uint8Array ? LatencyHistogram : R[P] };

/** What names a row within its tenant: its minute and key fields. */
export type RowKey<R extends MinuteRow, K extends KeyField<R>> = Pick<R, "minute" | K>;

/** A row summed over minutes by the database (no histograms), with the first and last minute summed. */
export type SummedRow<R extends MinuteRow> = Omit<R, "tenantId" | FieldsOf<R, Uint8Array>> & { lastMinute: number };

/** One row kind: its fields by role, its table, and what follows from them. */
export interface MinuteRollup<R extends MinuteRow = MinuteRow, K extends string = string> {
  /** For messages: "edge", "operation", "service". */
  readonly name: string;
  /** The fields that name a row beside tenantId and minute, in key order. */
  readonly keys: readonly K[];
  /** Counts: merged by adding. */
  readonly counts: readonly string[];
  /** Encoded LatencyHistograms (metrics/histogram.ts): merged exactly. */
  readonly histograms: readonly string[];
  /** The D1 table: `tenantId`, `minute` and a column named like each field; primary key tenant, minute, keys. */
  readonly table: SQLiteTable;
  /** The row's identity (tenantId, minute, keys) as one string. */
  keyOf(row: R): string;
  /** Two rows of one key as one (throws for rows of different keys). */
  merge(a: R, b: R): R;
  /** Stored rows first, then new ones: one row per key, in first-seen order, ready to write back. */
  upsert(existing: Iterable<R>, incoming: Iterable<R>): R[];
  encode(row: R): EncodedRow<R>;
  decode(row: EncodedRow<R>): R;
}

/** Compile-time check that every field of R has a role. */
type EveryField<R, F> = [Exclude<KeyField<R>, F>] extends [never] ? unknown : { fieldsWithoutARole: Exclude<KeyField<R>, F> };

/** Compile-time check that the table takes the row's fields (`tenantId`, `minute` and the others). */
type TableTakes<R, T extends SQLiteTable> = R extends T["$inferInsert"] ? unknown : { tableDoesNotTakeTheRow: T["_"]["name"] };

/**
 * Describes a row kind. Two calls, so that the row type is given and the field lists are checked
 * against it: `minuteRollup<EdgeRow>()({ name, keys, counts, histograms, table })`. Every field but
 * tenantId and minute must be in exactly one list; each list in the order the row declares them.
 */
export function minuteRollup<R extends MinuteRow>() {
  return <K extends KeyField<R>, C extends FieldsOf<R, number>, H extends FieldsOf<R, Uint8Array>, T extends SQLiteTable>(
    spec: { name: string; keys: readonly K[]; counts: readonly C[]; histograms: readonly H[]; table: T } & EveryField<R, K | C | H> & TableTakes<R, T>,
  ): MinuteRollup<R, K> => new Rollup<R, K>(spec.name, spec.keys, spec.counts, spec.histograms, spec.table);
}

class Rollup<R extends MinuteRow, K extends KeyField<R>> implements MinuteRollup<R, K> {
  readonly name: string;
  readonly keys: readonly K[];
  readonly counts: readonly string[];
  readonly histograms: readonly string[];
  readonly table: SQLiteTable;

  constructor(name: string, keys: readonly K[], counts: readonly string[], histograms: readonly string[], table: SQLiteTable) {
    this.name = name;
    this.keys = keys;
    this.counts = counts;
    this.histograms = histograms;
    this.table = table;
    const fields = [...keys, ...counts, ...histograms];
    if (new Set(fields).size !== fields.length || fields.some((f) => f === "tenantId" || f === "minute")) throw new Error(`${name} rows: a field in two roles`);
  }

  keyOf(row: R): string {
    const parts: unknown[] = [row.tenantId, row.minute];
    for (const k of this.keys) parts.push(row[k]);
    return JSON.stringify(parts);
  }

  merge(a: R, b: R): R {
    if (this.keyOf(a) !== this.keyOf(b)) throw new Error(`${this.name} rows: merge of rows of different keys`);
    const out = copy(a);
    const x = a as unknown as Record<string, number & Uint8Array>;
    const y = b as unknown as Record<string, number & Uint8Array>;
    for (const c of this.counts) out[c] = x[c]! + y[c]!;
    for (const h of this.histograms) out[h] = LatencyHistogram.decode(x[h]!).merge(LatencyHistogram.decode(y[h]!)).encode();
    return out as R;
  }

  upsert(existing: Iterable<R>, incoming: Iterable<R>): R[] {
    return new MinuteRowMap(this).add(existing).add(incoming).rows();
  }

  encode(row: R): EncodedRow<R> {
    const out = copy(row, "tenantId", ENCODED_TENANT_FIELD);
    for (const h of this.histograms) out[h] = toBase64(out[h] as Uint8Array);
    return out as EncodedRow<R>;
  }

  decode(row: EncodedRow<R>): R {
    const out = copy(row, ENCODED_TENANT_FIELD, "tenantId");
    for (const h of this.histograms) out[h] = fromBase64(out[h] as string);
    return out as R;
  }
}

/**
 * The row with its tenant id as `tenantId`: a row from a caller of the version before the rename (an
 * RPC during a deploy) has it as `tenant`. A row that has `tenantId` is returned as it is.
 */
export function withTenantId<R extends MinuteRow>(row: R): R {
  return Object.hasOwn(row, "tenantId") ? row : (copy(row, ENCODED_TENANT_FIELD, "tenantId") as R);
}

/** A row's fields, to set by name (a shallow copy: the fields keep their order), `from` renamed `to` in its place. */
function copy(row: object, from?: string, to?: string): Record<string, unknown> {
  if (from === undefined || !Object.hasOwn(row, from)) return { ...row };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k === from ? to! : k] = v;
  return out;
}

/** Rows of one kind, one per key, merged as they are added; first-seen order. */
export class MinuteRowMap<R extends MinuteRow> {
  readonly #rollup: MinuteRollup<R, string>;
  readonly #rows = new Map<string, R>();

  constructor(rollup: MinuteRollup<R, string>) {
    this.#rollup = rollup;
  }

  add(rows: Iterable<R>): this {
    for (const row of rows) {
      const key = this.#rollup.keyOf(row);
      const seen = this.#rows.get(key);
      this.#rows.set(key, seen === undefined ? row : this.#rollup.merge(seen, row));
    }
    return this;
  }

  get size(): number {
    return this.#rows.size;
  }

  rows(): R[] {
    return [...this.#rows.values()];
  }

  /** The rows whose bucket overlaps the window. */
  rowsIn(window: TimeWindow, stepSeconds = 60): R[] {
    return this.rows().filter((r) => bucketInWindow(r.minute, stepSeconds, window));
  }

  /** Removes the rows that pass the test and returns them. */
  take(test: (row: R) => boolean): R[] {
    const out: R[] = [];
    for (const [key, row] of this.#rows) {
      if (!test(row)) continue;
      out.push(row);
      this.#rows.delete(key);
    }
    return out;
  }
}

/**
 * Counts into rows of one kind for one tenant: `row(key)` is the open row of a key (zero counts,
 * empty histograms when new), which the caller counts into; `rows()` encodes them.
 */
export class MinuteAccumulator<R extends MinuteRow, K extends KeyField<R>> {
  readonly tenantId: string;
  readonly #rollup: MinuteRollup<R, K>;
  readonly #rows = new Map<string, OpenRow<R>>();

  constructor(rollup: MinuteRollup<R, K>, tenantId: string) {
    this.#rollup = rollup;
    this.tenantId = tenantId;
  }

  row(key: RowKey<R, K>): OpenRow<R> {
    const parts: unknown[] = [key.minute];
    for (const k of this.#rollup.keys) parts.push(key[k]);
    const id = JSON.stringify(parts);
    let row = this.#rows.get(id);
    if (row === undefined) {
      const open: Record<string, unknown> = { tenantId: this.tenantId, minute: key.minute };
      for (const k of this.#rollup.keys) open[k] = key[k];
      for (const c of this.#rollup.counts) open[c] = 0;
      for (const h of this.#rollup.histograms) open[h] = new LatencyHistogram();
      row = open as OpenRow<R>;
      this.#rows.set(id, row);
    }
    return row;
  }

  /** Number of rows `rows()` would return. */
  get size(): number {
    return this.#rows.size;
  }

  rows(): R[] {
    return [...this.#rows.values()].map((open) => {
      const row = copy(open);
      for (const h of this.#rollup.histograms) row[h] = (row[h] as LatencyHistogram).encode();
      return row as R;
    });
  }
}

/**
 * The rows whose bucket overlaps the window, folded per group (a key coarser than the rows', as
 * without the minute: the answer of a query over a window): `open` makes a group's total when its
 * first row comes, `add` adds every row of the group to it. Totals in first-seen order.
 */
export function foldWindow<R extends MinuteRow, T>(rows: Iterable<R>, window: TimeWindow, stepSeconds: number, group: (row: R) => unknown[], open: (row: R) => T, add: (total: T, row: R) => void): T[] {
  const totals = new Map<string, T>();
  for (const row of rows) {
    if (!bucketInWindow(row.minute, stepSeconds, window)) continue;
    const key = JSON.stringify(group(row));
    let total = totals.get(key);
    if (total === undefined) {
      total = open(row);
      totals.set(key, total);
    }
    add(total, row);
  }
  return [...totals.values()];
}

/** A window over epoch seconds, `start` inclusive and `end` exclusive. */
export interface TimeWindow {
  start: number;
  end: number;
}

/** Whether the bucket starting at `bucketStart` (`stepSeconds` long) overlaps the window at all. */
export function bucketInWindow(bucketStart: number, stepSeconds: number, window: TimeWindow): boolean {
  return bucketStart < window.end && bucketStart + stepSeconds > window.start;
}

/**
 * A quantile for the API: 4 significant digits (well inside the histogram's 4.3%, and tidy in
 * JSON), and 0 for an empty histogram's NaN.
 */
export function roundMs(ms: number): number {
  return Number.isFinite(ms) ? Number(ms.toPrecision(4)) : 0;
}
