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
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { copySources, freePortPair, LocalStack, StackExited } from "../support/local-stack.ts";

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

let stack: LocalStack | undefined;
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

async function startStack() {
  workDir = mkdtempSync(join(tmpdir(), "edgetrace-e2e-"));
  const stackDir = copySources(workDir);
  const stateDir = join(workDir, "state");
  const [ingestPort, dashboardPort] = await freePortPair();
  const adminToken = `e2e-${crypto.randomUUID()}`;
  stack = new LocalStack({ stackDir, stateDir, ingestPort, dashboardPort, adminToken, passLogs: /^(1|true)$/i.test(process.env.EDGETRACE_E2E_STACK_LOG ?? "") });
  await stack.start();
  return { ingestPort, dashboardPort, adminToken, stateDir, stackDir };
}

export async function teardown() {
  await stack?.stop("SIGTERM");
  stack = undefined;
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}
