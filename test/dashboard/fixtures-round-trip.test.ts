/**
 * Fixtures after the OpenTelemetry, Jaeger and Zipkin repositories' own (test/support/fixtures/)
 * ingested through the real decoders and the assembler, then read back through all four APIs:
 * Tempo (OTLP JSON, v1 and v2), Jaeger (UI JSON and api_v3) and Zipkin v2. Native round trips
 * are exact; the mappings to other formats keep scope attributes, link attributes, trace state
 * and int64 values beyond 2^53.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { IngestSource } from "../../shared/ingest/prepare.ts";
import type { ResourceSpans } from "../../shared/model/span.ts";
import { decodeTraceRequestJson } from "../../shared/otlp/decode-json.ts";
import { decodeZipkinSpans } from "../../shared/zipkin/decode.ts";
import { JAEGER_TRACE_ID, jaegerFixture } from "../support/fixtures/jaeger-trace.ts";
import { OTEL_LINKED_TRACE_ID, OTEL_TRACE_ID, otelTraceRequest } from "../support/fixtures/otel-trace.ts";
import { ZIPKIN_TRACE_ID, zipkinSpans } from "../support/fixtures/zipkin-v2.ts";
import { ingestBody } from "../support/ingest-fixture.ts";
import { tenantWithKey } from "../support/store-assembled.ts";

type Reviver = (key: string, value: unknown, context: { source?: string }) => unknown;

/** JSON.parse keeping integers beyond 2^53 exact (as bigint), so a rounded or quoted one fails. */
function parseExact(text: string): unknown {
  const reviver: Reviver = (_key, value, context) => (typeof value === "number" && !Number.isSafeInteger(value) && context.source !== undefined && /^-?\d+$/.test(context.source) ? BigInt(context.source) : value);
  return JSON.parse(text, reviver as Parameters<typeof JSON.parse>[1]);
}

async function get(path: string, key: string): Promise<{ status: number; text: string; body: unknown }> {
  const res = await exports.default.fetch(`http://localhost${path}`, { headers: { authorization: `Bearer ${key}` } });
  const text = await res.text();
  return { status: res.status, text, body: res.status === 200 ? parseExact(text) : text };
}

/** Every read API's answer for one trace id. */
async function readAll(traceId: string, key: string) {
  const paths = {
    tempoV1: `/api/traces/${traceId}`,
    tempoV2: `/api/v2/traces/${traceId}`,
    jaeger: `/jaeger/api/traces/${traceId}`,
    jaegerV3: `/jaeger/api/v3/traces/${traceId}`,
    zipkin: `/zipkin/api/v2/trace/${traceId}`,
  };
  const out = {} as Record<keyof typeof paths, unknown>;
  const texts = {} as Record<keyof typeof paths, string>;
  for (const [name, path] of Object.entries(paths) as [keyof typeof paths, string][]) {
    const res = await get(path, key);
    expect(res.status, `${name}: ${res.text}`).toBe(200);
    out[name] = res.body;
    texts[name] = res.text;
  }
  const tempoV1 = (out.tempoV1 as { batches: ResourceSpans[] }).batches;
  const tempoV2 = (out.tempoV2 as { trace: { resourceSpans: ResourceSpans[] } }).trace.resourceSpans;
  const jaegerV3 = (out.jaegerV3 as { result: { resourceSpans: ResourceSpans[] } }).result.resourceSpans;
  const jaegerData = (out.jaeger as { data: JaegerTrace[] }).data;
  expect(jaegerData).toHaveLength(1);
  return { tempoV1, tempoV2, jaegerV3, jaeger: jaegerData[0]!, jaegerText: texts.jaeger, zipkin: out.zipkin as ZipkinOut[] };
}

/** A new tenant's read of `traceId` through every read API, after `body` (all `acceptedSpans` of it) is ingested as `source`. */
async function ingestAndReadAll(source: IngestSource, body: unknown, acceptedSpans: number, traceId: string) {
  const { tenantId, secret } = await tenantWithKey(["read"]);
  expect(await ingestBody(tenantId, source, body)).toEqual({ acceptedSpans, rejectedSpans: 0 });
  return readAll(traceId, secret);
}

/** Fixture times start here: well inside the acceptance window. */
const fiveMinutesAgo = () => Date.now() - 5 * 60_000;

interface JaegerKv { key: string; type: string; value: unknown }
interface JaegerSpanOut { spanID: string; operationName: string; processID: string; tags: JaegerKv[]; logs: { timestamp: number; fields: JaegerKv[] }[]; references: unknown[] }
interface JaegerTrace { traceID: string; spans: JaegerSpanOut[]; processes: Record<string, unknown>; warnings: unknown }
interface ZipkinOut { id: string; kind?: string; tags?: Record<string, string>; annotations?: { timestamp: number; value: string }[] }

/** A Jaeger trace with each span's process written in (process ids follow the order resources are stored in) and spans in id order. */
function byProcess(t: { spans: { spanID: string; processID: string }[]; processes: Record<string, unknown> }) {
  const spans = t.spans.map(({ processID, ...s }) => ({ ...s, process: t.processes[processID] }));
  return { ...t, processes: Object.keys(t.processes).length, spans: spans.sort((a, b) => (a.spanID < b.spanID ? -1 : a.spanID > b.spanID ? 1 : 0)) };
}

/** Resource spans as one flat, ordered list of (resource, scope, span): how they are grouped is storage's business. */
function flat(rs: ResourceSpans[]) {
  return rs
    .flatMap((r) => r.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ resource: r.resource, scope: ss.scope, schemaUrls: [r.schemaUrl, ss.schemaUrl], span }))))
    .sort((a, b) => (a.span.spanId + a.span.kind < b.span.spanId + b.span.kind ? -1 : 1));
}

function zipkinSorted<T extends { id: string; kind?: string }>(spans: T[]): T[] {
  return [...spans].sort((a, b) => (a.id + (a.kind ?? "") < b.id + (b.kind ?? "") ? -1 : 1));
}

const tag = (t: { tags: JaegerKv[] }, key: string) => t.tags.filter((kv) => kv.key === key);

describe("fixtures read back through Tempo, Jaeger and Zipkin", () => {
  it("OTLP (opentelemetry-proto's example trace, extended): exact in OTLP JSON; Jaeger and Zipkin keep scope attributes, links, trace state and big ints", async () => {
    const baseMs = fiveMinutesAgo();
    const request = otelTraceRequest(baseMs);
    const read = await ingestAndReadAll("otlp-json", request, 2, OTEL_TRACE_ID);

    // Native: OTLP JSON as sent, in canonical form (lower-case ids, every field, int64 as strings).
    const sent = decodeTraceRequestJson(structuredClone(request)).resourceSpans;
    expect(flat(read.tempoV2)).toEqual(flat(sent));
    expect(flat(read.tempoV1)).toEqual(flat(sent));
    expect(flat(read.jaegerV3)).toEqual(flat(sent));
    const server = flat(read.tempoV2).find((s) => s.span.spanId === "eee19b7ec3c1b174")!;
    expect(server.scope.attributes).toContainEqual({ key: "my.scope.count", value: { intValue: "9007199254740993" } });
    expect(server.span.attributes).toContainEqual({ key: "int.max", value: { intValue: "9223372036854775807" } });
    expect(server.span.links[0]).toEqual({
      traceId: OTEL_LINKED_TRACE_ID, spanId: "0102030405060708", traceState: "congo=ucfJifl5GOE", flags: 0, droppedAttributesCount: 0,
      attributes: [{ key: "link.kind", value: { stringValue: "batch" } }, { key: "link.seq", value: { intValue: "-9223372036854775808" } }],
    });

    // Jaeger UI JSON: every tag of the server span, in the translator's order, ints exact.
    const start = baseMs * 1000;
    const jServer = read.jaeger.spans.find((s) => s.spanID === "eee19b7ec3c1b174")!;
    expect(jServer).toEqual({
      traceID: OTEL_TRACE_ID, spanID: "eee19b7ec3c1b174", operationName: "I'm a server span", flags: 1, startTime: start, duration: 1_000_000,
      processID: "p1", warnings: null,
      references: [
        { refType: "CHILD_OF", traceID: OTEL_TRACE_ID, spanID: "eee19b7ec3c1b173" },
        { refType: "FOLLOWS_FROM", traceID: OTEL_LINKED_TRACE_ID, spanID: "0102030405060708" },
      ],
      tags: [
        { key: "otel.scope.name", type: "string", value: "my.library" },
        { key: "otel.scope.version", type: "string", value: "1.0.0" },
        { key: "my.scope.attribute", type: "string", value: "some scope attribute" },
        { key: "my.scope.count", type: "int64", value: 9007199254740993n },
        { key: "my.span.attr", type: "string", value: "some value" },
        { key: "int.max", type: "int64", value: 9223372036854775807n },
        { key: "int.min", type: "int64", value: -9223372036854775808n },
        { key: "int.above.2^53", type: "int64", value: 9007199254740993n },
        { key: "ratio", type: "float64", value: 0.25 },
        { key: "cached", type: "bool", value: true },
        { key: "blob", type: "binary", value: "AAAwOQ==" },
        { key: "ids", type: "string", value: '[9223372036854775807,"x"]' },
        { key: "map", type: "string", value: '{"k":false}' },
        { key: "span.kind", type: "string", value: "server" },
        { key: "otel.status_code", type: "string", value: "ERROR" },
        { key: "error", type: "bool", value: true },
        { key: "otel.status_description", type: "string", value: "boom" },
        { key: "w3c.tracestate", type: "string", value: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE" },
      ],
      logs: [
        {
          timestamp: start,
          fields: [
            { key: "event", type: "string", value: "link" },
            { key: "trace_id", type: "string", value: OTEL_LINKED_TRACE_ID },
            { key: "span_id", type: "string", value: "0102030405060708" },
            { key: "w3c.tracestate", type: "string", value: "congo=ucfJifl5GOE" },
            { key: "link.kind", type: "string", value: "batch" },
            { key: "link.seq", type: "int64", value: -9223372036854775808n },
          ],
        },
        {
          timestamp: start + 10_000,
          fields: [
            { key: "event", type: "string", value: "exception" },
            { key: "exception.type", type: "string", value: "Timeout" },
            { key: "retry.count", type: "int64", value: 9007199254740993n },
          ],
        },
      ],
    });
    expect(read.jaeger.processes).toEqual({ p1: { serviceName: "my.service", tags: [{ key: "process.pid", type: "int64", value: 4711 }] } });
    // The raw text carries the digits as numbers, as Go writes an int64.
    expect(read.jaegerText).toContain('{"key":"int.max","type":"int64","value":9223372036854775807}');
    expect(read.jaegerText).not.toContain('"value":"9223372036854775807"');

    // Zipkin: flat string tags keep the same facts.
    const [zServer, zWork] = zipkinSorted(read.zipkin);
    expect(zServer).toMatchObject({
      id: "eee19b7ec3c1b174", parentId: "eee19b7ec3c1b173", kind: "SERVER", localEndpoint: { serviceName: "my.service" },
      annotations: [{ timestamp: start + 10_000, value: 'exception|{"exception.type":"Timeout","retry.count":9007199254740993}|0' }],
    });
    expect(zServer!.tags).toEqual({
      "process.pid": "4711",
      "my.scope.attribute": "some scope attribute",
      "my.scope.count": "9007199254740993",
      "my.span.attr": "some value",
      "int.max": "9223372036854775807",
      "int.min": "-9223372036854775808",
      "int.above.2^53": "9007199254740993",
      ratio: "0.25",
      cached: "true",
      blob: "AAAwOQ==",
      ids: '[9223372036854775807,"x"]',
      map: '{"k":false}',
      "otel.scope.name": "my.library",
      "otel.scope.version": "1.0.0",
      "otel.status_code": "ERROR",
      error: "boom",
      "w3c.tracestate": "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
      "otlp.link.0": `${OTEL_LINKED_TRACE_ID}|0102030405060708|congo=ucfJifl5GOE|{"link.kind":"batch","link.seq":-9223372036854775808}|0`,
    });
    expect(zWork).toMatchObject({ id: "eee19b7ec3c1b175", parentId: "eee19b7ec3c1b174", tags: { "span.kind": "internal", "my.scope.attribute": "some scope attribute" } });

    // Zipkin's answer sent back in through Zipkin ingest: events and links with their int64s
    // exact, and the status from OTel's status tags, which are not kept as attributes.
    const again = await ingestAndReadAll("zipkin-json", read.zipkin, 2, OTEL_TRACE_ID);
    const reread = flat(again.tempoV2).find((s) => s.span.spanId === "eee19b7ec3c1b174")!;
    // (Zipkin times are whole microseconds.)
    expect(reread.span.events).toEqual(server.span.events.map((e) => ({ ...e, timeUnixNano: String((BigInt(e.timeUnixNano) / 1000n) * 1000n) })));
    expect(reread.span.links).toEqual(server.span.links);
    expect(reread.span.status).toEqual({ code: 2, message: "boom" });
    expect(reread.span.attributes.filter((kv) => kv.key === "error" || kv.key.startsWith("otel.status"))).toEqual([]);
  });

  it("Zipkin v2 (shared spans, IPv6, a leading-zero IPv4): exact in Zipkin; OTLP and Jaeger keep the endpoints and both halves", async () => {
    const baseMs = fiveMinutesAgo();
    const sent = zipkinSpans(baseMs);
    const read = await ingestAndReadAll("zipkin-json", sent, 4, ZIPKIN_TRACE_ID);

    // Native: the spans exactly as sent, the `error` tag alone as Zipkin's tracers write it.
    expect(zipkinSorted(read.zipkin)).toEqual(zipkinSorted(sent));

    // OTLP: what the Zipkin decoder made of them, the leading-zero address as written.
    const decoded = decodeZipkinSpans(structuredClone(sent)).resourceSpans;
    expect(flat(read.tempoV2)).toEqual(flat(decoded));
    expect(flat(read.jaegerV3)).toEqual(flat(decoded));
    const client = flat(read.tempoV2).find((s) => s.span.spanId === "b2c3d4e5f6071829" && s.span.kind === 3)!;
    expect(client.span.attributes).toContainEqual({ key: "network.local.address", value: { stringValue: "010.001.002.003" } });

    // Jaeger: both halves of the shared span, each with its own process; annotations as logs.
    const halves = read.jaeger.spans.filter((s) => s.spanID === "b2c3d4e5f6071829");
    expect(halves.map((s) => tag(s, "span.kind")[0]?.value).sort()).toEqual(["client", "server"]);
    const serverHalf = halves.find((s) => tag(s, "span.kind")[0]?.value === "server")!;
    expect(read.jaeger.processes[serverHalf.processID]).toEqual({ serviceName: "backend", tags: [] });
    expect(serverHalf.tags).toContainEqual({ key: "network.peer.address", type: "string", value: "010.001.002.003" });
    expect(serverHalf.tags).toContainEqual({ key: "zipkin.shared", type: "bool", value: true });
    expect(serverHalf.logs).toEqual([{ timestamp: baseMs * 1000 + 12_000, fields: [{ key: "event", type: "string", value: "cache.miss" }] }]);
    // The error tag makes an ERROR status, in OTLP and in Jaeger (its bool `error` tag, which
    // Jaeger UI marks), and stays a tag as Jaeger shows a Zipkin span through the collector.
    const clientHalf = halves.find((s) => s !== serverHalf)!;
    expect(tag(clientHalf, "otel.status_description")).toEqual([{ key: "otel.status_description", type: "string", value: "connection reset" }]);
    expect(tag(clientHalf, "otel.status_code")).toEqual([{ key: "otel.status_code", type: "string", value: "ERROR" }]);
    expect(tag(clientHalf, "error")).toEqual([
      { key: "error", type: "string", value: "connection reset" },
      { key: "error", type: "bool", value: true },
    ]);
    expect(client.span.status).toEqual({ code: 2, message: "connection reset" });
    expect(client.span.attributes).toContainEqual({ key: "error", value: { stringValue: "connection reset" } });
    const root = read.jaeger.spans.find((s) => s.spanID === "a1b2c3d4e5f60718")!;
    expect(root.tags).toContainEqual({ key: "network.peer.address", type: "string", value: "2001:db8::c001" });
  });

  it("Jaeger (jaeger's UI fixture, as its OTLP translator sends it): exact in the Jaeger API; OTLP and Zipkin keep reference types and big ints", async () => {
    const { otlp, jaeger } = jaegerFixture(fiveMinutesAgo());
    const read = await ingestAndReadAll("otlp-json", otlp, 5, JAEGER_TRACE_ID);

    // Native: Jaeger's own answer, process ids and span order aside.
    expect(byProcess(read.jaeger)).toEqual(byProcess(jaeger));

    const sent = decodeTraceRequestJson(structuredClone(otlp)).resourceSpans;
    expect(flat(read.tempoV2)).toEqual(flat(sent));
    expect(flat(read.jaegerV3)).toEqual(flat(sent));

    const z = zipkinSorted(read.zipkin);
    expect(z.find((s) => s.id === "0000000000000006")!.tags).toMatchObject({ "request.id": "9223372036854775807", error: "timeout", "peer.ipv4": "23456" });
    expect(z.find((s) => s.id === "0000000000000004")!.tags).toMatchObject({
      "otlp.link.0": '000000000000000000000000000000ff|00000000000000ff||{"opentracing.ref_type":"child_of"}|0',
      "otlp.link.1": `${JAEGER_TRACE_ID}|0000000000000002||{"opentracing.ref_type":"follows_from"}|0`,
    });
  });
});
