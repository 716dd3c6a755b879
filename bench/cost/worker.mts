/**
 * The cost benchmark's worker (bench/cost.ts bundles it with wrangler and runs it in Miniflare):
 * the real ingest app and the real assembler entry behind one fetch handler, with their R2 and D1
 * bindings wrapped in counters and the ingest queue replaced by a recorder, so that bench/cost.ts
 * can deliver the messages in queue-shaped batches at simulated times.
 *
 * `.mts` keeps this file out of tsconfig.node.json (it needs Workers types); check it with
 * `npx tsc -p bench/cost`.
 *
 * Routes: POST /v1/traces (ingest, header x-bench-seq), GET /messages, POST /deliver, POST /cron,
 * POST /setup, GET /counters.
 */
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import { createKey } from "../../shared/db/queries/keys.ts";
import { createTenant, listTenants } from "../../shared/db/queries/tenants.ts";
import { tenants } from "../../shared/db/schema.ts";
import type { IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import { countingR2Bucket, newR2OpCounts } from "../support/counting-r2.ts";
import { r2Store } from "../../shared/storage/object-store.ts";
import assembler from "../../workers/assembler/index.ts";
import { compactTenant } from "../../workers/assembler/compact.ts";
import { applyRetention } from "../../workers/assembler/retention.ts";
import { tenantObject, type TenantObjectNamespace } from "../../shared/tenant-object/api.ts";
import type { BenchObjectCounts, BenchTenantObject } from "../support/bench-tenant-object.mts";
import { countingNamespace } from "../support/object-counts.ts";
import type { AssemblerEnv } from "../../workers/assembler/env.ts";
import { app as ingestApp } from "../../workers/ingest/app.ts";
import type { IngestEnv } from "../../workers/ingest/env.ts";
import { countingD1, newD1Counts } from "./counting-d1.ts";
import { messageBytes, queueOps, type CronRequest, type DeliverRequest, type DeliverResult, type Phase, type PhaseCounts, type SentMessage } from "./protocol.ts";
import { eq } from "drizzle-orm";

export { BenchTenantObject } from "../support/bench-tenant-object.mts";

interface Env {
  DB: D1Database;
  SPANS: R2Bucket;
  TENANTS: DurableObjectNamespace<BenchTenantObject>;
}

const counters = new Map<Phase, PhaseCounts>();
const envs = new Map<Phase, { DB: D1Database; SPANS: R2Bucket; TENANTS: DurableObjectNamespace }>();
/** What each tenant object reported last (its counts are cumulative), to add the difference to a phase. */
const objectSeen = new Map<string, BenchObjectCounts>();
/** Messages the ingest worker sent, by the x-bench-seq of the request that sent them, and by ref. */
const sent = new Map<number, SentMessage[]>();
const byRef = new Map<string, IngestBatchMessage>();

function phaseCounts(phase: Phase): PhaseCounts {
  let c = counters.get(phase);
  if (!c) {
    c = { r2: newR2OpCounts(), d1: newD1Counts(), queue: { sent: 0, delivered: 0, acked: 0, retried: 0, writeOps: 0, readOps: 0, deleteOps: 0, bytes: 0 }, object: { requests: 0, callMs: 0, byMethod: {}, rowsWritten: 0, rowsRead: 0, metricRowsFlushed: 0 }, invocations: 0 };
    counters.set(phase, c);
  }
  return c;
}

/** One counted pair of bindings per phase, created once so per-binding caches (drizzle, key auth) hold. */
function phaseEnv(env: Env, phase: Phase) {
  let e = envs.get(phase);
  if (!e) {
    const c = phaseCounts(phase);
    e = { DB: countingD1(env.DB, c.d1), SPANS: countingR2Bucket(env.SPANS, c.r2), TENANTS: countingNamespace(env.TENANTS, () => c.object) as unknown as DurableObjectNamespace };
    envs.set(phase, e);
  }
  return e;
}

function recordingQueue(seq: number, c: PhaseCounts): Queue<IngestBatchMessage> {
  const record = (body: IngestBatchMessage) => {
    const bytes = messageBytes(body);
    c.queue.sent++;
    c.queue.bytes += bytes;
    c.queue.writeOps += queueOps(bytes);
    // What the queue delivers is a copy (structured clone), not the sender's object.
    const ref = `q-${byRef.size}`;
    byRef.set(ref, structuredClone(body));
    let list = sent.get(seq);
    if (!list) sent.set(seq, (list = []));
    list.push({ ref, receivedAtMs: body.receivedAtMs, bytes, inline: body.inline !== undefined });
  };
  return {
    async send(body: IngestBatchMessage) {
      record(body);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<IngestBatchMessage>>) {
      for (const m of messages) record(m.body);
    },
  } as unknown as Queue<IngestBatchMessage>;
}

async function deliver(req: DeliverRequest, env: Env, ctx: ExecutionContext): Promise<DeliverResult> {
  const c = phaseCounts("assemble");
  const bodies = req.refs.map((ref) => {
    const body = byRef.get(ref);
    if (!body) throw new Error(`no sent message ${ref}`);
    return body;
  });
  const state = bodies.map(() => ({ acked: false, retried: false }));
  const messages = bodies.map((body, i) => ({
    id: `m-${crypto.randomUUID()}`,
    timestamp: new Date(body.receivedAtMs),
    attempts: 1,
    body,
    ack() {
      state[i]!.acked = true;
    },
    retry() {
      state[i]!.retried = true;
    },
  }));
  const batch = {
    queue: "edgetrace-ingest",
    messages,
    ackAll: () => state.forEach((s) => (s.acked = true)),
    retryAll: () => state.forEach((s) => (s.retried = true)),
  } as unknown as MessageBatch<IngestBatchMessage>;
  c.invocations++;
  let failed = false;
  try {
    await assembler.queue!(batch, phaseEnv(env, "assemble") as unknown as AssemblerEnv, ctx);
  } catch (err) {
    console.error("bench: queue handler threw", err);
    failed = true;
  }
  let acked = 0;
  let retried = 0;
  for (const [i, s] of state.entries()) {
    const bytes = messageBytes(bodies[i]!);
    c.queue.delivered++;
    c.queue.readOps += queueOps(bytes);
    // Queues acks what the handler did not retry when it returns normally; a throw retries the rest.
    if (s.retried || (failed && !s.acked)) {
      retried++;
      c.queue.retried++;
    } else {
      acked++;
      c.queue.acked++;
      c.queue.deleteOps += queueOps(bytes);
    }
  }
  await collectObjectCounts(env, "assemble");
  if (req.flushAtMs !== undefined) await flushObjects(env, req.flushAtMs);
  return { acked, retried };
}

/**
 * The tenant objects' own work since last asked (rows in their SQLite, and the D1 and R2 calls they
 * make when flushing), added to the phase: uncounted calls, as these are the bench's, not the system's.
 */
async function collectObjectCounts(env: Env, phase: Phase) {
  const c = phaseCounts(phase);
  for (const tenant of await listTenants(d1(env.DB))) {
    const now = await env.TENANTS.get(env.TENANTS.idFromName(tenant.id)).benchCounts();
    const was = objectSeen.get(tenant.id);
    objectSeen.set(tenant.id, now);
    c.object.rowsWritten += now.rowsWritten - (was?.rowsWritten ?? 0);
    c.object.rowsRead += now.rowsRead - (was?.rowsRead ?? 0);
    c.d1.queries += now.d1.queries - (was?.d1.queries ?? 0);
    c.d1.rowsRead += now.d1.rowsRead - (was?.d1.rowsRead ?? 0);
    c.d1.rowsWritten += now.d1.rowsWritten - (was?.d1.rowsWritten ?? 0);
    if (now.d1.sizeAfter) c.d1.sizeAfter = Math.max(c.d1.sizeAfter, now.d1.sizeAfter);
    c.r2.classA += now.r2.classA - (was?.r2.classA ?? 0);
    c.r2.classB += now.r2.classB - (was?.r2.classB ?? 0);
  }
}

/** Each tenant object's flush at `nowMs`, as its alarm runs it (one object request each), counted as phase `flush`. */
async function flushObjects(env: Env, nowMs: number) {
  const e = phaseEnv(env, "flush");
  const out = [];
  for (const tenant of await listTenants(d1(env.DB))) out.push(await tenantObject(e.TENANTS as unknown as TenantObjectNamespace, tenant.id).flush(tenant.id, nowMs));
  phaseCounts("flush").object.metricRowsFlushed += out.reduce((n, f) => n + f.rows, 0);
  await collectObjectCounts(env, "flush");
  return out;
}

/** What the assembler's scheduled handler does (workers/assembler/index.ts), at a chosen time, and the objects' alarms. */
async function cron(req: CronRequest, env: Env) {
  const c = phaseCounts(req.phase);
  c.invocations++;
  const e = phaseEnv(env, req.phase);
  const db = d1(e.DB) as BatchingDb;
  const store = r2Store(e.SPANS);
  const out = [];
  const flushed = await flushObjects(env, req.nowMs);
  for (const tenant of await listTenants(db)) {
    const retention = await applyRetention(db, store, tenant.id, tenant.retentionDays, req.nowMs);
    const compaction = await compactTenant(db, store, tenant.id, req.nowMs);
    out.push({ tenantId: tenant.id, retention, compaction });
  }
  await collectObjectCounts(env, req.phase);
  return { flushed, out };
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/v1/traces" || url.pathname === "/api/v2/spans") {
      const seq = Number(request.headers.get("x-bench-seq") ?? -1);
      const c = phaseCounts("ingest");
      c.invocations++;
      // One recording queue where the config binds four: ingestQueues() takes as many as are bound.
      const ingestEnv = { ...phaseEnv(env, "ingest"), INGEST_QUEUE: recordingQueue(seq, c) } as IngestEnv;
      const res = await ingestApp.fetch(request, ingestEnv, ctx);
      return res;
    }
    if (url.pathname === "/messages") {
      return Response.json(Object.fromEntries(sent));
    }
    if (url.pathname === "/deliver") {
      return Response.json(await deliver((await request.json()) as DeliverRequest, env, ctx));
    }
    if (url.pathname === "/cron") {
      return Response.json(await cron((await request.json()) as CronRequest, env));
    }
    if (url.pathname === "/setup") {
      // Not counted: the tenant and its key exist before the workload starts.
      const db = d1(env.DB);
      const tenant = await createTenant(db, "cost-bench");
      // The benchmark measures cost, not the rate limiter: lift this tenant's limit.
      await db.update(tenants).set({ ingestBytesPerSecond: 1e9, ingestBurstBytes: 1e9 }).where(eq(tenants.id, tenant.id));
      const { secret } = await createKey(db, tenant.id, { name: "bench", scopes: ["ingest"] });
      return Response.json({ tenantId: tenant.id, secret });
    }
    if (url.pathname === "/counters") {
      return Response.json(Object.fromEntries(counters));
    }
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
