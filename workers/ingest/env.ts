import type { IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import type { Principal } from "../../shared/auth/authenticate.ts";
import { queueShard } from "../../shared/ingest/queue-shard.ts";

/** Bindings of the ingest worker (workers/ingest/wrangler.toml). */
export interface IngestEnv {
  DB: D1Database;
  /** Optional libSQL index store instead of D1 (see ARCHITECTURE.md, "Index store"). */
  INDEX_STORE_URL?: string;
  INDEX_STORE_AUTH_TOKEN?: string;
  SPANS: R2Bucket;
  /** The ingest queues, one per shard (shard 0 keeps the original queue's binding name). */
  INGEST_QUEUE: Queue<IngestBatchMessage>;
  INGEST_QUEUE_1?: Queue<IngestBatchMessage>;
  INGEST_QUEUE_2?: Queue<IngestBatchMessage>;
  INGEST_QUEUE_3?: Queue<IngestBatchMessage>;
  /** The tenants' objects (class in the assembler worker): the global rate limit. */
  TENANTS: DurableObjectNamespace;
}

/** The queue of a tenant's shard among the bound ones. */
export function ingestQueue(env: Pick<IngestEnv, "INGEST_QUEUE" | "INGEST_QUEUE_1" | "INGEST_QUEUE_2" | "INGEST_QUEUE_3">, tenantId: string): Queue<IngestBatchMessage> {
  const queues = [env.INGEST_QUEUE, env.INGEST_QUEUE_1, env.INGEST_QUEUE_2, env.INGEST_QUEUE_3].filter((q): q is Queue<IngestBatchMessage> => q !== undefined);
  return queues[queueShard(tenantId, queues.length)]!;
}

export interface IngestVariables {
  principal: Principal;
}

export type IngestApp = { Bindings: IngestEnv; Variables: IngestVariables };
