/**
 * What the assembler tests share: queue messages built as ingest builds them, delivery through the
 * real assembler entry, the tenant's object, and reads of what ended up stored.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import { readEdgeRows, readOperationRows } from "../../shared/db/queries/metrics.ts";
import { batchTimeRange, encodeIngestBatch, inlinePayload, type IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import { groupByTrace } from "../../shared/ingest/group-by-trace.ts";
import { LatencyHistogram } from "../../shared/metrics/histogram.ts";
import type { OperationRow } from "../../shared/metrics/red.ts";
import type { ResourceSpans, TraceBatch } from "../../shared/model/span.ts";
import { ingestBatchKey } from "../../shared/storage/keys.ts";
import { r2Store } from "../../shared/storage/object-store.ts";
import { findTrace } from "../../shared/storage/trace-reader.ts";
import { tenantObject, type TenantObjectApi, type TenantObjectNamespace } from "../../shared/tenant-object/api.ts";
import worker from "../../workers/assembler/index.ts";
import { assemblerDeps, consumeBatch, type AssemblerDeps } from "../../workers/assembler/consume.ts";
import type { AssemblerEnv } from "../../workers/assembler/env.ts";
import type { TenantObject } from "../../workers/assembler/tenant-object.ts";
import "./provided-context.ts";

export const db = () => d1(env.DB) as BatchingDb;
export const store = () => r2Store(env.SPANS);
export const aenv = env as unknown as AssemblerEnv;
export const deps = (): Promise<AssemblerDeps> => assemblerDeps(aenv);

/** The tenant's object, as the workers reach it. */
export const objectOf = (tenantId: string): TenantObjectApi => tenantObject(aenv.TENANTS as unknown as TenantObjectNamespace, tenantId);
/** The same object's stub with its test-only methods (stats). */
export const stubOf = (tenantId: string): DurableObjectStub<TenantObject> => aenv.TENANTS.get(aenv.TENANTS.idFromName(tenantId));

export type Carrier = "object" | "inline";

/**
 * The queue messages ingest sends for requests, built as ingest builds them: the ingest object in
 * R2 with the message pointing at it ("object"), or carried in the message ("inline").
 */
export async function ingest(tenantId: string, requests: TraceBatch[], receivedAtMs = Date.now(), carrier: Carrier = "object"): Promise<IngestBatchMessage[]> {
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

/** One consumer invocation of the real assembler entry, as the queue runs it. */
export async function deliver(messages: IngestBatchMessage[], attempts = 1, workerEnv: AssemblerEnv = aenv) {
  const batch = createMessageBatch<IngestBatchMessage>("edgetrace-ingest", messages.map((body, i) => ({ id: `m${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts, body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, workerEnv, ctx);
  return getQueueResult(batch, ctx);
}

/**
 * One consumer invocation with the assembler's dependencies given (a fault workerd cannot make,
 * or a counting database). Message ids are `<index>:<key>`, so a result names its keys.
 */
export async function deliverWith(messages: IngestBatchMessage[], deps: AssemblerDeps, attempts = 1) {
  const batch = createMessageBatch<IngestBatchMessage>("edgetrace-ingest", messages.map((body, i) => ({ id: `${i}:${body.key}`, timestamp: new Date(), attempts, body })));
  const ctx = createExecutionContext();
  await consumeBatch(batch, aenv, { deps });
  return getQueueResult(batch, ctx);
}

/** The keys of the messages a queue result retries (ids from `deliverWith`). */
export const retriedKeys = (result: Awaited<ReturnType<typeof deliverWith>>) => result.retryMessages.map((m) => m.msgId.slice(m.msgId.indexOf(":") + 1));

export const spanIds = (rs: ResourceSpans[]) => rs.flatMap((r) => r.scopeSpans.flatMap((ss) => ss.spans.map((s) => `${s.spanId}/${s.kind}`))).sort();

/** Every trace reads back whole, each span once. */
export async function expectTracesWhole(tenantId: string, traces: { traceId: string; spans: string[] }[]) {
  for (const t of traces) {
    const found = await findTrace(db(), store(), tenantId, t.traceId);
    expect(found, `trace ${t.traceId}`).toBeDefined();
    expect(spanIds(found!.resourceSpans)).toEqual(t.spans);
  }
}

export function firstSpanMs(requests: TraceBatch[]): number {
  let min = Infinity;
  for (const r of requests) for (const rs of r.resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) min = Math.min(min, Number(BigInt(sp.startTimeUnixNano) / 1_000_000n));
  return min;
}

const sortOps = (rows: OperationRow[]) => [...rows].sort((a, b) => JSON.stringify([a.minute, a.service, a.operation, a.kind]).localeCompare(JSON.stringify([b.minute, b.service, b.operation, b.kind])));
/** Rows without the tenant, comparable across tenants (histograms by count: merge order changes their bytes). */
export const sameOps = (rows: OperationRow[]) => sortOps(rows).map(({ tenantId: _tenantId, durations, ...r }) => ({ ...r, observed: LatencyHistogram.decode(durations).count }));

/** What D1 holds of the tenant's metrics, comparable across tenants. */
export async function storedMetrics(tenantId: string) {
  const edges = (await readEdgeRows(db(), tenantId, {})).map(({ tenantId: _tenantId, clientDurations, serverDurations, ...r }) => ({ ...r, client: LatencyHistogram.decode(clientDurations).count, server: LatencyHistogram.decode(serverDurations).count }));
  edges.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { ops: sameOps(await readOperationRows(db(), tenantId, {})), edges };
}

export async function usageOf(tenantId: string) {
  return (await env.DB.prepare("SELECT day, spans_accepted AS a, spans_rejected AS r FROM usage_days WHERE tenant_id = ? ORDER BY day").bind(tenantId).all<{ day: string; a: number; r: number }>()).results;
}

/** A wall clock long after everything: every minute closes, every half's wait is over. */
export const LATER = () => Date.now() + 6 * 3_600_000;
