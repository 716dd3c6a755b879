/** Bindings of the dashboard worker (../../wrangler.toml). */
export interface DashboardEnv {
  DB: D1Database;
  /** Optional libSQL index store instead of D1 (see ARCHITECTURE.md, "Index store"). */
  INDEX_STORE_URL?: string;
  INDEX_STORE_AUTH_TOKEN?: string;
  SPANS: R2Bucket;
  ADMIN_TOKEN?: string;
}

export type DashboardApp = { Bindings: DashboardEnv };
