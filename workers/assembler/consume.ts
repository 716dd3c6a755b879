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
import { blockExists, recordBlocks, type NewBlock } from "../../shared/db/queries/blocks.ts";
import { liveTenantIds } from "../../shared/db/queries/tenants.ts";
import { catalogRow } from "../../shared/assembly/catalog-row.ts";
import { encodeBlock } from "../../shared/block/encode-block.ts";
import { decodeIngestBatch, inflateInline, QUEUE_IN_MEMORY, QUEUE_METADATA, type IngestBatchMessage, type IngestBatchObject } from "../../shared/ingest/batch-object.ts";
import { distinctSources, mayBeRedelivered, onFailure, planTenantBatch, sourcesToRead, tenantDelta, type AssemblySource, type TenantBatchPlan } from "../../shared/assembly/plan.ts";
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
  await dropDeletedTenants(deps, byTenant);
  const failed = async (m: Message<IngestBatchMessage>) => {
    if (onFailure(m.body, m.attempts) === "spill" && (await spillInline(deps.store, m.body))) m.ack();
    else m.retry({ delaySeconds: 10 });
  };
  const atOnce = options.tenantsAtOnce ?? TENANTS_AT_ONCE;
  const tenants = [...byTenant];
  const retryTenant = async (tenantId: string, messages: Message<IngestBatchMessage>[], err: unknown) => {
    console.error("assembler: tenant batch failed, will retry", tenantId, err);
    for (const m of messages) await failed(m);
  };
  // 1. Each tenant read, planned, its block written: at once, each on its own.
  const prepared = new Map<string, PreparedTenant>();
  await forEachAtOnce(tenants, atOnce, async ([tenantId, messages]) => {
    try {
      prepared.set(tenantId, await prepareTenant(deps, tenantId, messages.map((m) => ({ ...m.body, attempts: m.attempts }))));
    } catch (err) {
      await retryTenant(tenantId, messages, err);
    }
  });
  // 2. Every tenant's catalog row in one D1 batch: one write transaction per consumer batch, not
  //    one per tenant (a batch of small tenants holds a hundred).
  const uncatalogued = await catalogBlocks(deps, [...prepared.values()]);
  // 3. Each tenant's commit to its object, then its acks.
  await forEachAtOnce(tenants, atOnce, async ([tenantId, messages]) => {
    const p = prepared.get(tenantId);
    if (!p) return;
    try {
      if (uncatalogued.has(tenantId)) throw uncatalogued.get(tenantId);
      await finishTenant(deps, p, nowMs);
      // A message whose object could not be read is retried alone; the rest are done.
      for (const m of messages) {
        if (p.unread.includes(m.body.key)) await failed(m);
        else m.ack();
      }
    } catch (err) {
      await retryTenant(tenantId, messages, err);
    }
  });
}

/**
 * Takes the messages of tenants that are not live (deleted, or purged) out of `byTenant`: their
 * objects are deleted and the messages acked. Such a message comes from a request accepted with a
 * key cached before its project was deleted; assembling it would recreate what the purge removed.
 */
async function dropDeletedTenants(deps: AssemblerDeps, byTenant: Map<string, Message<IngestBatchMessage>[]>): Promise<void> {
  if (!byTenant.size) return;
  const live = await liveTenantIds(deps.db, [...byTenant.keys()]);
  for (const [tenantId, messages] of byTenant) {
    if (live.has(tenantId)) continue;
    byTenant.delete(tenantId);
    console.warn("assembler: dropping", messages.length, "message(s) of deleted tenant", tenantId);
    const stored = messages.filter((m) => !m.body.inline && m.body.spanCount > 0).map((m) => m.body.key);
    if (stored.length) await deps.store.delete(stored);
    for (const m of messages) m.ack();
  }
}

export interface AssembleResult {
  blockId?: string;
  /** Spans written into the block. */
  spans: number;
  /** Keys acked without work (assembled before). */
  skipped: number;
  /** Keys whose object could not be read (damaged, or R2 failing): left out, to be retried. */
  unread: string[];
}

/** One tenant's sources on their own: read, plan, write the block and its catalog row, commit, delete R2 ingest objects. */
export async function assembleForTenant(deps: AssemblerDeps, tenantId: string, input: readonly AssemblySource[], nowMs = Date.now()): Promise<AssembleResult> {
  const p = await prepareTenant(deps, tenantId, input);
  const failures = await catalogBlocks(deps, [p]);
  if (failures.has(tenantId)) throw failures.get(tenantId);
  return finishTenant(deps, p, nowMs);
}

/** A tenant's share of a batch once its block is written, before its catalog row and commit. */
interface PreparedTenant {
  tenantId: string;
  plan: TenantBatchPlan;
  /** The catalog row of the block written (none without a block). */
  catalog?: NewBlock;
  unread: string[];
}

async function prepareTenant(deps: AssemblerDeps, tenantId: string, input: readonly AssemblySource[]): Promise<PreparedTenant> {
  const sources = distinctSources(input);
  let assembled = new Map<string, string>();
  if (mayBeRedelivered(sources)) {
    assembled = new Map(Object.entries(await deps.tenant(tenantId).assembled(tenantId, sources.map((s) => s.key))));
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
  let catalog: NewBlock | undefined;
  if (plan.block) {
    const encoded = await encodeBlock(plan.block.traces, { tenantId, blockId: plan.block.blockId, createdAtMs: plan.block.createdAtMs });
    await deps.store.put(blockKey(tenantId, plan.block.blockId), encoded.bytes);
    catalog = catalogRow(encoded, 0, plan.block.createdAtMs);
  }
  return { tenantId, plan, catalog, unread };
}

/**
 * The catalog rows of the blocks written, in one D1 batch. If the batch fails, each tenant's row
 * is tried alone, so that one tenant's trouble (say, deleted meanwhile) stays its own. A tenant
 * whose row cannot be written gets its block removed unless the catalog has it after all (a write
 * that committed with its answer lost must keep its block): a retry grouped differently writes
 * another id, and this one would sit where nothing finds it. Returns the failed tenants' errors.
 */
async function catalogBlocks(deps: AssemblerDeps, prepared: readonly PreparedTenant[]): Promise<Map<string, unknown>> {
  const rows = prepared.flatMap((p) => (p.catalog ? [{ tenantId: p.tenantId, block: p.catalog }] : []));
  const failures = new Map<string, unknown>();
  if (!rows.length) return failures;
  try {
    await recordBlocks(deps.db, rows);
    return failures;
  } catch (err) {
    if (rows.length === 1) failures.set(rows[0]!.tenantId, err);
    else {
      await Promise.all(
        rows.map(async (r) => {
          try {
            await recordBlocks(deps.db, [r]);
          } catch (e) {
            failures.set(r.tenantId, e);
          }
        }),
      );
    }
  }
  for (const [tenantId] of failures) {
    const blockId = rows.find((r) => r.tenantId === tenantId)!.block.id;
    const catalogued = await blockExists(deps.db, tenantId, blockId).catch(() => true);
    if (!catalogued) await deps.store.delete(blockKey(tenantId, blockId)).catch(() => {});
  }
  return failures;
}

/** The tenant's commit (again without keys committed meanwhile, if refused), then its R2 deletes. */
async function finishTenant(deps: AssemblerDeps, p: PreparedTenant, nowMs: number): Promise<AssembleResult> {
  const { tenantId, plan } = p;
  const tenant = deps.tenant(tenantId);
  if (plan.delta) {
    let delta = plan.delta;
    const refused = new Set<string>();
    for (;;) {
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
  return { blockId: plan.block?.blockId, spans: plan.block?.spanCount ?? 0, skipped: plan.skipped.length, unread: p.unread };
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

/**
 * Ingest objects older than this, still present, lost their queue message (see sweepIngest): on
 * Cloudflare a message lives at most its retries' backoff.
 */
export const SWEEP_AFTER_MS = 10 * 60_000;
/**
 * The same for an object whose message lived in memory (a local queue, marked by ingest): it is
 * lost with its process, and a restart takes seconds. A minute covers the queue's 5 s batching and
 * a retry; sweeping a message still in flight costs only a repeat (the tenant's ledger refuses the
 * second assembly).
 */
export const MEMORY_QUEUE_SWEEP_AFTER_MS = 60_000;

/**
 * Assembles ingest objects whose message never completed: a message that ran out of retries or
 * was spilled, or a local queue lost with a restarted `wrangler dev`. The object is the unit of
 * work, so this is the step the queue would have run (with the ledger asked first). Runs on the
 * cron, in groups of up to 100 objects.
 */
export async function sweepIngest(deps: AssemblerDeps, tenantId: string, nowMs = Date.now()): Promise<number> {
  const afterMs = (o: { metadata?: Record<string, string> }) => (o.metadata?.[QUEUE_METADATA] === QUEUE_IN_MEMORY ? MEMORY_QUEUE_SWEEP_AFTER_MS : SWEEP_AFTER_MS);
  const stale = (await deps.store.list(`${tenantPrefix(tenantId)}ingest/`, { metadata: true })).filter((o) => o.uploadedMs < nowMs - afterMs(o)).map((o) => o.key);
  for (let i = 0; i < stale.length; i += 100) await assembleForTenant(deps, tenantId, stale.slice(i, i + 100).map((key) => ({ key, swept: true })), nowMs);
  return stale.length;
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function forEachAtOnce<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
