/**
 * @module
 * A D1 binding wrapper that sums `meta.rows_read` / `meta.rows_written` of every query, the two
 * figures D1 bills (https://developers.cloudflare.com/d1/platform/pricing/ says to track usage with
 * the meta object). Local D1 computes them the way D1 does, from SQLite's cursor counters.
 *
 * The one difficulty: `raw()` and `first()` return no meta, and drizzle runs every SELECT through
 * `raw()`. So `raw()` is answered by `D1Database.query()` (the binding's rows-and-columns call with
 * meta; needs the `d1_binding_jsrpc` compatibility flag) and `first()` by `all()` (which is what
 * D1's own `first()` does). `all()`, `run()` and `batch()` carry meta and are passed through.
 *
 * Written against structural types so it needs no Workers types.
 */

export interface D1Counts {
  queries: number;
  rowsRead: number;
  rowsWritten: number;
  /** `meta.size_after` of the latest query: the database size in bytes. */
  sizeAfter: number;
}

export function newD1Counts(): D1Counts {
  return { queries: 0, rowsRead: 0, rowsWritten: 0, sizeAfter: 0 };
}

interface Meta {
  rows_read?: number;
  rows_written?: number;
  size_after?: number;
}
interface ResultLike {
  results?: Record<string, unknown>[];
  meta?: Meta;
}
interface StatementLike {
  bind(...values: unknown[]): StatementLike;
  all(): Promise<ResultLike>;
  run(): Promise<ResultLike>;
}
interface QueryResponse {
  results: { meta: Meta; data: { kind: string; columns: string[]; rows: unknown[][] } }[];
}
export interface D1Like {
  prepare(sql: string): StatementLike;
  batch(statements: StatementLike[]): Promise<ResultLike[]>;
  query?(request: { queries: { sql: string; params?: unknown[] }[] }): Promise<QueryResponse>;
}

export function countingD1<T extends object>(binding: T, c: D1Counts): T {
  const db = binding as unknown as D1Like;
  const add = (meta: Meta | undefined) => {
    c.queries++;
    c.rowsRead += meta?.rows_read ?? 0;
    c.rowsWritten += meta?.rows_written ?? 0;
    if (meta?.size_after) c.sizeAfter = meta.size_after;
  };

  class Statement {
    readonly sql: string;
    readonly inner: StatementLike;
    readonly params: unknown[];
    constructor(sql: string, inner: StatementLike, params: unknown[]) {
      this.sql = sql;
      this.inner = inner;
      this.params = params;
    }
    bind(...values: unknown[]) {
      return new Statement(this.sql, this.inner.bind(...values), values.map(d1Value));
    }
    async all() {
      const r = await this.inner.all();
      add(r.meta);
      return r;
    }
    async run() {
      const r = await this.inner.run();
      add(r.meta);
      return r;
    }
    async first(column?: string) {
      const r = await this.all();
      const row = r.results?.[0];
      if (!row) return null;
      if (column === undefined) return row;
      if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
      return row[column];
    }
    async raw(options?: { columnNames?: boolean }) {
      if (!db.query) throw new Error("countingD1: raw() needs D1Database.query() (compatibility flag d1_binding_jsrpc)");
      const res = await db.query({ queries: [{ sql: this.sql, params: this.params }] });
      const first = res.results[0];
      if (!first) return [];
      add(first.meta);
      return options?.columnNames ? [first.data.columns, ...first.data.rows] : first.data.rows;
    }
  }

  const wrapper = {
    prepare(sql: string) {
      return new Statement(sql, db.prepare(sql), []);
    },
    async batch(statements: Statement[]) {
      const results = await db.batch(statements.map((s) => s.inner));
      for (const r of results) add(r.meta);
      return results;
    },
    async exec(): Promise<never> {
      throw new Error("countingD1: exec() is not counted; use prepare()");
    },
  };
  return wrapper as unknown as T;
}

/** D1's bind conversions: booleans as 0/1, bytes as arrays of numbers. */
function d1Value(v: unknown): unknown {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof ArrayBuffer) return Array.from(new Uint8Array(v));
  if (ArrayBuffer.isView(v)) return Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return v;
}
