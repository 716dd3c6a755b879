/**
 * The ingest rate limit holds per tenant across isolates: a second ingest worker is started in its
 * own `wrangler dev` process beside the stack's (same state directory and dev registry, so both
 * reach the same tenant objects, defined by the stack's assembler), and one tenant sends to both
 * at three times its limit. What both admit together stays within what shared/ingest/rate-limit.ts
 * promises (burst + rate x (T + 1 s)), where two per-isolate limits would admit about twice that.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { adminClient } from "./support.ts";

const ingestUrl = inject("ingestUrl");
const dashboardUrl = inject("dashboardUrl");
const adminToken = inject("adminToken");
const stateDir = inject("stateDir");
const stackDir = inject("stackDir");

// Low enough that any machine offers three times it (30 requests of 5 KB a second).
const RATE = 50_000; // bytes/s
const BURST = 50_000;
const SECONDS = 8;

let second: ChildProcess | undefined;
let secondUrl = "";

/** A valid OTLP/JSON request of about `bytes` bytes (one span with a padded attribute). */
function body(i: number, bytes: number): string {
  const hex = (n: number, seed: number) => Array.from({ length: n }, (_, k) => ((seed * 31 + k * 7) % 16).toString(16)).join("");
  const now = BigInt(Date.now()) * 1_000_000n;
  const span = { traceId: hex(32, i + 1), spanId: hex(16, i + 2), name: "rate-limited", kind: 2, startTimeUnixNano: String(now), endTimeUnixNano: String(now + 1_000_000n), attributes: [{ key: "pad", value: { stringValue: "" } }] };
  const request = { resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "rl" } }] }, scopeSpans: [{ spans: [span] }] }] };
  const base = JSON.stringify(request).length;
  span.attributes[0]!.value.stringValue = "x".repeat(Math.max(0, bytes - base));
  return JSON.stringify(request);
}

beforeAll(async () => {
  const port = Number(new URL(ingestUrl).port) + 2;
  second = spawn("wrangler", ["dev", "-c", "workers/ingest/wrangler.toml", "--port", String(port), "--inspector-port", String(port + 10000), "--persist-to", stateDir, "--var", "QUEUES_IN_MEMORY:1", "--ip", "127.0.0.1", "--show-interactive-dev-session=false", "--log-level", "warn"], {
    cwd: stackDir,
    env: { ...process.env, PATH: [join(stackDir, "node_modules", ".bin"), process.env.PATH].join(":"), WRANGLER_SEND_METRICS: "false", WRANGLER_REGISTRY_PATH: join(stateDir, "registry") },
    stdio: "ignore",
    detached: true,
  });
  secondUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      await fetch(`${secondUrl}/`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error("the second ingest process did not start");
}, 180_000);

afterAll(async () => {
  if (second?.pid) {
    try {
      process.kill(-second.pid, "SIGTERM");
    } catch {
      /* gone */
    }
  }
});

describe("ingest rate limit across processes", () => {
  it("one tenant sending to two ingest processes at three times its rate gets its rate, not twice", async () => {
    const admin = adminClient(dashboardUrl, adminToken);
    const tenant = await admin.createTenant("rate-limited");
    await admin.setLimits(tenant.id, { ingestBytesPerSecond: RATE, ingestBurstBytes: BURST });
    const key = await admin.createKey(tenant.id, "k", ["ingest"]);
    const size = 5_000;
    const urls = [ingestUrl, secondUrl];
    // Warm both (key lookup, the object's first call), outside the measured window.
    for (const url of urls) await fetch(`${url}/v1/traces`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": key.secret }, body: body(0, 100) });

    const counts = urls.map(() => ({ ok: 0, limited: 0, unavailable: 0, other: new Map<number, number>(), retryAfterOk: true }));
    const started = Date.now();
    // Paced at 3x the rate, alternating between the two processes: each is offered 1.5x the rate,
    // so a limit per process would refuse little and admit about twice the rate in all.
    const perSecond = (3 * RATE) / size;
    let sent = 0;
    const inflight: Promise<void>[] = [];
    while (Date.now() - started < SECONDS * 1000) {
      const due = Math.floor(((Date.now() - started) / 1000) * perSecond);
      while (sent < due) {
        const n = sent++;
        const at = n % 2;
        inflight.push(
          (async () => {
            const res = await fetch(`${urls[at]}/v1/traces`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": key.secret }, body: body(n + 1, size) });
            await res.arrayBuffer();
            const c = counts[at]!;
            if (res.status === 200) c.ok++;
            else if (res.status === 429 || res.status === 503) {
              // 503: the local D1 briefly locked by the other process; retryable, as the contract says.
              if (res.status === 429) c.limited++;
              else c.unavailable++;
              if (!(Number(res.headers.get("retry-after")) >= 1)) c.retryAfterOk = false;
            } else c.other.set(res.status, (c.other.get(res.status) ?? 0) + 1);
          })(),
        );
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(inflight);
    const seconds = (Date.now() - started) / 1000;
    const admitted = counts.reduce((n, c) => n + c.ok, 0) * size;
    console.log(`rate limit across two processes: ${sent} requests in ${seconds.toFixed(1)} s, admitted ${admitted} B (${Math.round(admitted / seconds)} B/s against ${RATE} B/s; bound ${BURST + RATE * (seconds + 1)} B)`, counts.map((c) => ({ ok: c.ok, limited: c.limited, unavailable: c.unavailable })));
    expect(sent).toBeGreaterThan(2.5 * (RATE / size) * SECONDS);
    for (const c of counts) {
      expect([...c.other]).toEqual([]);
      expect(c.ok).toBeGreaterThan(0);
      expect(c.limited).toBeGreaterThan(0);
      expect(c.retryAfterOk).toBe(true);
    }
    expect(admitted).toBeLessThanOrEqual(BURST + RATE * (seconds + 1));
    // Two limits of their own would have let through about 2 x (burst + rate x T).
    expect(admitted).toBeLessThan(0.75 * 2 * (BURST + RATE * seconds));
  });
});
