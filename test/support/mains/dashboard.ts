/**
 * The dashboard worker as its workerd tests run it: the worker itself, plus the tenant objects'
 * class, which on Cloudflare (and under `npm start`) the assembler worker defines and the dashboard
 * binds by script name (see ingest.ts beside this file).
 */
export { default, ScanJobs } from "../../../workers/dashboard/index.ts";
export { TenantObject } from "../../../workers/assembler/tenant-object.ts";
