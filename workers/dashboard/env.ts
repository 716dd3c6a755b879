/** Bindings of the dashboard worker (../../wrangler.toml). */
export interface DashboardEnv {
  DB: D1Database;
  SPANS: R2Bucket;
  ADMIN_TOKEN?: string;
}

export type DashboardApp = { Bindings: DashboardEnv };
