/**
 * @module
 * Bindings that answer after a fixed delay, for benchmarks of code that makes storage calls: local
 * R2 and D1 answer in microseconds, Cloudflare's in 10-50 ms, so without this neither the number
 * of calls in sequence nor the overlap of parallel work shows. Every call waits `ms`, then runs.
 * Structural types, so it needs no Workers types.
 */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const R2_CALLS = new Set(["get", "put", "head", "list", "delete", "createMultipartUpload"]);

/** An R2 bucket whose calls each wait `ms` first. */
export function delayedR2<B extends object>(bucket: B, ms: number): B {
  if (ms <= 0) return bucket;
  return new Proxy(bucket, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function" || typeof prop !== "string" || !R2_CALLS.has(prop)) return value;
      const fn = value as (...args: unknown[]) => unknown;
      return async (...args: unknown[]) => {
        await sleep(ms);
        return fn.apply(target, args);
      };
    },
  });
}

export interface StatementLike {
  bind(...values: unknown[]): StatementLike;
  all(): Promise<unknown>;
  run(): Promise<unknown>;
  first(column?: string): Promise<unknown>;
  raw(options?: unknown): Promise<unknown>;
}
export interface D1Like {
  prepare(sql: string): StatementLike;
  batch(statements: StatementLike[]): Promise<unknown[]>;
  exec?(sql: string): Promise<unknown>;
  query?(request: unknown): Promise<unknown>;
}

/** A D1 database whose queries and batches each wait `ms` first (one round trip each, as on Cloudflare). */
export function delayedD1<T extends object>(binding: T, ms: number): T {
  if (ms <= 0) return binding;
  return aroundD1Calls(binding, async (call) => {
    await sleep(ms);
    return call();
  });
}

/**
 * A D1 database each of whose round trips (a statement's all, run, first or raw; a batch; exec;
 * query) runs through `around`, which decides when and whether `call` runs: a delay, a slot, a count.
 */
export function aroundD1Calls<T extends object>(binding: T, around: <R>(call: () => Promise<R>) => Promise<R>): T {
  const db = binding as unknown as D1Like;
  class Statement {
    readonly inner: StatementLike;
    constructor(inner: StatementLike) {
      this.inner = inner;
    }
    bind(...values: unknown[]) {
      return new Statement(this.inner.bind(...values));
    }
    all() {
      return around(() => this.inner.all());
    }
    run() {
      return around(() => this.inner.run());
    }
    first(column?: string) {
      return around(() => this.inner.first(column));
    }
    raw(options?: unknown) {
      return around(() => this.inner.raw(options));
    }
  }
  return {
    prepare: (sql: string) => new Statement(db.prepare(sql)),
    batch: (statements: Statement[]) => around(() => db.batch(statements.map((s) => s.inner))),
    exec: db.exec && ((sql: string) => around(() => db.exec!(sql))),
    query: db.query && ((request: unknown) => around(() => db.query!(request))),
  } as unknown as T;
}
