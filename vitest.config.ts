import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// One vitest project per runtime: pure modules in Node; each worker in workerd with real local
// D1, R2 and Queues from its own wrangler config; end-to-end tests in Node against `npm start`.
const migrations = await readD1Migrations("migrations");

function workerProject(name: string, configPath: string, globalSetup: string[] = []) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath },
        miniflare: {
          // Test-only bindings: the migrations to apply, and a known admin token.
          bindings: { TEST_MIGRATIONS: migrations, ADMIN_TOKEN: "test-admin-token" },
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
        },
      },
      workerProject("ingest", "workers/ingest/wrangler.toml", ["test/ingest/fixtures-setup.ts"]),
      workerProject("dashboard", "wrangler.toml"),
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
    ],
  },
});
