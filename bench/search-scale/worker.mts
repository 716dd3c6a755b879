/**
 * The search-scale benchmark's worker (bench/search-scale.ts bundles it with wrangler and runs it in
 * Miniflare with local D1, R2 and Durable Objects). Every request outside /bench/ is handed to the
 * real dashboard app (workers/dashboard/app.ts: its routes, its key auth, its query code), as one
 * Worker invocation with its bindings wrapped for that invocation (gate.ts): each R2 and D1 call
 * waits BENCH_LATENCY_MS and at most BENCH_SS_INFLIGHT (6) are open at once, counted; calls to the
 * tenant objects wait the same and are counted (not gated: Cloudflare's six-connection limit
 * names fetch, KV, Cache, R2 and Queues, not Durable Objects). Any other binding (a service binding
 * the dashboard may fan a query out over) is passed through: an invocation that reaches this
 * worker through one is wrapped and counted as its own invocation.
 *
 * Before and after: POST /bench/begin says which configuration the next requests run with.
 * "before" sets the dashboard's scan switches to today's behaviour (SCAN_CONCURRENCY=1,
 * SCAN_USE_INDEX=0, METRICS_FROM_ROLLUPS=0, SCAN_FANOUT=0); "after" leaves them unset (the
 * defaults). It is module state, not a header, so that invocations a query fans out to run with
 * the same configuration. It also sets a deadline: a storage call after it throws, so a query
 * that would take minutes stops (reported as timed out). GET /bench/end answers every invocation
 * since the last begin with its counts.
 *
 * Note: the key-auth middleware keeps one authenticator per isolate, built on the D1 binding of
 * the first request it saw, so its (cached, every 30 s) key lookups go through that first
 * invocation's wrapper and are not counted in later ones.
 *
 * `.mts` keeps this file out of tsconfig.node.json; check it with `npx tsc -p bench/search-scale`.
 *
 * Routes: POST /bench/setup, POST /bench/put (x-tenant; body: u32 length, catalog row as tagged
 * JSON, block bytes), POST /bench/metrics, POST /bench/begin, GET /bench/end, GET /bench/noop;
 * everything else goes to the dashboard.
 */
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import { recordBlock, type NewBlock } from "../../shared/db/queries/blocks.ts";
import { createKey } from "../../shared/db/queries/keys.ts";
import { writeMetricFlush } from "../../shared/db/queries/metrics.ts";
import { createTenant } from "../../shared/db/queries/tenants.ts";
import { fromBase64 } from "../../shared/encoding/base64.ts";
import { blockKey } from "../../shared/storage/keys.ts";
import { decodeEdgeRow, decodeOperationRow, type EncodedEdgeRow, type EncodedOperationRow } from "../../shared/tenant-object/open-metrics.ts";
import type { UsageDelta } from "../../shared/assembly/usage-deltas.ts";
import { app } from "../../workers/dashboard/app.ts";
import type { DashboardEnv } from "../../workers/dashboard/env.ts";
import { countingNamespace, newObjectCounts } from "../support/object-counts.ts";
import { Gate, gatedD1, gatedR2, newGateCounts, type GateCounts } from "./gate.ts";

export { TenantObject } from "../../workers/assembler/tenant-object.ts";

interface Env {
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
let invocations: Invocation[] = [];

/** The catalog row as the driver sent it: JSON with Uint8Arrays as {$b64} and Dates as {$date}. */
function parseRow(text: string): NewBlock {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === "object" && "$b64" in v) return fromBase64((v as { $b64: string }).$b64);
    if (v && typeof v === "object" && "$date" in v) return new Date((v as { $date: number }).$date);
    return v;
  }) as NewBlock;
}

async function dashboard(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const latency = Number(env.BENCH_LATENCY_MS ?? 20);
  const inv: Invocation = { path: new URL(request.url).pathname, config, status: 0, objectCalls: 0, ms: 0, done: false, ...newGateCounts() };
  invocations.push(inv);
  const gate = new Gate(Number(env.BENCH_SS_INFLIGHT ?? 6), latency, () => deadlineMs, inv);
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
  try {
    const res = await app.fetch(request, dashEnv, ctx);
    inv.status = res.status;
    return res;
  } finally {
    inv.ms = Date.now() - t0;
    inv.objectCalls = objects.requests;
    inv.done = true;
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
        const block = parseRow(new TextDecoder().decode(body.subarray(4, 4 + n)));
        await env.SPANS.put(blockKey(tenantId, block.id), body.subarray(4 + n));
        await recordBlock(db, tenantId, block, [], []);
        return Response.json({});
      }
      case "/bench/metrics": {
        const { tenantId, flush } = (await request.json()) as { tenantId: string; flush: { edgeRows: EncodedEdgeRow[]; operationRows: EncodedOperationRow[]; usage: UsageDelta[]; storedMinutes: number[] } };
        const rows = { ...flush, edgeRows: flush.edgeRows.map(decodeEdgeRow), operationRows: flush.operationRows.map(decodeOperationRow) };
        const t0 = Date.now();
        const r = await writeMetricFlush(db, tenantId, crypto.randomUUID(), rows);
        return Response.json({ result: r, ms: Date.now() - t0 });
      }
      case "/bench/begin": {
        const b = (await request.json()) as { config: Config; timeoutMs: number };
        config = b.config;
        deadlineMs = Date.now() + b.timeoutMs;
        invocations = [];
        return Response.json({});
      }
      case "/bench/end": {
        const out = invocations;
        invocations = [];
        deadlineMs = Infinity;
        return Response.json({ invocations: out });
      }
    }
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
