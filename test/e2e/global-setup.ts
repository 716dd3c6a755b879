/**
 * Starts the local stack exactly as `npm start` does (ingest with the assembler consuming its
 * queue, and the dashboard), on its own ports and in a fresh state directory, and gives the tests
 * its URLs, admin token and state directory (tests that check what was stored open the local R2
 * and D1 in it read-only, see test/e2e/support.ts).
 *
 * The stack runs from a private copy of the checkout's sources (node_modules linked, not copied):
 * `wrangler dev` rebuilds and restarts a worker whenever a file it bundles changes, and a restart
 * drops the local queue's undelivered messages (local queues live in workerd's memory), so an
 * edit anywhere under shared/ or workers/ while the test runs would leave ingest objects that
 * the assembler never hears of. The copy is taken once, at start, from the working tree as it is.
 *
 * The workers' logs after start-up are dropped; EDGETRACE_E2E_STACK_LOG=1 passes them through to
 * this process's stderr (the assembler's errors show there).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    ingestUrl: string;
    dashboardUrl: string;
    adminToken: string;
    /** The `--persist-to` directory both wrangler processes share (local D1 and R2 under `v3/`). */
    stateDir: string;
    /** The copy of the checkout the stack runs from (its wrangler configs are the ones in use). */
    stackDir: string;
  }
}

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Not copied: dependencies (linked instead), git, build and wrangler output, local secrets. */
const NOT_COPIED = new Set(["node_modules", ".git", ".wrangler", "dist", "coverage", ".dev.vars", join("test", "artifacts")]);

let stack: ChildProcess | undefined;
let workDir: string | undefined;

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
      project.provide("stackDir", started.stackDir);
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

/** Copies the checkout's sources to `<workDir>/src` and links its node_modules there. */
function copySources(dir: string): string {
  const stackDir = join(dir, "src");
  mkdirSync(stackDir);
  cpSync(REPO_ROOT, stackDir, {
    recursive: true,
    filter: (from) => {
      const rel = relative(REPO_ROOT, from);
      return !NOT_COPIED.has(rel) && !rel.split(sep).includes("node_modules");
    },
  });
  symlinkSync(join(REPO_ROOT, "node_modules"), join(stackDir, "node_modules"), "dir");
  return stackDir;
}

async function startStack() {
  workDir = mkdtempSync(join(tmpdir(), "edgetrace-e2e-"));
  const stackDir = copySources(workDir);
  const stateDir = join(workDir, "state");
  // start.mjs also takes port + 10000 for each worker's inspector. All four must be free: on a
  // busy port wrangler would fail, and start.mjs's readiness probe would find whatever else
  // answers there (another developer's or helper's stack) and report READY.
  const [ingestPort, dashboardPort] = await freePortPair();
  const adminToken = `e2e-${Math.random().toString(36).slice(2)}`;
  // start.mjs runs `wrangler` from PATH, as under `npm start`.
  const path = [join(REPO_ROOT, "node_modules", ".bin"), process.env.PATH].filter(Boolean).join(delimiter);
  const child = spawn("node", ["scripts/start.mjs"], {
    cwd: stackDir,
    env: { ...process.env, PATH: path, INGEST_PORT: String(ingestPort), DASHBOARD_PORT: String(dashboardPort), EDGETRACE_STATE_DIR: stateDir, ADMIN_TOKEN: adminToken, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  stack = child;
  let output = "";
  let ready = false;
  const passLogs = /^(1|true)$/i.test(process.env.EDGETRACE_E2E_STACK_LOG ?? "");
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack did not start in 150 s:\n${output}`)), 150_000);
    const onData = (d: Buffer) => {
      // Keep only the start-up log; after READY the workers' logs are drained, not kept.
      if (ready) {
        if (passLogs) process.stderr.write(d);
        return;
      }
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
  return { ingestPort, dashboardPort, adminToken, stateDir, stackDir };
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
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}
