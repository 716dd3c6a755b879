/**
 * Starts the local stack exactly as `npm start` does, on its own ports and in a fresh state
 * directory, and gives the tests its URLs and admin token.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    ingestUrl: string;
    dashboardUrl: string;
    adminToken: string;
  }
}

let stack: ChildProcess | undefined;
let stateDir: string | undefined;

export async function setup(project: TestProject) {
  stateDir = mkdtempSync(join(tmpdir(), "edgetrace-e2e-"));
  const ingestPort = 14318 + Math.floor(Math.random() * 500);
  const dashboardPort = ingestPort + 1000;
  const adminToken = `e2e-${Math.random().toString(36).slice(2)}`;
  stack = spawn("node", ["scripts/start.mjs"], {
    env: { ...process.env, INGEST_PORT: String(ingestPort), DASHBOARD_PORT: String(dashboardPort), EDGETRACE_STATE_DIR: stateDir, ADMIN_TOKEN: adminToken, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack did not start in 150 s:\n${output}`)), 150_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes("READY")) {
        clearTimeout(timer);
        resolve();
      }
    };
    stack!.stdout!.on("data", onData);
    stack!.stderr!.on("data", onData);
    stack!.on("exit", (code) => reject(new Error(`stack exited with ${code}:\n${output}`)));
  });
  project.provide("ingestUrl", `http://127.0.0.1:${ingestPort}`);
  project.provide("dashboardUrl", `http://127.0.0.1:${dashboardPort}`);
  project.provide("adminToken", adminToken);
}

export async function teardown() {
  if (stack?.pid) {
    try {
      process.kill(-stack.pid, "SIGTERM");
    } catch {
      /* already gone */
    }
    await new Promise((r) => setTimeout(r, 1500));
  }
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}
