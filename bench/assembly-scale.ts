/**
 * Assembly at scale: the real assembler code over local R2, D1 and tenant objects (Durable
 * Objects) in workerd, with BENCH_LATENCY_MS (20) added to every R2, D1 and object call, as on
 * Cloudflare, assembling a backlog from 10 tenants at consumer concurrency 1, 2, 4, 8 and 16.
 *
 * The backlog: multiServiceWorkload traces exported as an SDK does (bench/cost/workload.ts:
 * 5 s or 512 spans per request, as in bench/cost.ts), the same traffic for each tenant, received interleaved; each
 * request becomes the queue message ingest would send (its object inline, gzip-compressed), and
 * the queue hands them out in batches of 100 in the order received (a backlog: every batch full).
 * Each concurrency runs in a fresh Miniflare (fresh D1, R2 and objects): Node keeps that many
 * batches in flight (`consumeBatch` per batch, as concurrent consumer invocations), then the
 * objects' flush (their alarm) writes the closed minutes, and the run is checked: every span in a
 * catalogued block, usage counted once. A first run at concurrency 1 with the tenants of a batch
 * one after another (TENANTS_AT_ONCE = 1) shows what assembling a batch's tenants at once gives.
 *
 * Locally every consumer shares one workerd thread on a 2-core machine, so CPU per batch bounds
 * the local speed-up; on Cloudflare each invocation has its own. So the figures also give each
 * run's CPU per batch (workerd's user+system time), the time a batch waits on storage (one
 * consumer with and without the added latency), and the projection of what n consumers give when
 * they do not share a CPU: n batches per batch time, until a tenant's object (one commit per
 * batch, one at a time) is busy all the time (each object call's own duration).
 *
 * In Node, for one tenant's messages in the order received: what its deltas cost its object to
 * log and apply, how many halves reach it and how many wait there at once (for bench/capacity.ts).
 *
 * Counted at the bindings (as bench/cost.ts counts): R2 operations, D1 rows, object requests and
 * the rows the objects write to their own SQLite, consumer invocations, queue reads and deletes.
 * The cost per million spans of assembly is priced like bench/cost.ts; the whole pipeline's is
 * that plus the cost bench's ingest and cron shares (bench/results.json, from the same command's
 * `cost` run when it ran first).
 *
 * Prints one JSON object to stdout; notes go to stderr.
 * Run: npx node bench/assembly-scale.ts   (BENCH_AS_TRACES per tenant, BENCH_LATENCY_MS)
 */
import { existsSync, readFileSync } from "node:fs";
import { multiServiceWorkload } from "../test/support/multi-service-workload.ts";
import { decodeIngestBatch, encodeIngestBatch, inflateInline, inlinePayload, type IngestBatchMessage, batchTimeRange } from "../shared/ingest/batch-object.ts";
import { planTenantBatch } from "../shared/assembly/plan.ts";
import { encodeDelta, OpenMetrics } from "../shared/tenant-object/open-metrics.ts";
import { ledgerEntries } from "../shared/tenant-object/ledger.ts";
import { groupByTrace } from "../shared/ingest/group-by-trace.ts";
import { ingestBatchKey } from "../shared/storage/keys.ts";
import { toBase64 } from "../shared/encoding/base64.ts";
import { messageBytes, queueOps } from "./cost/protocol.ts";
import { sdkExports } from "./cost/workload.ts";
import { PRICES } from "./cost/prices.ts";
import type { D1Counts } from "./cost/counting-d1.ts";
import type { R2OpCounts } from "./support/counting-r2.ts";
import type { ObjectCounts } from "./support/object-counts.ts";
import { startBenchWorker } from "./support/bench-worker.ts";
import { workerdCpuMs } from "./support/workerd-cpu.ts";

const log = (...a: unknown[]) => console.error("[assembly-scale]", ...a);
const TENANTS = 10;
const TRACES_PER_TENANT = Number(process.env.BENCH_AS_TRACES ?? 1500);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 20);
const CONCURRENCY = [1, 2, 4, 8, 16];
const BATCH = 100;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const sig = (x: number, digits = 3) => (x === 0 ? 0 : Number(x.toPrecision(digits)));

// ---- the backlog ------------------------------------------------------------------------------

const t0 = performance.now();
const startMs = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
const workload = multiServiceWorkload({ traces: TRACES_PER_TENANT, seed: 21, startMs });
const requests = sdkExports(workload.requests);
const instances = new Set(workload.requests.flatMap((r) => r.resourceSpans.map((rs) => rs.resource))).size;
const tenantIds = Array.from({ length: TENANTS }, (_, i) => `tn_bench${String(i).padStart(2, "0")}`);
const messages: IngestBatchMessage[] = [];
for (const [seq, r] of requests.entries()) {
  for (const [k, tenantId] of tenantIds.entries()) {
    const receivedAtMs = r.atMs + k; // the tenants' requests interleave
    const batchId = `b${seq}-${k}`;
    const traces = groupByTrace(r.batch);
    const { bytes, spanCount } = encodeIngestBatch({ tenantId, batchId, receivedAtMs, source: "otlp-proto", traces });
    const inline = await inlinePayload(bytes);
    if (!inline) throw new Error("a request too large to travel inline");
    messages.push({ v: 2, tenantId, key: ingestBatchKey(tenantId, receivedAtMs, batchId), batchId, receivedAtMs, spanCount, traceCount: traces.length, bytes: bytes.byteLength, ...batchTimeRange(traces), inline });
  }
}
messages.sort((a, b) => a.receivedAtMs - b.receivedAtMs);
const spans = messages.reduce((n, m) => n + m.spanCount, 0);
const batches: number[][] = [];
for (let i = 0; i < messages.length; i += BATCH) batches.push(Array.from({ length: Math.min(BATCH, messages.length - i) }, (_, j) => i + j));
const queueOpsTotal = messages.reduce((n, m) => n + 2 * queueOps(messageBytes(m)), 0); // read + delete
log(`${spans} spans from ${TENANTS} tenants in ${messages.length} messages (${round(spans / messages.length)} spans each), ${batches.length} queue batches; ${round((performance.now() - t0) / 1000)} s to build`);

// ---- one run ----------------------------------------------------------------------------------

interface Counters {
  consumers: { r2: R2OpCounts; d1: D1Counts; object: ObjectCounts; invocations: number; acked: number; retried: number };
  objects: { d1: D1Counts; r2: R2OpCounts; rowsWritten: number; rowsRead: number; storedBytes: number }[];
}

async function run(concurrency: number, tenantsAtOnce?: number, latencyMs = LATENCY_MS) {
  const { call, dispose } = await startBenchWorker("assembly-scale", {
    compatibilityFlags: ["d1_binding_jsrpc"],
    durableObjects: { TENANTS: "BenchTenantObject" },
    bindings: { BENCH_LATENCY_MS: String(latencyMs), TENANT_FLUSH_INTERVAL_MS: "30000" },
  });
  try {
    await call("/setup", { tenantIds });
    for (let i = 0; i < messages.length; i += 400) {
      await call("/load", messages.slice(i, i + 400).map((m) => ({ ...m, inline: m.inline && toBase64(m.inline) })));
    }
    const cpu0 = workerdCpuMs((pid) => pid === process.pid);
    const wall0 = performance.now();
    let next = 0;
    const batchMs: number[] = [];
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < batches.length) {
          const refs = batches[next++]!;
          const b0 = performance.now();
          const r = await call<{ acked: number; retried: number }>("/deliver", { refs, tenantsAtOnce });
          batchMs.push(performance.now() - b0);
          if (r.retried) throw new Error(`${r.retried} messages were retried`);
        }
      }),
    );
    const wallMs = performance.now() - wall0;
    const cpuMs = workerdCpuMs((pid) => pid === process.pid) - cpu0;
    await call("/flush", { wallMs: Date.now() + 6 * 3_600_000 });
    const counters = await call<Counters>("/counters");
    const check = await call<{ spans: { tenant_id: string; n: number; blocks: number }[]; usage: { tenant_id: string; n: number }[]; ingestLeft: number }>("/check");
    const stored = check.spans.reduce((n, r) => n + r.n, 0);
    const counted = check.usage.reduce((n, r) => n + r.n, 0);
    if (stored !== spans || counted !== spans || check.spans.length !== TENANTS) throw new Error(`blocks hold ${stored}, usage counts ${counted}, of ${spans} spans`);
    const mean = batchMs.reduce((a, b) => a + b, 0) / batchMs.length;
    return { concurrency, tenantsAtOnce, wallMs, cpuMs, meanBatchMs: mean, counters, blocks: check.spans.reduce((n, r) => n + r.blocks, 0) };
  } finally {
    await dispose();
  }
}

// ---- runs -------------------------------------------------------------------------------------

// The object's share of the work, in Node, for one tenant (its messages in every batch, in the
// order received): what its deltas cost the object to log and apply (the serial part per tenant),
// how many halves go to it, and how many wait there at once (the steady state of the second half).
const objectWork = await (async () => {
  const tenantId = tenantIds[0]!;
  const metrics = new OpenMetrics(tenantId);
  let spansSeen = 0;
  let halves = 0;
  let ms = 0;
  const pending: number[] = [];
  for (const refs of batches) {
    const mine = refs.map((r) => messages[r]!).filter((m) => m.tenantId === tenantId);
    if (!mine.length) continue;
    const objects = new Map(await Promise.all(mine.map(async (m) => [m.key, decodeIngestBatch(await inflateInline(m.inline!, m.bytes))] as const)));
    const delta = (await planTenantBatch({ tenantId, sources: mine, assembled: new Map(), objects })).delta!;
    spansSeen += mine.reduce((n, m) => n + m.spanCount, 0);
    halves += delta.halves.length;
    const t = performance.now();
    // What the object does per commit: hash the keys, log the delta (JSON), apply it.
    await ledgerEntries(delta.keys);
    encodeDelta(structuredClone(delta));
    metrics.apply(delta, delta.clockMs); // received as fast as it happened: wall = receive time
    ms += performance.now() - t;
    pending.push(metrics.pendingHalves);
  }
  const mine = messages.filter((m) => m.tenantId === tenantId);
  const seconds = (mine.at(-1)!.receivedAtMs - mine[0]!.receivedAtMs) / 1000;
  const steady = pending.slice(Math.floor(pending.length / 2));
  const meanPending = steady.reduce((a, b) => a + b, 0) / Math.max(1, steady.length);
  return { usPerSpan: (ms / spansSeen) * 1000, halvesPer1000: (halves / spansSeen) * 1000, pendingSecondsOfSpans: meanPending / (spansSeen / seconds), spansPerSecond: spansSeen / seconds };
})();
log(`object work in Node: ${round(objectWork.usPerSpan, 2)} us/span, ${round(objectWork.halvesPer1000)} halves per 1000 spans, ${round(objectWork.pendingSecondsOfSpans, 3)} s of spans' halves waiting`);

const noLatency = await run(1, undefined, 0);
log(`concurrency 1 without added latency: ${round(spans / (noLatency.wallMs / 1000), 0)} spans/s, mean batch ${round(noLatency.meanBatchMs, 0)} ms`);
const serial = await run(1, 1);
log(`concurrency 1, tenants one after another: ${round(spans / (serial.wallMs / 1000), 0)} spans/s`);
const runs: Awaited<ReturnType<typeof run>>[] = [];
for (const c of CONCURRENCY) {
  const r = await run(c);
  runs.push(r);
  log(`concurrency ${c}: ${round(r.wallMs / 1000, 1)} s, ${round(spans / (r.wallMs / 1000), 0)} spans/s, mean batch ${round(r.meanBatchMs, 0)} ms, workerd CPU ${round(r.cpuMs / batches.length, 0)} ms/batch`);
}

// ---- figures ----------------------------------------------------------------------------------

const base = runs[0]!;
const spansPerSecond = (r: { wallMs: number }) => spans / (r.wallMs / 1000);
// What a batch costs alone: its CPU, and its time waiting on storage (the same batch with and
// without the added latency, one consumer).
const cpuPerBatch = base.cpuMs / batches.length;
const waitPerBatch = Math.max(0, base.meanBatchMs - noLatency.meanBatchMs);
const perTenantObjectCallMs = base.counters.consumers.object.callMs / Math.max(1, base.counters.consumers.object.requests);

/** The assembly share of the cost per million spans, from one run's counts. */
function assemblyCost(r: (typeof runs)[number]) {
  const c = r.counters;
  const perM = (x: number) => (x / spans) * 1e6;
  const objects = c.objects.reduce(
    (s, o) => ({ rowsWritten: s.rowsWritten + o.rowsWritten, rowsRead: s.rowsRead + o.rowsRead, d1Written: s.d1Written + o.d1.rowsWritten, d1Read: s.d1Read + o.d1.rowsRead, r2A: s.r2A + o.r2.classA, r2B: s.r2B + o.r2.classB, stored: s.stored + o.storedBytes }),
    { rowsWritten: 0, rowsRead: 0, d1Written: 0, d1Read: 0, r2A: 0, r2B: 0, stored: 0 },
  );
  const usd = {
    workers_requests: (perM(c.consumers.invocations) / 1e6) * PRICES.workers_per_million_requests,
    workers_cpu: (perM(r.cpuMs) / 1e6) * PRICES.workers_per_million_cpu_ms,
    r2_class_a: (perM(c.consumers.r2.classA + objects.r2A) / 1e6) * PRICES.r2_class_a_per_million,
    r2_class_b: (perM(c.consumers.r2.classB + objects.r2B) / 1e6) * PRICES.r2_class_b_per_million,
    d1_rows_read: (perM(c.consumers.d1.rowsRead + objects.d1Read) / 1e6) * PRICES.d1_per_million_rows_read,
    d1_rows_written: (perM(c.consumers.d1.rowsWritten + objects.d1Written) / 1e6) * PRICES.d1_per_million_rows_written,
    queues: (perM(queueOpsTotal) / 1e6) * PRICES.queues_per_million_ops,
    do_requests: (perM(c.consumers.object.requests) / 1e6) * PRICES.do_per_million_requests,
    do_duration: ((perM(c.consumers.object.callMs) / 1000) * 0.128 / 1e6) * PRICES.do_per_million_gb_s,
    do_rows_written: (perM(objects.rowsWritten) / 1e6) * PRICES.do_per_million_rows_written,
    do_rows_read: (perM(objects.rowsRead) / 1e6) * PRICES.do_per_million_rows_read,
  };
  return {
    usd,
    total: Object.values(usd).reduce((a, b) => a + b, 0),
    objectCallsPer1000: (c.consumers.object.requests / spans) * 1000,
    d1RowsWrittenPer1000: ((c.consumers.d1.rowsWritten + objects.d1Written) / spans) * 1000,
    objectRowsWrittenPer1000: (objects.rowsWritten / spans) * 1000,
    objectBytesPerSpan: objects.stored / spans,
  };
}

const costs = runs.map(assemblyCost);
const top = runs.at(-1)!;
const topCost = costs.at(-1)!;
// The rest of the pipeline (ingest, cron) from the cost bench, when it has run.
const results = existsSync("bench/results.json") ? (JSON.parse(readFileSync("bench/results.json", "utf8")) as { cost?: Record<string, unknown> }) : {};
const costTotal = Number(results.cost?.["usd_per_million_spans"] ?? NaN);
const costAssemble = Number(results.cost?.["usd_per_million_spans_assemble"] ?? NaN);
const pipeline = Number.isFinite(costTotal) && Number.isFinite(costAssemble) ? costTotal - costAssemble + topCost.total : undefined;

console.log(
  JSON.stringify({
    "assembly_scale.spans": spans,
    "assembly_scale.tenants": TENANTS,
    "assembly_scale.messages": messages.length,
    "assembly_scale.queue_batches": batches.length,
    "assembly_scale.latency_ms_per_call": LATENCY_MS,
    "assembly_scale.spans_per_second": Object.fromEntries(runs.map((r) => [r.concurrency, Math.round(spansPerSecond(r))])),
    "assembly_scale.ratio_to_concurrency_1": Object.fromEntries(runs.map((r) => [r.concurrency, round(spansPerSecond(r) / spansPerSecond(base), 2)])),
    "assembly_scale.ratio_at_16": round(spansPerSecond(top) / spansPerSecond(base), 2),
    "assembly_scale.serial_tenants_spans_per_second": Math.round(spansPerSecond(serial)),
    "assembly_scale.tenants_at_once_vs_serial": round(spansPerSecond(base) / spansPerSecond(serial), 2),
    "assembly_scale.mean_batch_ms": Object.fromEntries(runs.map((r) => [r.concurrency, Math.round(r.meanBatchMs)])),
    "assembly_scale.workerd_cpu_ms_per_batch": Object.fromEntries(runs.map((r) => [r.concurrency, Math.round(r.cpuMs / batches.length)])),
    // Near 1 (one busy core) or above: the local run is bound by CPU, which consumers share here.
    "assembly_scale.workerd_cpu_per_wall": Object.fromEntries(runs.map((r) => [r.concurrency, round(r.cpuMs / r.wallMs, 2)])),
    "assembly_scale.storage_wait_ms_per_batch": Math.round(waitPerBatch),
    "assembly_scale.mean_batch_ms_without_latency": Math.round(noLatency.meanBatchMs),
    "assembly_scale.spans_per_batch": Math.round(spans / batches.length),
    "assembly_scale.object_cpu_us_per_span": round(objectWork.usPerSpan, 2),
    "assembly_scale.halves_per_1000_spans": round(objectWork.halvesPer1000, 1),
    // Halves waiting in a tenant's object at once, per span/s of the tenant (steady state).
    "assembly_scale.pending_halves_per_span_per_second": round(objectWork.pendingSecondsOfSpans, 3),
    "assembly_scale.tenant_spans_per_second": Math.round(objectWork.spansPerSecond),
    // The workload's SDK instances (one per resource) and what one sends.
    "assembly_scale.sdk_instances": instances,
    "assembly_scale.spans_per_second_per_instance": round(objectWork.spansPerSecond / instances, 1),
    "assembly_scale.spans_per_message": round(spans / messages.length, 1),
    "assembly_scale.mean_message_bytes": Math.round(messages.reduce((n, m) => n + messageBytes(m), 0) / messages.length),
    "assembly_scale.cpu_us_per_span": round((cpuPerBatch / (spans / batches.length)) * 1000, 1),
    // With a CPU each (Cloudflare), n consumers finish n batches per batch time, until a tenant's
    // object (one commit per batch for each tenant in it, one at a time) is busy all the time.
    "assembly_scale.projected_ratio_at_16_own_cpu": round(Math.min(16, (cpuPerBatch + waitPerBatch) / Math.max(0.1, perTenantObjectCallMs)), 1),
    "assembly_scale.object_call_ms_mean": round(perTenantObjectCallMs, 1),
    "assembly_scale.object_calls_per_1000_spans": round(topCost.objectCallsPer1000, 2),
    "assembly_scale.d1_rows_written_per_1000_spans": round(topCost.d1RowsWrittenPer1000, 2),
    "assembly_scale.object_rows_written_per_1000_spans": round(topCost.objectRowsWrittenPer1000, 2),
    "assembly_scale.commits_per_1000_spans": round(((top.counters.consumers.object.byMethod.commit ?? 0) / spans) * 1000, 3),
    "assembly_scale.consumer_d1_rows_per_commit": round(top.counters.consumers.d1.rowsWritten / Math.max(1, top.counters.consumers.object.byMethod.commit ?? 0), 2),
    "assembly_scale.object_bytes_per_span": round(topCost.objectBytesPerSpan, 2),
    "assembly_scale.blocks_per_1000_spans": round((top.blocks / spans) * 1000, 2),
    "assembly_scale.assembly_usd_per_million_spans": sig(topCost.total),
    "assembly_scale.assembly_usd_per_million_spans_by_item": Object.fromEntries(Object.entries(topCost.usd).map(([k, v]) => [k, sig(v)])),
    "assembly_scale.pipeline_usd_per_million_spans": pipeline === undefined ? "run `npm run bench -- cost assembly-scale`" : sig(pipeline),
    "assembly_scale.per_concurrency_assembly_usd_per_million_spans": Object.fromEntries(runs.map((r, i) => [r.concurrency, sig(costs[i]!.total)])),
  }),
);
