/** Entry of the dashboard worker (see app.ts for the routes). */
import { app } from "./app.ts";
import type { DashboardEnv } from "./env.ts";

export { ScanJobs } from "./scan-jobs.ts";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<DashboardEnv>;
