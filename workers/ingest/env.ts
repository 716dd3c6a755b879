// The generated bindings are global declarations (wrangler writes a script, not a module).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./worker-configuration.d.ts" />
import type { IndexStoreEnv } from "../../shared/db/select-index-store.ts";
import type { IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import type { Principal } from "../../shared/auth/authenticate.ts";
import { queueShard } from "../../shared/ingest/queue-shard.ts";

/**
 * What the ingest worker is given: its bindings, generated from wrangler.toml by `wrangler types`
 * (`npm run config`, into worker-configuration.d.ts), and the optional settings no config names.
 * The ingest queues are INGEST_QUEUE, then INGEST_QUEUE_1, _2, ... one per shard, as many as
 * wrangler.toml binds (more are added by adding bindings and consumers, nothing else).
 */
export interface IngestEnv extends IngestBindings, Omit<IndexStoreEnv, "DB"> {
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
