// `npm start`: the whole stack on workerd with persistent local D1, R2 and Queues.
//   ingest    -> http://localhost:4318 (OTLP/HTTP default port; Zipkin at /api/v2/spans),
//                with the assembler consuming the ingest queue in the same process
//   dashboard -> http://localhost:8787 (admin API now, query API and UI later)
// Both wrangler processes share one state directory, so they see the same D1 and R2.
// Local queues live in memory, so ingest writes every object to R2 before its 2xx (QUEUES_IN_MEMORY)
// and this script fires the assembler's crons, whose sweep assembles objects whose message a
// restart lost (see README, "What survives a restart").
// Overrides for tests and parallel stacks: INGEST_PORT, DASHBOARD_PORT, EDGETRACE_STATE_DIR, and
// EDGETRACE_ASSEMBLER=0 to leave the assembler out (the ingest benchmark measures ingest alone;
// without the assembler there are no tenant objects, so the rate limit falls back to one per isolate).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { resolveAdminToken } from "./dev-vars.mjs";
import { cronIsDue, cronsOf } from "./local-cron.mjs";
import { waitForHttp } from "./wait-for-http.mjs";

const ingestPort = Number(process.env.INGEST_PORT ?? 4318);
const dashboardPort = Number(process.env.DASHBOARD_PORT ?? 8787);
const stateDir = process.env.EDGETRACE_STATE_DIR ?? ".wrangler/state";
// The dev registry is how the dashboard's process reaches the tenant objects (defined by the
// assembler in the other process) and how a local queue finds its consumer. One per state
// directory, so that two local stacks (a developer's, the tests', a bench's) never reach each
// other's workers.
const registry = process.env.WRANGLER_REGISTRY_PATH ?? join(resolve(stateDir), "registry");
// A stack killed with SIGKILL leaves its entries behind; until the new processes' entries replace
// them, a worker would look owned by a process that is gone. This stack's own registry starts empty.
if (!process.env.WRANGLER_REGISTRY_PATH) rmSync(registry, { recursive: true, force: true });
// X_LOCAL_EXPLORER: its API is how the crons below reach the assembler, which has no port of its own.
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: process.env.CI ?? "1", WRANGLER_REGISTRY_PATH: registry, X_LOCAL_EXPLORER: "true" };
const wrangler = "wrangler";

const { token, source } = resolveAdminToken();
// The token goes to the dashboard in a file only this user can read, not in its arguments (which
// every local user can list).
mkdirSync(stateDir, { recursive: true });
const dashboardEnvFile = join(resolve(stateDir), "dashboard.env");
writeFileSync(dashboardEnvFile, `ADMIN_TOKEN=${token}\n`, { mode: 0o600 });

console.log(`edgetrace: applying D1 migrations to ${stateDir}`);
// The dashboard's client pages (Preact) are built into its static assets first.
const ui = spawnSync(process.execPath, ["scripts/build-ui.mjs"], { stdio: "inherit", env });
if (ui.status !== 0) process.exit(ui.status ?? 1);
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "edgetrace", "--local", "--persist-to", stateDir, "-c", "wrangler.toml"], { stdio: "inherit", env });
if (migrate.status !== 0) {
  console.error("edgetrace: migrations failed");
  process.exit(migrate.status ?? 1);
}

const common = ["--persist-to", stateDir, "--ip", "127.0.0.1", "--show-interactive-dev-session=false", "--log-level", process.env.WRANGLER_LOG ?? "warn"];
const children = [];

// Ingest and the assembler share one process: that is how the local queue between them works.
// (`--var` reaches only the first config's worker, ingest; the objects it writes carry the mark the
// assembler's sweep reads.)
const withAssembler = process.env.EDGETRACE_ASSEMBLER !== "0";
// EDGETRACE_QUEUES_IN_MEMORY=0 leaves it out: the ingest benchmark measures Cloudflare's path
// (small batches inline in their messages), where queues are durable.
const durability = process.env.EDGETRACE_QUEUES_IN_MEMORY === "0" ? [] : ["--var", "QUEUES_IN_MEMORY:1"];
children.push(
  spawn(wrangler, ["dev", "-c", "workers/ingest/wrangler.toml", ...(withAssembler ? ["-c", "workers/assembler/wrangler.toml"] : []), "--port", String(ingestPort), "--inspector-port", String(ingestPort + 10000), ...durability, ...common], { stdio: "inherit", env }),
);
let stopping = false;
let cronTimer;
function stop(code) {
  if (stopping) return;
  stopping = true;
  clearInterval(cronTimer);
  for (const child of children) child.kill("SIGTERM");
  setTimeout(() => process.exit(code), 2000).unref();
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
function watch(child) {
  child.on("exit", (code) => {
    if (!stopping) {
      console.error(`edgetrace: a worker exited (${code}); stopping`);
      stop(code ?? 1);
    }
  });
}
watch(children[0]);

await waitForHttp(`http://127.0.0.1:${ingestPort}/`);
// Started only once ingest is up: two workerd processes creating their local state files in the
// same directory at the same moment can collide (SQLITE_BUSY).
children.push(
  spawn(wrangler, ["dev", "-c", "wrangler.toml", "--port", String(dashboardPort), "--inspector-port", String(dashboardPort + 10000), "--env-file", dashboardEnvFile, "--var", `INGEST_URL:http://localhost:${ingestPort}`, ...common], { stdio: "inherit", env }),
);
watch(children[1]);
await waitForHttp(`http://127.0.0.1:${dashboardPort}/healthz`);

// The assembler's crons (sweep of lost ingest objects, compaction, retention, session cleanup), on
// their schedule, plus once at start and once when the previous run's newest objects are sweepable.
const crons = withAssembler ? cronsOf("workers/assembler/wrangler.toml") : [];
/** Fires a cron through the ingest process's local explorer API; a failed run is tried again. */
async function runCron(cron, attempt = 1) {
  const retry = () => {
    if (!stopping && attempt < 6) setTimeout(() => void runCron(cron, attempt + 1), 10_000).unref();
  };
  try {
    const res = await fetch(`http://127.0.0.1:${ingestPort}/cdn-cgi/local/explorer/api/local/scheduled?worker=edgetrace-assembler`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cron }),
    });
    const body = await res.json().catch(() => undefined);
    if (!res.ok || body?.result?.outcome !== "ok") {
      console.error(`edgetrace: the assembler's cron ${cron} did not complete (${res.status} ${JSON.stringify(body?.result ?? body?.errors ?? "")})`);
      retry();
    }
  } catch (err) {
    if (!stopping) console.error(`edgetrace: could not fire the assembler's cron ${cron}: ${err.message}`);
    retry();
  }
}
if (crons.length) {
  void runCron(crons[0]);
  // The sweep takes an object whose message lived in memory once it is a minute old.
  setTimeout(() => void runCron(crons[0]), 65_000).unref();
  let lastMinute = Math.floor(Date.now() / 60_000);
  cronTimer = setInterval(() => {
    const minute = Math.floor(Date.now() / 60_000);
    if (minute === lastMinute) return;
    lastMinute = minute;
    for (const cron of crons) if (cronIsDue(cron, new Date(minute * 60_000))) void runCron(cron);
  }, 5_000);
}
console.log(`
edgetrace is running (state in ${stateDir})
  OTLP/HTTP traces   http://localhost:${ingestPort}/v1/traces   (protobuf or JSON)
  Zipkin v2 spans    http://localhost:${ingestPort}/api/v2/spans
  Dashboard & APIs   http://localhost:${dashboardPort}
  Admin API          http://localhost:${dashboardPort}/admin/v1   (Authorization: Bearer <ADMIN_TOKEN>)

ADMIN_TOKEN ${source === "generated" ? `generated and saved to .dev.vars: ${token}` : `taken from ${source}`}
Get an API key:     npm run admin -- quickstart my-project
Then export:        OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:${ingestPort} OTEL_EXPORTER_OTLP_HEADERS=x-api-key=<secret>
READY
`);
