import type { IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import type { Principal } from "../../shared/auth/authenticate.ts";

/** Bindings of the ingest worker (workers/ingest/wrangler.toml). */
export interface IngestEnv {
  DB: D1Database;
  /** Optional libSQL index store instead of D1 (see ARCHITECTURE.md, "Index store"). */
  INDEX_STORE_URL?: string;
  INDEX_STORE_AUTH_TOKEN?: string;
  SPANS: R2Bucket;
  INGEST_QUEUE: Queue<IngestBatchMessage>;
}

export interface IngestVariables {
  principal: Principal;
}

export type IngestApp = { Bindings: IngestEnv; Variables: IngestVariables };
