/**
 * Cost model: what a million spans cost on Cloudflare at list prices, counted, not estimated.
 *
 * A realistic workload (test/support/multi-service-workload.ts: 12 services, traces of 10-200 spans,
 * semantic-convention attributes; exported per service instance as an OpenTelemetry SDK does, 512
 * spans or 5 s per request) is posted as OTLP protobuf to the real ingest worker code running in
 * workerd (Miniflare) with local D1 and R2. Its queue messages are delivered to the real assembler
 * entry in batches formed as the queue forms them (100 messages or 5 s, one batch at a time); then
 * the assembler's cron work (retention + compaction) runs once 10 minutes later, once at 15 days
 * (retention removes everything: its deletes are part of a span's cost), and once more with
 * nothing to do (the fixed cost of a cron run). See bench/cost/worker.mts.
 *
 * Counters, all at the binding boundary:
 * - R2: every binding call classified as R2 bills it (bench/support/counting-r2.ts).
 * - D1: `meta.rows_read` / `meta.rows_written` of every query and batch (bench/cost/counting-d1.ts).
 * - Queues: one operation per 64 KB of each message written, read and deleted (bench/cost/protocol.ts);
 *   a message carries its ingest object inline when it fits, so its payload is counted in its size.
 * - Worker requests: ingest requests, queue consumer invocations, cron invocations.
 * - Tenant objects (Durable Objects): every RPC call at the binding is a billed request
 *   (bench/support/object-counts.ts: rate-limit leases, ledger checks, commits, flushes, which the
 *   bench runs every 30 s of simulated time as the object's alarm does); rows written to and read
 *   from their SQLite as the cursors report them (setAlarm counts as a row written); duration as
 *   the wall time of each call seen by the caller, at 128 MB (an upper bound). Their D1 and R2 calls
 *   (the flush) are counted with the rest (bench/support/bench-tenant-object.mts).
 * - CPU: user+system time of the workerd process during each phase, from /proc. That process also
 *   runs the local R2 and D1 simulators (SQLite, file I/O) and the counting wrappers; the pure
 *   compute (prepare; parse + assemble + encode, without compaction) timed in Node on the same data
 *   is printed next to it. Cost uses the larger of the two.
 *
 * Storage: R2 bytes per span after compaction (what is kept for the retention period: blocks)
 * against the OTLP protobuf bytes of the same spans; D1
 * bytes per span from D1's `meta.size_after`.
 *
 * Prints one JSON object to stdout; notes go to stderr.
 * Run: npx node bench/cost.ts   (BENCH_COST_TRACES=1600 sets the workload size)
 */
import { planTenantBatch } from "../shared/assembly/plan.ts";
import { encodeDelta } from "../shared/tenant-object/open-metrics.ts";
import { encodeBlock } from "../shared/block/encode-block.ts";
import { multiServiceWorkload } from "../test/support/multi-service-workload.ts";
import { decodeIngestBatch } from "../shared/ingest/batch-object.ts";
import { prepareBatch } from "../shared/ingest/prepare.ts";
import { referenceEncode } from "../test/support/otlp-reference.ts";
import type { CronRequest, DeliverRequest, DeliverResult, Phase, PhaseCounts, SentMessage } from "./cost/protocol.ts";
import { queueBatches, sdkExports } from "./cost/workload.ts";
import { PRICES } from "./cost/prices.ts";
import { startBenchWorker } from "./support/bench-worker.ts";
import { workerdCpuMs } from "./support/workerd-cpu.ts";

const log = (...a: unknown[]) => console.error("[cost]", ...a);
// ~30 traces a second (the workload's rate): 5000 traces are about three minutes of traffic, so
// several minutes' metric rows are held open and written as in steady state, not only one minute's.
const TRACES = Number(process.env.BENCH_COST_TRACES ?? 5000);
const CONCURRENCY = 8;
const RETENTION_DAYS = 14;
const CRON_RUNS_PER_DAY = 288; // workers/assembler/wrangler.toml: */5 * * * *
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const sig = (x: number, digits = 3) => (x === 0 ? 0 : Number(x.toPrecision(digits)));

// ---- workload ---------------------------------------------------------------------------------

const t0 = performance.now();
// Starts on a minute boundary, so that which minutes the spans fall in (and so the metric rows) is
// the same in every run; and at the current minute, so that spans are received (ingest stamps the
// wall clock) when they happen, as from a live SDK: the assembler holds a minute's metric rows until
// its end plus the late window has passed the receive time (the cron at +10 min flushes the rest).
const startMs = Math.floor(Date.now() / 60_000) * 60_000;
const workload = multiServiceWorkload({ traces: TRACES, seed: 7, startMs });
const requests = sdkExports(workload.requests).map((r, seq) => ({ ...r, seq, body: referenceEncode(r.batch) }));
const spans = workload.spanCount;
const otlpBytes = requests.reduce((n, r) => n + r.body.byteLength, 0);
const simulatedSeconds = (requests.at(-1)!.atMs - requests[0]!.atMs) / 1000;
log(`${spans} spans in ${workload.traces.length} traces, ${requests.length} export requests over ${round(simulatedSeconds, 1)} s simulated; OTLP ${round(otlpBytes / spans)} B/span (${round((performance.now() - t0) / 1000, 1)} s to generate)`);

// ---- the worker -------------------------------------------------------------------------------

const { mf, db, call, dispose } = await startBenchWorker("cost", {
  compatibilityFlags: ["d1_binding_jsrpc"],
  durableObjects: { TENANTS: "BenchTenantObject" },
  // The objects flush when the bench says, at the simulated time (their alarm would, every 30 s).
  bindings: { TENANT_FLUSH_INTERVAL_MS: String(86_400_000) },
});

/** CPU of Miniflare's runtime: the workerd processes this process started. */
const miniflareCpuMs = () => workerdCpuMs((pid) => pid === process.pid);

try {
  const tenant = await call<{ tenantId: string; secret: string }>("/setup", {});

  // ---- ingest: every export request, in export order, CONCURRENCY at a time -------------------
  const cpu: Partial<Record<Phase, number>> = {};
  let cpuStart = miniflareCpuMs();
  const phaseDone = (p: Phase) => {
    const now = miniflareCpuMs();
    cpu[p] = now - cpuStart;
    cpuStart = now;
  };
  let wall = performance.now();
  let next = 0;
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests.length) {
        const r = requests[next++]!;
        const res = await mf.dispatchFetch("http://bench/v1/traces", {
          method: "POST",
          body: r.body,
          headers: { "content-type": "application/x-protobuf", "x-api-key": tenant.secret, "x-bench-seq": String(r.seq) },
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  phaseDone("ingest");
  if (statuses.get(200) !== requests.length) throw new Error(`ingest answered ${JSON.stringify(Object.fromEntries(statuses))}`);
  log(`ingest: ${requests.length} requests in ${round((performance.now() - wall) / 1000, 1)} s`);

  // ---- assembly: messages in queue batches by export time, one batch at a time ----------------
  const sent = await call<Record<string, SentMessage[]>>("/messages");
  const timed = requests.flatMap((r) => (sent[r.seq] ?? []).map((m) => ({ atMs: r.atMs, message: m, body: r.body })));
  const batches = queueBatches(timed);
  wall = performance.now();
  let retried = 0;
  // The tenant object's alarm writes closed minutes every 30 s: at the simulated time of the batch
  // that crosses each 30 s mark.
  let nextFlushMs = batches[0]![0]!.atMs + 30_000;
  for (const b of batches) {
    const lastMs = b.at(-1)!.atMs;
    const flushAtMs = lastMs >= nextFlushMs ? lastMs : undefined;
    if (flushAtMs !== undefined) nextFlushMs = lastMs + 30_000;
    retried += (await call<DeliverResult>("/deliver", { refs: b.map((x) => x.message.ref), flushAtMs } satisfies DeliverRequest)).retried;
  }
  phaseDone("assemble");
  if (retried) throw new Error(`${retried} messages were retried`);
  log(`assembly: ${timed.length} messages in ${batches.length} queue batches (${round(timed.length / batches.length, 1)} per batch) in ${round((performance.now() - wall) / 1000, 1)} s`);

  const r2 = await mf.getR2Bucket("SPANS");
  const r2Bytes = async () => {
    const by: Record<string, number> = {};
    let cursor: string | undefined;
    do {
      const page = await r2.list({ prefix: "t/", cursor });
      for (const o of page.objects) {
        const kind = o.key.split("/")[2]!;
        by[kind] = (by[kind] ?? 0) + o.size;
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return by;
  };
  const afterAssembly = await r2Bytes();
  // Sanity: every span is in a catalogued block and no ingest object is left behind.
  const catalogued = await db.prepare("SELECT sum(span_count) AS n FROM blocks").first<{ n: number }>();
  if (catalogued?.n !== spans || afterAssembly.ingest) throw new Error(`blocks hold ${catalogued?.n} of ${spans} spans; ingest objects left: ${afterAssembly.ingest ?? 0} bytes`);

  // ---- cron: compaction 10 minutes later, retention past 14 days, and an idle run ----------------
  const now = Date.now();
  const cron = (phase: Phase, nowMs: number) => call<unknown[]>("/cron", { phase, nowMs } satisfies CronRequest);
  log("cron at +10 min", JSON.stringify(await cron("cron_compact", now + 10 * 60_000)));
  phaseDone("cron_compact");
  const afterCompaction = await r2Bytes();
  const counters0 = await call<Record<Phase, PhaseCounts>>("/counters");
  log("cron at +15 days", JSON.stringify(await cron("cron_retention", now + (RETENTION_DAYS + 1) * 86_400_000)));
  phaseDone("cron_retention");
  await cron("cron_idle", now + (RETENTION_DAYS + 1) * 86_400_000 + 5 * 60_000);
  phaseDone("cron_idle");
  const afterRetention = await r2Bytes();
  const counters = await call<Record<Phase, PhaseCounts>>("/counters");
  log("R2 bytes after assembly", afterAssembly, "after compaction", afterCompaction, "after retention", afterRetention);

  // ---- pure compute in Node on the same data (lower bound of worker CPU) ------------------------
  const opts = { tenantId: tenant.tenantId, batchId: "b", receivedAtMs: now, maxAttributeValueBytes: 65536, retentionDays: RETENTION_DAYS };
  let tc = performance.now();
  const prepared = new Map<Uint8Array, Uint8Array>();
  for (const r of requests) prepared.set(r.body, prepareBatch(r.body, "otlp-proto", opts).body!);
  const nodePrepareMs = performance.now() - tc;
  tc = performance.now();
  for (const [i, b] of batches.entries()) {
    const objects = new Map(b.map((x, j) => [`t/${tenant.tenantId}/ingest/${i}-${j}`, decodeIngestBatch(prepared.get(x.body)!)]));
    const plan = await planTenantBatch({ tenantId: tenant.tenantId, sources: [...objects.keys()].map((key) => ({ key, inline: new Uint8Array(1) })), assembled: new Map(), objects });
    if (plan.block) await encodeBlock(plan.block.traces, { tenantId: tenant.tenantId, blockId: "b", createdAtMs: now });
    if (plan.delta) encodeDelta(plan.delta); // what the tenant object logs of the commit
  }
  const nodeAssembleMs = performance.now() - tc;

  // ---- figures ----------------------------------------------------------------------------------
  const phases: Phase[] = ["ingest", "assemble", "flush", "cron_compact", "cron_retention"];
  const sum = (f: (c: PhaseCounts) => number, ps: Phase[] = phases) => ps.reduce((n, p) => n + (counters[p] ? f(counters[p]) : 0), 0);
  const spansPerDay = (spans / simulatedSeconds) * 86_400;
  /** Idle cron runs per million spans at this tenant's rate: a fixed cost spread over its spans. */
  const idleRunsPerMillion = (CRON_RUNS_PER_DAY / spansPerDay) * 1e6;
  const perMillion = (f: (c: PhaseCounts) => number) => (sum(f) / spans) * 1e6 + (counters.cron_idle ? f(counters.cron_idle) : 0) * idleRunsPerMillion;

  const requestsPerM = perMillion((c) => c.invocations);
  const workerdCpuMsPerM = (phases.reduce((n, p) => n + (cpu[p] ?? 0), 0) / spans) * 1e6 + (cpu.cron_idle ?? 0) * idleRunsPerMillion;
  const nodeCpuMsPerM = ((nodePrepareMs + nodeAssembleMs) / spans) * 1e6;
  const cpuMsPerM = Math.max(workerdCpuMsPerM, nodeCpuMsPerM);
  const classAPerM = perMillion((c) => c.r2.classA);
  const classBPerM = perMillion((c) => c.r2.classB);
  const rowsReadPerM = perMillion((c) => c.d1.rowsRead);
  const rowsWrittenPerM = perMillion((c) => c.d1.rowsWritten);
  const queueOpsPerM = perMillion((c) => c.queue.writeOps + c.queue.readOps + c.queue.deleteOps);
  const objectRequestsPerM = perMillion((c) => c.object.requests);
  const objectRowsWrittenPerM = perMillion((c) => c.object.rowsWritten);
  const objectRowsReadPerM = perMillion((c) => c.object.rowsRead);
  // Billed duration: 128 MB for the wall time of each call (as the caller saw it: an upper bound).
  const objectGbSecondsPerM = perMillion((c) => c.object.callMs) / 1000 * 0.128;
  const r2BytesPerSpan = Object.values(afterCompaction).reduce((a, b) => a + b, 0) / spans;
  const l0BytesPerSpan = (afterAssembly.blocks ?? 0) / spans;
  const d1BytesPerSpan = Math.max(0, counters0.cron_compact.d1.sizeAfter - counters.ingest.d1.sizeAfter) / spans;
  const monthsKept = RETENTION_DAYS / 30; // R2 and D1 bill GB-month over a 30-day period
  const usd = {
    workers_requests: (requestsPerM / 1e6) * PRICES.workers_per_million_requests,
    workers_cpu: (cpuMsPerM / 1e6) * PRICES.workers_per_million_cpu_ms,
    r2_class_a: (classAPerM / 1e6) * PRICES.r2_class_a_per_million,
    r2_class_b: (classBPerM / 1e6) * PRICES.r2_class_b_per_million,
    r2_storage_14d: ((r2BytesPerSpan * 1e6) / 1e9) * PRICES.r2_per_gb_month * monthsKept,
    d1_rows_read: (rowsReadPerM / 1e6) * PRICES.d1_per_million_rows_read,
    d1_rows_written: (rowsWrittenPerM / 1e6) * PRICES.d1_per_million_rows_written,
    d1_storage_14d: ((d1BytesPerSpan * 1e6) / 1e9) * PRICES.d1_per_gb_month * monthsKept,
    queues: (queueOpsPerM / 1e6) * PRICES.queues_per_million_ops,
    do_requests: (objectRequestsPerM / 1e6) * PRICES.do_per_million_requests,
    do_duration: (objectGbSecondsPerM / 1e6) * PRICES.do_per_million_gb_s,
    do_rows_written: (objectRowsWrittenPerM / 1e6) * PRICES.do_per_million_rows_written,
    do_rows_read: (objectRowsReadPerM / 1e6) * PRICES.do_per_million_rows_read,
  };
  const total = Object.values(usd).reduce((a, b) => a + b, 0);
  // The share of assembly (the consumers) and the tenant objects' flushes, which
  // bench/assembly-scale.ts measures again with many tenants and consumers: storage excluded.
  const assembleUsd = (["assemble", "flush"] as const).reduce((n, p) => n + phaseUsd(counters[p], p === "assemble" ? (cpu.assemble ?? 0) : 0), 0);
  function phaseUsd(a: PhaseCounts | undefined, cpuMs: number): number {
    if (!a) return 0;
    return ((a.invocations * PRICES.workers_per_million_requests +
      cpuMs * PRICES.workers_per_million_cpu_ms +
      a.r2.classA * PRICES.r2_class_a_per_million +
      a.r2.classB * PRICES.r2_class_b_per_million +
      a.d1.rowsRead * PRICES.d1_per_million_rows_read +
      a.d1.rowsWritten * PRICES.d1_per_million_rows_written +
      (a.queue.writeOps + a.queue.readOps + a.queue.deleteOps) * PRICES.queues_per_million_ops +
      a.object.requests * PRICES.do_per_million_requests +
      (a.object.callMs / 1000) * 0.128 * PRICES.do_per_million_gb_s +
      a.object.rowsWritten * PRICES.do_per_million_rows_written +
      a.object.rowsRead * PRICES.do_per_million_rows_read) /
      1e6 /
      spans) *
    1e6;
  }
  const otlpPerSpan = otlpBytes / spans;
  const grafana = ((otlpPerSpan * 1e6) / 1e9) * PRICES.grafana_traces_per_gb;
  const driver = Object.entries(usd).sort((a, b) => b[1] - a[1])[0]!;
  log(`biggest cost: ${driver[0]} ($${sig(driver[1])} of $${sig(total)} per million spans)`);
  log("counters", JSON.stringify(counters));

  const breakdown = Object.fromEntries(Object.entries(usd).map(([k, v]) => [`cost.usd_per_million_spans.${k}`, sig(v)]));
  console.log(
    JSON.stringify({
      "cost.usd_per_million_spans": sig(total),
      "cost.usd_per_million_spans_assemble": sig(assembleUsd),
      "cost.usd_per_million_spans_by_phase": Object.fromEntries(phases.map((p) => [p, sig(phaseUsd(counters[p], cpu[p as keyof typeof cpu] ?? 0))])),
      ...breakdown,
      "cost.biggest_driver": driver[0],
      "cost.d1_rows_written_per_span": sig(rowsWrittenPerM / 1e6),
      "cost.d1_rows_read_per_span": sig(rowsReadPerM / 1e6),
      "cost.r2_class_a_per_million_spans": round(classAPerM, 1),
      "cost.r2_class_a_per_million_spans_by_phase": Object.fromEntries(phases.map((p) => [p, round(((counters[p]?.r2.classA ?? 0) / spans) * 1e6, 1)])),
      "cost.r2_class_b_per_million_spans_by_phase": Object.fromEntries(phases.map((p) => [p, round(((counters[p]?.r2.classB ?? 0) / spans) * 1e6, 1)])),
      "cost.r2_class_b_per_million_spans": round(classBPerM, 1),
      "cost.queue_ops_per_million_spans": round(queueOpsPerM, 1),
      "cost.object_requests_per_million_spans": round(objectRequestsPerM, 1),
      // For the capacity model (bench/capacity.ts): one tenant's metric rows per minute of traffic,
      // and rate-limit lease calls per ingest request.
      "cost.metric_rows_per_tenant_minute": round(sum((c) => c.object.metricRowsFlushed, ["flush"]) / (simulatedSeconds / 60), 1),
      "cost.lease_calls_per_request": sig(counters.ingest.object.requests / requests.length),
      "cost.object_rows_written_per_million_spans": round(objectRowsWrittenPerM, 1),
      "cost.worker_requests_per_million_spans": round(requestsPerM, 1),
      "cost.worker_cpu_ms_per_million_spans": Math.round(workerdCpuMsPerM),
      "cost.node_cpu_ms_per_million_spans": Math.round(nodeCpuMsPerM),
      "cost.cpu_ms_per_phase": Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(v)])),
      "cost.grafana_usd_per_million_spans": sig(grafana),
      "cost.grafana_usd_per_million_spans_processed_plus_written": sig(((otlpPerSpan * 1e6) / 1e9) * PRICES.grafana_traces_per_gb_processed_plus_written),
      "cost.vs_grafana": sig(grafana / total),
      "cost.prices": PRICES,
      "cost.workload": {
        spans,
        traces: workload.traces.length,
        requests: requests.length,
        queue_batches: batches.length,
        messages_per_batch: round(timed.length / batches.length, 1),
        inline_messages: round(timed.filter((x) => x.message.inline).length / timed.length, 3),
        mean_message_bytes: Math.round(timed.reduce((n, x) => n + x.message.bytes, 0) / timed.length),
        simulated_seconds: round(simulatedSeconds, 1),
        spans_per_second: Math.round(spans / simulatedSeconds),
        retention_days: RETENTION_DAYS,
      },
      "storage.r2_bytes_per_span": round(r2BytesPerSpan),
      "storage.r2_level0_bytes_per_span": round(l0BytesPerSpan),
      "storage.otlp_bytes_per_span": round(otlpPerSpan),
      "storage.otlp_to_r2_ratio": round(otlpPerSpan / r2BytesPerSpan, 1),
      "storage.d1_bytes_per_span": round(d1BytesPerSpan, 3),
    }),
  );
} finally {
  await dispose();
}
