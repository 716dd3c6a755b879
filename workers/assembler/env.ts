import type { TenantObject } from "./tenant-object.ts";

/** Bindings of the assembler worker (workers/assembler/wrangler.toml). */
export interface AssemblerEnv {
  DB: D1Database;
  /** Optional libSQL index store instead of D1 (see ARCHITECTURE.md, "Index store"). */
  INDEX_STORE_URL?: string;
  INDEX_STORE_AUTH_TOKEN?: string;
  SPANS: R2Bucket;
  /** One object per tenant (the class is defined here, in tenant-object.ts). */
  TENANTS: DurableObjectNamespace<TenantObject>;
  /** How often a tenant's object writes its closed minutes (default 30 s; tests set it long and flush by hand). */
  TENANT_FLUSH_INTERVAL_MS?: string;
}
