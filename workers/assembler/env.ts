/** Bindings of the assembler worker (workers/assembler/wrangler.toml). */
export interface AssemblerEnv {
  DB: D1Database;
  SPANS: R2Bucket;
}
