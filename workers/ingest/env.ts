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
  /**
   * The ingest queues, one per shard: INGEST_QUEUE, then INGEST_QUEUE_1, _2, ... (as many as
   * wrangler.toml binds; more are added by adding bindings and consumers, nothing else).
   */
  INGEST_QUEUE: Queue<IngestBatchMessage>;
  INGEST_QUEUE_1?: Queue<IngestBatchMessage>;
  INGEST_QUEUE_2?: Queue<IngestBatchMessage>;
  INGEST_QUEUE_3?: Queue<IngestBatchMessage>;
  [queue: `INGEST_QUEUE_${number}`]: Queue<IngestBatchMessage> | undefined;
  /** The tenants' objects (class in the assembler worker): the global rate limit. */
  TENANTS: DurableObjectNamespace;
  /**
   * "1" where queue messages live in memory (local `wrangler dev`; `npm start` sets it): every
   * ingest object goes to R2 before the 2xx, marked for an early sweep (store-batch.ts).
   */
  QUEUES_IN_MEMORY?: string;
}

/** The bound ingest queues in shard order; a gap in the numbering is a configuration error. */
export function ingestQueues(env: object): Queue<IngestBatchMessage>[] {
  const byShard = new Map<number, Queue<IngestBatchMessage>>();
  for (const [name, binding] of Object.entries(env)) {
    const m = /^INGEST_QUEUE(?:_(\d+))?$/.exec(name);
    if (m && binding) byShard.set(m[1] === undefined ? 0 : Number(m[1]), binding as Queue<IngestBatchMessage>);
  }
  const queues = Array.from({ length: byShard.size }, (_, i) => byShard.get(i));
  if (!queues.length || queues.some((q) => q === undefined)) throw new Error(`ingest queues must be bound as INGEST_QUEUE, INGEST_QUEUE_1 ... without gaps; bound: ${[...byShard.keys()].sort().join(", ")}`);
  return queues as Queue<IngestBatchMessage>[];
}

/** The queue of a tenant's shard among the bound ones (shared/ingest/queue-shard.ts). */
export function ingestQueue(env: object, tenantId: string): Queue<IngestBatchMessage> {
  const queues = ingestQueues(env);
  return queues[queueShard(tenantId, queues.length)]!;
}

export interface IngestVariables {
  principal: Principal;
}

export type IngestApp = { Bindings: IngestEnv; Variables: IngestVariables };
