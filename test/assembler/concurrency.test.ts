/**
 * Parallel assembly: queue batches of one tenant (and of several) handled by several consumer
 * invocations at the same time, with the duplicates, reordering and redeliveries at-least-once
 * queues make, must give exactly what one consumer handling everything once gives.
 */
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { listBlocks } from "../../shared/db/queries/blocks.ts";
import { readEdgeRows } from "../../shared/db/queries/metrics.ts";
import { createTenant } from "../../shared/db/queries/tenants.ts";
import type { IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import { foldServiceGraph } from "../../shared/servicegraph/aggregate.ts";
import { compactTenant } from "../../workers/assembler/compact.ts";
import { assembleForTenant, assemblerDeps } from "../../workers/assembler/consume.ts";
import { Rng } from "../support/random-otlp.ts";
import { aenv, db, deliver, deliverWith, retriedKeys, deps, expectTracesWhole, firstSpanMs, ingest, LATER, objectOf, store, storedMetrics, usageOf } from "./support.ts";
import "./provided-context.ts";

/** Deals messages into `n` queue batches in a seeded random order, some of them in two batches. */
function dealt(messages: IngestBatchMessage[], n: number, seed: number, duplicates: number): IngestBatchMessage[][] {
  const rng = new Rng(seed);
  const order = [...messages];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const batches: IngestBatchMessage[][] = Array.from({ length: n }, () => []);
  order.forEach((m, i) => batches[i % n]!.push(m));
  // At-least-once delivery: the same message handed to two consumers at once.
  for (let d = 0; d < duplicates; d++) batches[(d + 1) % n]!.push(batches[d % n]![0]!);
  return batches;
}

/** Batches run `consumers` at a time, as concurrent consumer invocations; returns each result. */
async function runConcurrently(batches: IngestBatchMessage[][], consumers: number, attempts = 1) {
  const results = [];
  for (let i = 0; i < batches.length; i += consumers) results.push(...(await Promise.all(batches.slice(i, i + consumers).map((b) => deliver(b, attempts)))));
  return results;
}

const graphSpanCount = () => inject("graphTraces").reduce((n, t) => n + t.spans.length, 0);

function expectGraphTruth(rows: Parameters<typeof foldServiceGraph>[0]) {
  const w = inject("graphWindow");
  const graph = foldServiceGraph(rows, { start: w.start - 3600, end: w.end + 3600 });
  const truth = inject("graphTruth");
  expect(graph.edges.map((e) => `${e.source}>${e.target} ${e.requests}/${e.failed}`).sort()).toEqual(truth.map((t) => `${t.source}>${t.target} ${t.requests}/${t.failed}`).sort());
}

async function expectRedTruth(tenantId: string) {
  const byKey = new Map<string, { count: number; errors: number }>();
  for (const r of (await storedMetrics(tenantId)).ops) {
    const key = `${r.service}|${r.operation}|${r.kind}`;
    const t = byKey.get(key) ?? { count: 0, errors: 0 };
    t.count += r.count;
    t.errors += r.errors;
    byKey.set(key, t);
  }
  const truth = new Map(inject("graphRedTruth").map((t) => [`${t.service}|${t.operation}|${t.kind}`, { count: t.count, errors: t.errors }]));
  expect(Object.fromEntries(byKey)).toEqual(Object.fromEntries(truth));
}

describe("parallel assembly", () => {
  it("one tenant through four consumers at once, with duplicates, reordering and redeliveries (one long after): exact", async () => {
    const tenant = await createTenant(db(), "parallel");
    const batches = inject("graphBatches");
    const t0 = (inject("graphWindow").start + 120) * 1000;
    // As SDKs export: one request per arrival batch, received a second apart; half travel inline.
    const messages: IngestBatchMessage[] = [];
    for (const [i, b] of batches.entries()) messages.push(...(await ingest(tenant.id, [b], t0 + i * 1000, i % 2 ? "inline" : "object")));
    expect(messages.length).toBeGreaterThanOrEqual(12);

    // Eight queue batches, four consumers at a time, three messages in two batches at once.
    const results = await runConcurrently(dealt(messages, 8, 7, 3), 4);
    for (const r of results) expect(r.retryMessages).toEqual([]);
    // Redelivered soon (a consumer whose acks were lost), regrouped, two at a time.
    await runConcurrently(dealt(messages, 3, 8, 0), 2, 2);

    await objectOf(tenant.id).flush(tenant.id, LATER());
    await expectTracesWhole(tenant.id, inject("graphTraces"));
    expectGraphTruth(await readEdgeRows(db(), tenant.id, {}));
    await expectRedTruth(tenant.id);
    expect((await usageOf(tenant.id)).reduce((n, u) => n + u.a, 0)).toBe(graphSpanCount());

    // Long after: the blocks compacted and the minutes written; a redelivery of every message (a
    // retry: attempts > 1), four consumers at a time, changes nothing.
    while ((await compactTenant(db(), store(), tenant.id, LATER())).merged > 0);
    const before = { blocks: await listBlocks(db(), tenant.id), metrics: await storedMetrics(tenant.id), usage: await usageOf(tenant.id) };
    await runConcurrently(dealt(messages, 4, 9, 0), 4, 3);
    await objectOf(tenant.id).flush(tenant.id, LATER() + 3_600_000);
    expect({ blocks: await listBlocks(db(), tenant.id), metrics: await storedMetrics(tenant.id), usage: await usageOf(tenant.id) }).toEqual(before);
    await expectTracesWhole(tenant.id, inject("graphTraces"));
  });

  it("several tenants at once, one of them failing: the others finish exact, and the failing one once it recovers", async () => {
    const requests = inject("workloadRequests");
    const at = firstSpanMs(requests) + 3_600_000;
    // Control: each tenant's messages by one consumer, once.
    const control = await createTenant(db(), "many-control");
    await assembleForTenant(await deps(), control.id, await ingest(control.id, requests, at, "inline"), at);
    await objectOf(control.id).flush(control.id, LATER());
    const expected = await storedMetrics(control.id);

    const tenants = await Promise.all(["many-a", "many-b", "many-c", "many-failing"].map((n) => createTenant(db(), n)));
    const failing = tenants[3]!;
    const messages = new Map<string, IngestBatchMessage[]>();
    for (const t of tenants) messages.set(t.id, await ingest(t.id, requests, at, "inline"));
    // One damaged message among tenant a's: it stays with the queue, its neighbours do not.
    const good = messages.get(tenants[0]!.id)![0]!;
    const damaged = { ...good, key: good.key.replace(/\.etb$/, "-x.etb"), inline: good.inline!.map((b, i) => (i === 30 ? b ^ 0xff : b)) };
    const all = [...messages.values()].flat().concat(damaged);

    // A fault workerd cannot produce: the failing tenant's object refuses every commit.
    const real = await assemblerDeps(aenv);
    const faulty = { ...real, tenant: (id: string) => (id === failing.id ? { ...objectOf(id), commit: () => Promise.reject(new Error("object unavailable")) } : objectOf(id)) };
    const batches = dealt(all, 6, 11, 2);
    const results = await Promise.all(batches.map((b) => deliverWith(b, faulty)));
    const retried = new Set(results.flatMap(retriedKeys));
    // Retried: every message of the failing tenant and the damaged one; nothing else.
    expect([...retried].sort()).toEqual([...messages.get(failing.id)!.map((m) => m.key), damaged.key].sort());
    for (const t of tenants.slice(0, 3)) {
      await objectOf(t.id).flush(t.id, LATER());
      expect(await storedMetrics(t.id), t.name).toEqual(expected);
      await expectTracesWhole(t.id, inject("workloadTraces"));
    }
    expect(await listBlocks(db(), failing.id)).not.toEqual([]); // its blocks were written; its commits were not
    expect(await storedMetrics(failing.id)).toEqual({ ops: [], edges: [] });

    // The object is back: the retries (regrouped, with the damaged message still failing) finish it.
    const again = await runConcurrently(dealt([...messages.get(failing.id)!, damaged], 3, 12, 0), 3, 2);
    expect(again.flatMap((r) => r.retryMessages).length).toBe(1);
    await objectOf(failing.id).flush(failing.id, LATER());
    expect(await storedMetrics(failing.id)).toEqual(expected);
    await expectTracesWhole(failing.id, inject("workloadTraces"));
    expect((await usageOf(failing.id)).reduce((n, u) => n + u.a, 0)).toBe(inject("workloadTraces").reduce((n, t) => n + t.spans.length, 0));
  });

  it("writes a batch's catalog rows in one D1 batch; a tenant whose row fails (deleted meanwhile) is retried alone", async () => {
    const requests = inject("workloadRequests").slice(0, 3);
    const at = firstSpanMs(requests) + 3_600_000;
    const [kept, gone] = await Promise.all(["catalog-kept", "catalog-gone"].map((n) => createTenant(db(), n)));
    const messages = [...(await ingest(kept!.id, requests, at, "inline")), ...(await ingest(gone!.id, requests, at, "inline"))];
    // A real fault: the tenant's row goes after the consumer found it live and before the catalog
    // write, so its block's catalog row breaks the foreign key.
    let batches = 0;
    const counting = Object.assign(Object.create(db()), {
      batch: async (s: readonly [unknown, ...unknown[]]) => {
        if (batches++ === 0) await env.DB.prepare("DELETE FROM tenants WHERE id = ?").bind(gone!.id).run();
        return db().batch(s);
      },
    });
    const result = await deliverWith(messages, { ...(await deps()), db: counting });
    // One batch for both rows, then each alone once it failed.
    expect(batches).toBe(3);
    const goneKeys = messages.filter((m) => m.tenantId === gone!.id).map((m) => m.key).sort();
    expect(retriedKeys(result).sort()).toEqual(goneKeys);
    expect((await listBlocks(db(), kept!.id)).length).toBe(1);
    expect((await env.SPANS.list({ prefix: `t/${gone!.id}/blocks/` })).objects).toEqual([]);
    // Redelivered, they belong to no tenant now: dropped, not retried for ever.
    const again = await deliverWith(messages.filter((m) => m.tenantId === gone!.id), await deps(), 2);
    expect(again.retryMessages).toEqual([]);
    expect(again.explicitAcks.length).toBe(goneKeys.length);
  });
});
