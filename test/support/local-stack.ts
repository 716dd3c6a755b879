/**
 * The local stack as `npm start` runs it (scripts/start.mjs: ingest with the assembler consuming
 * its queue, and the dashboard), for the e2e, browser and fault tests: on free ports, in a state
 * directory of the caller's, from a private copy of the checkout's sources (node_modules linked).
 *
 * Why a copy: `wrangler dev` rebuilds and restarts a worker whenever a file it bundles changes,
 * and an edit under shared/ or workers/ while a test runs would restart the stack under it.
 *
 * A stack can be stopped with any signal (the whole process group: start.mjs, both wrangler
 * processes and their workerd children) and started again on the same state and ports.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Not copied: dependencies (linked instead), git, build and wrangler output, local secrets. */
const NOT_COPIED = new Set(["node_modules", ".git", ".wrangler", "dist", "coverage", ".dev.vars", join("test", "artifacts")]);

/** Thrown when the stack's process exits before it is ready (the message holds its log). */
export class StackExited extends Error {}

/** Copies the checkout's sources to `<dir>/src` and links its node_modules there. */
export function copySources(dir: string): string {
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

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * Two free neighbouring ports for ingest and the dashboard. start.mjs also takes port + 10000 for
 * each worker's inspector; all four must be free: on a busy port wrangler would fail, and the
 * readiness probe would find whatever else answers there (another stack) and report READY.
 */
export async function freePortPair(): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const ingest = 14318 + Math.floor(Math.random() * 20_000);
    const dashboard = ingest + 1;
    const ports = [ingest, dashboard, ingest + 10000, dashboard + 10000];
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return [ingest, dashboard];
  }
  throw new Error("found no free ports for a local stack");
}

export interface LocalStackOptions {
  stackDir: string;
  stateDir: string;
  ingestPort: number;
  dashboardPort: number;
  adminToken: string;
  /** Pass the workers' log after start-up to this process's stderr (else it is dropped). */
  passLogs?: boolean;
  /** More environment for start.mjs. */
  env?: Record<string, string>;
}

export class LocalStack {
  private child: ChildProcess | undefined;
  readonly options: LocalStackOptions;
  constructor(options: LocalStackOptions) {
    this.options = options;
  }

  get ingestUrl(): string {
    return `http://127.0.0.1:${this.options.ingestPort}`;
  }
  get dashboardUrl(): string {
    return `http://127.0.0.1:${this.options.dashboardPort}`;
  }

  /** Starts start.mjs and resolves once it prints READY; rejects with its log if it exits first. */
  async start(timeoutMs = 150_000): Promise<void> {
    const { stackDir, stateDir, ingestPort, dashboardPort, adminToken } = this.options;
    // start.mjs runs `wrangler` from PATH, as under `npm start`.
    const path = [join(REPO_ROOT, "node_modules", ".bin"), process.env.PATH].filter(Boolean).join(delimiter);
    const child = spawn("node", ["scripts/start.mjs"], {
      cwd: stackDir,
      env: { ...process.env, PATH: path, INGEST_PORT: String(ingestPort), DASHBOARD_PORT: String(dashboardPort), EDGETRACE_STATE_DIR: stateDir, ADMIN_TOKEN: adminToken, WRANGLER_SEND_METRICS: "false", ...this.options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.child = child;
    let output = "";
    let ready = false;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`stack did not start in ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
      const onData = (d: Buffer) => {
        // Keep only the start-up log; after READY the workers' logs are drained, not kept.
        if (ready) {
          if (this.options.passLogs) process.stderr.write(d);
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
  }

  /**
   * Signals the whole process group and waits until start.mjs has exited and `graceMs` has passed
   * (its workerd children may linger a moment after a SIGTERM).
   */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 1500): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid) return;
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    await new Promise((r) => setTimeout(r, graceMs));
    if (signal !== "SIGKILL") {
      // Whatever ignored the signal (a workerd child that outlived its wrangler) goes now.
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* all gone */
      }
    }
  }
}
