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
import { countingR2Bucket, newR2OpCounts } from "../../shared/storage/counting-store.ts";
import { r2Store } from "../../shared/storage/object-store.ts";
import assembler from "../../workers/assembler/index.ts";
import { compactTenant } from "../../workers/assembler/compact.ts";
import { flushClosedMinutes } from "../../workers/assembler/consume.ts";
import { applyRetention } from "../../workers/assembler/retention.ts";
import type { AssemblerEnv } from "../../workers/assembler/env.ts";
import { app as ingestApp } from "../../workers/ingest/app.ts";
import type { IngestEnv } from "../../workers/ingest/env.ts";
import { countingD1, newD1Counts } from "./counting-d1.ts";
import { messageBytes, queueOps, type CronRequest, type DeliverRequest, type DeliverResult, type Phase, type PhaseCounts, type SentMessage } from "./protocol.ts";
import { eq } from "drizzle-orm";

interface Env {
  DB: D1Database;
  SPANS: R2Bucket;
}

const counters = new Map<Phase, PhaseCounts>();
const envs = new Map<Phase, { DB: D1Database; SPANS: R2Bucket }>();
/** Messages the ingest worker sent, by the x-bench-seq of the request that sent them, and by ref. */
const sent = new Map<number, SentMessage[]>();
const byRef = new Map<string, IngestBatchMessage>();

function phaseCounts(phase: Phase): PhaseCounts {
  let c = counters.get(phase);
  if (!c) {
    c = { r2: newR2OpCounts(), d1: newD1Counts(), queue: { sent: 0, delivered: 0, acked: 0, retried: 0, writeOps: 0, readOps: 0, deleteOps: 0, bytes: 0 }, invocations: 0 };
    counters.set(phase, c);
  }
  return c;
}

/** One counted pair of bindings per phase, created once so per-binding caches (drizzle, key auth) hold. */
function phaseEnv(env: Env, phase: Phase) {
  let e = envs.get(phase);
  if (!e) {
    const c = phaseCounts(phase);
    e = { DB: countingD1(env.DB, c.d1), SPANS: countingR2Bucket(env.SPANS, c.r2) };
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
  return { acked, retried };
}

/** What the assembler's scheduled handler does (workers/assembler/index.ts), at a chosen time. */
async function cron(req: CronRequest, env: Env) {
  const c = phaseCounts(req.phase);
  c.invocations++;
  const e = phaseEnv(env, req.phase);
  const db = d1(e.DB) as BatchingDb;
  const store = r2Store(e.SPANS);
  const out = [];
  for (const tenant of await listTenants(db)) {
    const metricRowsFlushed = await flushClosedMinutes(db, store, tenant.id, req.nowMs);
    const retention = await applyRetention(db, store, tenant.id, tenant.retentionDays, req.nowMs);
    const compaction = await compactTenant(db, store, tenant.id, req.nowMs);
    out.push({ tenantId: tenant.id, metricRowsFlushed, retention, compaction });
  }
  return out;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/v1/traces" || url.pathname === "/api/v2/spans") {
      const seq = Number(request.headers.get("x-bench-seq") ?? -1);
      const c = phaseCounts("ingest");
      c.invocations++;
      const ingestEnv: IngestEnv = { ...phaseEnv(env, "ingest"), INGEST_QUEUE: recordingQueue(seq, c) };
      return ingestApp.fetch(request, ingestEnv, ctx);
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
