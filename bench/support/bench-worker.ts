/**
 * A bench worker in workerd: bundled by wrangler from its config (so it builds exactly as a
 * deployed worker would), run by Miniflare with real local D1 and R2 in a temporary state
 * directory, with the repo's migrations applied. `call` posts JSON to one of its routes.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare, type V4ServiceDesignator } from "miniflare";

/** Miniflare's log on stderr (stdout carries only a bench's figures): warnings and errors. */
class StderrLog extends Log {
  protected override log(message: string) {
    console.error(message);
  }
}

export interface BenchWorker {
  mf: Miniflare;
  /** The worker's D1 database, for reading what the bench did. */
  db: Awaited<ReturnType<Miniflare["getD1Database"]>>;
  call<T>(path: string, body?: unknown): Promise<T>;
  dispose(): Promise<void>;
}

export interface BenchWorkerOptions {
  compatibilityFlags?: string[];
  /** Plain-text bindings (wrangler.toml [vars] are not read here). */
  bindings?: Record<string, string>;
  /** SQLite-backed Durable Object classes the bundle exports, by binding name. */
  durableObjects?: Record<string, string>;
  /** Service bindings (e.g. to an entrypoint of the worker itself: `{ name: kCurrentWorker, entrypoint }`). */
  serviceBindings?: Record<string, V4ServiceDesignator>;
}

export async function startBenchWorker(name: string, options: BenchWorkerOptions = {}): Promise<BenchWorker> {
  const stateDir = mkdtempSync(join(tmpdir(), `edgetrace-${name}-`));
  const outDir = join(stateDir, "dist");
  const build = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outDir, "-c", `bench/${name}/wrangler.toml`], {
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (build.status !== 0) {
    console.error(build.stdout, build.stderr);
    rmSync(stateDir, { recursive: true, force: true });
    throw new Error(`wrangler could not bundle bench/${name}/worker.mts`);
  }
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      scriptPath: join(outDir, "worker.js"),
      modulesRoot: outDir,
      compatibilityDate: "2026-11-01",
      compatibilityFlags: options.compatibilityFlags ?? [],
      d1Databases: { DB: "edgetrace" },
      r2Buckets: { SPANS: "edgetrace-spans" },
      bindings: options.bindings ?? {},
      serviceBindings: options.serviceBindings ?? {},
      durableObjects: Object.fromEntries(Object.entries(options.durableObjects ?? {}).map(([binding, className]) => [binding, { className, useSQLite: true }])),
      resourcePersistencePath: join(stateDir, "state"),
      log: new StderrLog(LogLevel.WARN),
      cf: false, // no fetch of the Request.cf object from the network
    }),
  );
  const dispose = async () => {
    try {
      await mf.dispose();
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  };
  let db: BenchWorker["db"];
  try {
    await mf.ready;
    db = await mf.getD1Database("DB");
    for (const file of readdirSync("migrations").filter((f) => f.endsWith(".sql")).sort()) {
      for (const stmt of readFileSync(join("migrations", file), "utf8").split("--> statement-breakpoint")) if (stmt.trim()) await db.prepare(stmt).run();
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  const call = async <T>(path: string, body?: unknown): Promise<T> => {
    const res = await mf.dispatchFetch(`http://bench${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return { mf, db, call, dispose };
}
