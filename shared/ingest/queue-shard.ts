/**
 * @module
 * Which ingest queue a tenant's messages go to: the one place that decides. A queue takes about
 * 5,000 messages a second, so the service spreads tenants over several (ARCHITECTURE.md, "No hot
 * keys"); a tenant always uses the same one, so its messages stay together in consumer batches
 * (one object call per tenant per batch) and in order of arrival.
 */

/** FNV-1a of the tenant id, modulo the number of queues. */
export function queueShard(tenantId: string, queues: number): number {
  if (queues < 1) throw new Error("no ingest queue");
  let h = 0x811c9dc5;
  for (let i = 0; i < tenantId.length; i++) {
    h ^= tenantId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % queues;
}
