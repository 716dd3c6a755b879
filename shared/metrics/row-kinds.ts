/**
 * @module
 * The per-minute row kinds as one set: edges (servicegraph/aggregate.ts), operations and services
 * (red.ts), each a `MinuteRollup` (rows.ts), named by the field that carries its rows wherever the
 * three travel together: a consumer's delta, the tenant object's snapshot and pending flushes, a
 * flush to D1. Code that handles "the rows" loops over `ROW_KINDS` instead of naming each kind,
 * so a new kind is one entry here (and its table), not a change in every pipeline.
 *
 * Service rows came last: every set may lack them (written by the version before them), and the
 * kind is last in every JSON form.
 */
import { edgeRollup, type EdgeRow } from "../servicegraph/aggregate.ts";
import { operationRollup, serviceRollup, type OperationRow, type ServiceRow } from "./red.ts";
import { withTenantId, type EncodedRow, type MinuteRollup, type MinuteRow } from "./rows.ts";

/** Rows of every kind, by the field that carries them. */
export interface MinuteRowSets {
  edgeRows: EdgeRow[];
  operationRows: OperationRow[];
  /** Absent where written by the version before service rows. */
  serviceRows?: ServiceRow[];
}

export type RowKind = keyof MinuteRowSets;

/** The row type of a kind. */
export type RowOf<N extends RowKind> = NonNullable<MinuteRowSets[N]>[number];

/** Every kind, in the order they are written (to D1 and in JSON). */
export const ROW_KINDS: readonly RowKind[] = ["edgeRows", "operationRows", "serviceRows"];

/** The rollup of each kind. */
export const MINUTE_ROLLUPS: { readonly [N in RowKind]: MinuteRollup<RowOf<N>> } = {
  edgeRows: edgeRollup,
  operationRows: operationRollup,
  serviceRows: serviceRollup,
};

/** The JSON form of a value that carries row sets: each present set's rows encoded, the rest as is. */
export type EncodedRowSets<T> = { [P in keyof T]: P extends RowKind ? EncodedRow<RowOf<P>>[] | Extract<T[P], undefined> : T[P] };

/** The value with each row set it carries decoded from JSON. */
export type DecodedRowSets<T> = { [P in keyof T]: P extends RowKind ? RowOf<P>[] | Extract<T[P], undefined> : T[P] };

/** The value with each row set it carries in JSON form; its fields keep their order. */
export function encodeRowSets<T extends Partial<Record<RowKind, unknown>>>(value: T): EncodedRowSets<T> {
  return mapRowSets(value, (rows, rollup) => rows.map((r) => rollup.encode(r))) as EncodedRowSets<T>;
}

/** `encodeRowSets` undone. */
export function decodeRowSets<T extends Partial<Record<RowKind, unknown>>>(value: T): DecodedRowSets<T> {
  return mapRowSets(value, (rows, rollup) => rows.map((r) => rollup.decode(r as EncodedRow<never>))) as DecodedRowSets<T>;
}

/**
 * The value with every row's tenant id as `tenantId` (rows.ts `withTenantId`): rows sent by a caller
 * of the version before the rename name it `tenant`. The value itself when every row has it.
 */
export function withTenantIds<T extends Partial<Record<RowKind, unknown>>>(value: T): T {
  const sets = value as Partial<Record<RowKind, readonly MinuteRow[]>>;
  if (ROW_KINDS.every((kind) => sets[kind]?.every((r) => Object.hasOwn(r, "tenantId")) ?? true)) return value;
  return mapRowSets(value, (rows) => (rows as readonly MinuteRow[]).map(withTenantId)) as T;
}

function mapRowSets(value: Partial<Record<RowKind, unknown>>, map: (rows: readonly never[], rollup: MinuteRollup<never>) => unknown[]): unknown {
  const out: Record<string, unknown> = { ...value };
  for (const kind of ROW_KINDS) {
    const rows = value[kind] as readonly never[] | undefined;
    if (rows !== undefined) out[kind] = map(rows, MINUTE_ROLLUPS[kind] as MinuteRollup<never>);
  }
  return out;
}

/** Number of rows of every kind. */
export function rowCount(sets: Partial<{ readonly [N in RowKind]: readonly unknown[] }>): number {
  return ROW_KINDS.reduce((n, kind) => n + (sets[kind]?.length ?? 0), 0);
}
