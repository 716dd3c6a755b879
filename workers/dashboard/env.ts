import { tenantObject, type TenantObjectApi, type TenantObjectNamespace } from "../../shared/tenant-object/api.ts";

/** Bindings of the dashboard worker (../../wrangler.toml). */
export interface DashboardEnv {
  DB: D1Database;
  /** Optional libSQL index store instead of D1 (see ARCHITECTURE.md, "Index store"). */
  INDEX_STORE_URL?: string;
  INDEX_STORE_AUTH_TOKEN?: string;
  SPANS: R2Bucket;
  /** The tenants' objects (class in the assembler worker): open metric rows, clearing a deleted project. */
  TENANTS: DurableObjectNamespace;
  ADMIN_TOKEN?: string;
  /** Base URL of the ingest worker, for the snippets the dashboard shows. */
  INGEST_URL?: string;
  /** Operator bounds for tenant settings (defaults in shared/tenancy/settings-bounds.ts). */
  MAX_RETENTION_DAYS?: string;
  MAX_INGEST_BYTES_PER_SECOND?: string;
  /** "0": TraceQL metrics always scan blocks, never answer from the per-minute rows (routes/metrics.ts). */
  METRICS_FROM_ROLLUPS?: string;
}

export type DashboardApp = { Bindings: DashboardEnv };

/** The tenant's object: open metric rows for the query APIs (shared/storage/metrics-reader.ts). */
export function tenantObjectOf(env: Pick<DashboardEnv, "TENANTS">, tenantId: string): TenantObjectApi {
  return tenantObject(env.TENANTS as unknown as TenantObjectNamespace, tenantId);
}
