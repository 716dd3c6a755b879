/**
 * @module
 * What the query benches (bench/search-scale.ts, bench/traceql.ts) share: the search-scale worker
 * (bench/search-scale/worker.mts: the real dashboard app in workerd, each request one invocation
 * with its R2 and D1 calls delayed, gated and counted, its fan-out jobs counted as their own
 * invocations) started with a tenant and a read key, a dataset of `days` days of blocks as
 * compaction leaves them (one per 10 minutes, level 2, the newest 3 hours level 1, ~`spansPerDay`
 * spans a day of the shop workload, encoded by the real encodeBlock and catalogued by catalogRow +
 * recordBlock: bench/search-scale/blocks.ts) with the metric rows of those spans (the real
 * tenantDelta applied to an OpenMetrics, what it closes written by writeMetricFlush, as the tenant
 * object does), and one request measured: wall time in Node, workerd CPU, the storage calls of
 * every invocation it made.
 */
import { kCurrentWorker } from "miniflare";
import { OpenMetrics, decodeDelta, type ClosedRows } from "../../shared/tenant-object/open-metrics.ts";
import { pool, type BlockWithDelta } from "../search-scale/blocks.ts";
import { startBenchWorker } from "./bench-worker.ts";
import { workerdCpuMs } from "./workerd-cpu.ts";
import { buildInWorkers, spanCount, type BlockSpec } from "./workload-blocks.ts";

export const DAY_MS = 86_400_000;
const BLOCK_MS = 10 * 60_000;
const THREADS = 2;

/** "before" runs the dashboard with the scan switches of the code before issue 11; "after" with the defaults. */
export type Config = "before" | "after";

export const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
export const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** JSON with Uint8Arrays as {$b64} and Dates as {$date} (the worker's parseTagged reverses it). */
function tagged(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, k, v: unknown) {
    const raw = this[k];
    if (raw instanceof Uint8Array) return { $b64: Buffer.from(raw).toString("base64") };
    if (raw instanceof Date) return { $date: raw.getTime() };
    return v;
  });
}

/** One invocation as the worker's GET /bench/end reports it. */
interface Invocation {
  path: string;
  config: Config;
  status: number;
  r2Reads: number;
  r2Bytes: number;
  r2Other: number;
  d1Queries: number;
  objectCalls: number;
  maxInFlight: number;
  deadlineHit: boolean;
  ms: number;
  done: boolean;
}

export interface Sample {
  ms: number;
  cpuMs: number;
  status: number;
  timedOut: boolean;
  r2Reads: number;
  r2Bytes: number;
  d1Queries: number;
  objectCalls: number;
  invocations: number;
  maxReadsPerInvocation: number;
  maxInFlight: number;
  /** What the answer was (a bench fills it in, to compare runs), and its result count. */
  answer: string;
  results: number;
  /** Response headers the query benches look at (where a metrics answer came from). */
  headers: Record<string, string>;
}

export interface Dataset {
  tenantId: string;
  /** A read key of the tenant (x-api-key). */
  secret: string;
  startMs: number;
  endMs: number;
  /** The start of the newest 24 h. */
  dayStartMs: number;
  /** Every trace id with its start, unix ms. */
  ids: { traceId: string; startMs: number }[];
  blocks: number;
  spans: number;
  spansDay: number;
  bytes: number;
  /** Metric rows stored, per table. */
  tableRows: Record<string, number>;
  storedRows: number;
  setupS: number;
}

export interface QueryScaleOptions {
  /** Log prefix. */
  name: string;
  days: number;
  spansPerDay: number;
  /** Added to every R2, D1 and tenant object call. */
  latencyMs: number;
  /** Storage calls open at once per invocation. */
  inflight: number;
  debug?: boolean;
}

export interface QueryScale {
  dataset: Dataset;
  /** GETs `path` with the tenant's read key as one measured request; stopped at `timeoutMs` (its storage calls then fail). */
  request(path: string, config: Config, timeoutMs: number): Promise<Sample & { body: unknown }>;
  /** A request that does nothing, ms (the overhead subtracted from every request). */
  noop(): Promise<number>;
  dispose(): Promise<void>;
}

export async function startQueryScale(o: QueryScaleOptions): Promise<QueryScale> {
  const log = (...a: unknown[]) => console.error(`[${o.name}]`, ...a);
  const { mf, db, call, dispose } = await startBenchWorker("search-scale", {
    durableObjects: { TENANTS: "TenantObject" },
    // The dashboard's fan-out: its ScanJobs entrypoint, bound to itself (as wrangler.toml binds it).
    serviceBindings: { SCAN_JOBS: { name: kCurrentWorker, entrypoint: "BenchScanJobs" } },
    bindings: { BENCH_LATENCY_MS: String(o.latencyMs), BENCH_SS_INFLIGHT: String(o.inflight) },
  });
  try {
    const dataset = await buildDataset(o, mf, db, call, log);
    const cpuMs = () => workerdCpuMs((pid) => pid === process.pid);
    return {
      dataset,
      dispose,
      async noop() {
        const t = performance.now();
        await call("/bench/noop");
        return performance.now() - t;
      },
      async request(path, config, timeoutMs) {
        await call("/bench/begin", { config, timeoutMs });
        const cpu0 = cpuMs();
        const t0 = performance.now();
        const res = await mf.dispatchFetch(`http://bench${path}`, { headers: { "x-api-key": dataset.secret } });
        const text = await res.text();
        const ms = performance.now() - t0;
        const cpu = cpuMs() - cpu0;
        const { invocations } = await call<{ invocations: Invocation[] }>("/bench/end");
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        const sum = (f: (i: Invocation) => number) => invocations.reduce((n, i) => n + f(i), 0);
        return {
          ms,
          cpuMs: cpu,
          status: res.status,
          timedOut: invocations.some((i) => i.deadlineHit),
          r2Reads: sum((i) => i.r2Reads),
          r2Bytes: sum((i) => i.r2Bytes),
          d1Queries: sum((i) => i.d1Queries),
          objectCalls: sum((i) => i.objectCalls),
          invocations: invocations.length,
          maxReadsPerInvocation: Math.max(0, ...invocations.map((i) => i.r2Reads)),
          maxInFlight: Math.max(0, ...invocations.map((i) => i.maxInFlight)),
          answer: "",
          results: 0,
          headers: Object.fromEntries(res.headers),
          body,
        };
      },
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

type Worker = Awaited<ReturnType<typeof startBenchWorker>>;

async function buildDataset(o: QueryScaleOptions, mf: Worker["mf"], db: Worker["db"], call: Worker["call"], log: (...a: unknown[]) => void): Promise<Dataset> {
  const { tenantId, secret } = await call<{ tenantId: string; secret: string }>("/bench/setup", {});
  const probe = pool(0, 200);
  const spansPerTrace = spanCount(probe) / probe.length;
  const blocksPerDay = DAY_MS / BLOCK_MS;
  const tracesPerBlock = Math.max(1, Math.round(o.spansPerDay / blocksPerDay / spansPerTrace));
  const endMs = Math.floor(Date.now() / BLOCK_MS) * BLOCK_MS;
  const startMs = endMs - o.days * DAY_MS;
  const dayStartMs = endMs - DAY_MS;
  const specs: BlockSpec[] = [];
  for (let s = startMs, n = 0; s < endMs; s += BLOCK_MS, n++) {
    specs.push({ tenantId, blockId: `ss${n}`, level: endMs - s > 3 * 3_600_000 ? 2 : 1, startMs: s, endMs: s + BLOCK_MS, traces: tracesPerBlock, pool: n });
  }
  log(`${specs.length} blocks of ${tracesPerBlock} traces (~${round(spansPerTrace)} spans each) over ${o.days} days`);

  const tBuild = performance.now();
  const ids: { traceId: string; startMs: number }[] = [];
  let spansAll = 0;
  let spansDay = 0;
  let bytesAll = 0;
  const uploads: Promise<unknown>[] = [];
  const upload = async (b: BlockWithDelta) => {
    const row = Buffer.from(tagged(b.row));
    const body = Buffer.alloc(4 + row.length + b.bytes.byteLength);
    body.writeUInt32BE(row.length, 0);
    row.copy(body, 4);
    body.set(b.bytes, 4 + row.length);
    const res = await mf.dispatchFetch("http://bench/bench/put", { method: "POST", body, headers: { "x-tenant": tenantId } });
    if (!res.ok) throw new Error(`put ${b.spec.blockId}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  // Metric rows: the blocks' deltas applied to one OpenMetrics (as the tenant object applies the
  // consumers' deltas), what it closes written with writeMetricFlush, one flush at a time.
  const open = new OpenMetrics(tenantId, undefined, startMs);
  let flushes: Promise<unknown> = Promise.resolve();
  let metricRows = 0;
  let flushMs = 0;
  let wallMs = 0;
  const rowsIn = (closed: ClosedRows) => Object.values(closed).reduce((n: number, v) => n + (Array.isArray(v) && typeof v[0] === "object" && v[0] && "minute" in v[0] ? v.length : 0), 0);
  const flush = (closed: ClosedRows | undefined) => {
    if (!closed) return;
    const rows = rowsIn(closed);
    metricRows += rows;
    // Every field of what OpenMetrics closed, whatever rows it holds, to writeMetricFlush.
    const body = tagged({ tenantId, flush: closed });
    flushes = flushes.then(async () => {
      const t = performance.now();
      const res = await mf.dispatchFetch("http://bench/bench/metrics", { method: "POST", body });
      if (!res.ok) throw new Error(`metrics flush: ${res.status} ${await res.text()}`);
      const r = (await res.json()) as { ms: number };
      if (o.debug) log(`flush ${rows} rows: worker ${r.ms} ms, node ${round(performance.now() - t)} ms`);
      flushMs += performance.now() - t;
    });
  };
  let done = 0;
  await buildInWorkers(new URL("../search-scale/blocks.ts", import.meta.url), "search-scale-encoder", specs, THREADS, (b: BlockWithDelta) => {
    b.traceIds.forEach((traceId, i) => ids.push({ traceId, startMs: b.traceStartMs[i]! }));
    spansAll += b.spans;
    if (b.spec.startMs >= dayStartMs) spansDay += b.spans;
    bytesAll += b.bytes.byteLength;
    uploads.push(upload(b));
    wallMs = Math.max(wallMs, b.spec.endMs + 60_000);
    open.apply(decodeDelta(b.delta), wallMs);
    if (++done % 6 === 0) flush(open.takeClosed(wallMs));
    if (done % 100 === 0) log(`${done}/${specs.length} blocks built and uploaded (${round((performance.now() - tBuild) / 1000)} s)`);
  });
  await Promise.all(uploads);
  const builtS = (performance.now() - tBuild) / 1000;
  // Idle past the end: every minute closes.
  flush(open.takeClosed(endMs + 3_600_000));
  await flushes;
  const setupS = (performance.now() - tBuild) / 1000;
  const blocks = (await db.prepare("SELECT count(*) AS n FROM blocks").first<{ n: number }>())!.n;
  const minuteTables = (await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%_minutes' ORDER BY name").all<{ name: string }>()).results.map((r) => r.name);
  const tableRows: Record<string, number> = {};
  for (const t of minuteTables) tableRows[t] = (await db.prepare(`SELECT count(*) AS n FROM ${t}`).first<{ n: number }>())!.n;
  const storedRows = Object.values(tableRows).reduce((a, b) => a + b, 0);
  log(`dataset: ${blocks} blocks, ${spansAll} spans (${spansDay} in the newest 24 h), ${round(bytesAll / 2 ** 20)} MiB, metric rows ${JSON.stringify(tableRows)} (${metricRows} written); blocks built and stored in ${round(builtS)} s, metric rows written in ${round(flushMs / 1000)} s (alongside), all in ${round(setupS)} s`);
  return { tenantId, secret, startMs, endMs, dayStartMs, ids, blocks, spans: spansAll, spansDay, bytes: bytesAll, tableRows, storedRows, setupS };
}
