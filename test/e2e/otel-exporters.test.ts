/**
 * The real OpenTelemetry JS SDK and its three HTTP exporters (OTLP protobuf, OTLP JSON, Zipkin)
 * against the running stack, checked along the whole data path: ingest writes an object per
 * request and queues it, the assembler turns the objects into compressed blocks in R2 with a
 * catalog row in D1 and deletes them, and every trace the SDK exported is then found by id through
 * the catalog (`findTrace`, as the query side reads) with every span and the fields it was sent
 * with, under its tenant only. Keys that may not write (revoked, unknown, read-only) make the SDK's
 * export fail with 401/403 and leave nothing behind.
 */
import { diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span as ApiSpan, type Tracer } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter as OTLPJsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { ZipkinExporter } from "@opentelemetry/exporter-zipkin";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator, SimpleSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decodeBlock } from "../../shared/block/read-block.ts";
import type { Db } from "../../shared/db/client.ts";
import { blocks as blockCatalog, type Block } from "../../shared/db/schema.ts";
import type { KeyValue, ResourceSpans, Span as StoredModelSpan } from "../../shared/model/span.ts";
import { blockKey } from "../../shared/storage/keys.ts";
import { findTrace } from "../../shared/storage/trace-reader.ts";
import {
  adminClient,
  attrRecord,
  flattenResourceSpans,
  hrTimeToNanos,
  openStackStorage,
  RecordingExporter,
  retryTransient,
  stringAttr,
  toKeyValues,
  type CreatedKey,
  type FoundSpan,
  type StackStorage,
} from "./support.ts";

const ingestUrl = inject("ingestUrl");
const dashboardUrl = inject("dashboardUrl");
const adminToken = inject("adminToken");
const stateDir = inject("stateDir");
const stackDir = inject("stackDir");

const otlpUrl = `${ingestUrl}/v1/traces`;
const zipkinUrl = `${ingestUrl}/api/v2/spans`;

// Warnings the SDK logs through `diag`: a partial-success answer or an undecodable response body
// would only show up here, since the export itself still reports SUCCESS.
const diagMessages: string[] = [];
diag.setLogger(
  {
    error: (...args: unknown[]) => diagMessages.push(`error ${args.map(String).join(" ")}`),
    warn: (...args: unknown[]) => diagMessages.push(`warn ${args.map(String).join(" ")}`),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  },
  { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
);

// ---------------------------------------------------------------------------------------------
// What each exporter sends: three traces over two services, one of them crossing services, with
// every attribute type, events, a link to another trace, an error and kinds of every sort.

const SPANS_PER_SCENARIO = 28;

function emitScenario(label: string, front: Tracer, back: Tracer, t0: number): void {
  const ctx = (span: ApiSpan) => trace.setSpan(ROOT_CONTEXT, span);

  // Trace 2 first, so trace 1 can link to it: a queue consumer in the back service.
  const job = back.startSpan(`${label} background-job`, { kind: SpanKind.CONSUMER, startTime: t0 - 500, attributes: { "messaging.system": "cloudflare-queues", "messaging.batch.message_count": 3 } });
  const step = back.startSpan(`${label} job.step`, { startTime: t0 - 480 }, ctx(job));
  step.addEvent("step.started", { "step.index": 1 }, t0 - 479);
  step.addEvent("step.finished", {}, t0 - 420);
  step.end(t0 - 410);
  job.end(t0 - 400);

  // Trace 1: front -> back across services, ending in an error.
  const root = front.startSpan(`${label} GET /checkout`, {
    kind: SpanKind.SERVER,
    startTime: t0,
    attributes: {
      "http.request.method": "GET",
      "url.path": "/checkout",
      "http.response.status_code": 500,
      "app.retry": true,
      "app.ratio": 0.25,
      "app.tags": ["alpha", "beta"],
      "app.label": label,
    },
  });
  const call = front.startSpan(`${label} POST /charge`, { kind: SpanKind.CLIENT, startTime: t0 + 10, attributes: { "http.request.method": "POST", "server.address": "payments.internal" } }, ctx(root));
  const charge = back.startSpan(`${label} charge`, { kind: SpanKind.SERVER, startTime: t0 + 15, attributes: { "payment.amount_cents": 1999 } }, ctx(call));
  const query = back.startSpan(
    `${label} db.query`,
    {
      kind: SpanKind.INTERNAL,
      startTime: t0 + 20,
      attributes: { "db.system.name": "sqlite", "db.query.text": "SELECT balance FROM accounts WHERE id = ?" },
      links: [{ context: job.spanContext(), attributes: { "link.reason": "follows-from" } }],
    },
    ctx(charge),
  );
  query.addEvent("cache.miss", undefined, t0 + 30);
  query.end(t0 + 60);
  charge.addEvent("exception", { "exception.type": "CardDeclined", "exception.message": "card declined" }, t0 + 50);
  charge.setStatus({ code: SpanStatusCode.ERROR, message: "card declined" });
  charge.end(t0 + 95);
  call.setStatus({ code: SpanStatusCode.ERROR });
  call.end(t0 + 100);
  const render = front.startSpan(`${label} render`, { startTime: t0 + 100 }, ctx(root));
  render.setStatus({ code: SpanStatusCode.OK });
  render.end(t0 + 118);
  root.end(t0 + 120);

  // Trace 3: a fan-out of 20 producer spans.
  const batch = front.startSpan(`${label} batch`, { kind: SpanKind.SERVER, startTime: t0 + 200 });
  for (let i = 0; i < 20; i++) {
    front.startSpan(`${label} item ${i}`, { kind: SpanKind.PRODUCER, startTime: t0 + 201 + i, attributes: { "item.index": i } }, ctx(batch)).end(t0 + 202 + i);
  }
  batch.end(t0 + 230);
}

interface Run {
  recorder: RecordingExporter;
  /** What forceFlush threw, if it did (the processors reject it when an export failed). */
  flushError?: unknown;
  /** What the SDK logged through `diag` while this run exported. */
  diag: string[];
}

/** Flushes `processor` (keeping what it threw), then `shutdown`: the run, with what diag logged meanwhile. */
async function flushRun(recorder: RecordingExporter, processor: SpanProcessor, shutdown: () => Promise<unknown>): Promise<Run> {
  const run: Run = { recorder, diag: [] };
  const diagBefore = diagMessages.length;
  try {
    await processor.forceFlush();
  } catch (err) {
    run.flushError = err;
  }
  await shutdown();
  run.diag = diagMessages.slice(diagBefore);
  return run;
}

/**
 * Two services (two providers with their own resource) behind one exporter and one batch
 * processor, so a single request carries two resources, as from a gateway collector.
 */
async function exportWithBatchProcessor(exporter: SpanExporter, label: string, t0: number): Promise<Run> {
  const recorder = new RecordingExporter(exporter);
  const processor = new BatchSpanProcessor(recorder, { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 60_000 });
  const resource = (service: string) => resourceFromAttributes({ "service.name": service, "service.version": "1.4.2", "deployment.environment.name": "e2e" });
  const providers = [`${label}-frontend`, `${label}-payments`].map((service) => new BasicTracerProvider({ resource: resource(service), spanProcessors: [processor] }));
  emitScenario(label, providers[0]!.getTracer("edgetrace-e2e/frontend", "0.1.0"), providers[1]!.getTracer("edgetrace-e2e/payments", "0.2.0"), t0);
  return flushRun(recorder, processor, () => Promise.all(providers.map((p) => p.shutdown())));
}

const ZERO_TRACE_ID = "0".repeat(32);

/**
 * One request with a span ingest must reject (an all-zero trace id, which the SDK does not check
 * when its IdGenerator hands one out) between two good ones: the answer is a partial success.
 */
async function exportPartlyInvalid(exporter: SpanExporter, label: string, t0: number): Promise<Run> {
  const recorder = new RecordingExporter(exporter);
  const processor = new BatchSpanProcessor(recorder, { scheduledDelayMillis: 60_000 });
  const random = new RandomIdGenerator();
  let traces = 0;
  const idGenerator = { generateTraceId: () => (traces++ === 1 ? ZERO_TRACE_ID : random.generateTraceId()), generateSpanId: () => random.generateSpanId() };
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": `${label}-partial` }), idGenerator, spanProcessors: [processor] });
  const tracer = provider.getTracer("edgetrace-e2e/partial");
  const good = tracer.startSpan(`${label} good`, { startTime: t0 });
  tracer.startSpan(`${label} bad`, { startTime: t0 + 1 }).end(t0 + 2);
  tracer.startSpan(`${label} good child`, { startTime: t0 + 3 }, trace.setSpan(ROOT_CONTEXT, good)).end(t0 + 4);
  good.end(t0 + 5);
  return flushRun(recorder, processor, () => provider.shutdown());
}

/** One span through a SimpleSpanProcessor (one request), for the keys that must be refused. */
async function exportOneSpan(exporter: SpanExporter, name: string): Promise<Run> {
  const recorder = new RecordingExporter(exporter);
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "refused" }), spanProcessors: [new SimpleSpanProcessor(recorder)] });
  provider.getTracer("edgetrace-e2e/refused").startSpan(name, { attributes: { "should.not": "be stored" } }).end();
  const run: Run = { recorder, diag: [] };
  try {
    await provider.forceFlush();
  } catch (err) {
    run.flushError = err; // processors rethrow a failed export from forceFlush
  }
  await provider.shutdown();
  return run;
}

function spanKey(traceId: string, spanId: string): string {
  return `${traceId}/${spanId}`;
}

/** The spans a run exported that ingest should have accepted (all but the all-zero trace ids), by trace id. */
function exportedTraces(runs: Run[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of runs) {
    for (const s of r.recorder.spans) {
      const { traceId, spanId } = s.spanContext();
      if (traceId === ZERO_TRACE_ID) continue;
      let set = out.get(traceId);
      if (!set) out.set(traceId, (set = new Set()));
      set.add(spanKey(traceId, spanId));
    }
  }
  return out;
}

function allKeys(traces: Map<string, Set<string>>): string[] {
  return [...traces.values()].flatMap((set) => [...set]);
}

function foundKeys(spans: FoundSpan[]): string[] {
  return spans.map((s) => spanKey(s.span.traceId, s.span.spanId));
}

function sortedAttrs(kvs: KeyValue[]): KeyValue[] {
  return [...kvs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The stored span the OTLP exporters should have produced from an SDK span. */
function expectedOtlpSpan(s: ReadableSpan) {
  return {
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? "",
    name: s.name,
    kind: s.kind + 1, // api SpanKind is OTLP's minus one (no UNSPECIFIED)
    startTimeUnixNano: hrTimeToNanos(s.startTime),
    endTimeUnixNano: hrTimeToNanos(s.endTime),
    attributes: sortedAttrs(toKeyValues(s.attributes)),
    events: s.events.map((e) => ({ name: e.name, timeUnixNano: hrTimeToNanos(e.time), attributes: sortedAttrs(toKeyValues(e.attributes ?? {})) })),
    links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId, attributes: sortedAttrs(toKeyValues(l.attributes ?? {})) })),
    status: { code: s.status.code, message: s.status.message ?? "" },
  };
}

function comparableStoredSpan(s: StoredModelSpan) {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: s.startTimeUnixNano,
    endTimeUnixNano: s.endTimeUnixNano,
    attributes: sortedAttrs(s.attributes),
    events: s.events.map((e) => ({ name: e.name, timeUnixNano: e.timeUnixNano, attributes: sortedAttrs(e.attributes) })),
    links: s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: sortedAttrs(l.attributes) })),
    status: { code: s.status.code, message: s.status.message },
  };
}

/** Microseconds as the Zipkin exporter computes them (core's hrTimeToMicroseconds). */
function hrTimeToMicros(t: [number, number]): bigint {
  return BigInt(t[0]) * 1_000_000n + BigInt(Math.round(t[1] / 1000));
}

// ---------------------------------------------------------------------------------------------
// Waiting for the assembler, and a snapshot of what the stack stored once it is done

/** How long the assembler may take to turn every accepted request into catalogued blocks. */
const ASSEMBLY_DEADLINE_MS = 60_000;

interface ExpectedTenant {
  tenantId: string;
  /** Trace id -> the span keys ingest accepted for it. */
  traces: Map<string, Set<string>>;
}

const ingestPrefix = (tenantId: string) => `t/${tenantId}/ingest/`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits, up to the deadline, until the assembler consumed every accepted request and every
 * expected trace is found whole through the block catalog; fails saying what is still missing.
 *
 * In two steps, because a D1 query from this process while the assembler records a block makes the
 * assembler's query fail (see openStackStorage): first R2 only, until the tenants' ingest objects
 * are gone (the assembler deletes an object only after its block and catalog row are recorded, and
 * all of them were written before the exports returned), then `findTrace` until every trace is
 * there, which by then it should be at the first look.
 */
async function waitForAssembly(storage: StackStorage, tenants: ExpectedTenant[], startedAt: number): Promise<{ ingestGoneMs: number; tracesFoundMs: number; catalog: Db }> {
  const deadline = startedAt + ASSEMBLY_DEADLINE_MS;
  for (;;) {
    const left: string[] = [];
    for (const { tenantId } of tenants) left.push(...(await storage.listKeys(ingestPrefix(tenantId))));
    if (!left.length) break;
    if (Date.now() > deadline) {
      const blocks = (await storage.listKeys("t/")).filter((k) => k.includes("/blocks/"));
      throw new Error(`after ${ASSEMBLY_DEADLINE_MS / 1000} s, ${left.length} ingest object(s) were not consumed by the assembler (${left.join(", ")}); block objects so far: ${blocks.join(", ") || "none"}`);
    }
    await sleep(1000);
  }
  const ingestGoneMs = Date.now() - startedAt;

  const catalog = await storage.openCatalog();
  const pending = new Map(tenants.map((t) => [t.tenantId, new Map(t.traces)]));
  for (;;) {
    for (const [tenantId, traces] of pending) {
      for (const [traceId, expected] of traces) {
        const found = await retryTransient(() => findTrace(catalog, storage.store, tenantId, traceId));
        const got = new Set(found ? foundKeys(flattenResourceSpans(found.resourceSpans)) : []);
        if ([...expected].every((k) => got.has(k))) traces.delete(traceId);
      }
    }
    if ([...pending.values()].every((t) => t.size === 0)) return { ingestGoneMs, tracesFoundMs: Date.now() - startedAt, catalog };
    if (Date.now() > deadline) {
      const missing = [...pending].flatMap(([tenantId, traces]) => [...traces.keys()].map((id) => `${tenantId}/${id}`));
      throw new Error(`after ${ASSEMBLY_DEADLINE_MS / 1000} s, with every ingest object consumed, ${missing.length} trace(s) are not found whole through the block catalog: ${missing.join(", ")}`);
    }
    await sleep(1000);
  }
}

interface StoredBlock {
  key: string;
  /** The tenant and block id the object key names. */
  keyTenant: string;
  keyBlockId: string;
  bytes: number;
  /** What the block says about itself (its summary table's identity). */
  tenantId: string;
  blockId: string;
  traceCount: number;
  spanCount: number;
  /** traceId/spanId of every span in the block. */
  spanKeys: Set<string>;
  spanIds: Set<string>;
}

interface StackSnapshot {
  /** Each tenant's exported traces as findTrace answers for that tenant. */
  traces: Map<string, Map<string, ResourceSpans[] | undefined>>;
  /** findTrace answers that must be empty: `<tenant>/<trace id>` -> what was found. */
  mustBeAbsent: Map<string, ResourceSpans[] | undefined>;
  /** Every block object in the bucket, decoded. */
  blocks: StoredBlock[];
  /** Every catalog row (all tenants). */
  catalog: Block[];
  /** Every other object in the bucket (ingest objects left over, assembler state) with its text. */
  otherObjects: { key: string; text: string }[];
  /** Ingest objects under each tenant's prefix. */
  ingestKeys: Map<string, string[]>;
}

const BLOCK_KEY = /^t\/([A-Za-z0-9_-]{1,64})\/blocks\/([A-Za-z0-9_-]{1,64})$/;

async function snapshotStack(storage: StackStorage, db: Db, tenants: ExpectedTenant[], absent: { tenantId: string; traceId: string }[]): Promise<StackSnapshot> {
  const traces = new Map<string, Map<string, ResourceSpans[] | undefined>>();
  for (const { tenantId, traces: expected } of tenants) {
    const found = new Map<string, ResourceSpans[] | undefined>();
    for (const traceId of expected.keys()) found.set(traceId, (await retryTransient(() => findTrace(db, storage.store, tenantId, traceId)))?.resourceSpans);
    traces.set(tenantId, found);
  }
  const mustBeAbsent = new Map<string, ResourceSpans[] | undefined>();
  for (const { tenantId, traceId } of absent) {
    mustBeAbsent.set(`${tenantId}/${traceId}`, (await retryTransient(() => findTrace(db, storage.store, tenantId, traceId)))?.resourceSpans);
  }
  const catalog = await retryTransient(() => db.select().from(blockCatalog).all());
  const blocks: StoredBlock[] = [];
  const otherObjects: { key: string; text: string }[] = [];
  for (const key of await storage.listKeys("t/")) {
    const bytes = await storage.readBytes(key);
    if (!bytes) continue; // removed since it was listed
    const m = BLOCK_KEY.exec(key);
    if (!m) {
      otherObjects.push({ key, text: new TextDecoder().decode(bytes) });
      continue;
    }
    const decoded = await decodeBlock(bytes);
    const spans = decoded.traces.flatMap((t) => flattenResourceSpans(t.resourceSpans));
    blocks.push({
      key,
      keyTenant: m[1]!,
      keyBlockId: m[2]!,
      bytes: bytes.length,
      tenantId: decoded.table.block.tenantId,
      blockId: decoded.table.block.blockId,
      traceCount: decoded.traces.length,
      spanCount: spans.length,
      spanKeys: new Set(foundKeys(spans)),
      spanIds: new Set(spans.map((s) => s.span.spanId)),
    });
  }
  const ingestKeys = new Map<string, string[]>();
  for (const { tenantId } of tenants) ingestKeys.set(tenantId, await storage.listKeys(ingestPrefix(tenantId)));
  return { traces, mustBeAbsent, blocks, catalog, otherObjects, ingestKeys };
}

// ---------------------------------------------------------------------------------------------

describe("OpenTelemetry JS SDK exporters -> ingest -> assembler -> blocks in R2 + D1 catalog", () => {
  const admin = adminClient(dashboardUrl, adminToken);
  let tenantA: string;
  let tenantB: string;
  const runs = {} as Record<"proto" | "json" | "zipkin" | "tenantB" | "partialProto" | "partialJson" | "revokedProto" | "revokedZipkin" | "unknownJson" | "readOnlyJson" | "readOnlyZipkin", Run>;
  let expectedA: Map<string, Set<string>>;
  let expectedB: Map<string, Set<string>>;
  let snapshot: StackSnapshot;
  /** Every span of tenant A's (B's) exported traces, as findTrace under A (B) answered. */
  let storedA: FoundSpan[];
  let storedB: FoundSpan[];
  let refusedRuns: Run[];

  beforeAll(async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    tenantA = (await admin.createTenant(`e2e otel A ${suffix}`)).id;
    tenantB = (await admin.createTenant(`e2e otel B ${suffix}`)).id;
    const keyA: CreatedKey = await admin.createKey(tenantA, "collector", ["ingest"]);
    const keyB: CreatedKey = await admin.createKey(tenantB, "collector", ["ingest"]);
    const readOnlyA: CreatedKey = await admin.createKey(tenantA, "grafana", ["read"]);
    // Revoked before its first use: the ingest worker caches a *found* key for 30 s, per key, so
    // a key that was never looked up is refused at once.
    const revokedA: CreatedKey = await admin.createKey(tenantA, "leaked", ["ingest", "read"]);
    expect(await admin.revokeKey(tenantA, revokedA.id)).toBe(204);

    const t0 = Date.now() - 60_000;
    runs.proto = await exportWithBatchProcessor(new OTLPProtoTraceExporter({ url: otlpUrl, headers: { "x-api-key": keyA.secret } }), "proto", t0);
    runs.json = await exportWithBatchProcessor(
      new OTLPJsonTraceExporter({ url: otlpUrl, headers: { "x-api-key": keyA.secret }, compression: "gzip" as NonNullable<ConstructorParameters<typeof OTLPJsonTraceExporter>[0]>["compression"] }),
      "json",
      t0 + 1000,
    );
    runs.zipkin = await exportWithBatchProcessor(new ZipkinExporter({ url: zipkinUrl, headers: { "x-api-key": keyA.secret } }), "zipkin", t0 + 2000);
    // Tenant B's key in the other header form.
    runs.tenantB = await exportWithBatchProcessor(new OTLPProtoTraceExporter({ url: otlpUrl, headers: { authorization: `Bearer ${keyB.secret}` } }), "tenantb", t0 + 3000);

    runs.partialProto = await exportPartlyInvalid(new OTLPProtoTraceExporter({ url: otlpUrl, headers: { "x-api-key": keyA.secret } }), "partial-proto", t0 + 4000);
    runs.partialJson = await exportPartlyInvalid(new OTLPJsonTraceExporter({ url: otlpUrl, headers: { "x-api-key": keyA.secret } }), "partial-json", t0 + 5000);

    runs.revokedProto = await exportOneSpan(new OTLPProtoTraceExporter({ url: otlpUrl, headers: { "x-api-key": revokedA.secret } }), "revoked proto");
    runs.revokedZipkin = await exportOneSpan(new ZipkinExporter({ url: zipkinUrl, headers: { "x-api-key": revokedA.secret } }), "revoked zipkin");
    runs.unknownJson = await exportOneSpan(new OTLPJsonTraceExporter({ url: otlpUrl, headers: { "x-api-key": `et_${"A".repeat(43)}` } }), "unknown json");
    runs.readOnlyJson = await exportOneSpan(new OTLPJsonTraceExporter({ url: otlpUrl, headers: { "x-api-key": readOnlyA.secret } }), "read-only json");
    runs.readOnlyZipkin = await exportOneSpan(new ZipkinExporter({ url: zipkinUrl, headers: { "x-api-key": readOnlyA.secret } }), "read-only zipkin");
    const exportsDone = Date.now();

    expectedA = exportedTraces([runs.proto, runs.json, runs.zipkin, runs.partialProto, runs.partialJson]);
    expectedB = exportedTraces([runs.tenantB]);
    refusedRuns = [runs.revokedProto, runs.revokedZipkin, runs.unknownJson, runs.readOnlyJson, runs.readOnlyZipkin];
    const refusedTraceIds = [...new Set(refusedRuns.flatMap((r) => r.recorder.spans.map((s) => s.spanContext().traceId)))];
    // Looked up under the other tenant (isolation), and under both for what must not be anywhere.
    const absent = [
      ...[...expectedA.keys()].map((traceId) => ({ tenantId: tenantB, traceId })),
      ...[...expectedB.keys()].map((traceId) => ({ tenantId: tenantA, traceId })),
      ...[tenantA, tenantB].flatMap((tenantId) => [ZERO_TRACE_ID, ...refusedTraceIds].map((traceId) => ({ tenantId, traceId }))),
    ];
    const tenants = [
      { tenantId: tenantA, traces: expectedA },
      { tenantId: tenantB, traces: expectedB },
    ];

    const storage = await openStackStorage(stateDir, stackDir);
    try {
      const { ingestGoneMs, tracesFoundMs, catalog } = await waitForAssembly(storage, tenants, exportsDone);
      console.info(`e2e: after the last export, the ingest objects were consumed in ${ingestGoneMs} ms and every trace was found through the block catalog in ${tracesFoundMs} ms`);
      snapshot = await snapshotStack(storage, catalog, tenants, absent);
    } finally {
      await storage.dispose();
    }
    const flattenTenant = (tenantId: string) => [...snapshot.traces.get(tenantId)!.values()].flatMap((rs) => (rs ? flattenResourceSpans(rs) : []));
    storedA = flattenTenant(tenantA);
    storedB = flattenTenant(tenantB);
  });

  afterAll(() => {
    diag.disable();
  });

  /** A's stored spans of one exporter run, by span id. */
  function storedOf(run: Run, stored = storedA): Map<string, FoundSpan> {
    const ids = new Set(run.recorder.spans.map((s) => s.spanContext().spanId));
    return new Map(stored.filter((s) => ids.has(s.span.spanId)).map((s) => [s.span.spanId, s]));
  }

  it("the SDK reports every export with a valid key as SUCCESS, without partial-success warnings", () => {
    for (const name of ["proto", "json", "zipkin", "tenantB"] as const) {
      const { recorder, flushError } = runs[name];
      expect(flushError, `${name}: forceFlush`).toBeUndefined();
      expect(recorder.exports.length, `${name}: export calls`).toBeGreaterThanOrEqual(1);
      for (const e of recorder.exports) expect(e.result, `${name}: export result`).toEqual({ code: ExportResultCode.SUCCESS });
      expect(recorder.spans, `${name}: exported spans`).toHaveLength(SPANS_PER_SCENARIO);
      // A partial success or an undecodable answer would only show here.
      expect(runs[name].diag, `${name}: SDK diagnostics`).toEqual([]);
    }
  });

  it("answers a request with one invalid span as a partial success the SDK decodes, and stores the rest", () => {
    for (const name of ["partialProto", "partialJson"] as const) {
      const { recorder, flushError, diag: logged } = runs[name];
      expect(flushError, `${name}: forceFlush`).toBeUndefined();
      expect(recorder.exports, `${name}: one request`).toHaveLength(1);
      expect(recorder.exports[0]!.result).toEqual({ code: ExportResultCode.SUCCESS });
      expect(recorder.spans).toHaveLength(3);
      // The SDK logs the decoded partial_success: rejected_spans 1 and the validator's reason.
      expect(logged, `${name}: SDK diagnostics`).toHaveLength(1);
      expect(logged[0]).toMatch(/Received Partial Success response/);
      expect(logged[0]).toMatch(/"rejectedSpans":"?1"?/);
      expect(logged[0]).toMatch(/traceId must not be all zeros/);
      const label = name === "partialProto" ? "partial-proto" : "partial-json";
      expect(storedA.filter((s) => s.span.name.startsWith(`${label} `)).map((s) => s.span.name).sort()).toEqual([`${label} good`, `${label} good child`]);
      // The rejected span is nowhere: no trace under the all-zero id, in no block.
      const bad = recorder.spans.find((s) => s.name === `${label} bad`)!;
      expect(bad.spanContext().traceId).toBe(ZERO_TRACE_ID);
      for (const b of snapshot.blocks) expect(b.spanIds.has(bad.spanContext().spanId), `${label} bad in ${b.key}`).toBe(false);
    }
    for (const tenantId of [tenantA, tenantB]) expect(snapshot.mustBeAbsent.get(`${tenantId}/${ZERO_TRACE_ID}`), `all-zero trace under ${tenantId}`).toBeUndefined();
  });

  it("finds every trace tenant A exported through the block catalog, each whole and with no span twice", () => {
    const exported = allKeys(expectedA);
    expect(new Set(exported).size).toBe(3 * SPANS_PER_SCENARIO + 2 * 2);
    // Per scenario: the job trace, the checkout trace and the fan-out; per partial run: one trace.
    expect(expectedA.size).toBe(3 * 3 + 2);
    for (const [traceId, expected] of expectedA) {
      const found = snapshot.traces.get(tenantA)!.get(traceId);
      expect(found, `trace ${traceId}`).toBeDefined();
      const keys = foundKeys(flattenResourceSpans(found!));
      expect(keys, `trace ${traceId}: spans`).toHaveLength(expected.size);
      expect(new Set(keys), `trace ${traceId}: spans`).toEqual(expected);
    }
    expect(storedA).toHaveLength(exported.length);
  });

  it("keeps OTLP spans (protobuf and JSON) field for field: ids, parents, kinds, times, attributes, events, links, status, resource, scope", () => {
    for (const name of ["proto", "json"] as const) {
      const stored = storedOf(runs[name]);
      for (const sdkSpan of runs[name].recorder.spans) {
        const got = stored.get(sdkSpan.spanContext().spanId);
        expect(got, `${name}: ${sdkSpan.name} is stored`).toBeDefined();
        expect(comparableStoredSpan(got!.span), `${name}: ${sdkSpan.name}`).toEqual(expectedOtlpSpan(sdkSpan));
        expect(sortedAttrs(got!.resource.attributes)).toEqual(sortedAttrs(toKeyValues(sdkSpan.resource.attributes)));
        expect(got!.scope).toMatchObject({ name: sdkSpan.instrumentationScope.name, version: sdkSpan.instrumentationScope.version });
      }
    }
  });

  it("keeps the details of a few OTLP spans (spot checks independent of the SDK's own objects)", () => {
    for (const label of ["proto", "json"]) {
      const byName = (n: string) => {
        const hits = storedA.filter((s) => s.span.name === `${label} ${n}`);
        expect(hits, `${label} ${n}`).toHaveLength(1);
        return hits[0]!;
      };
      const root = byName("GET /checkout");
      const call = byName("POST /charge");
      const charge = byName("charge");
      const query = byName("db.query");
      const job = byName("background-job");

      expect(stringAttr(root.resource.attributes, "service.name")).toBe(`${label}-frontend`);
      expect(stringAttr(charge.resource.attributes, "service.name")).toBe(`${label}-payments`);
      expect(root.span.parentSpanId).toBe("");
      expect(root.span.kind).toBe(2); // SERVER
      expect(root.span.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(root.span.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(attrRecord(root.span.attributes)).toMatchObject({
        "http.response.status_code": { intValue: "500" },
        "app.retry": { boolValue: true },
        "app.ratio": { doubleValue: 0.25 },
        "app.tags": { arrayValue: { values: [{ stringValue: "alpha" }, { stringValue: "beta" }] } },
        "url.path": { stringValue: "/checkout" },
      });
      expect(BigInt(root.span.endTimeUnixNano) - BigInt(root.span.startTimeUnixNano)).toBe(120_000_000n);

      // The cross-service chain stays one trace with the right parents.
      expect(call.span.parentSpanId).toBe(root.span.spanId);
      expect(charge.span.parentSpanId).toBe(call.span.spanId);
      expect(charge.span.traceId).toBe(root.span.traceId);
      expect(charge.span.status).toEqual({ code: 2, message: "card declined" });
      expect(charge.span.events).toHaveLength(1);
      expect(charge.span.events[0]).toMatchObject({ name: "exception", timeUnixNano: String(BigInt(root.span.startTimeUnixNano) + 50_000_000n) });
      expect(attrRecord(charge.span.events[0]!.attributes)).toEqual({ "exception.type": { stringValue: "CardDeclined" }, "exception.message": { stringValue: "card declined" } });
      // The checkout trace, as found by id, holds both services' spans: 5 of them.
      const checkout = flattenResourceSpans(snapshot.traces.get(tenantA)!.get(root.span.traceId)!);
      expect(checkout.map((s) => s.span.name).sort()).toEqual([`${label} GET /checkout`, `${label} POST /charge`, `${label} charge`, `${label} db.query`, `${label} render`].sort());
      expect(new Set(checkout.map((s) => stringAttr(s.resource.attributes, "service.name")))).toEqual(new Set([`${label}-frontend`, `${label}-payments`]));

      expect(query.span.links).toHaveLength(1);
      expect(query.span.links[0]).toMatchObject({ traceId: job.span.traceId, spanId: job.span.spanId });
      expect(attrRecord(query.span.links[0]!.attributes)).toEqual({ "link.reason": { stringValue: "follows-from" } });
      expect(job.span.traceId).not.toBe(root.span.traceId);
      expect(job.span.kind).toBe(5); // CONSUMER

      // The 20-way fan-out is one trace of 21 spans.
      const fan = storedA.filter((s) => s.span.name.startsWith(`${label} item `));
      expect(fan).toHaveLength(20);
      expect(new Set(fan.map((s) => s.span.traceId)).size).toBe(1);
      expect(flattenResourceSpans(snapshot.traces.get(tenantA)!.get(fan[0]!.span.traceId)!)).toHaveLength(21);
    }
  });

  it("maps Zipkin spans: ids, parents, names, microsecond times, tags, annotations, error, and service.name from localEndpoint", () => {
    const stored = storedOf(runs.zipkin);
    const otlpKind: Record<number, number[]> = { [SpanKind.SERVER]: [2], [SpanKind.CLIENT]: [3], [SpanKind.PRODUCER]: [4], [SpanKind.CONSUMER]: [5], [SpanKind.INTERNAL]: [0, 1] };
    for (const sdkSpan of runs.zipkin.recorder.spans) {
      const got = stored.get(sdkSpan.spanContext().spanId);
      expect(got, `${sdkSpan.name} is stored`).toBeDefined();
      const { span, resource } = got!;
      expect(span.traceId).toBe(sdkSpan.spanContext().traceId);
      expect(span.parentSpanId).toBe(sdkSpan.parentSpanContext?.spanId ?? "");
      expect(span.name).toBe(sdkSpan.name);
      expect(otlpKind[sdkSpan.kind], `${sdkSpan.name} kind ${span.kind}`).toContain(span.kind);
      // localEndpoint.serviceName is the span's resource service.name in the Zipkin exporter.
      expect(stringAttr(resource.attributes, "service.name")).toBe(sdkSpan.resource.attributes["service.name"]);
      const startMicros = hrTimeToMicros(sdkSpan.startTime);
      const durationMicros = hrTimeToMicros(sdkSpan.duration);
      expect(span.startTimeUnixNano).toBe(String(startMicros * 1000n));
      expect(span.endTimeUnixNano).toBe(String((startMicros + durationMicros) * 1000n));
      // Zipkin tags are strings: the span's attributes come back as exactly its tags, and the
      // resource attributes the exporter flattened into tags go back to the resource. An ERROR
      // without a description is a lone otel.status_code tag from this exporter, not the tags the
      // Zipkin API writes for that status (it adds `error`): it stays an attribute, to come back
      // from the Zipkin API as sent (shared/zipkin/status.ts).
      const lone = sdkSpan.status.code === SpanStatusCode.ERROR && !sdkSpan.status.message ? [{ key: "otel.status_code", value: { stringValue: "ERROR" } }] : [];
      expect(sortedAttrs(span.attributes), `${sdkSpan.name} tags`).toEqual(sortedAttrs([...Object.entries(sdkSpan.attributes).map(([key, v]) => ({ key, value: { stringValue: String(v) } })), ...lone]));
      expect(sortedAttrs(resource.attributes), `${sdkSpan.name} resource`).toEqual(sortedAttrs(toKeyValues(sdkSpan.resource.attributes)));
      // Annotations carry only the event name.
      expect(span.events.map((e) => [e.name, e.timeUnixNano])).toEqual(sdkSpan.events.map((e) => [e.name, String(hrTimeToMicros(e.time) * 1000n)]));
      // otel.status_code plus the `error` tag (the status message) make the status again.
      expect(span.status, `${sdkSpan.name} status`).toEqual({ code: sdkSpan.status.code, message: sdkSpan.status.message ?? "" });
    }
    const charge = [...stored.values()].find((s) => s.span.name === "zipkin charge")!;
    expect(charge.span.status).toEqual({ code: 2, message: "card declined" });
    expect(stringAttr(charge.resource.attributes, "service.name")).toBe("zipkin-payments");
    expect(attrRecord(charge.span.attributes)["payment.amount_cents"]).toEqual({ stringValue: "1999" });
    expect(charge.span.events.map((e) => e.name)).toEqual(["exception"]);
  });

  it("finds tenant B's traces under B only, and neither tenant's traces or spans under the other", () => {
    for (const [traceId, expected] of expectedB) {
      const found = snapshot.traces.get(tenantB)!.get(traceId);
      expect(found, `B's trace ${traceId}`).toBeDefined();
      const keys = foundKeys(flattenResourceSpans(found!));
      expect(keys).toHaveLength(expected.size);
      expect(new Set(keys)).toEqual(expected);
    }
    expect(storedB).toHaveLength(allKeys(expectedB).length);
    expect(storedB.map((s) => s.span.name)).toContain("tenantb charge");
    const stored = storedOf(runs.tenantB, storedB);
    for (const sdkSpan of runs.tenantB.recorder.spans) expect(comparableStoredSpan(stored.get(sdkSpan.spanContext().spanId)!.span), `B: ${sdkSpan.name}`).toEqual(expectedOtlpSpan(sdkSpan));

    // By id, through the other tenant's catalog: nothing.
    for (const traceId of expectedA.keys()) expect(snapshot.mustBeAbsent.get(`${tenantB}/${traceId}`), `A's trace ${traceId} under B`).toBeUndefined();
    for (const traceId of expectedB.keys()) expect(snapshot.mustBeAbsent.get(`${tenantA}/${traceId}`), `B's trace ${traceId} under A`).toBeUndefined();

    // Nowhere in the bucket, whoever wrote the rest of it, is a span id outside its tenant: not in
    // another prefix's blocks (decoded), nor in any other object (ingest leftovers, assembler state).
    const idsA = [runs.proto, runs.json, runs.zipkin, runs.partialProto, runs.partialJson].flatMap((r) => r.recorder.spans.map((s) => s.spanContext().spanId));
    const idsB = runs.tenantB.recorder.spans.map((s) => s.spanContext().spanId);
    for (const b of snapshot.blocks) {
      if (b.keyTenant !== tenantA) for (const id of idsA) expect(b.spanIds.has(id), `A's span ${id} in ${b.key}`).toBe(false);
      if (b.keyTenant !== tenantB) for (const id of idsB) expect(b.spanIds.has(id), `B's span ${id} in ${b.key}`).toBe(false);
    }
    for (const { key, text } of snapshot.otherObjects) {
      if (!key.startsWith(`t/${tenantA}/`)) for (const id of idsA) expect(text.includes(id), `A's span ${id} in ${key}`).toBe(false);
      if (!key.startsWith(`t/${tenantB}/`)) for (const id of idsB) expect(text.includes(id), `B's span ${id} in ${key}`).toBe(false);
    }
  });

  it("catalogues every block object under its own tenant: objects and catalog rows match one for one", () => {
    const rowOf = new Map(snapshot.catalog.map((r) => [`${r.tenantId}/${r.id}`, r]));
    for (const b of snapshot.blocks) {
      const row = rowOf.get(`${b.keyTenant}/${b.keyBlockId}`);
      expect(row, `catalog row of ${b.key}`).toBeDefined();
      // The block says it is that tenant's, and the row describes this object.
      expect({ tenantId: b.tenantId, blockId: b.blockId }, b.key).toEqual({ tenantId: b.keyTenant, blockId: b.keyBlockId });
      expect({ bytes: row!.bytes, traceCount: row!.traceCount, spanCount: row!.spanCount }, `${b.key} row`).toEqual({ bytes: b.bytes, traceCount: b.traceCount, spanCount: b.spanCount });
    }
    // And every row has its object (none points at a missing or another tenant's key).
    const keys = new Set(snapshot.blocks.map((b) => b.key));
    for (const r of snapshot.catalog) expect(keys.has(blockKey(r.tenantId, r.id)), `object of catalog row ${r.tenantId}/${r.id}`).toBe(true);

    // Each tenant's blocks hold exactly the spans it exported (a span may repeat across blocks
    // after a regrouped redelivery; findTrace drops the repeats, checked above).
    for (const [tenantId, expected] of [
      [tenantA, expectedA],
      [tenantB, expectedB],
    ] as const) {
      const own = snapshot.blocks.filter((b) => b.keyTenant === tenantId);
      expect(own.length, `${tenantId}: blocks`).toBeGreaterThanOrEqual(1);
      expect(new Set(own.flatMap((b) => [...b.spanKeys])), `${tenantId}: spans in its blocks`).toEqual(new Set(allKeys(expected)));
    }
  });

  it("the assembler consumed every ingest object: none is left under either tenant", () => {
    expect(snapshot.ingestKeys.get(tenantA)).toEqual([]);
    expect(snapshot.ingestKeys.get(tenantB)).toEqual([]);
    expect(snapshot.otherObjects.filter((o) => o.key.includes("/ingest/")).map((o) => o.key)).toEqual([]);
  });

  it("refuses revoked and unknown keys with 401 and a read-only key with 403, and stores nothing for them", () => {
    const expectRefused = (run: Run) => {
      expect(run.recorder.exports).toHaveLength(1);
      const { result } = run.recorder.exports[0]!;
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect(run.flushError).toBeDefined();
      return result.error as (Error & { code?: number }) | undefined;
    };
    // The OTLP exporters carry the HTTP status on their error; the Zipkin one only in the message.
    expect(expectRefused(runs.revokedProto)?.code).toBe(401);
    expect(expectRefused(runs.unknownJson)?.code).toBe(401);
    expect(expectRefused(runs.readOnlyJson)?.code).toBe(403);
    expect(expectRefused(runs.revokedZipkin)?.message).toMatch(/\b401\b/);
    expect(expectRefused(runs.readOnlyZipkin)?.message).toMatch(/\b403\b/);

    const refused = refusedRuns.flatMap((r) => r.recorder.spans.map((s) => s.spanContext()));
    expect(refused).toHaveLength(5);
    for (const { traceId, spanId } of refused) {
      // No trace by id under either tenant, the span in no block, and no object (an ingest object
      // would still be there, or its spans would be in a block) mentions it.
      for (const tenantId of [tenantA, tenantB]) expect(snapshot.mustBeAbsent.get(`${tenantId}/${traceId}`), `refused trace ${traceId} under ${tenantId}`).toBeUndefined();
      for (const b of snapshot.blocks) expect(b.spanIds.has(spanId), `refused span ${spanId} in ${b.key}`).toBe(false);
      for (const { key, text } of snapshot.otherObjects) expect(text.includes(spanId), `refused span ${spanId} in ${key}`).toBe(false);
    }
  });
});
