/**
 * The dashboard's read-scoped query APIs against the running stack: a small three-service workload
 * exported with the real OpenTelemetry JS SDK (OTLP protobuf exporter) is read back through Tempo
 * (`/api/traces/{id}` as OTLP JSON and as protobuf, `/api/search` with TraceQL), Jaeger
 * (`/jaeger/api/...`) and Zipkin (`/zipkin/api/v2/...`), and every answer must agree with what the
 * SDK exported: span ids, names, parents, durations, service names and the error status. Another
 * tenant's read key sees none of it.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span as ApiSpan, type Tracer } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter as OTLPProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { ResourceSpans } from "../../shared/model/span.ts";
import { decodeTraceRequest } from "../../shared/otlp/decode-proto.ts";
import { adminClient, flattenResourceSpans, hrTimeToNanos, RecordingExporter, stringAttr, waitUntilTracesWhole, type CreatedKey } from "./support.ts";

const ingestUrl = inject("ingestUrl");
const dashboardUrl = inject("dashboardUrl");
const adminToken = inject("adminToken");

const SERVICES = ["qa-gateway", "qa-orders", "qa-inventory"] as const;
const TRACE_COUNT = 5;
/** How long the assembler may take until every trace answers whole. */
const DEADLINE_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The workload: per trace gateway SERVER -> gateway CLIENT -> orders SERVER -> orders CLIENT ->
// inventory SERVER -> inventory db CLIENT, plus an internal span; trace 2's inventory call fails.

function emitTrace(i: number, [gateway, orders, inventory]: Tracer[], t0: number): void {
  const ctx = (span: ApiSpan) => trace.setSpan(ROOT_CONTEXT, span);
  const failing = i === 2;
  const root = gateway!.startSpan(`GET /orders/${i}`, { kind: SpanKind.SERVER, startTime: t0, attributes: { "http.request.method": "GET", "http.route": "/orders/:id" } });
  const toOrders = gateway!.startSpan("GET orders", { kind: SpanKind.CLIENT, startTime: t0 + 5, attributes: { "server.address": "orders.internal" } }, ctx(root));
  const ordersServer = orders!.startSpan("GET /orders/:id", { kind: SpanKind.SERVER, startTime: t0 + 8 }, ctx(toOrders));
  const validate = orders!.startSpan("validate", { kind: SpanKind.INTERNAL, startTime: t0 + 9 }, ctx(ordersServer));
  validate.end(t0 + 11);
  const toInventory = orders!.startSpan("POST inventory", { kind: SpanKind.CLIENT, startTime: t0 + 12 }, ctx(ordersServer));
  const inventoryServer = inventory!.startSpan("POST /reserve", { kind: SpanKind.SERVER, startTime: t0 + 14 }, ctx(toInventory));
  const db = inventory!.startSpan(
    "SELECT stock",
    { kind: SpanKind.CLIENT, startTime: t0 + 16, attributes: { "db.system.name": "postgresql", "db.query.text": "SELECT qty FROM stock WHERE sku = $1" } },
    ctx(inventoryServer),
  );
  db.end(t0 + 29);
  if (failing) inventoryServer.setStatus({ code: SpanStatusCode.ERROR, message: "out of stock" });
  inventoryServer.end(t0 + 33 + i);
  toInventory.end(t0 + 35 + i);
  ordersServer.end(t0 + 40 + i);
  toOrders.end(t0 + 42 + i);
  root.end(t0 + 47 + i);
}

/** What the SDK exported for one span, in the terms every API is compared in. */
interface ExpectedSpan {
  spanId: string;
  parentSpanId: string;
  name: string;
  service: string;
  durationNanos: bigint;
  error: boolean;
}

/** One span as one API answered it. */
interface SeenSpan {
  spanId: string;
  parentSpanId: string;
  name: string;
  service: string;
  /** Nanoseconds for Tempo, microseconds for Jaeger and Zipkin. */
  duration: bigint;
  error: boolean;
}

function expectedSpan(s: ReadableSpan): ExpectedSpan {
  return {
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? "",
    name: s.name,
    service: String(s.resource.attributes["service.name"]),
    durationNanos: BigInt(hrTimeToNanos(s.endTime)) - BigInt(hrTimeToNanos(s.startTime)),
    error: s.status.code === SpanStatusCode.ERROR,
  };
}

const byId = <T extends { spanId: string }>(spans: T[]) => [...spans].sort((a, b) => (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0));

/** Expected spans with the duration in the unit (and rounding) an API answers. */
function expectedAs(spans: ExpectedSpan[], duration: (nanos: bigint) => bigint): SeenSpan[] {
  return byId(spans.map(({ durationNanos, ...rest }) => ({ ...rest, duration: duration(durationNanos) })));
}

const exactNanos = (d: bigint) => d;
/** Jaeger: whole µs, rounded down. */
const jaegerMicros = (d: bigint) => (d > 0n ? d / 1000n : 0n);
/** Zipkin: whole µs, rounded down, but 1 when below a µs. */
const zipkinMicros = (d: bigint) => (d <= 0n ? 0n : d < 1000n ? 1n : d / 1000n);

function tempoSpans(resourceSpans: ResourceSpans[]): SeenSpan[] {
  return byId(
    flattenResourceSpans(resourceSpans).map(({ resource, span }) => ({
      spanId: span.spanId,
      parentSpanId: span.parentSpanId ?? "",
      name: span.name,
      service: stringAttr(resource.attributes, "service.name") ?? "",
      duration: BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano),
      error: span.status?.code === 2,
    })),
  );
}

interface JaegerAnswer {
  data: { traceID: string; spans: { traceID: string; spanID: string; operationName: string; references: { refType: string; spanID: string }[]; duration: number; tags: { key: string; type: string; value: unknown }[]; processID: string }[]; processes: Record<string, { serviceName: string }> }[];
}

function jaegerSpans(answer: JaegerAnswer): SeenSpan[] {
  const t = answer.data[0]!;
  return byId(
    t.spans.map((s) => ({
      spanId: s.spanID,
      parentSpanId: s.references.find((r) => r.refType === "CHILD_OF")?.spanID ?? "",
      name: s.operationName,
      service: t.processes[s.processID]?.serviceName ?? "",
      duration: BigInt(s.duration),
      error: s.tags.some((tag) => tag.key === "error" && tag.value === true),
    })),
  );
}

interface ZipkinAnswerSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  duration?: number;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

function zipkinSpans(answer: ZipkinAnswerSpan[]): SeenSpan[] {
  return byId(
    answer.map((s) => ({
      spanId: s.id,
      parentSpanId: s.parentId ?? "",
      name: s.name ?? "",
      service: s.localEndpoint?.serviceName ?? "",
      duration: BigInt(s.duration ?? 0),
      error: s.tags?.error !== undefined,
    })),
  );
}

// ---------------------------------------------------------------------------------------------
// HTTP

async function get(path: string, key: string, accept?: string): Promise<Response> {
  return fetch(`${dashboardUrl}${path}`, { headers: { authorization: `Bearer ${key}`, ...(accept ? { accept } : {}) } });
}

async function getJson<T>(path: string, key: string): Promise<T> {
  const res = await get(path, key);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

// ---------------------------------------------------------------------------------------------

describe("query APIs (Tempo, Jaeger, Zipkin) over SDK-exported traces", () => {
  const admin = adminClient(dashboardUrl, adminToken);
  let readKey: CreatedKey;
  let otherReadKey: CreatedKey;
  /** Trace id -> the spans the SDK exported for it. */
  const expected = new Map<string, ExpectedSpan[]>();
  let windowStart: number;
  let windowEnd: number;

  beforeAll(async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const tenant = (await admin.createTenant(`e2e query ${suffix}`)).id;
    const other = (await admin.createTenant(`e2e query other ${suffix}`)).id;
    const ingestKey = await admin.createKey(tenant, "collector", ["ingest"]);
    readKey = await admin.createKey(tenant, "grafana", ["read"]);
    otherReadKey = await admin.createKey(other, "grafana", ["read"]);

    const t0 = Date.now() - 5_000;
    windowStart = Math.floor(t0 / 1000) - 60;

    const recorder = new RecordingExporter(new OTLPProtoTraceExporter({ url: `${ingestUrl}/v1/traces`, headers: { "x-api-key": ingestKey.secret } }));
    const processor = new BatchSpanProcessor(recorder, { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 60_000 });
    const providers = SERVICES.map((service) => new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": service, "deployment.environment.name": "e2e" }), spanProcessors: [processor] }));
    const tracers = providers.map((p, i) => p.getTracer(`edgetrace-e2e/${SERVICES[i]}`, "0.1.0"));
    for (let i = 0; i < TRACE_COUNT; i++) emitTrace(i, tracers, t0 + i * 200);
    await processor.forceFlush();
    await Promise.all(providers.map((p) => p.shutdown()));

    expect(recorder.exports.length).toBeGreaterThan(0);
    for (const e of recorder.exports) expect(e.result.code, String(e.result.error)).toBe(ExportResultCode.SUCCESS);
    for (const s of recorder.spans) {
      const id = s.spanContext().traceId;
      expected.set(id, [...(expected.get(id) ?? []), expectedSpan(s)]);
    }
    expect(expected.size).toBe(TRACE_COUNT);
    expect(recorder.spans.length).toBe(TRACE_COUNT * 7);

    // Wait until Tempo's trace by id answers every trace with all its spans.
    await waitUntilTracesWhole((path) => get(path, readKey.secret), expected.keys(), (traceId, spans) => {
      const got = new Set(spans.map((s) => s.span.spanId));
      return expected.get(traceId)!.every((s) => got.has(s.spanId));
    }, DEADLINE_MS);
    windowEnd = Math.floor(Date.now() / 1000) + 60;
  });

  it("answers each trace alike from Tempo JSON, Tempo protobuf, Jaeger and Zipkin", async () => {
    let errorSpans = 0;
    for (const [traceId, spans] of expected) {
      const tempoJson = tempoSpans((await getJson<{ batches: ResourceSpans[] }>(`/api/traces/${traceId}`, readKey.secret)).batches);
      expect(tempoJson, `tempo json ${traceId}`).toEqual(expectedAs(spans, exactNanos));

      const protoRes = await get(`/api/traces/${traceId}`, readKey.secret, "application/protobuf");
      expect(protoRes.status).toBe(200);
      expect(protoRes.headers.get("content-type")).toMatch(/^application\/protobuf/);
      const tempoProto = tempoSpans(decodeTraceRequest(new Uint8Array(await protoRes.arrayBuffer())).resourceSpans);
      expect(tempoProto, `tempo protobuf ${traceId}`).toEqual(expectedAs(spans, exactNanos));

      const jaegerAnswer = await getJson<JaegerAnswer>(`/jaeger/api/traces/${traceId}`, readKey.secret);
      expect(jaegerAnswer.data).toHaveLength(1);
      expect(jaegerAnswer.data[0]!.traceID).toBe(traceId);
      expect(jaegerSpans(jaegerAnswer), `jaeger ${traceId}`).toEqual(expectedAs(spans, jaegerMicros));

      const zipkinAnswer = await getJson<ZipkinAnswerSpan[]>(`/zipkin/api/v2/trace/${traceId}`, readKey.secret);
      for (const s of zipkinAnswer) expect(s.traceId.padStart(32, "0")).toBe(traceId);
      expect(zipkinSpans(zipkinAnswer), `zipkin ${traceId}`).toEqual(expectedAs(spans, zipkinMicros));

      errorSpans += spans.filter((s) => s.error).length;
      // The db client span is there in every view.
      expect(tempoJson.some((s) => s.name === "SELECT stock" && s.service === "qa-inventory")).toBe(true);
    }
    expect(errorSpans).toBe(1);
  });

  it("finds the traces by service with TraceQL search", async () => {
    for (const service of SERVICES) {
      const q = encodeURIComponent(`{ resource.service.name = "${service}" }`);
      const answer = await getJson<{ traces: { traceID: string; rootServiceName: string }[] }>(`/api/search?q=${q}&start=${windowStart}&end=${windowEnd}&limit=100`, readKey.secret);
      const ids = new Set(answer.traces.map((t) => t.traceID.padStart(32, "0")));
      expect([...ids].sort(), service).toEqual([...expected.keys()].sort());
      for (const t of answer.traces) expect(t.rootServiceName).toBe("qa-gateway");
    }
    const none = encodeURIComponent(`{ resource.service.name = "qa-nobody" }`);
    expect((await getJson<{ traces: unknown[] }>(`/api/search?q=${none}&start=${windowStart}&end=${windowEnd}`, readKey.secret)).traces).toEqual([]);
  });

  it("lists the three services in Jaeger and Zipkin", async () => {
    const want = [...SERVICES].sort();
    // The per-minute rows may lag the blocks a little; allow a short wait.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const jaegerServices = (await getJson<{ data: string[] }>("/jaeger/api/services", readKey.secret)).data;
      const zipkinServices = await getJson<string[]>("/zipkin/api/v2/services", readKey.secret);
      const ok = JSON.stringify(jaegerServices) === JSON.stringify(want) && JSON.stringify(zipkinServices) === JSON.stringify(want);
      if (ok || Date.now() > deadline) {
        expect(jaegerServices).toEqual(want);
        expect(zipkinServices).toEqual(want);
        break;
      }
      await sleep(1000);
    }
  });

  it("shows another tenant's read key nothing", async () => {
    const key = otherReadKey.secret;
    for (const traceId of expected.keys()) {
      for (const [path, accept] of [
        [`/api/traces/${traceId}`, undefined],
        [`/api/traces/${traceId}`, "application/protobuf"],
        [`/api/v2/traces/${traceId}`, undefined],
        [`/jaeger/api/traces/${traceId}`, undefined],
        [`/zipkin/api/v2/trace/${traceId}`, undefined],
      ] as const) {
        const res = await get(path, key, accept);
        await res.body?.cancel();
        expect(res.status, `${path} (${accept ?? "json"})`).toBe(404);
      }
    }
    expect((await getJson<{ data: string[] }>("/jaeger/api/services", key)).data).toEqual([]);
    expect(await getJson<string[]>("/zipkin/api/v2/services", key)).toEqual([]);
    const q = encodeURIComponent(`{ resource.service.name = "qa-gateway" }`);
    expect((await getJson<{ traces: unknown[] }>(`/api/search?q=${q}&start=${windowStart}&end=${windowEnd}`, key)).traces).toEqual([]);
  });
});
