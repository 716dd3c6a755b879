/**
 * Capacity model: what 1 M spans/s from 10,000 tenants (Zipf-distributed, the largest at 100 k
 * spans/s) asks of each Cloudflare part, which limit binds first, and what it costs a month. Pure
 * arithmetic on figures the other benchmarks measured (bench/results.json: `cost` and
 * `assembly_scale`; run them first, e.g. `npm run bench -- cost assembly-scale capacity`), against
 * the platform limits the docs state. Writes its table into ARCHITECTURE.md (between the
 * `capacity` markers) and prints its figures as one JSON object.
 *
 * The scenario's own assumptions (stated, not measured) are in SCENARIO; every per-operation
 * figure comes from `measured()`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { PRICES } from "./cost/prices.ts";

const SCENARIO = {
  spansPerSecond: 1_000_000,
  tenants: 10_000,
  largestSpansPerSecond: 100_000,
  /** Ingest queues (workers/ingest/wrangler.toml). */
  queues: 4,
  /** Messages per consumer batch (workers/assembler/wrangler.toml max_batch_size). */
  batchMessages: 100,
  /** Ingest isolates that serve one busy tenant at once, worldwide (each asks its object for a rate-limit lease at most once a second). */
  ingestIsolatesPerTenant: 300,
  /** A tenant's object's alarm runs every 30 s while the tenant sends (tenant-object.ts FLUSH_EVERY_MS)... */
  alarmEverySeconds: 30,
  /** ...and writes to D1 when a minute has closed: once a minute (open-metrics.ts takeClosed). */
  d1WriteEverySeconds: 60,
  /** Days R2 keeps blocks (the default retention) and the ledger keeps keys (ledger.ts). */
  retentionDays: 14,
  ledgerDays: 5,
  secondsPerMonth: 30 * 86_400,
} as const;

/** Platform limits, as Cloudflare's docs state them. */
const LIMITS = {
  queueMessagesPerSecond: 5_000,
  queueMaxConcurrency: 250,
  /** "An individual Object has a soft limit of 1,000 requests per second." */
  objectRequestsPerSecond: 1_000,
  objectStorageBytes: 10e9,
  /** D1 is single-threaded: at ~1 ms a query, about 1,000 queries a second per database. */
  d1QueriesPerSecond: 1_000,
  /** R2: about one write a second to one key. Edgetrace writes no key twice in normal work. */
  r2WritesPerKeyPerSecond: 1,
  /** shared/tenant-object/open-metrics.ts MAX_PENDING_HALVES. */
  pendingHalvesPerObject: 100_000,
};

type Results = Record<string, Record<string, unknown>>;

function measured(results: Results) {
  const cost = results.cost ?? {};
  const as = results.assembly_scale ?? {};
  const need = (group: Record<string, unknown>, key: string): number => {
    const v = Number(group[key]);
    if (!Number.isFinite(v)) throw new Error(`bench/results.json has no ${key}: run \`npm run bench -- cost assembly-scale\` first`);
    return v;
  };
  const workload = cost["workload"] as { spans: number; requests: number; spans_per_second: number };
  const cpuPhase = cost["cpu_ms_per_phase"] as Record<string, number>;
  return {
    /** The bench tenant's rate, and its SDK exports' size at that rate. */
    benchSpansPerSecond: workload.spans_per_second,
    spansPerMessage: need(as, "spans_per_message"),
    messageBytes: need(as, "mean_message_bytes"),
    consumerCpuUsPerSpan: need(as, "cpu_us_per_span"),
    storageWaitMsPerBatch: need(as, "storage_wait_ms_per_batch"),
    objectCpuUsPerSpan: need(as, "object_cpu_us_per_span"),
    objectCallMs: need(as, "object_call_ms_mean"),
    halvesPerSpan: need(as, "halves_per_1000_spans") / 1000,
    pendingHalvesPerSpanPerSecond: need(as, "pending_halves_per_span_per_second"),
    spansPerSecondPerInstance: need(as, "spans_per_second_per_instance"),
    /** Rows an object writes to its SQLite per call from a consumer (commits and flushes). */
    objectRowsPerCall: need(as, "object_rows_written_per_1000_spans") / need(as, "object_calls_per_1000_spans"),
    catalogRowsPerCommit: need(as, "consumer_d1_rows_per_commit"),
    ingestCpuMsPerSpan: cpuPhase.ingest! / workload.spans,
    compactCpuMsPerSpan: (cpuPhase.cron_compact ?? 0) / workload.spans,
    metricRowsPerTenantMinute: need(cost, "metric_rows_per_tenant_minute"),
    r2BytesPerSpan: need(results.storage ?? {}, "r2_bytes_per_span"),
    /** Compaction's and retention's R2 operations per span (the cost bench's cron runs). */
    cronClassAPerSpan: (r2ByPhase(cost, "a").cron_compact! + r2ByPhase(cost, "a").cron_retention!) / 1e6,
    cronClassBPerSpan: (r2ByPhase(cost, "b").cron_compact! + r2ByPhase(cost, "b").cron_retention!) / 1e6,
    pipelineUsdPerMillion: Number(as["pipeline_usd_per_million_spans"]),
  };
}

function r2ByPhase(cost: Record<string, unknown>, cls: "a" | "b"): Record<string, number> {
  const v = cost[`r2_class_${cls}_per_million_spans_by_phase`] as Record<string, number> | undefined;
  if (!v) throw new Error("bench/results.json has no cost.r2_class_*_per_million_spans_by_phase: run `npm run bench -- cost` first");
  return v;
}

/** Zipf shares for n ranks with exponent s. */
function zipf(n: number, s: number): number[] {
  const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / total);
}

/** The exponent whose rank-1 share is `share` (bisection; the share falls as s falls). */
function zipfExponent(n: number, share: number): number {
  let lo = 0.1;
  let hi = 3;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (zipf(n, mid)[0]! > share) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}

export function capacityModel(m: ReturnType<typeof measured>) {
  const s = zipfExponent(SCENARIO.tenants, SCENARIO.largestSpansPerSecond / SCENARIO.spansPerSecond);
  const rates = zipf(SCENARIO.tenants, s).map((x) => x * SCENARIO.spansPerSecond);
  // SDK instances as in the bench's workload: each sends the workload's spans per second per
  // instance and exports every 5 s (up to 512 spans); a tenant has as many as its rate needs, at
  // least one. So a large tenant's requests hold the bench's spans per message and a tenant
  // smaller than one instance sends one request per 5 s.
  const messagesPerSecond = (r: number) => {
    const instances = Math.max(1, r / m.spansPerSecondPerInstance);
    return Math.max(instances / 5, r / 512);
  };
  const tenants = rates.map((r, i) => ({ rank: i + 1, spansPerSecond: r, messagesPerSecond: messagesPerSecond(r), queue: i % SCENARIO.queues }));
  // The largest tenant's queue carries it and an even share of the rest (tenants are spread by hash).
  const totalMessages = tenants.reduce((n, t) => n + t.messagesPerSecond, 0);
  const hottestQueue = tenants[0]!.messagesPerSecond + (totalMessages - tenants[0]!.messagesPerSecond) / SCENARIO.queues;
  const queuesNeeded = Math.ceil(totalMessages / LIMITS.queueMessagesPerSecond);
  const queueMessages = Array.from({ length: SCENARIO.queues }, (_, q) => (q === 0 ? hottestQueue : (totalMessages - hottestQueue) / (SCENARIO.queues - 1)));
  const batchesPerSecond = queueMessages.map((x) => x / SCENARIO.batchMessages);
  // Each batch with a message of a tenant is one commit to its object.
  const commits = tenants.map((t) => Math.min(t.messagesPerSecond, t.rank === 1 ? batchesPerSecond[0]! : batchesPerSecond[t.queue]!));
  const totalCommits = commits.reduce((a, b) => a + b, 0);
  const totalBatches = batchesPerSecond.reduce((a, b) => a + b, 0);
  const spansPerBatch = SCENARIO.spansPerSecond / totalBatches;
  const batchSeconds = (spansPerBatch * m.consumerCpuUsPerSpan) / 1e6 + m.storageWaitMsPerBatch / 1000;
  const consumersPerQueue = batchesPerSecond.map((b) => b * batchSeconds);

  // The largest tenant's object.
  const big = tenants[0]!;
  const bigLeases = Math.min(big.messagesPerSecond, SCENARIO.ingestIsolatesPerTenant);
  const bigObjectRequests = commits[0]! + bigLeases + 1 / SCENARIO.alarmEverySeconds;
  const bigObjectCpu = (big.spansPerSecond * m.objectCpuUsPerSpan) / 1e6;
  const bigPendingHalves = big.spansPerSecond * m.pendingHalvesPerSpanPerSecond;
  const bigLedgerBytes = big.messagesPerSecond * 86_400 * SCENARIO.ledgerDays * 16 * 1.25; // + row overhead

  // D1 (one database): one batch of catalog rows per consumer batch (a row per tenant in it); per
  // flush (every 30 s while active) the tenant's closed rows, usage and marker, read first;
  // retention later deletes as many rows.
  const benchRowsPerMinute = m.metricRowsPerTenantMinute;
  const metricRowsPerSecond = tenants.reduce((n, t) => n + Math.min(benchRowsPerMinute, (benchRowsPerMinute * t.spansPerSecond) / m.benchSpansPerSecond) / 60, 0);
  // Every tenant sends all the time in this scenario: each object's alarm every 30 s, and a D1
  // batch per closed minute (reads only for late spans of minutes written before: left out).
  const alarmsPerSecond = SCENARIO.tenants / SCENARIO.alarmEverySeconds;
  const d1FlushesPerSecond = SCENARIO.tenants / SCENARIO.d1WriteEverySeconds;
  const d1QueriesPerSecond = totalBatches + d1FlushesPerSecond;
  // Rows: catalog rows; metric rows written once and deleted once at retention; per flush a usage row and the marker's insert and delete.
  const d1RowsWrittenPerSecond = totalCommits * m.catalogRowsPerCommit + 2 * metricRowsPerSecond + d1FlushesPerSecond * 3;
  const d1Databases = Math.ceil(d1QueriesPerSecond / LIMITS.d1QueriesPerSecond);

  // R2: a block per commit, compaction's merged blocks; every key written once.
  const r2WritesPerSecond = totalCommits + SCENARIO.spansPerSecond * m.cronClassAPerSpan;

  // Monthly bill, itemised at these rates.
  const month = SCENARIO.secondsPerMonth;
  const spansMonth = SCENARIO.spansPerSecond * month;
  const leaseCallsPerSecond = tenants.reduce((n, t) => n + Math.min(t.messagesPerSecond, SCENARIO.ingestIsolatesPerTenant), 0);
  const objectRequestsPerSecond = totalCommits + leaseCallsPerSecond + alarmsPerSecond;
  const bill = {
    workers_requests: ((totalMessages + totalBatches) * month * PRICES.workers_per_million_requests) / 1e6,
    workers_cpu: ((SCENARIO.spansPerSecond * (m.ingestCpuMsPerSpan + m.consumerCpuUsPerSpan / 1000 + m.compactCpuMsPerSpan)) * month * PRICES.workers_per_million_cpu_ms) / 1e6,
    queues: (totalMessages * 3 * Math.max(1, Math.ceil(m.messageBytes / 64_000)) * month * PRICES.queues_per_million_ops) / 1e6,
    r2_class_a: (r2WritesPerSecond * month * PRICES.r2_class_a_per_million) / 1e6,
    r2_class_b: (SCENARIO.spansPerSecond * m.cronClassBPerSpan * month * PRICES.r2_class_b_per_million) / 1e6,
    r2_storage: ((SCENARIO.spansPerSecond * 86_400 * SCENARIO.retentionDays * m.r2BytesPerSpan) / 1e9) * PRICES.r2_per_gb_month,
    d1_rows_written: (d1RowsWrittenPerSecond * month * PRICES.d1_per_million_rows_written) / 1e6,
    do_requests: (objectRequestsPerSecond * month * PRICES.do_per_million_requests) / 1e6,
    do_duration: (((totalCommits + alarmsPerSecond) * (m.objectCallMs / 1000) * 0.128) * month * PRICES.do_per_million_gb_s) / 1e6,
    do_rows_written: ((totalCommits + alarmsPerSecond) * m.objectRowsPerCall * month * PRICES.do_per_million_rows_written) / 1e6,
    do_storage: ((tenants.reduce((n, t) => n + t.messagesPerSecond, 0) * 86_400 * SCENARIO.ledgerDays * 20) / 1e9) * PRICES.do_per_gb_month,
  };
  const monthly = Object.values(bill).reduce((a, b) => a + b, 0);

  // Each limit's use at this load (1 = at the limit); the largest binds first.
  const utilisation = {
    "queue messages/s (hottest of the configured queues)": Math.max(...queueMessages) / LIMITS.queueMessagesPerSecond,
    "consumers per queue (max_concurrency 250)": Math.max(...consumersPerQueue) / LIMITS.queueMaxConcurrency,
    "largest tenant's object: requests/s": bigObjectRequests / LIMITS.objectRequestsPerSecond,
    "largest tenant's object: CPU": bigObjectCpu,
    "largest tenant's object: pending halves": bigPendingHalves / LIMITS.pendingHalvesPerObject,
    "largest tenant's object: ledger storage": bigLedgerBytes / LIMITS.objectStorageBytes,
    "D1 queries/s (one database)": d1QueriesPerSecond / LIMITS.d1QueriesPerSecond,
    "R2 writes/s to one key": 1 / LIMITS.r2WritesPerKeyPerSecond / 1e9, // no key is written twice
  };
  const binding = Object.entries(utilisation).sort((a, b) => b[1] - a[1]);
  return {
    zipfExponent: s,
    tenants,
    totalMessages,
    queueMessages,
    queuesNeeded,
    totalBatches,
    spansPerBatch,
    batchSeconds,
    consumersPerQueue,
    totalCommits,
    leaseCallsPerSecond,
    objectRequestsPerSecond,
    big: { ...big, commits: commits[0]!, leases: bigLeases, objectRequests: bigObjectRequests, objectCpu: bigObjectCpu, pendingHalves: bigPendingHalves, ledgerBytes: bigLedgerBytes },
    d1: { queriesPerSecond: d1QueriesPerSecond, rowsWrittenPerSecond: d1RowsWrittenPerSecond, databases: d1Databases, metricRowsPerSecond },
    r2WritesPerSecond,
    bill,
    monthly,
    perMillion: monthly / (spansMonth / 1e6),
    utilisation,
    binding,
  };
}

const fmt = (x: number, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const pct = (x: number) => `${fmt(x * 100, x < 0.1 ? 1 : 0)}%`;

function table(c: ReturnType<typeof capacityModel>, m: ReturnType<typeof measured>, date: string): string {
  const rows: [string, string, string][] = [
    ["Zipf exponent (largest tenant = 10% of spans)", fmt(c.zipfExponent, 3), "scenario"],
    ["ingest requests = queue messages /s", fmt(c.totalMessages), `SDK instances of the bench's workload: ${fmt(m.spansPerSecondPerInstance, 1)} spans/s each, an export every 5 s (${fmt(m.spansPerMessage, 1)} spans per request); a tenant smaller than one instance: one request per 5 s`],
    [`messages/s on the hottest of ${SCENARIO.queues} queues`, fmt(Math.max(...c.queueMessages)), `limit ${fmt(LIMITS.queueMessagesPerSecond)}; queues needed at minimum: ${c.queuesNeeded}`],
    ["consumer batches/s (all queues)", fmt(c.totalBatches, 1), `${fmt(c.spansPerBatch)} spans per batch`],
    ["time per batch on its own CPU", `${fmt(c.batchSeconds * 1000)} ms`, `${fmt(m.consumerCpuUsPerSpan, 1)} µs CPU per span + ${fmt(m.storageWaitMsPerBatch)} ms storage waits (assembly-scale)`],
    ["concurrent consumers per queue (busiest)", fmt(Math.max(...c.consumersPerQueue), 1), `limit ${LIMITS.queueMaxConcurrency} (configured 25)`],
    ["commits/s to tenant objects (all)", fmt(c.totalCommits), "one per tenant per batch"],
    ["largest tenant's object: requests/s", fmt(c.big.objectRequests), `${fmt(c.big.commits, 1)} commits + ${fmt(c.big.leases)} leases (one per ingest isolate per second, ${SCENARIO.ingestIsolatesPerTenant} isolates); soft limit ${fmt(LIMITS.objectRequestsPerSecond)}`],
    ["largest tenant's object: CPU busy", pct(c.big.objectCpu), `${fmt(m.objectCpuUsPerSpan, 2)} µs per span to log and apply its deltas`],
    ["largest tenant's object: pending halves", fmt(c.big.pendingHalves), `${fmt(m.pendingHalvesPerSpanPerSecond, 3)} halves waiting per span/s (measured steady state; ${fmt(m.halvesPerSpan * 1000, 1)} per 1000 spans reach the object); holds ${fmt(LIMITS.pendingHalvesPerObject)}`],
    ["largest tenant's object: ledger", `${fmt(c.big.ledgerBytes / 1e9, 1)} GB`, `16 B per message for ${SCENARIO.ledgerDays} days; object limit 10 GB`],
    ["D1 queries/s (one database)", fmt(c.d1.queriesPerSecond), `a catalog batch per consumer batch + a batch per tenant per closed minute; ~${fmt(LIMITS.d1QueriesPerSecond)}/s at 1 ms each: ${c.d1.databases} database(s)`],
    ["D1 rows written/s", fmt(c.d1.rowsWrittenPerSecond), `metric rows ${fmt(c.d1.metricRowsPerSecond)}/s written once (and deleted once at retention); bench tenant ${fmt(m.metricRowsPerTenantMinute)} rows/minute`],
    ["R2 writes/s (blocks, compaction)", fmt(c.r2WritesPerSecond), "every key written once (block ids are unique); no per-key limit applies"],
    ["monthly cost", `$${fmt(c.monthly)}`, `$${fmt(c.perMillion, 4)} per million spans (the benches' pipeline with 10 equal tenants: $${Number.isFinite(m.pipelineUsdPerMillion) ? fmt(m.pipelineUsdPerMillion, 4) : "?"}; small tenants cost more per span, see below)`],
  ];
  const bill = Object.entries(c.bill)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} $${fmt(v)}`)
    .join(", ");
  const order = c.binding.filter(([, u]) => u > 1e-6).map(([k, u]) => `${k} ${pct(u)}`).join(" > ");
  return [
    `Computed ${date} by \`npx node bench/capacity.ts\` from \`bench/results.json\` (the \`cost\` and \`assembly_scale\` runs). Scenario: ${fmt(SCENARIO.spansPerSecond)} spans/s from ${fmt(SCENARIO.tenants)} tenants, Zipf, the largest at ${fmt(SCENARIO.largestSpansPerSecond)} spans/s.`,
    "",
    "| quantity | at 1 M spans/s | from |",
    "|---|---|---|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    `Bill by item: ${bill}.`,
    "",
    `Use of each limit (first binds first): ${order}.`,
  ].join("\n");
}

const results = JSON.parse(readFileSync("bench/results.json", "utf8")) as Results;
const m = measured(results);
const c = capacityModel(m);
const date = new Date().toISOString().slice(0, 10);
const md = table(c, m, date);
const arch = readFileSync("ARCHITECTURE.md", "utf8");
const marked = /<!-- capacity -->\n[\s\S]*?<!-- \/capacity -->/;
if (marked.test(arch)) writeFileSync("ARCHITECTURE.md", arch.replace(marked, `<!-- capacity -->\n${md}\n<!-- /capacity -->`));
else console.error("[capacity] ARCHITECTURE.md has no capacity markers; the table is not written there");
console.error(md);
console.log(
  JSON.stringify({
    "capacity.queue_messages_per_second": Math.round(c.totalMessages),
    "capacity.hottest_queue_messages_per_second": Math.round(Math.max(...c.queueMessages)),
    "capacity.queues_needed": c.queuesNeeded,
    "capacity.consumer_batches_per_second": Math.round(c.totalBatches * 10) / 10,
    "capacity.consumers_per_queue": Math.round(Math.max(...c.consumersPerQueue) * 10) / 10,
    "capacity.largest_object_requests_per_second": Math.round(c.big.objectRequests),
    "capacity.largest_object_cpu": Math.round(c.big.objectCpu * 1000) / 1000,
    "capacity.largest_object_pending_halves": Math.round(c.big.pendingHalves),
    "capacity.largest_object_ledger_gb": Math.round(c.big.ledgerBytes / 1e8) / 10,
    "capacity.d1_queries_per_second": Math.round(c.d1.queriesPerSecond),
    "capacity.d1_rows_written_per_second": Math.round(c.d1.rowsWrittenPerSecond),
    "capacity.d1_databases": c.d1.databases,
    "capacity.r2_writes_per_second": Math.round(c.r2WritesPerSecond),
    "capacity.monthly_usd": Math.round(c.monthly),
    "capacity.usd_per_million_spans": Number(c.perMillion.toPrecision(3)),
    "capacity.binds_first": c.binding[0]![0],
    "capacity.utilisation": Object.fromEntries(Object.entries(c.utilisation).map(([k, v]) => [k, Number(v.toPrecision(3))])),
  }),
);
