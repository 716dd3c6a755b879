/**
 * @module
 * The queue consumer: one batch, split by tenant, each tenant's share assembled on its own and at
 * the same time as the others (up to TENANTS_AT_ONCE), so one tenant's failure or slowness does not
 * hold up the rest. Any number of consumers may run at once (`max_concurrency`): the only
 * per-tenant state they share lives in the tenant's object, which takes one call per tenant per
 * batch (two if a message was delivered before). The steps and their idempotency are in
 * shared/assembly/plan.ts; this module does the reading and writing around it.
 */
import type { BatchingDb } from "../../shared/db/client.ts";
import { indexStore } from "../../shared/db/select-index-store.ts";
import { blockExists, recordBlock } from "../../shared/db/queries/blocks.ts";
import { catalogRow } from "../../shared/assembly/catalog-row.ts";
import { encodeBlock } from "../../shared/block/encode-block.ts";
import { decodeIngestBatch, inflateInline, type IngestBatchMessage, type IngestBatchObject } from "../../shared/ingest/batch-object.ts";
import { distinctSources, mayBeRedelivered, onFailure, planTenantBatch, sourcesToRead, tenantDelta, type AssemblySource, type BlockPlan } from "../../shared/assembly/plan.ts";
import { blockKey, tenantOfKey, tenantPrefix } from "../../shared/storage/keys.ts";
import { r2Store, type ObjectStore } from "../../shared/storage/object-store.ts";
import { tenantObject, type TenantObjectApi, type TenantObjectNamespace } from "../../shared/tenant-object/api.ts";
import type { AssemblerEnv } from "./env.ts";

export { SPILL_AFTER_ATTEMPTS } from "../../shared/assembly/plan.ts";

/** Tenants of one batch assembled at the same time (a Worker keeps six connections open at once). */
export const TENANTS_AT_ONCE = 6;

/** What assembly reads and writes: the index, the bucket, and the tenants' objects. */
export interface AssemblerDeps {
  db: BatchingDb;
  store: ObjectStore;
  tenant(tenantId: string): TenantObjectApi;
}

export async function assemblerDeps(env: AssemblerEnv): Promise<AssemblerDeps> {
  const namespace = env.TENANTS as unknown as TenantObjectNamespace;
  return { db: (await indexStore(env)) as BatchingDb, store: r2Store(env.SPANS), tenant: (id) => tenantObject(namespace, id) };
}

/**
 * @param options.deps what to read and write with (default: the env's bindings); tests pass a
 * tenant object that fails, a fault workerd cannot produce.
 * @param options.tenantsAtOnce default TENANTS_AT_ONCE (a benchmark compares with one at a time).
 */
export async function consumeBatch(batch: MessageBatch<IngestBatchMessage>, env: AssemblerEnv, options: { nowMs?: number; deps?: AssemblerDeps; tenantsAtOnce?: number } = {}): Promise<void> {
  const nowMs = options.nowMs ?? Date.now();
  const byTenant = new Map<string, Message<IngestBatchMessage>[]>();
  for (const m of batch.messages) {
    // The tenant comes from the object key, which ingest built from the authenticated key.
    const tenantId = tenantOfKey(m.body.key);
    if (!tenantId || tenantId !== m.body.tenantId) {
      console.error("assembler: dropping a message whose key is not its tenant's", m.body.key);
      m.ack();
      continue;
    }
    let list = byTenant.get(tenantId);
    if (!list) byTenant.set(tenantId, (list = []));
    list.push(m);
  }
  const deps = options.deps ?? (await assemblerDeps(env));
  const failed = async (m: Message<IngestBatchMessage>) => {
    if (onFailure(m.body, m.attempts) === "spill" && (await spillInline(deps.store, m.body))) m.ack();
    else m.retry({ delaySeconds: 10 });
  };
  await forEachAtOnce([...byTenant], options.tenantsAtOnce ?? TENANTS_AT_ONCE, async ([tenantId, messages]) => {
    try {
      const result = await assembleForTenant(deps, tenantId, messages.map((m) => ({ ...m.body, attempts: m.attempts })), nowMs);
      // A message whose object could not be read is retried alone; the rest are done.
      for (const m of messages) {
        if (result.unread.includes(m.body.key)) await failed(m);
        else m.ack();
      }
    } catch (err) {
      console.error("assembler: tenant batch failed, will retry", tenantId, err);
      for (const m of messages) await failed(m);
    }
  });
}

export interface AssembleResult {
  blockId?: string;
  /** Spans written into the block. */
  spans: number;
  /** Keys acked without work (assembled before). */
  skipped: number;
  /** Object calls made (ledger check, commits). */
  objectCalls: number;
  /** Keys whose object could not be read (damaged, or R2 failing): left out, to be retried. */
  unread: string[];
}

/** One tenant's sources: read, plan, write the block, commit the delta, delete R2 ingest objects. */
export async function assembleForTenant(deps: AssemblerDeps, tenantId: string, input: readonly AssemblySource[], nowMs = Date.now()): Promise<AssembleResult> {
  const sources = distinctSources(input);
  const tenant = deps.tenant(tenantId);
  let objectCalls = 0;
  let assembled = new Map<string, string>();
  if (mayBeRedelivered(sources)) {
    objectCalls++;
    assembled = new Map(Object.entries(await tenant.assembled(tenantId, sources.map((s) => s.key))));
  }
  const toRead = sourcesToRead(sources, assembled);
  const reads = await Promise.allSettled(toRead.map((s) => readSource(deps.store, tenantId, s)));
  const objects = new Map<string, IngestBatchObject | undefined>();
  const unread: string[] = [];
  reads.forEach((r, i) => {
    if (r.status === "fulfilled") objects.set(toRead[i]!.key, r.value);
    else {
      console.error("assembler: could not read", toRead[i]!.key, r.reason);
      unread.push(toRead[i]!.key);
    }
  });
  if (unread.length === sources.length) throw new Error(`no object of tenant ${tenantId}'s batch could be read`);
  const plan = await planTenantBatch({ tenantId, sources: sources.filter((s) => !unread.includes(s.key)), assembled, objects });
  if (plan.block) await writeBlock(deps, tenantId, plan.block);
  if (plan.delta) {
    let delta = plan.delta;
    const refused = new Set<string>();
    for (;;) {
      objectCalls++;
      const result = await tenant.commit(tenantId, delta, nowMs);
      if (result.applied) break;
      // Committed meanwhile by a consumer that got the same message (at-least-once delivery).
      const before = refused.size;
      for (const key of Object.keys(result.assembled)) refused.add(key);
      if (refused.size === before) throw new Error("the tenant object refused a commit without naming a new key");
      const rest = plan.entries.filter((e) => !refused.has(e.source.key));
      if (!rest.length) break;
      delta = tenantDelta(tenantId, rest, plan.block?.blockId);
    }
  }
  if (plan.deleteAfter.length) await deps.store.delete(plan.deleteAfter);
  return { blockId: plan.block?.blockId, spans: plan.block?.spanCount ?? 0, skipped: plan.skipped.length, objectCalls, unread };
}

/**
 * The block object, then its catalog row. If cataloguing fails, the object is removed unless the
 * catalog has it after all (a write that committed with its answer lost must keep its block): a
 * retry grouped differently writes another id, and this one would sit where nothing finds it.
 */
async function writeBlock(deps: AssemblerDeps, tenantId: string, block: BlockPlan): Promise<void> {
  const encoded = await encodeBlock(block.traces, { tenantId, blockId: block.blockId, createdAtMs: block.createdAtMs });
  const key = blockKey(tenantId, block.blockId);
  await deps.store.put(key, encoded.bytes);
  try {
    await recordBlock(deps.db, tenantId, catalogRow(encoded, 0, block.createdAtMs), [], []);
  } catch (err) {
    const catalogued = await blockExists(deps.db, tenantId, block.blockId).catch(() => true);
    if (!catalogued) await deps.store.delete(key).catch(() => {});
    throw err;
  }
}

async function readSource(store: ObjectStore, tenantId: string, source: AssemblySource): Promise<IngestBatchObject | undefined> {
  let bytes: Uint8Array | undefined;
  if (source.inline) {
    if (source.bytes === undefined) throw new Error(`inline message ${source.key} has no size`);
    bytes = await inflateInline(source.inline, source.bytes);
  } else {
    bytes = await store.get(source.key);
    if (!bytes) return undefined; // assembled and deleted: a redelivery
  }
  const object = decodeIngestBatch(bytes);
  if (object.tenantId !== tenantId) throw new Error(`ingest object ${source.key} is not tenant ${tenantId}'s`);
  return object;
}

/** Writes an inline object to R2 at its key, where sweepIngest finds it. False if that fails too. */
async function spillInline(store: ObjectStore, body: IngestBatchMessage): Promise<boolean> {
  try {
    await store.put(body.key, await inflateInline(body.inline!, body.bytes));
    return true;
  } catch (err) {
    console.error("assembler: could not spill", body.key, "to R2; the queue retries it", err);
    return false;
  }
}

/** Ingest objects older than this, still present, lost their queue message (see sweepIngest). */
export const SWEEP_AFTER_MS = 10 * 60_000;

/**
 * Assembles ingest objects whose message never completed: a message that ran out of retries or
 * was spilled, or a local queue lost with a restarted `wrangler dev`. The object is the unit of
 * work, so this is the step the queue would have run (with the ledger asked first). Runs on the
 * cron, in groups of up to 100 objects.
 */
export async function sweepIngest(deps: AssemblerDeps, tenantId: string, nowMs = Date.now()): Promise<number> {
  const stale = (await deps.store.list(`${tenantPrefix(tenantId)}ingest/`)).filter((o) => o.uploadedMs < nowMs - SWEEP_AFTER_MS).map((o) => o.key);
  for (let i = 0; i < stale.length; i += 100) await assembleForTenant(deps, tenantId, stale.slice(i, i + 100).map((key) => ({ key, swept: true })), nowMs);
  return stale.length;
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function forEachAtOnce<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
