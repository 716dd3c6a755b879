import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import type { BatchingDb } from "../../shared/db/client.ts";
import { listBlocks } from "../../shared/db/queries/blocks.ts";
import { readEdgeRows, readOperationRows, readServiceRows } from "../../shared/db/queries/metrics.ts";
import { createTenant, markTenantDeleted } from "../../shared/db/queries/tenants.ts";
import { QUEUE_IN_MEMORY, QUEUE_METADATA, type IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import { foldServiceGraph } from "../../shared/servicegraph/aggregate.ts";
import { readEdgeRowsWithOpen, readOperationRowsWithOpen } from "../../shared/storage/metrics-reader.ts";
import { compactTenant } from "../../workers/assembler/compact.ts";
import { assembleForTenant, MEMORY_QUEUE_SWEEP_AFTER_MS, SPILL_AFTER_ATTEMPTS, sweepIngest, SWEEP_AFTER_MS } from "../../workers/assembler/consume.ts";
import { applyRetention } from "../../workers/assembler/retention.ts";
import { aenv, db, deliver, deps, expectTracesWhole, firstSpanMs, ingest, LATER, objectOf, sameOps, store, storedMetrics, stubOf, usageOf } from "./support.ts";
import "./provided-context.ts";

const expectAllTracesWhole = (tenantId: string) => expectTracesWhole(tenantId, inject("workloadTraces"));
const totalSpans = () => inject("workloadTraces").reduce((n, t) => n + t.spans.length, 0);

/** A database whose batches fail: a fault that cannot be produced for real in workerd. */
const failingDb = () => Object.assign(Object.create(db()), { batch: async () => { throw new Error("D1 unavailable"); } }) as BatchingDb;

describe("assembler", () => {
  it("turns traces split over many requests and queue batches into whole traces", async () => {
    const tenant = await createTenant(db(), "split");
    const requests = inject("workloadRequests");
    expect(requests.length).toBeGreaterThan(6);
    const messages = await ingest(tenant.id, requests);
    const third = Math.ceil(messages.length / 3);
    for (let i = 0; i < messages.length; i += third) {
      const result = await deliver(messages.slice(i, i + third));
      expect(result.explicitAcks.length).toBe(Math.min(third, messages.length - i));
      expect(result.retryMessages).toEqual([]);
    }
    expect((await listBlocks(db(), tenant.id)).length).toBe(3);
    // The ingest objects are gone once assembled.
    expect((await env.SPANS.list({ prefix: `t/${tenant.id}/ingest/` })).objects).toEqual([]);
    await expectAllTracesWhole(tenant.id);
    expect((await listBlocks(db(), tenant.id)).reduce((n, b) => n + b.spanCount, 0)).toBe(totalSpans());
  });

  it("changes nothing when messages are redelivered, as retries or as first deliveries", async () => {
    const tenant = await createTenant(db(), "redelivery");
    const messages = await ingest(tenant.id, inject("workloadRequests"), firstSpanMs(inject("workloadRequests")) + 3_600_000, "inline");
    await deliver(messages);
    await objectOf(tenant.id).flush(tenant.id, LATER());
    const blocks = await listBlocks(db(), tenant.id);
    const metrics = await storedMetrics(tenant.id);
    expect(metrics.ops.length).toBeGreaterThan(0);
    // A retry asks the ledger first: nothing is read or written.
    const retried = await deliver(messages, 2);
    expect(retried.explicitAcks.length).toBe(messages.length);
    // At-least-once delivery can also repeat a message as a first attempt: the same block is
    // rewritten (same keys, same id) and the commit is refused by the ledger.
    const again = await deliver(messages, 1);
    expect(again.explicitAcks.length).toBe(messages.length);
    await objectOf(tenant.id).flush(tenant.id, LATER());
    expect(await listBlocks(db(), tenant.id)).toEqual(blocks);
    expect(await storedMetrics(tenant.id)).toEqual(metrics);
    expect(await usageOf(tenant.id)).toEqual([{ day: expect.any(String), a: totalSpans(), r: 0 }]);
    await expectAllTracesWhole(tenant.id);
  });

  it("merges late spans of a trace, at read time and by compaction, keeping every span once", async () => {
    const tenant = await createTenant(db(), "late");
    const requests = inject("workloadRequests");
    // Every request in its own queue batch, some twice (a duplicate export): many small blocks.
    for (const r of [...requests, requests[0]!, requests[1]!]) await deliver(await ingest(tenant.id, [r]));
    const before = await listBlocks(db(), tenant.id);
    expect(before.length).toBe(requests.length + 2);
    await expectAllTracesWhole(tenant.id);

    const later = Date.now() + 10 * 60_000;
    let rounds = 0;
    while ((await compactTenant(db(), store(), tenant.id, later)).merged > 0) rounds++;
    expect(rounds).toBeGreaterThan(0);
    const after = await listBlocks(db(), tenant.id);
    expect(after.length).toBeLessThan(before.length);
    await expectAllTracesWhole(tenant.id);
    expect(after.reduce((n, b) => n + b.spanCount, 0)).toBe(totalSpans());
    // Compacted-away block objects are deleted.
    const objects = (await env.SPANS.list({ prefix: `t/${tenant.id}/blocks/` })).objects.map((o) => o.key.split("/").pop()).sort();
    expect(objects).toEqual(after.map((b) => b.id).sort());
  });

  it("retention removes only what expired, and only the tenant's own", async () => {
    const old = await createTenant(db(), "retention");
    const other = await createTenant(db(), "neighbour");
    const requests = inject("workloadRequests");
    await deliver(await ingest(old.id, requests.slice(0, 2)));
    await deliver(await ingest(old.id, requests.slice(2)));
    await deliver(await ingest(other.id, requests));
    const blocks = (await listBlocks(db(), old.id)).sort((a, b) => a.endMs - b.endMs);
    expect(blocks.length).toBe(2);
    // Pick a "now" that makes only blocks ending before the newer block's start expire.
    const cut = blocks[0]!.endMs + 1;
    const expiredIds = blocks.filter((b) => b.endMs < cut).map((b) => b.id);
    const keptIds = blocks.filter((b) => b.endMs >= cut).map((b) => b.id);
    expect(expiredIds.length).toBeGreaterThan(0);
    const result = await applyRetention(db(), store(), old.id, 1, cut + 86_400_000);
    expect(result.blocks).toBe(expiredIds.length);
    expect((await listBlocks(db(), old.id)).map((b) => b.id).sort()).toEqual(keptIds.sort());
    for (const id of expiredIds) expect(await env.SPANS.head(`t/${old.id}/blocks/${id}`)).toBeNull();
    for (const id of keptIds) expect(await env.SPANS.head(`t/${old.id}/blocks/${id}`)).not.toBeNull();
    expect((await listBlocks(db(), other.id)).length).toBe(1);
  });

  it("computes the service graph of a workload with known edges, across batches", async () => {
    const tenant = await createTenant(db(), "graph");
    const batches = inject("graphBatches");
    const w = inject("graphWindow");
    const d = await deps();
    // Received as the spans happen (the wall clock is the receive time), so their minutes are
    // still open after the last batch.
    const t0 = (w.start + 120) * 1000;
    for (const [i, b] of batches.entries()) await assembleForTenant(d, tenant.id, await ingest(tenant.id, [b], t0 + i * 1000), t0 + i * 1000);
    // Halves that never pair are settled when their wait (60 s) ends: a later batch.
    await assembleForTenant(d, tenant.id, await ingest(tenant.id, [{ resourceSpans: [] }], t0 + 90_000), t0 + 90_000);
    const truth = inject("graphTruth");
    const expectTruth = (graph: ReturnType<typeof foldServiceGraph>) => {
      expect(graph.edges.length).toBe(truth.length);
      for (const t of truth) {
        const e = graph.edges.find((x) => x.source === t.source && x.target === t.target);
        expect(e, `${t.source} -> ${t.target}`).toBeDefined();
        expect({ requests: e!.requests, failed: e!.failed }).toEqual({ requests: t.requests, failed: t.failed });
      }
    };
    // No minute has closed yet: nothing in D1, everything in the tenant's object, seen by the reader.
    expect(await readEdgeRows(db(), tenant.id, {})).toEqual([]);
    expectTruth(foldServiceGraph(await readEdgeRowsWithOpen(db(), objectOf(tenant.id), tenant.id, w), w));
    // The object's flush, once every minute has closed, writes them.
    expect((await objectOf(tenant.id).flush(tenant.id, t0 + 20 * 60_000)).rows).toBeGreaterThan(0);
    expectTruth(foldServiceGraph(await readEdgeRows(db(), tenant.id, {}), w));
    expectTruth(foldServiceGraph(await readEdgeRowsWithOpen(db(), objectOf(tenant.id), tenant.id, w), w));
    expect((await objectOf(tenant.id).flush(tenant.id, t0 + 30 * 60_000)).rows).toBe(0);
  });

  it("writes each minute's metric rows to D1 once, after the minute closes; a consumer writes only catalog rows", async () => {
    const requests = inject("workloadRequests");
    const r0 = firstSpanMs(requests);
    // Control: everything received an hour later, one batch, every minute closed at once.
    const control = await createTenant(db(), "rows-control");
    await assembleForTenant(await deps(), control.id, await ingest(control.id, requests, r0 + 3_600_000), r0 + 3_600_000);
    await objectOf(control.id).flush(control.id, LATER());
    const expected = sameOps(await readOperationRows(db(), control.id, {}));
    expect(expected.length).toBeGreaterThan(0);
    const services = (rows: Awaited<ReturnType<typeof readServiceRows>>) => rows.map((r) => `${r.minute} ${r.service}/${r.serviceNameType} count=${r.count} errors=${r.errors}`).sort();
    const expectedServices = services(await readServiceRows(db(), control.id, {}));
    // Every span, once: more than the operation rows count (the workload has INTERNAL spans).
    expect(expectedServices.length).toBeGreaterThan(0);

    const tenant = await createTenant(db(), "rows-once");
    let written = 0;
    const counting = Object.assign(Object.create(db()), {
      batch: (statements: readonly [unknown, ...unknown[]]) => {
        written += statements.length;
        return db().batch(statements);
      },
    }) as BatchingDb;
    const d = { ...(await deps()), db: counting };
    // One queue batch every 2 s as the spans arrive.
    for (const [i, r] of requests.entries()) await assembleForTenant(d, tenant.id, await ingest(tenant.id, [r], r0 + i * 2000), r0 + i * 2000);
    // Each batch: its catalog row only; metrics and usage wait in the tenant's object.
    expect(written).toBe(requests.length);
    expect(await readOperationRows(db(), tenant.id, {})).toEqual([]);
    expect(await readEdgeRows(db(), tenant.id, {})).toEqual([]);
    expect(await readServiceRows(db(), tenant.id, {})).toEqual([]);
    expect(await usageOf(tenant.id)).toEqual([]);
    const window = { start: Math.floor(r0 / 1000) - 3600, end: Math.floor(r0 / 1000) + 3600 };
    expect(sameOps(await readOperationRowsWithOpen(db(), objectOf(tenant.id), tenant.id, window))).toEqual(expected);

    // Once the minutes close (a batch received 10 minutes later), a flush writes each row once.
    await assembleForTenant(d, tenant.id, await ingest(tenant.id, [{ resourceSpans: [] }], r0 + 10 * 60_000), r0 + 10 * 60_000);
    const flushed = await objectOf(tenant.id).flush(tenant.id, r0 + 10 * 60_000);
    const ops = await readOperationRows(db(), tenant.id, {});
    const edges = await readEdgeRows(db(), tenant.id, {});
    const serviceRows = await readServiceRows(db(), tenant.id, {});
    expect(sameOps(ops)).toEqual(expected);
    expect(services(serviceRows)).toEqual(expectedServices);
    expect(serviceRows.reduce((n, r) => n + r.count, 0)).toBe(totalSpans());
    expect(serviceRows.reduce((n, r) => n + r.count, 0)).toBeGreaterThan(ops.reduce((n, r) => n + r.count, 0));
    expect(edges.length).toBeGreaterThan(0);
    expect(flushed.rows).toBe(ops.length + edges.length + serviceRows.length);
    expect(sameOps(await readOperationRowsWithOpen(db(), objectOf(tenant.id), tenant.id, window))).toEqual(expected);
    expect((await objectOf(tenant.id).flush(tenant.id, r0 + 11 * 60_000)).rows).toBe(0);
  });

  it("the object's alarm writes closed minutes by itself", async () => {
    const tenant = await createTenant(db(), "alarm");
    const requests = inject("workloadRequests").slice(0, 3);
    // Received long ago: every minute is closed at the object's clock.
    await deliver(await ingest(tenant.id, requests, firstSpanMs(requests) + 3_600_000));
    expect(await readOperationRows(db(), tenant.id, {})).toEqual([]);
    expect(await runDurableObjectAlarm(stubOf(tenant.id))).toBe(true);
    expect((await readOperationRows(db(), tenant.id, {})).length).toBeGreaterThan(0);
    expect((await usageOf(tenant.id))[0]!.a).toBe(requests.reduce((n, r) => n + r.resourceSpans.reduce((m, rs) => m + rs.scopeSpans.reduce((k, ss) => k + ss.spans.length, 0), 0), 0));
  });

  it("counts a batch once whatever fails: the catalog write, the commit's answer, or the object's memory", async () => {
    const requests = inject("workloadRequests").slice(0, 3);
    const at = firstSpanMs(requests) + 3_600_000;
    const control = await createTenant(db(), "fail-control");
    await assembleForTenant(await deps(), control.id, await ingest(control.id, requests, at, "inline"), at);
    await objectOf(control.id).flush(control.id, LATER());
    const expected = await storedMetrics(control.id);
    expect(expected.ops.length).toBeGreaterThan(0);

    // 1. The catalog write fails: nothing is committed, the retry counts it.
    const t1 = await createTenant(db(), "fail-catalog");
    const m1 = await ingest(t1.id, requests, at, "inline");
    await expect(assembleForTenant({ ...(await deps()), db: failingDb() }, t1.id, m1, at)).rejects.toThrow(/D1 unavailable/);
    expect((await env.SPANS.list({ prefix: `t/${t1.id}/blocks/` })).objects).toEqual([]);
    await assembleForTenant(await deps(), t1.id, m1.map((m) => ({ ...m, attempts: 2 })), at);

    // 2. The commit applied but its answer was lost: the retry finds the keys in the ledger.
    const t2 = await createTenant(db(), "fail-answer");
    const m2 = await ingest(t2.id, requests, at, "inline");
    const real = await deps();
    const lostAnswer = { ...real, tenant: (id: string) => ({ ...objectOf(id), commit: async (...args: Parameters<ReturnType<typeof objectOf>["commit"]>) => { await objectOf(id).commit(...args); throw new Error("connection reset"); } }) };
    await expect(assembleForTenant(lostAnswer, t2.id, m2, at)).rejects.toThrow(/connection reset/);
    const retry = await assembleForTenant(real, t2.id, m2.map((m) => ({ ...m, attempts: 2 })), at);
    expect(retry).toMatchObject({ skipped: m2.length, spans: 0 });

    // 3. The object lost its memory (evicted) between the batch and a redelivery.
    const t3 = await createTenant(db(), "fail-evicted");
    const m3 = await ingest(t3.id, requests, at, "inline");
    await assembleForTenant(real, t3.id, m3, at);
    await evictDurableObject(stubOf(t3.id));
    expect(await assembleForTenant(real, t3.id, m3.map((m) => ({ ...m, attempts: 2 })), at)).toMatchObject({ skipped: m3.length });
    await evictDurableObject(stubOf(t3.id));

    for (const t of [t1, t2, t3]) {
      await objectOf(t.id).flush(t.id, LATER());
      expect(await storedMetrics(t.id), t.name).toEqual(expected);
      expect((await listBlocks(db(), t.id)).length, t.name).toBe(1);
    }
  });

  it("sweeps ingest objects whose queue message was lost", async () => {
    const tenant = await createTenant(db(), "sweep");
    await ingest(tenant.id, inject("workloadRequests")); // written, never delivered
    expect(await sweepIngest(await deps(), tenant.id, Date.now())).toBe(0); // too young to be lost
    expect(await sweepIngest(await deps(), tenant.id, Date.now() + SWEEP_AFTER_MS + 60_000)).toBe(inject("workloadRequests").length);
    expect((await env.SPANS.list({ prefix: `t/${tenant.id}/ingest/` })).objects).toEqual([]);
    await expectAllTracesWhole(tenant.id);
  });

  it("sweeps an object whose message lived in a local, in-memory queue after a minute, not ten", async () => {
    const tenant = await createTenant(db(), "sweep-memory");
    const messages = await ingest(tenant.id, inject("workloadRequests"));
    // As ingest writes it under QUEUES_IN_MEMORY (workers/ingest/store-batch.ts).
    for (const m of messages) await env.SPANS.put(m.key, (await (await env.SPANS.get(m.key))!.arrayBuffer()), { customMetadata: { [QUEUE_METADATA]: QUEUE_IN_MEMORY } });
    expect(await sweepIngest(await deps(), tenant.id, Date.now() + MEMORY_QUEUE_SWEEP_AFTER_MS - 5_000)).toBe(0);
    expect(await sweepIngest(await deps(), tenant.id, Date.now() + MEMORY_QUEUE_SWEEP_AFTER_MS + 5_000)).toBe(messages.length);
    await expectAllTracesWhole(tenant.id);
  });

  it("drops the messages of a deleted or unknown tenant, deleting their objects, and assembles the others'", async () => {
    const live = await createTenant(db(), "live");
    const doomed = await createTenant(db(), "doomed");
    const requests = inject("workloadRequests").slice(0, 2);
    const liveMessages = await ingest(live.id, requests);
    const doomedMessages = await ingest(doomed.id, requests);
    const ghostMessages = await ingest("tn_no-such-tenant", requests);
    await markTenantDeleted(db(), doomed.id);
    const result = await deliver([...liveMessages, ...doomedMessages, ...ghostMessages]);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.length).toBe(liveMessages.length + doomedMessages.length + ghostMessages.length);
    for (const id of [doomed.id, "tn_no-such-tenant"]) expect((await env.SPANS.list({ prefix: `t/${id}/` })).objects, id).toEqual([]);
    expect(await listBlocks(db(), doomed.id)).toEqual([]);
    expect((await listBlocks(db(), live.id)).length).toBe(1);
  });

  it("leaves no uncatalogued block behind when recording it fails", async () => {
    const tenant = await createTenant(db(), "orphan");
    const messages = await ingest(tenant.id, inject("workloadRequests").slice(0, 2));
    await expect(assembleForTenant({ ...(await deps()), db: failingDb() }, tenant.id, messages)).rejects.toThrow(/D1 unavailable/);
    expect((await env.SPANS.list({ prefix: `t/${tenant.id}/blocks/` })).objects).toEqual([]);
    // The ingest objects are still there for the retry, which succeeds.
    expect((await env.SPANS.list({ prefix: `t/${tenant.id}/ingest/` })).objects.length).toBe(2);
    await assembleForTenant(await deps(), tenant.id, messages);
    expect((await listBlocks(db(), tenant.id)).length).toBe(1);
  });
});

describe("assembler, with ingest objects carried inline in their queue messages", () => {
  const ingestObjects = async (tenantId: string) => (await env.SPANS.list({ prefix: `t/${tenantId}/ingest/` })).objects;

  it("carries the workload's requests inline (they fit in a message)", async () => {
    const messages = await ingest("fit", inject("workloadRequests"), Date.now(), "inline");
    expect(messages.every((m) => m.inline !== undefined)).toBe(true);
    expect(await ingestObjects("fit")).toEqual([]);
  });

  it("turns traces split over many messages and batches into whole traces, with no R2 ingest object", async () => {
    const tenant = await createTenant(db(), "inline-split");
    const messages = await ingest(tenant.id, inject("workloadRequests"), Date.now(), "inline");
    const third = Math.ceil(messages.length / 3);
    for (let i = 0; i < messages.length; i += third) {
      const result = await deliver(messages.slice(i, i + third));
      expect(result.retryMessages).toEqual([]);
    }
    expect((await listBlocks(db(), tenant.id)).length).toBe(3);
    expect(await ingestObjects(tenant.id)).toEqual([]);
    await expectAllTracesWhole(tenant.id);
  });

  it("changes nothing when messages are redelivered, whole or regrouped", async () => {
    const tenant = await createTenant(db(), "inline-redelivery");
    const requests = inject("workloadRequests");
    const messages = await ingest(tenant.id, requests, firstSpanMs(requests) + 3_600_000, "inline");
    const half = Math.ceil(messages.length / 2);
    await deliver(messages.slice(0, half));
    await deliver(messages.slice(half));
    await objectOf(tenant.id).flush(tenant.id, LATER());
    const blocks = await listBlocks(db(), tenant.id);
    const metrics = await storedMetrics(tenant.id);
    // The same batch again, then every message in one batch (grouped differently), as retries.
    for (const again of [messages.slice(0, half), messages]) {
      const result = await deliver(again, 2);
      expect(result.explicitAcks.length).toBe(again.length);
    }
    await objectOf(tenant.id).flush(tenant.id, LATER());
    expect(await listBlocks(db(), tenant.id)).toEqual(blocks);
    expect(await storedMetrics(tenant.id)).toEqual(metrics);
    await expectAllTracesWhole(tenant.id);
  });

  it("hands a message that keeps failing to the sweep through R2, and the sweep assembles it", async () => {
    const tenant = await createTenant(db(), "inline-spill");
    const messages = await ingest(tenant.id, inject("workloadRequests"), Date.now(), "inline");
    // A fault that cannot be produced for real in workerd: D1 refusing every batch.
    const failingD1 = Object.assign(Object.create(env.DB), { batch: async () => { throw new Error("D1 unavailable"); } }) as D1Database;
    const failingEnv = { ...aenv, DB: failingD1 };
    const early = await deliver(messages, 1, failingEnv);
    expect(early.retryMessages.length).toBe(messages.length);
    expect(await ingestObjects(tenant.id)).toEqual([]);
    // On the last attempt the objects go to R2 and the messages are acked.
    const last = await deliver(messages, SPILL_AFTER_ATTEMPTS, failingEnv);
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks.length).toBe(messages.length);
    expect((await ingestObjects(tenant.id)).length).toBe(messages.length);
    expect(await listBlocks(db(), tenant.id)).toEqual([]);
    expect(await sweepIngest(await deps(), tenant.id, Date.now() + SWEEP_AFTER_MS + 60_000)).toBe(messages.length);
    expect(await ingestObjects(tenant.id)).toEqual([]);
    await expectAllTracesWhole(tenant.id);
  });

  it("leaves a damaged inline message with the queue (gzip's check fails; nothing to spill)", async () => {
    const tenant = await createTenant(db(), "inline-damaged");
    const [m] = await ingest(tenant.id, inject("workloadRequests").slice(0, 1), Date.now(), "inline");
    const broken = { ...m!, inline: m!.inline!.map((b, i) => (i === 20 ? b ^ 0xff : b)) };
    expect((await deliver([broken], SPILL_AFTER_ATTEMPTS)).retryMessages.length).toBe(1);
    expect(await ingestObjects(tenant.id)).toEqual([]);
    expect(await listBlocks(db(), tenant.id)).toEqual([]);
  });
});

describe("assembler usage counts", () => {
  it("counts accepted and rejected spans per day once, whatever the redelivery (usage-only messages included)", async () => {
    const tenant = await createTenant(db(), "usage");
    const requests = inject("workloadRequests");
    const at = Date.UTC(2026, 10, 20, 12);
    const messages = await ingest(tenant.id, requests, at, "inline");
    messages[0]!.rejectedSpans = 3;
    // A request whose spans were all refused: a usage-only message.
    const refused: IngestBatchMessage = { ...messages[1]!, key: `${messages[1]!.key}-refused`, batchId: "refused", spanCount: 0, traceCount: 0, bytes: 0, inline: undefined, rejectedSpans: 4 };
    const all = [...messages, refused];
    await deliver(all);
    await deliver(all, 2); // redelivered whole
    await deliver([refused, ...messages.slice(0, 2)], 2); // and regrouped
    await deliver([refused], 1); // a usage-only batch alone, as a first delivery again
    await objectOf(tenant.id).flush(tenant.id, LATER());
    expect(await usageOf(tenant.id)).toEqual([{ day: "2026-11-20", a: totalSpans(), r: 7 }]);
  });
});
