/**
 * Ingest end to end: concurrent exporters replay recorded OTLP protobuf bodies (512 realistic spans
 * each) against the local stack started as `npm start` does, and against a null worker under the
 * same `wrangler dev` path in the same run. Prints one JSON object of figures to stdout.
 *
 * Also: CPU ms per 1000 spans, two ways: (a) the workerd process running the ingest worker, read
 * from /proc (this includes the local R2 and Queue simulators that run in the same process), and
 * (b) the pure prepare step (decode, validate, group, serialise) timed in Node on the same V8.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareBatch } from "../shared/ingest/prepare.ts";
import { workerdCpuMs } from "./support/workerd-cpu.ts";
import { waitForHttp } from "../scripts/wait-for-http.mjs";
import { referenceEncode } from "../test/support/otlp-reference.ts";
import { realisticTraceBatch } from "../test/support/random-otlp.ts";

const DURATION_MS = Number(process.env.BENCH_INGEST_SECONDS ?? 10) * 1000;
const CONCURRENCY = Number(process.env.BENCH_INGEST_CONCURRENCY ?? 8);
const SPANS_PER_BODY = 512;
const log = (...a: unknown[]) => console.error("[ingest]", ...a);

// Spans of a minute ago: ingest refuses spans older than the tenant's retention.
const startNs = BigInt(Date.now() - 60_000) * 1_000_000n;
const bodies = Array.from({ length: 16 }, (_, i) => Buffer.from(referenceEncode(realisticTraceBatch(SPANS_PER_BODY, 1000 + i, startNs))));
const bodyBytes = bodies.reduce((n, b) => n + b.length, 0) / bodies.length;

function waitForLine(child: ChildProcess, needle: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${needle}:\n${out}`)), timeoutMs);
    const on = (d: Buffer) => {
      out += d.toString();
      if (out.includes(needle)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", on);
    child.stderr?.on("data", on);
  });
}

async function load(url: string, headers: Record<string, string>) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let requests = 0;
  let bytes = 0;
  let errors = 0;
  const statuses = new Map<number, number>();
  const end = Date.now() + DURATION_MS;
  const target = new URL(url);
  async function client(id: number) {
    let i = id;
    while (Date.now() < end) {
      const body = bodies[i++ % bodies.length]!;
      const status = await new Promise<number>((resolve) => {
        const req = http.request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers: { ...headers, "content-type": "application/x-protobuf", "content-length": body.length } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", () => resolve(0));
        req.end(body);
      });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 200 && status < 300) {
        requests++;
        bytes += body.length;
      } else errors++;
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => client(i)));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { requests, errors, seconds, mbPerS: bytes / 1e6 / seconds, spansPerS: (requests * SPANS_PER_BODY) / seconds, statuses: Object.fromEntries(statuses) };
}

// (b) pure prepare cost in Node.
function prepareCpuMsPer1000Spans(): number {
  const opts = { tenantId: "tn_bench", batchId: "b", receivedAtMs: Date.now(), maxAttributeValueBytes: 65536, retentionDays: 14 };
  for (let i = 0; i < 50; i++) prepareBatch(bodies[i % bodies.length]!, "otlp-proto", opts);
  const rounds = 300;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) prepareBatch(bodies[i % bodies.length]!, "otlp-proto", opts);
  return (performance.now() - t0) / ((rounds * SPANS_PER_BODY) / 1000);
}

const stateDir = mkdtempSync(join(tmpdir(), "edgetrace-bench-"));
const ingestPort = 24318;
const dashboardPort = 24787;
const nullPort = 24999;
const adminToken = `bench-${crypto.randomUUID()}`;
// The assembler is left out: on this 2-core machine it would compete with ingest for the same
// cores, while on Cloudflare they run in separate isolates. Its cost is measured by bench/cost.ts.
// EDGETRACE_QUEUES_IN_MEMORY=0: Cloudflare's ingest path (batches inline in durable queue
// messages), not npm start's (every batch in R2 first, since local queues live in memory).
const env = { ...process.env, EDGETRACE_ASSEMBLER: "0", EDGETRACE_QUEUES_IN_MEMORY: "0", INGEST_PORT: String(ingestPort), DASHBOARD_PORT: String(dashboardPort), EDGETRACE_STATE_DIR: stateDir, ADMIN_TOKEN: adminToken, WRANGLER_SEND_METRICS: "false" };
const stack = spawn("node", ["scripts/start.mjs"], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
// Its own state directory: two workerd processes creating state files in one directory at the
// same moment can collide (SQLITE_BUSY), and the null worker needs no shared state. Its own dev
// registry too: no other local stack should see it (start.mjs gives the stack its own).
const nullWorker = spawn("wrangler", ["dev", "-c", "bench/null-worker/wrangler.toml", "--port", String(nullPort), "--inspector-port", String(nullPort + 1), "--ip", "127.0.0.1", "--persist-to", join(stateDir, "null-worker"), "--show-interactive-dev-session=false", "--log-level", "warn"], { env: { ...env, WRANGLER_REGISTRY_PATH: join(stateDir, "null-worker", "registry") }, stdio: ["ignore", "pipe", "pipe"], detached: true });
try {
  await waitForLine(stack, "READY", 180_000);
  await waitForHttp(`http://127.0.0.1:${nullPort}/`, 300);
  const admin = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
  const tenant = (await (await fetch(`http://127.0.0.1:${dashboardPort}/admin/v1/tenants`, { method: "POST", headers: admin, body: JSON.stringify({ name: "bench" }) })).json()) as { id: string };
  // The benchmark measures throughput, not the rate limiter: lift this tenant's limit.
  const key = (await (await fetch(`http://127.0.0.1:${dashboardPort}/admin/v1/tenants/${tenant.id}/keys`, { method: "POST", headers: admin, body: JSON.stringify({ name: "bench", scopes: ["ingest"] }) })).json()) as { secret: string };
  const lift = spawn("wrangler", ["d1", "execute", "edgetrace", "--local", "--persist-to", stateDir, "--command", `UPDATE tenants SET ingest_bytes_per_second = 1000000000, ingest_burst_bytes = 1000000000 WHERE id = '${tenant.id}'`], { env, stdio: "ignore" });
  await new Promise((r) => lift.on("exit", r));

  log(`warm-up; ${CONCURRENCY} clients, ${DURATION_MS / 1000} s per target, bodies of ${Math.round(bodyBytes)} bytes / ${SPANS_PER_BODY} spans`);
  await load(`http://127.0.0.1:${nullPort}/`, {}).catch(() => undefined);
  const nullResult = await load(`http://127.0.0.1:${nullPort}/`, {});
  log("null worker", nullResult);
  const cpu0 = workerdCpuMs((_pid, cmd) => cmd.includes("workers/ingest/wrangler.toml"));
  const ingestResult = await load(`http://127.0.0.1:${ingestPort}/v1/traces`, { "x-api-key": key.secret });
  const cpu1 = workerdCpuMs((_pid, cmd) => cmd.includes("workers/ingest/wrangler.toml"));
  log("ingest", ingestResult);
  const spans = ingestResult.requests * SPANS_PER_BODY;
  const prepareMs = prepareCpuMsPer1000Spans();
  console.log(
    JSON.stringify({
      "ingest.mb_per_s": round(ingestResult.mbPerS),
      "ingest.spans_per_s": Math.round(ingestResult.spansPerS),
      "ingest.cpu_ms_per_1000_spans": round(((cpu1 - cpu0) / spans) * 1000),
      "ingest.prepare_cpu_ms_per_1000_spans": round(prepareMs),
      "ingest.null_worker_mb_per_s": round(nullResult.mbPerS),
      "ingest.vs_null_worker": round(ingestResult.mbPerS / nullResult.mbPerS),
      "ingest.errors": ingestResult.errors,
      "ingest.statuses": ingestResult.statuses,
      "ingest.concurrency": CONCURRENCY,
      "ingest.seconds": DURATION_MS / 1000,
      "ingest.body_bytes": Math.round(bodyBytes),
    }),
  );
} finally {
  for (const child of [stack, nullWorker]) {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      /* gone */
    }
  }
  await new Promise((r) => setTimeout(r, 1500));
  rmSync(stateDir, { recursive: true, force: true });
}

function round(n: number) {
  return Math.round(n * 100) / 100;
}
