import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// One vitest project per runtime: pure modules in Node; each worker in workerd with real local
// D1, R2 and Queues from its own wrangler config; end-to-end and browser (Chromium) tests in Node
// against `npm start`.
const migrations = await readD1Migrations("migrations");

/**
 * `main`: for ingest and the dashboard, a test entry that also exports the tenant objects' class
 * (test/support/mains/), bound here in the test's own worker: deployed, the assembler defines it
 * and the others bind it by script name, which a single-worker test run cannot follow.
 */
function workerProject(name: string, configPath: string, globalSetup: string[] = [], main?: string) {
  return {
    plugins: [
      cloudflareTest({
        main,
        wrangler: { configPath },
        miniflare: {
          // Test-only bindings: the migrations to apply, a known admin token, tenant objects that
          // flush when a test says so (one test runs the alarm itself), and dashboard searches
          // that fan out into jobs from three blocks up, so every search test runs through jobs.
          bindings: { TEST_MIGRATIONS: migrations, ADMIN_TOKEN: "vitest-admin-5c1f9e07b3d8a2647e0f1b9c3d5a", TENANT_FLUSH_INTERVAL_MS: String(86_400_000), SCAN_BLOCKS_PER_JOB: "2" },
          ...(main && { durableObjects: { TENANTS: { className: "TenantObject", useSQLite: true } } }),
        },
      }),
    ],
    test: {
      name,
      include: [`test/${name}/**/*.test.ts`],
      setupFiles: ["test/support/apply-migrations.ts"],
      globalSetup,
      // CI machines are small and shared; these tests do real storage work, not timing.
      testTimeout: 60_000,
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          environment: "node",
          include: ["shared/**/*.test.ts", "test/unit/**/*.test.ts"],
          // Sized for a busy 2-core machine, not for the 5 s default: the differential and property
          // tests (decoders against protobufjs, the filter cache against the uncached path, block
          // round trips) take 1-2 s each there with other work running, and several times that when
          // it is busy. The soundness tests (shared/search/index-soundness.test.ts, up to 8 s) set
          // 60 s each.
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      workerProject("ingest", "workers/ingest/wrangler.toml", ["test/ingest/fixtures-setup.ts"], "test/support/mains/ingest.ts"),
      workerProject("dashboard", "wrangler.toml", [], "test/support/mains/dashboard.ts"),
      workerProject("assembler", "workers/assembler/wrangler.toml", ["test/assembler/fixtures-setup.ts"]),
      {
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // The e2e suites share one local stack; run their files one after another.
          fileParallelism: false,
        },
      },
      {
        test: {
          // Kills and restarts its own local stack (test/faults/); `npm run test:faults`, not `npm test`.
          name: "faults",
          environment: "node",
          include: ["test/faults/**/*.test.ts"],
          testTimeout: 20 * 60_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: "browser",
          environment: "node",
          include: ["test/browser/**/*.test.ts"],
          // The same globalSetup as e2e, run again for this project (vitest runs each project's
          // globalSetup on its own, even when the file is shared): a second stack, in its own temp
          // directory and state, on its own free ports (global-setup.ts picks random free ports,
          // never 4318/8787), so the two never collide, whether `npm test` runs them one after the
          // other or one vitest run takes both. Sharing one stack would save its start-up (about
          // 10 s) but let the UI tests' tenants and spans run into the e2e tests' storage checks.
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // A page waits on a local stack that may be busy (the search page's heatmap scans every
          // block of the window while the operations load): polls get 20 s, not vitest's 1 s.
          expect: { poll: { timeout: 20_000 } },
          // Like e2e: the files share the stack (and Chromium is heavy); one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
