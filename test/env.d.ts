/// <reference types="@cloudflare/vitest-plugin/types" />
import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      DB: D1Database;
      SPANS: R2Bucket;
      INGEST_QUEUE: Queue;
      INGEST_QUEUE_1: Queue;
      INGEST_QUEUE_2: Queue;
      INGEST_QUEUE_3: Queue;
      TENANTS: DurableObjectNamespace<import("../workers/assembler/tenant-object.ts").TenantObject>;
      ADMIN_TOKEN: string;
      TEST_MIGRATIONS: D1Migration[];
      /** Dashboard tests: the dashboard's binding to its own ScanJobs entrypoint (wrangler.toml). */
      SCAN_JOBS?: unknown;
    }
    // Types `exports.default` from "cloudflare:workers" in the dashboard tests (its main module).
    interface GlobalProps {
      mainModule: typeof import("../workers/dashboard/index.ts");
    }
  }
}
