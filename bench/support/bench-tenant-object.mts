/**
 * The tenant object as the benchmarks run it: the real class, with its own D1 and R2 bindings
 * counted (bench/cost/counting-d1.ts, bench/support/counting-r2.ts) and, with BENCH_LATENCY_MS,
 * delayed like Cloudflare's (bench/support/latency.ts), plus `benchCounts()` to read both.
 * `.mts`: it needs Workers types (checked with the bench workers that export it).
 */
import { TenantObject } from "../../workers/assembler/tenant-object.ts";
import type { AssemblerEnv } from "../../workers/assembler/env.ts";
import { countingR2Bucket, newR2OpCounts, type R2OpCounts } from "./counting-r2.ts";
import { countingD1, newD1Counts, type D1Counts } from "../cost/counting-d1.ts";
import { delayedD1, delayedR2 } from "./latency.ts";

export interface BenchObjectCounts {
  d1: D1Counts;
  r2: R2OpCounts;
  /** Rows written to the object's own SQLite (and alarms set), as billed. */
  rowsWritten: number;
  rowsRead: number;
  storedBytes: number;
}

export class BenchTenantObject extends TenantObject {
  readonly #d1: D1Counts;
  readonly #r2: R2OpCounts;

  constructor(ctx: DurableObjectState, env: AssemblerEnv & { BENCH_LATENCY_MS?: string }) {
    const latency = Number(env.BENCH_LATENCY_MS ?? 0);
    const d1 = newD1Counts();
    const r2 = newR2OpCounts();
    super(ctx, { ...env, DB: delayedD1(countingD1(env.DB, d1), latency), SPANS: delayedR2(countingR2Bucket(env.SPANS, r2), latency) });
    this.#d1 = d1;
    this.#r2 = r2;
  }

  async benchCounts(): Promise<BenchObjectCounts> {
    const s = await this.stats();
    return { d1: { ...this.#d1 }, r2: structuredClone(this.#r2), rowsWritten: s.rowsWritten, rowsRead: s.rowsRead, storedBytes: this.ctx.storage.sql.databaseSize };
  }
}
