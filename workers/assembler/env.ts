// The generated bindings are global declarations (wrangler writes a script, not a module).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./worker-configuration.d.ts" />
import type { IndexStoreEnv } from "../../shared/db/select-index-store.ts";

/**
 * What the assembler worker is given: its bindings, generated from wrangler.toml by `wrangler
 * types` (`npm run config`, into worker-configuration.d.ts; TENANTS is typed with the class this
 * worker defines, tenant-object.ts), and the optional settings no config names.
 */
export interface AssemblerEnv extends AssemblerBindings, Omit<IndexStoreEnv, "DB"> {
  /** How often a tenant's object writes its closed minutes (default 30 s; tests set it long and flush by hand). */
  TENANT_FLUSH_INTERVAL_MS?: string;
}
