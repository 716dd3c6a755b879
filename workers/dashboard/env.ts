/** Bindings of the dashboard worker (../../wrangler.toml). */
export interface DashboardEnv {
  DB: D1Database;
  /** Optional libSQL index store instead of D1 (see ARCHITECTURE.md, "Index store"). */
  INDEX_STORE_URL?: string;
  INDEX_STORE_AUTH_TOKEN?: string;
  SPANS: R2Bucket;
  ADMIN_TOKEN?: string;
  /** Base URL of the ingest worker, for the snippets the dashboard shows. */
  INGEST_URL?: string;
  /** Operator bounds for tenant settings (defaults in shared/tenancy/settings-bounds.ts). */
  MAX_RETENTION_DAYS?: string;
  MAX_INGEST_BYTES_PER_SECOND?: string;
}

export type DashboardApp = { Bindings: DashboardEnv };
