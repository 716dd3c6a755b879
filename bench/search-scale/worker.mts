/**
 * The search-scale benchmark's worker (bench/search-scale.ts bundles it with wrangler and runs it in
 * Miniflare with local D1, R2 and Durable Objects). Every request outside /bench/ is handed to the
 * real dashboard app (workers/dashboard/app.ts: its routes, its key auth, its query code), as one
 * Worker invocation with its bindings wrapped for that invocation (gate.ts): each R2 and D1 call
 * waits BENCH_LATENCY_MS and at most BENCH_SS_INFLIGHT (6) are open at once, counted; calls to the
 * tenant objects wait the same and are counted (not gated: Cloudflare's six-connection limit
 * names fetch, KV, Cache, R2 and Queues, not Durable Objects). The dashboard's fan-out binding
 * SCAN_JOBS points at BenchScanJobs here (the real ScanJobs entrypoint, its env wrapped the same way
 * per call): each job is counted as its own invocation.
 *
 * Before and after: POST /bench/begin says which configuration the next requests run with.
 * "before" sets the dashboard's scan switches to today's behaviour (SCAN_CONCURRENCY=1,
 * SCAN_USE_INDEX=0, METRICS_FROM_ROLLUPS=0, SCAN_FANOUT=0); "after" leaves them unset (the
 * defaults). It is module state, not a header, so that invocations a query fans out to run with
 * the same configuration. It also sets a deadline: a storage call after it throws, so a query
 * that would take minutes stops (reported as timed out). GET /bench/end answers every invocation
 * since the last begin with its counts; work of that query still running after its answer fails at
 * its next R2 call, so it cannot slow the next query.
 *
 * Note: the key-auth middleware keeps one authenticator per isolate, built on the D1 binding of
 * the first request it saw, so its (cached, every 30 s) key lookups go through that first
 * invocation's wrapper and are not counted in later ones.
 *
 * `.mts` keeps this file out of tsconfig.node.json; check it with `npx tsc -p bench/search-scale`.
 *
 * Routes: POST /bench/setup, POST /bench/put (x-tenant; body: u32 length, catalog row as tagged
 * JSON, block bytes), POST /bench/metrics (closed rows as tagged JSON, written with
 * writeMetricFlush), POST /bench/begin, GET /bench/end, GET /bench/noop;
 * everything else goes to the dashboard.
 */
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import { recordBlock, type NewBlock } from "../../shared/db/queries/blocks.ts";
import { createKey } from "../../shared/db/queries/keys.ts";
import { writeMetricFlush, type MetricFlush } from "../../shared/db/queries/metrics.ts";
import { createTenant } from "../../shared/db/queries/tenants.ts";
import { fromBase64 } from "../../shared/encoding/base64.ts";
import { blockKey } from "../../shared/storage/keys.ts";
import { app } from "../../workers/dashboard/app.ts";
import type { DashboardEnv } from "../../workers/dashboard/env.ts";
import { countingNamespace, newObjectCounts } from "../support/object-counts.ts";
import { Gate, gatedD1, gatedR2, newGateCounts, type GateCounts } from "./gate.ts";
import { ScanJobs, type MetricsJob, type SearchJob } from "../../workers/dashboard/scan-jobs.ts";

export { TenantObject } from "../../workers/assembler/tenant-object.ts";

interface Env {
  [binding: string]: unknown;
  DB: D1Database;
  SPANS: R2Bucket;
  TENANTS: DurableObjectNamespace;
  BENCH_LATENCY_MS?: string;
  BENCH_SS_INFLIGHT?: string;
}

export type Config = "before" | "after";

/** The dashboard's scan switches as today's code behaves ("before"); "after" leaves them unset. */
export const BEFORE_VARS: Record<string, string> = { SCAN_CONCURRENCY: "1", SCAN_USE_INDEX: "0", METRICS_FROM_ROLLUPS: "0", SCAN_FANOUT: "0" };

export interface Invocation extends GateCounts {
  path: string;
  config: Config;
  status: number;
  objectCalls: number;
  /** Wall time inside the worker (workerd's clock moves across I/O). */
  ms: number;
  done: boolean;
}

let config: Config = "after";
let deadlineMs = Infinity;
/** Bumped by begin and end: an invocation of an earlier query (work left running after its answer) fails at its next storage call. */
let generation = 0;
let invocations: Invocation[] = [];

/** What the driver sent (catalog rows, closed metric rows): JSON with Uint8Arrays as {$b64} and Dates as {$date}. */
function parseTagged(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === "object" && "$b64" in v) return fromBase64((v as { $b64: string }).$b64);
    if (v && typeof v === "object" && "$date" in v) return new Date((v as { $date: number }).$date);
    return v;
  });
}

/** A new invocation's bindings (gated, counted, with the configuration's vars) and its record. */
function invocation(env: Env, path: string) {
  const latency = Number(env.BENCH_LATENCY_MS ?? 20);
  const inv: Invocation = { path, config, status: 0, objectCalls: 0, ms: 0, done: false, ...newGateCounts() };
  invocations.push(inv);
  const gen = generation;
  // R2 calls of an earlier query fail; D1 calls only past the deadline (see the note on key auth).
  const gate = new Gate(Number(env.BENCH_SS_INFLIGHT ?? 6), latency, (kind) => (gen === generation || kind === "d1" ? deadlineMs : -Infinity), inv);
  const objects = newObjectCounts();
  const vars = config === "before" ? BEFORE_VARS : {};
  const dashEnv = {
    ...env,
    DB: gatedD1(env.DB, gate),
    SPANS: gatedR2(env.SPANS, gate),
    TENANTS: countingNamespace(env.TENANTS, () => objects, latency),
    ...vars,
  } as unknown as DashboardEnv;
  const t0 = Date.now();
  const finish = (status: number) => {
    inv.status = status;
    inv.ms = Date.now() - t0;
    inv.objectCalls = objects.requests;
    inv.done = true;
  };
  return { dashEnv, finish };
}

async function dashboard(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const { dashEnv, finish } = invocation(env, new URL(request.url).pathname);
  let status = 500;
  try {
    const res = await app.fetch(request, dashEnv, ctx);
    status = res.status;
    return res;
  } finally {
    finish(status);
  }
}

/**
 * The dashboard's fan-out entrypoint (SCAN_JOBS binds it, as the dashboard's wrangler.toml binds
 * ScanJobs to itself): each call is a new invocation, so its bindings are wrapped and counted anew.
 */
export class BenchScanJobs extends ScanJobs {
  readonly #finish: (status: number) => void;

  constructor(ctx: ExecutionContext, env: Env) {
    const { dashEnv, finish } = invocation(env, "ScanJobs");
    super(ctx, dashEnv);
    this.#finish = finish;
  }

  override async search(job: SearchJob) {
    return this.#timed(() => super.search(job));
  }

  override async metrics(job: MetricsJob) {
    return this.#timed(() => super.metrics(job));
  }

  async #timed<T>(fn: () => Promise<T>): Promise<T> {
    let status = 500;
    try {
      const r = await fn();
      status = 200;
      return r;
    } finally {
      this.#finish(status);
    }
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/bench/")) return dashboard(request, env, ctx);
    const db = d1(env.DB) as BatchingDb;
    switch (url.pathname) {
      case "/bench/noop":
        return Response.json({});
      case "/bench/setup": {
        const tenant = await createTenant(db, "search-scale-bench");
        const { secret } = await createKey(db, tenant.id, { name: "bench", scopes: ["read"] });
        return Response.json({ tenantId: tenant.id, secret });
      }
      case "/bench/put": {
        const tenantId = request.headers.get("x-tenant")!;
        const body = new Uint8Array(await request.arrayBuffer());
        const n = new DataView(body.buffer, body.byteOffset).getUint32(0);
        const block = parseTagged(new TextDecoder().decode(body.subarray(4, 4 + n))) as NewBlock;
        await env.SPANS.put(blockKey(tenantId, block.id), body.subarray(4 + n));
        await recordBlock(db, tenantId, block, [], []);
        return Response.json({});
      }
      case "/bench/metrics": {
        const { tenantId, flush } = parseTagged(await request.text()) as { tenantId: string; flush: MetricFlush };
        const t0 = Date.now();
        const r = await writeMetricFlush(db, tenantId, crypto.randomUUID(), flush);
        return Response.json({ result: r, ms: Date.now() - t0 });
      }
      case "/bench/begin": {
        const b = (await request.json()) as { config: Config; timeoutMs: number };
        config = b.config;
        deadlineMs = Date.now() + b.timeoutMs;
        generation++;
        invocations = [];
        return Response.json({});
      }
      case "/bench/end": {
        const out = invocations;
        invocations = [];
        generation++;
        return Response.json({ invocations: out });
      }
    }
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
