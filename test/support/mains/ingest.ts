/**
 * The ingest worker as its workerd tests run it: the worker itself, plus the tenant objects' class,
 * which on Cloudflare (and under `npm start`) the assembler worker defines and ingest binds by
 * script name. Here the test's own worker serves it (vitest.config.ts binds TENANTS to it), so that
 * the rate limit runs against a real SQLite-backed Durable Object in the same isolate.
 */
export { default } from "../../../workers/ingest/index.ts";
export { TenantObject } from "../../../workers/assembler/tenant-object.ts";
