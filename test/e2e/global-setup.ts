/**
 * Starts the local stack exactly as `npm start` does, on its own ports and in a fresh state
 * directory, and gives the tests its URLs, admin token and state directory (tests that check
 * what was stored open the local R2 in it read-only, see test/e2e/support.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    ingestUrl: string;
    dashboardUrl: string;
    adminToken: string;
    /** The `--persist-to` directory both wrangler processes share (local D1, R2 under `v3/`). */
    stateDir: string;
  }
}

let stack: ChildProcess | undefined;
let stateDir: string | undefined;

export async function setup(project: TestProject) {
  // Both workers' workerd processes start at once on one state directory and can race creating
  // the same SQLite files there (`SQLITE_BUSY`, "The Workers runtime failed to start"); on a
  // loaded machine that fails a few starts in ten. Such a start is retried from scratch.
  const MAX_ATTEMPTS = 3;
  for (let attempt = 1; ; attempt++) {
    try {
      const started = await startStack();
      project.provide("ingestUrl", `http://127.0.0.1:${started.ingestPort}`);
      project.provide("dashboardUrl", `http://127.0.0.1:${started.dashboardPort}`);
      project.provide("adminToken", started.adminToken);
      project.provide("stateDir", started.stateDir);
      return;
    } catch (err) {
      // vitest does not call teardown when setup throws: stop what was started here.
      await teardown();
      const retryable = err instanceof StackExited && /SQLITE_BUSY|Workers runtime failed to start/.test(err.message);
      if (!retryable || attempt >= MAX_ATTEMPTS) throw err;
      console.warn(`e2e: the stack failed to start (attempt ${attempt} of ${MAX_ATTEMPTS}), retrying:\n${err.message.slice(-600)}`);
    }
  }
}

class StackExited extends Error {}

async function startStack() {
  stateDir = mkdtempSync(join(tmpdir(), "edgetrace-e2e-"));
  // start.mjs also takes port + 10000 for each worker's inspector. All four must be free: on a
  // busy port wrangler would fail, and start.mjs's readiness probe would find whatever else
  // answers there (another developer's or helper's stack) and report READY.
  const [ingestPort, dashboardPort] = await freePortPair();
  const adminToken = `e2e-${Math.random().toString(36).slice(2)}`;
  const child = spawn("node", ["scripts/start.mjs"], {
    env: { ...process.env, INGEST_PORT: String(ingestPort), DASHBOARD_PORT: String(dashboardPort), EDGETRACE_STATE_DIR: stateDir, ADMIN_TOKEN: adminToken, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  stack = child;
  let output = "";
  let ready = false;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack did not start in 150 s:\n${output}`)), 150_000);
    const onData = (d: Buffer) => {
      // Keep only the start-up log; after READY the workers' logs are drained, not kept.
      if (ready) return;
      output += d.toString();
      if (/^READY$/m.test(output)) {
        ready = true;
        clearTimeout(timer);
        resolve();
      } else if (/Build failed/.test(output)) {
        // wrangler dev keeps watching after a failed bundle instead of exiting: fail now.
        clearTimeout(timer);
        setTimeout(() => reject(new Error(`a worker did not build:\n${output}`)), 500);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new StackExited(`stack exited with ${code}:\n${output}`));
    });
  });
  return { ingestPort, dashboardPort, adminToken, stateDir };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function freePortPair(): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const ingest = 14318 + Math.floor(Math.random() * 20_000);
    const dashboard = ingest + 1;
    const ports = [ingest, dashboard, ingest + 10000, dashboard + 10000];
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return [ingest, dashboard];
  }
  throw new Error("found no free ports for the e2e stack");
}

export async function teardown() {
  // The whole process group: start.mjs, both wrangler processes and their workerd children
  // (start.mjs may already have exited while a child lingers).
  if (stack?.pid) {
    try {
      process.kill(-stack.pid, "SIGTERM");
    } catch {
      /* already gone */
    }
    await new Promise((r) => setTimeout(r, 1500));
  }
  stack = undefined;
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  stateDir = undefined;
}
