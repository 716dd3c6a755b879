/** Entry of the ingest worker (see app.ts for the routes). */
import { app } from "./app.ts";
import type { IngestEnv } from "./env.ts";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<IngestEnv>;
