import { createMessageBatch, getQueueResult, createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import { listBlocks } from "../../shared/db/queries/blocks.ts";
import { readEdgeRows, readOperationRows } from "../../shared/db/queries/metrics.ts";
import { createTenant } from "../../shared/db/queries/tenants.ts";
import { batchTimeRange, encodeIngestBatch, inlinePayload, type IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import { groupByTrace } from "../../shared/ingest/group-by-trace.ts";
import type { ResourceSpans, TraceBatch } from "../../shared/model/span.ts";
import { foldServiceGraph } from "../../shared/servicegraph/aggregate.ts";
import { ingestBatchKey } from "../../shared/storage/keys.ts";
import { r2Store, type ObjectStore } from "../../shared/storage/object-store.ts";
import { readEdgeRowsWithOpen, readOperationRowsWithOpen } from "../../shared/storage/metrics-reader.ts";
import { decodeState } from "../../shared/assembly/assembler-state.ts";
import type { OperationRow } from "../../shared/metrics/red.ts";
import { LatencyHistogram } from "../../shared/metrics/histogram.ts";
import { findTrace } from "../../shared/storage/trace-reader.ts";
import worker from "../../workers/assembler/index.ts";
import { compactTenant } from "../../workers/assembler/compact.ts";
import { assembleForTenant, flushClosedMinutes, SPILL_AFTER_ATTEMPTS, sweepIngest, SWEEP_AFTER_MS } from "../../workers/assembler/consume.ts";
import { applyRetention } from "../../workers/assembler/retention.ts";
import type { AssemblerEnv } from "../../workers/assembler/env.ts";
import "./provided-context.ts";

const db = () => d1(env.DB) as BatchingDb;
const store = () => r2Store(env.SPANS);
const aenv = env as unknown as AssemblerEnv;

type Carrier = "object" | "inline";

/**
 * The queue messages ingest sends for requests, built as ingest builds them: the ingest object in
 * R2 with the message pointing at it ("object"), or carried in the message ("inline").
 */
async function ingest(tenantId: string, requests: TraceBatch[], receivedAtMs = Date.now(), carrier: Carrier = "object"): Promise<IngestBatchMessage[]> {
  const messages: IngestBatchMessage[] = [];
  for (const [i, req] of requests.entries()) {
    const traces = groupByTrace(req);
    const batchId = crypto.randomUUID();
    const at = receivedAtMs + i;
    const { bytes: stored, spanCount } = encodeIngestBatch({ tenantId, batchId, receivedAtMs: at, source: "otlp-proto", traces });
    const key = ingestBatchKey(tenantId, at, batchId);
    const message: IngestBatchMessage = { v: 2, tenantId, key, batchId, receivedAtMs: at, spanCount, traceCount: traces.length, bytes: stored.byteLength, ...batchTimeRange(traces) };
    if (carrier === "inline") message.inline = await inlinePayload(stored);
    else await env.SPANS.put(key, stored);
    messages.push(message);
  }
  return messages;
}

async function deliver(messages: IngestBatchMessage[], attempts = 1, workerEnv: AssemblerEnv = aenv) {
  const batch = createMessageBatch<IngestBatchMessage>("edgetrace-ingest", messages.map((body, i) => ({ id: `m${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, workerEnv, ctx);
  return getQueueResult(batch, ctx);
}

const spanIds = (rs: ResourceSpans[]) => rs.flatMap((r) => r.scopeSpans.flatMap((ss) => ss.spans.map((s) => `${s.spanId}/${s.kind}`))).sort();

async function expectAllTracesWhole(tenantId: string) {
  for (const t of inject("workloadTraces")) {
    const found = await findTrace(db(), store(), tenantId, t.traceId);
    expect(found, `trace ${t.traceId}`).toBeDefined();
    expect(spanIds(found!.resourceSpans)).toEqual(t.spans);
  }
}

function firstSpanMs(requests: TraceBatch[]): number {
  let min = Infinity;
  for (const r of requests) for (const rs of r.resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) min = Math.min(min, Number(BigInt(sp.startTimeUnixNano) / 1_000_000n));
  return min;
}

const sortOps = (rows: OperationRow[]) => [...rows].sort((a, b) => JSON.stringify([a.minute, a.service, a.operation, a.kind]).localeCompare(JSON.stringify([b.minute, b.service, b.operation, b.kind])));
/** Rows without the tenant, comparable across tenants (histograms by count: merge order changes their bytes). */
const sameOps = (rows: OperationRow[]) => sortOps(rows).map(({ tenant: _tenant, durations, ...r }) => ({ ...r, observed: LatencyHistogram.decode(durations).count }));

/** A store whose conditional write fails after its first success: the state rollback is lost. */
function failingRollback(inner: ObjectStore): ObjectStore {
  let writes = 0;
  return { ...inner, putIfMatch: async (key, body, etag) => (writes++ === 0 ? inner.putIfMatch(key, body, etag) : undefined) };
}

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
    const total = inject("workloadTraces").reduce((n, t) => n + t.spans.length, 0);
    expect((await listBlocks(db(), tenant.id)).reduce((n, b) => n + b.spanCount, 0)).toBe(total);
  });

  it("changes nothing when messages are redelivered", async () => {
    const tenant = await createTenant(db(), "redelivery");
    const messages = await ingest(tenant.id, inject("workloadRequests"));
    await deliver(messages);
    const blocks = await listBlocks(db(), tenant.id);
    const ops = await readOperationRows(db(), tenant.id, {});
    const result = await deliver(messages);
    expect(result.explicitAcks.length).toBe(messages.length);
    expect(await listBlocks(db(), tenant.id)).toEqual(blocks);
    expect(await readOperationRows(db(), tenant.id, {})).toEqual(ops);
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
    const total = inject("workloadTraces").reduce((n, t) => n + t.spans.length, 0);
    expect(after.reduce((n, b) => n + b.spanCount, 0)).toBe(total);
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
    // Received as the spans happen, so their minutes are still open after the last batch.
    const t0 = (w.start + 120) * 1000;
    for (const [i, b] of batches.entries()) await deliver(await ingest(tenant.id, [b], t0 + i * 1000));
    // Halves that never pair are settled when their wait (60 s) ends: deliver a later batch.
    await deliver(await ingest(tenant.id, [{ resourceSpans: [] }], t0 + 90_000));
    const truth = inject("graphTruth");
    const expectTruth = (graph: ReturnType<typeof foldServiceGraph>) => {
      expect(graph.edges.length).toBe(truth.length);
      for (const t of truth) {
        const e = graph.edges.find((x) => x.source === t.source && x.target === t.target);
        expect(e, `${t.source} -> ${t.target}`).toBeDefined();
        expect({ requests: e!.requests, failed: e!.failed }).toEqual({ requests: t.requests, failed: t.failed });
      }
    };
    // No minute has closed yet: nothing in D1, everything in the state object, seen by the reader.
    expect(await readEdgeRows(db(), tenant.id, {})).toEqual([]);
    expectTruth(foldServiceGraph(await readEdgeRowsWithOpen(db(), store(), tenant.id, w), w));
    // The cron's flush, once every minute has closed, writes them.
    expect(await flushClosedMinutes(db(), store(), tenant.id, t0 + 20 * 60_000)).toBeGreaterThan(0);
    expectTruth(foldServiceGraph(await readEdgeRows(db(), tenant.id, {}), w));
    expectTruth(foldServiceGraph(await readEdgeRowsWithOpen(db(), store(), tenant.id, w), w));
    expect(await flushClosedMinutes(db(), store(), tenant.id, t0 + 30 * 60_000)).toBe(0);
  });

  it("writes each minute's metric rows to D1 once, after the minute closes", async () => {
    const requests = inject("workloadRequests");
    const r0 = firstSpanMs(requests);
    // Control: everything received an hour later, one batch, every minute closed at once.
    const control = await createTenant(db(), "rows-control");
    await assembleForTenant(db(), store(), control.id, (await ingest(control.id, requests, r0 + 3_600_000)));
    const expected = sortOps(await readOperationRows(db(), control.id, {}));
    expect(expected.length).toBeGreaterThan(0);

    const tenant = await createTenant(db(), "rows-once");
    let written = 0;
    const counting = Object.assign(Object.create(db()), {
      batch: (statements: readonly [unknown, ...unknown[]]) => {
        written += statements.length;
        return db().batch(statements);
      },
    }) as BatchingDb;
    // One queue batch every 2 s as the spans arrive.
    for (const [i, r] of requests.entries()) {
      await assembleForTenant(counting, store(), tenant.id, (await ingest(tenant.id, [r], r0 + i * 2000)));
    }
    const catalogRows = requests.length;
    // Each batch: its catalog row and its usage row (one day), no metric row yet.
    expect(written).toBe(2 * catalogRows);
    expect(await readOperationRows(db(), tenant.id, {})).toEqual([]);
    expect(await readEdgeRows(db(), tenant.id, {})).toEqual([]);
    const window = { start: Math.floor(r0 / 1000) - 3600, end: Math.floor(r0 / 1000) + 3600 };
    expect(sameOps(await readOperationRowsWithOpen(db(), store(), tenant.id, window))).toEqual(sameOps(expected));

    // A batch whose watermark closes the minutes flushes them, merged with the open rows.
    const late = await ingest(tenant.id, [{ resourceSpans: [] }], r0 + 10 * 60_000);
    await assembleForTenant(counting, store(), tenant.id, late);
    const ops = await readOperationRows(db(), tenant.id, {});
    const edges = await readEdgeRows(db(), tenant.id, {});
    expect(sameOps(ops)).toEqual(sameOps(expected));
    expect(edges.length).toBeGreaterThan(0);
    // Every row written exactly once.
    expect(written).toBe(2 * catalogRows + 1 + ops.length + edges.length);
    const state = decodeState((await store().get(`t/${tenant.id}/state/servicegraph.json`))!);
    expect([state.openEdgeRows.length, state.openOperationRows.length]).toEqual([0, 0]);
  });

  it("counts a batch once when its D1 batch fails after the state was saved", async () => {
    const requests = inject("workloadRequests").slice(0, 3);
    const r0 = firstSpanMs(requests);
    const control = await createTenant(db(), "fail-control");
    await assembleForTenant(db(), store(), control.id, (await ingest(control.id, requests, r0 + 3_600_000)));
    const expected = sameOps(await readOperationRows(db(), control.id, {}));
    const failing = Object.assign(Object.create(db()), { batch: async () => { throw new Error("D1 unavailable"); } }) as BatchingDb;

    for (const [name, rollbackFails] of [["fail-rollback", false], ["fail-crash", true]] as const) {
      const tenant = await createTenant(db(), name);
      const keys = await ingest(tenant.id, requests, r0 + 3_600_000);
      // rollbackFails: as if the worker died between the state write and the D1 batch.
      const s = rollbackFails ? failingRollback(store()) : store();
      await expect(assembleForTenant(failing, s, tenant.id, keys)).rejects.toThrow(/D1 unavailable/);
      await assembleForTenant(db(), store(), tenant.id, keys);
      expect(sameOps(await readOperationRows(db(), tenant.id, {})), name).toEqual(expected);
    }
  });

  it("does not count twice when a catalogued batch is redelivered after its state was lost", async () => {
    const tenant = await createTenant(db(), "lost-state");
    const requests = inject("workloadRequests").slice(0, 3);
    const r0 = firstSpanMs(requests);
    const messages = await ingest(tenant.id, requests, r0 + 3_600_000);
    const objects = await Promise.all(messages.map(async (m) => [m.key, new Uint8Array(await (await env.SPANS.get(m.key))!.arrayBuffer())] as const));
    const stateKey = `t/${tenant.id}/state/servicegraph.json`;
    const before = await env.SPANS.get(stateKey);
    expect(before).toBeNull();
    await deliver(messages);
    const ops = sameOps(await readOperationRows(db(), tenant.id, {}));
    const edges = (await readEdgeRows(db(), tenant.id, {})).length;
    expect(ops.length).toBeGreaterThan(0);
    // The state as before the batch, and the ingest objects back (their delete "failed").
    await env.SPANS.delete(stateKey);
    for (const [key, bytes] of objects) await env.SPANS.put(key, bytes);
    const result = await deliver(messages);
    expect(result.explicitAcks.length).toBe(messages.length);
    expect(sameOps(await readOperationRows(db(), tenant.id, {}))).toEqual(ops);
    expect((await readEdgeRows(db(), tenant.id, {})).length).toBe(edges);
    expect((await listBlocks(db(), tenant.id)).length).toBe(1);
  });

  it("sweeps ingest objects whose queue message was lost", async () => {
    const tenant = await createTenant(db(), "sweep");
    await ingest(tenant.id, inject("workloadRequests")); // written, never delivered
    expect(await sweepIngest(db(), store(), tenant.id, Date.now())).toBe(0); // too young to be lost
    expect(await sweepIngest(db(), store(), tenant.id, Date.now() + SWEEP_AFTER_MS + 60_000)).toBe(inject("workloadRequests").length);
    expect((await env.SPANS.list({ prefix: `t/${tenant.id}/ingest/` })).objects).toEqual([]);
    await expectAllTracesWhole(tenant.id);
  });

  it("leaves no uncatalogued block behind when recording it fails", async () => {
    const tenant = await createTenant(db(), "orphan");
    const messages = await ingest(tenant.id, inject("workloadRequests").slice(0, 2));
    // A fault that cannot be produced for real in workerd: D1 refusing the batch.
    const failing = Object.assign(Object.create(db()), { batch: async () => { throw new Error("D1 unavailable"); } }) as BatchingDb;
    await expect(assembleForTenant(failing, store(), tenant.id, messages)).rejects.toThrow(/D1 unavailable/);
    expect((await env.SPANS.list({ prefix: `t/${tenant.id}/blocks/` })).objects).toEqual([]);
    // The ingest objects are still there for the retry, which succeeds.
    expect((await env.SPANS.list({ prefix: `t/${tenant.id}/ingest/` })).objects.length).toBe(2);
    await assembleForTenant(db(), store(), tenant.id, messages);
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
    const blocks = await listBlocks(db(), tenant.id);
    const ops = await readOperationRows(db(), tenant.id, {});
    const edges = await readEdgeRows(db(), tenant.id, {});
    // The same batch again, then every message in one batch (grouped differently: another block id).
    for (const again of [messages.slice(0, half), messages]) {
      const result = await deliver(again);
      expect(result.explicitAcks.length).toBe(again.length);
    }
    expect(await listBlocks(db(), tenant.id)).toEqual(blocks);
    expect(await readOperationRows(db(), tenant.id, {})).toEqual(ops);
    expect(await readEdgeRows(db(), tenant.id, {})).toEqual(edges);
    await expectAllTracesWhole(tenant.id);
  });

  it("counts a batch once when its D1 batch fails after the state was saved", async () => {
    const requests = inject("workloadRequests").slice(0, 3);
    const r0 = firstSpanMs(requests);
    const control = await createTenant(db(), "inline-fail-control");
    await assembleForTenant(db(), store(), control.id, await ingest(control.id, requests, r0 + 3_600_000, "inline"));
    const expected = sameOps(await readOperationRows(db(), control.id, {}));
    expect(expected.length).toBeGreaterThan(0);
    const failing = Object.assign(Object.create(db()), { batch: async () => { throw new Error("D1 unavailable"); } }) as BatchingDb;
    for (const [name, rollbackFails] of [["inline-fail-rollback", false], ["inline-fail-crash", true]] as const) {
      const tenant = await createTenant(db(), name);
      const messages = await ingest(tenant.id, requests, r0 + 3_600_000, "inline");
      const s = rollbackFails ? failingRollback(store()) : store();
      await expect(assembleForTenant(failing, s, tenant.id, messages)).rejects.toThrow(/D1 unavailable/);
      expect((await env.SPANS.list({ prefix: `t/${tenant.id}/blocks/` })).objects, name).toEqual([]);
      await assembleForTenant(db(), store(), tenant.id, messages);
      // And a redelivery after success changes nothing.
      await assembleForTenant(db(), store(), tenant.id, messages);
      expect(sameOps(await readOperationRows(db(), tenant.id, {})), name).toEqual(expected);
      expect((await listBlocks(db(), tenant.id)).length, name).toBe(1);
    }
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
    expect(await sweepIngest(db(), store(), tenant.id, Date.now() + SWEEP_AFTER_MS + 60_000)).toBe(messages.length);
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
  const usage = async (tenantId: string) => (await env.DB.prepare("SELECT day, spans_accepted AS a, spans_rejected AS r FROM usage_days WHERE tenant_id = ? ORDER BY day").bind(tenantId).all<{ day: string; a: number; r: number }>()).results;

  it("counts accepted and rejected spans per day once, whatever the redelivery", async () => {
    const tenant = await createTenant(db(), "usage");
    const requests = inject("workloadRequests");
    const at = Date.UTC(2026, 10, 20, 12);
    const messages = await ingest(tenant.id, requests, at, "inline");
    messages[0]!.rejectedSpans = 3;
    // A request whose spans were all refused: a usage-only message.
    const refused: IngestBatchMessage = { ...messages[1]!, key: `${messages[1]!.key}-refused`, batchId: "refused", spanCount: 0, traceCount: 0, bytes: 0, inline: undefined, rejectedSpans: 4 };
    const all = [...messages, refused];
    const total = messages.reduce((n, m) => n + m.spanCount, 0);
    await deliver(all);
    await deliver(all); // redelivered whole
    await deliver([refused, ...messages.slice(0, 2)]); // and regrouped
    expect(await usage(tenant.id)).toEqual([{ day: "2026-11-20", a: total, r: 7 }]);
  });
});
