// The generated bindings are global declarations (wrangler writes a script, not a module).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./worker-configuration.d.ts" />
import type { IndexStoreEnv } from "../../shared/db/select-index-store.ts";
import type { ScanSettings } from "../../shared/search/block-scanner.ts";
import { tenantObject, type TenantObjectApi, type TenantObjectNamespace } from "../../shared/tenant-object/api.ts";

/**
 * What the dashboard worker is given: its bindings, generated from ../../wrangler.toml by
 * `wrangler types` (`npm run config`, into worker-configuration.d.ts), and the optional settings
 * no config names (vars an operator or a benchmark may set; unset means the default).
 */
export interface DashboardEnv extends DashboardBindings, Omit<IndexStoreEnv, "DB"> {
  /** Operator bounds for tenant settings (defaults in shared/tenancy/settings-bounds.ts). */
  MAX_RETENTION_DAYS?: string;
  MAX_INGEST_BYTES_PER_SECOND?: string;
  /** "0": no fan-out, one invocation reads every block (for comparisons). */
  SCAN_FANOUT?: string;
  /** Blocks per fan-out job at least (default 16, scan-jobs.ts). */
  SCAN_BLOCKS_PER_JOB?: string;
  /** Blocks one request reads at once (default 6: Cloudflare's simultaneous connections per invocation). */
  SCAN_CONCURRENCY?: string;
  /** "0": searches do not use the attribute indexes to skip blocks and segments (for comparisons). */
  SCAN_USE_INDEX?: string;
  /** "0": TraceQL metrics always scan blocks, never answer from the per-minute rows (routes/metrics.ts). */
  METRICS_FROM_ROLLUPS?: string;
}

/** The tenant's object: open metric rows for the query APIs (shared/storage/metrics-reader.ts). */
export function tenantObjectOf(env: Pick<DashboardEnv, "TENANTS">, tenantId: string): TenantObjectApi {
  return tenantObject(env.TENANTS as unknown as TenantObjectNamespace, tenantId);
}

/** How this deployment's block scans run (shared/search/block-scanner.ts), from its variables. */
export function scanSettings(env: Pick<DashboardEnv, "SCAN_CONCURRENCY" | "SCAN_USE_INDEX">): ScanSettings {
  const n = Number(env.SCAN_CONCURRENCY);
  return {
    ...(Number.isInteger(n) && n > 0 ? { concurrency: n } : {}),
    useIndex: env.SCAN_USE_INDEX !== "0",
  };
}
