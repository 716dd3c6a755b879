/**
 * The assembly-scale benchmark's worker (bench/assembly-scale.ts bundles it and runs it in
 * Miniflare): the real assembler entry (`consumeBatch`) and the real tenant objects
 * (bench/support/bench-tenant-object.mts), with every R2, D1 and object call counted and, with
 * BENCH_LATENCY_MS, answering after that delay, as Cloudflare's do (bench/support/latency.ts).
 * The queue messages are loaded first and kept here; Node then delivers them in queue batches,
 * as many at once as the consumer concurrency being measured.
 *
 * `.mts` keeps this file out of tsconfig.node.json; check it with `npx tsc -p bench/assembly-scale`.
 *
 * Routes: POST /setup, POST /load, POST /deliver, POST /flush, GET /counters, GET /check.
 */
import { sql } from "drizzle-orm";
import { d1 } from "../../shared/db/d1.ts";
import { tenants } from "../../shared/db/schema.ts";
import type { IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import { countingR2Bucket, newR2OpCounts, type R2OpCounts } from "../support/counting-r2.ts";
import { r2Store } from "../../shared/storage/object-store.ts";
import { tenantObject, type TenantObjectNamespace } from "../../shared/tenant-object/api.ts";
import type { BatchingDb } from "../../shared/db/client.ts";
import { consumeBatch } from "../../workers/assembler/consume.ts";
import type { AssemblerEnv } from "../../workers/assembler/env.ts";
import { fromBase64 } from "../../shared/encoding/base64.ts";
import type { BenchObjectCounts, BenchTenantObject } from "../support/bench-tenant-object.mts";
import { delayedD1, delayedR2 } from "../support/latency.ts";
import { countingNamespace, newObjectCounts, type ObjectCounts } from "../support/object-counts.ts";
import { countingD1, newD1Counts, type D1Counts } from "../cost/counting-d1.ts";

export { BenchTenantObject } from "../support/bench-tenant-object.mts";

interface Env {
  DB: D1Database;
  SPANS: R2Bucket;
  TENANTS: DurableObjectNamespace<BenchTenantObject>;
  BENCH_LATENCY_MS?: string;
}

/** What the consumers did, counted at their bindings (the objects' own work is read from them). */
interface ConsumerCounts {
  r2: R2OpCounts;
  d1: D1Counts;
  object: ObjectCounts;
  invocations: number;
  acked: number;
  retried: number;
}

const counts: ConsumerCounts = { r2: newR2OpCounts(), d1: newD1Counts(), object: newObjectCounts(), invocations: 0, acked: 0, retried: 0 };
let tenantIds: string[] = [];
const messages: IngestBatchMessage[] = [];
let consumerEnv: AssemblerEnv | undefined;

/** The bindings as a consumer sees them: counted, then delayed (a delay is not a billed call). */
function envFor(env: Env): AssemblerEnv {
  if (!consumerEnv) {
    const latency = Number(env.BENCH_LATENCY_MS ?? 0);
    consumerEnv = {
      DB: delayedD1(countingD1(env.DB, counts.d1), latency),
      SPANS: delayedR2(countingR2Bucket(env.SPANS, counts.r2), latency),
      TENANTS: countingNamespace(env.TENANTS, () => counts.object, latency),
    } as unknown as AssemblerEnv;
  }
  return consumerEnv;
}

interface Deliver {
  /** Indexes into the loaded messages. */
  refs: number[];
  tenantsAtOnce?: number;
}

async function deliver(req: Deliver, env: Env): Promise<{ acked: number; retried: number }> {
  const state = req.refs.map(() => ({ acked: false, retried: false }));
  const batch = {
    queue: "edgetrace-ingest",
    messages: req.refs.map((ref, i) => ({
      id: `m-${ref}`,
      timestamp: new Date(messages[ref]!.receivedAtMs),
      attempts: 1,
      body: messages[ref]!,
      ack: () => (state[i]!.acked = true),
      retry: () => (state[i]!.retried = true),
    })),
    ackAll: () => state.forEach((s) => (s.acked = true)),
    retryAll: () => state.forEach((s) => (s.retried = true)),
  } as unknown as MessageBatch<IngestBatchMessage>;
  counts.invocations++;
  await consumeBatch(batch, envFor(env), { tenantsAtOnce: req.tenantsAtOnce });
  const acked = state.filter((s) => s.acked && !s.retried).length;
  counts.acked += acked;
  counts.retried += state.length - acked;
  return { acked, retried: state.length - acked };
}

async function objectCounts(env: Env): Promise<BenchObjectCounts[]> {
  return Promise.all(tenantIds.map((id) => env.TENANTS.get(env.TENANTS.idFromName(id)).benchCounts()));
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/setup") {
      // Tenants with the ids Node chose (so its messages' keys are theirs), limits lifted.
      tenantIds = ((await request.json()) as { tenantIds: string[] }).tenantIds;
      const db = d1(env.DB);
      for (const id of tenantIds) await db.insert(tenants).values({ id, name: id, createdAt: new Date(), ingestBytesPerSecond: 1e9, ingestBurstBytes: 1e9 });
      return Response.json({ tenants: tenantIds.length });
    }
    if (url.pathname === "/load") {
      const loaded = (await request.json()) as (Omit<IngestBatchMessage, "inline"> & { inline?: string })[];
      for (const m of loaded) messages.push({ ...m, inline: m.inline === undefined ? undefined : fromBase64(m.inline) });
      return Response.json({ messages: messages.length });
    }
    if (url.pathname === "/deliver") {
      return Response.json(await deliver((await request.json()) as Deliver, env));
    }
    if (url.pathname === "/flush") {
      // What the objects' alarms do: write what is final (at a time after everything), counted.
      const wallMs = ((await request.json()) as { wallMs: number }).wallMs;
      const ns = envFor(env).TENANTS as unknown as TenantObjectNamespace;
      const out = await Promise.all(tenantIds.map((id) => tenantObject(ns, id).flush(id, wallMs)));
      return Response.json(out);
    }
    if (url.pathname === "/counters") {
      return Response.json({ consumers: counts, objects: await objectCounts(env) });
    }
    if (url.pathname === "/check") {
      // Every span in a catalogued block once (no redelivery here, so no duplicate), and counted.
      const db = d1(env.DB) as BatchingDb;
      const spans = await db.all<{ tenant_id: string; n: number; blocks: number }>(sql`SELECT tenant_id, sum(span_count) AS n, count(*) AS blocks FROM blocks GROUP BY tenant_id`);
      const usage = await db.all<{ tenant_id: string; n: number }>(sql`SELECT tenant_id, sum(spans_accepted) AS n FROM usage_days GROUP BY tenant_id`);
      const ingestLeft = (await r2Store(env.SPANS).list("t/")).filter((o) => o.key.includes("/ingest/")).length;
      return Response.json({ spans, usage, ingestLeft });
    }
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
