import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SpanKind as OtelSpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import { ZipkinExporter } from "@opentelemetry/exporter-zipkin";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { describe, expect, it, vi } from "vitest";
import { decodeErrorOf } from "../../test/support/decode-error.ts";
import { BRAVE_BACKEND_HALF, BRAVE_TRACE, braveFrontendSpans } from "../../test/support/zipkin-brave-call.ts";
import type { KeyValue, ResourceSpans, Span, TraceBatch } from "../model/span.ts";
import { validateBatch } from "../model/validate.ts";
import { decodeZipkinSpans, microsToNanos } from "./decode.ts";
import { encodeZipkinSpans } from "./encode.ts";

const str = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): KeyValue => ({ key, value: { intValue: String(value) } });
const bool = (key: string, value: boolean): KeyValue => ({ key, value: { boolValue: value } });

function spans(batch: TraceBatch): Span[] {
  return batch.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}
function decodeOne(raw: Record<string, unknown>): Span {
  return spans(decodeZipkinSpans([{ traceId: "5982fe77008310cc80f1da5e10147517", id: "bd7a977555f6b982", ...raw }]))[0]!;
}
const decodeError = (body: unknown) => decodeErrorOf(() => decodeZipkinSpans(body));

const TRACE = BRAVE_TRACE;

// A frontend → backend call as Brave reports it: the backend's server span shares the client's id.
const BRAVE_CALL = [
  ...braveFrontendSpans(),
  {
    ...BRAVE_BACKEND_HALF,
    debug: true,
    timestamp: 1502787600012000,
    duration: 95000,
    localEndpoint: { serviceName: "backend", ipv4: "172.17.0.9", port: 9000 },
    remoteEndpoint: { ipv4: "172.17.0.13", port: 54012 },
    tags: { "http.path": "/api", "http.status_code": "200" },
  },
];

describe("decodeZipkinSpans", () => {
  it("maps a Brave-style client/server call to OTLP resources, kinds, times, endpoints and status", () => {
    const base = { traceId: TRACE, traceState: "", flags: 0, droppedAttributesCount: 0, droppedEventsCount: 0, links: [], droppedLinksCount: 0 };
    const noScope = { name: "", version: "", attributes: [], droppedAttributesCount: 0 };
    const resource = (service: string, serviceSpans: Span[]): ResourceSpans => ({
      resource: { attributes: [str("service.name", service)], droppedAttributesCount: 0 },
      schemaUrl: "",
      scopeSpans: [{ scope: noScope, schemaUrl: "", spans: serviceSpans }],
    });
    const expected: TraceBatch = {
      resourceSpans: [
        resource("frontend", [
          {
            ...base,
            spanId: "bd7a977555f6b982",
            parentSpanId: "",
            name: "get /",
            kind: 2,
            startTimeUnixNano: "1502787600000000000",
            endTimeUnixNano: "1502787600150000000",
            attributes: [
              str("http.method", "GET"),
              str("http.path", "/"),
              str("network.local.address", "172.17.0.13"),
              int("network.local.port", 8080),
              str("network.peer.address", "::1"),
              int("network.peer.port", 63720),
            ],
            events: [{ timeUnixNano: "1502787600000100000", name: "wr", attributes: [], droppedAttributesCount: 0 }],
            status: { code: 0, message: "" },
          },
          {
            ...base,
            spanId: "be2d01e33cc78d97",
            parentSpanId: "bd7a977555f6b982",
            name: "get /api",
            kind: 3,
            startTimeUnixNano: "1502787600010000000",
            endTimeUnixNano: "1502787600110000000",
            // Zipkin's `error` tag stays (as in the collector) beside the status it makes.
            attributes: [
              str("http.path", "/api"),
              str("error", "connection reset"),
              str("network.local.address", "172.17.0.13"),
              str("peer.service", "backend"),
              str("network.peer.address", "172.17.0.9"),
              int("network.peer.port", 9000),
              str("server.address", "172.17.0.9"),
              int("server.port", 9000),
            ],
            events: [],
            status: { code: 2, message: "connection reset" },
          },
        ]),
        resource("backend", [
          {
            ...base,
            spanId: "be2d01e33cc78d97",
            parentSpanId: "bd7a977555f6b982",
            name: "get /api",
            kind: 2,
            startTimeUnixNano: "1502787600012000000",
            endTimeUnixNano: "1502787600107000000",
            attributes: [
              str("http.path", "/api"),
              str("http.status_code", "200"),
              str("network.local.address", "172.17.0.9"),
              int("network.local.port", 9000),
              str("network.peer.address", "172.17.0.13"),
              int("network.peer.port", 54012),
              bool("zipkin.shared", true),
              bool("zipkin.debug", true),
            ],
            events: [],
            status: { code: 0, message: "" },
          },
        ]),
      ],
    };
    expect(decodeZipkinSpans(BRAVE_CALL)).toEqual(expected);
  });

  it("decodes an empty list to an empty batch", () => {
    expect(decodeZipkinSpans([])).toEqual({ resourceSpans: [] });
  });

  it("pads 64-bit trace ids and short span ids, lowercases, and drops a self-parent", () => {
    const s = decodeOne({ traceId: "80F1DA5E10147517", id: "a", parentId: "A" });
    expect(s.traceId).toBe("000000000000000080f1da5e10147517");
    expect(s.spanId).toBe("000000000000000a");
    expect(s.parentSpanId).toBe("");
    // Too long to be an id: passed on for validate to reject, not guessed at.
    expect(decodeOne({ traceId: "1".repeat(40) }).traceId).toBe("1".repeat(40));
    expect(decodeOne({ parentId: "" }).parentSpanId).toBe("");
  });

  it("maps kinds, with span.kind=internal for kind-less spans as the collector does", () => {
    expect(decodeOne({ kind: "PRODUCER" }).kind).toBe(4);
    expect(decodeOne({ kind: "CONSUMER" }).kind).toBe(5);
    expect(decodeOne({}).kind).toBe(0);
    const internal = decodeOne({ tags: { "span.kind": "internal", a: "b" } });
    expect(internal.kind).toBe(1);
    expect(internal.attributes).toEqual([str("a", "b")]);
    // A kind Zipkin does not define is unspecified, not an error.
    expect(decodeOne({ kind: "SIDEWAYS" }).kind).toBe(0);
  });

  it("keeps fractional microseconds (the JS exporter sends them) to the nanosecond", () => {
    const s = decodeOne({ timestamp: 1700000000123456.5, duration: 1.25 });
    expect(s.startTimeUnixNano).toBe("1700000000123456500");
    expect(s.endTimeUnixNano).toBe("1700000000123457750");
    expect(microsToNanos(0)).toBe("0");
    expect(microsToNanos(1)).toBe("1000");
    expect(microsToNanos(0.0004)).toBe("0");
    expect(microsToNanos(2.9996)).toBe("3000");
  });

  it("leaves a span without timestamp at start 0, for validate to reject", () => {
    const batch = decodeZipkinSpans([{ traceId: TRACE, id: "bd7a977555f6b982", duration: 5 }]);
    expect(spans(batch)[0]).toMatchObject({ startTimeUnixNano: "0", endTimeUnixNano: "5000" });
    const result = validateBatch(batch);
    expect(result.rejectedSpans).toBe(1);
    expect(result.errors[0]).toMatch(/startTimeUnixNano must be set/);
  });

  // The status, the attributes left, and the Zipkin API's tags for the span: exactly the input's.
  it.each<[string, Record<string, string>, { code: number; message: string }, KeyValue[]]>([
    ["error=true", { error: "true" }, { code: 2, message: "" }, [str("error", "true")]],
    ["an error message (Brave, zipkin-go)", { error: "timeout" }, { code: 2, message: "timeout" }, [str("error", "timeout")]],
    ["an empty error tag", { error: "" }, { code: 2, message: "" }, [str("error", "")]],
    ["error=false is only a tag", { error: "false" }, { code: 0, message: "" }, [str("error", "false")]],
    ["otel.status_code=ERROR with error (JS exporter, and our own answers)", { "otel.status_code": "ERROR", error: "boom" }, { code: 2, message: "boom" }, []],
    ["otel.status_code=ERROR with error=true (our own answers without a message)", { "otel.status_code": "ERROR", error: "true" }, { code: 2, message: "" }, []],
    ["otel.status_code=ERROR alone (JS exporter without a description)", { "otel.status_code": "ERROR" }, { code: 2, message: "" }, [str("otel.status_code", "ERROR")]],
    ["otel.status_code=OK", { "otel.status_code": "OK" }, { code: 1, message: "" }, []],
    [
      "collector-style status tags",
      { "otel.status_code": "STATUS_CODE_ERROR", "otel.status_description": "bad gateway" },
      { code: 2, message: "bad gateway" },
      [str("otel.status_code", "STATUS_CODE_ERROR"), str("otel.status_description", "bad gateway")],
    ],
    [
      "the collector exporter's status tags",
      { error: "true", "otel.status_code": "Error", "otel.status_description": "bad gateway" },
      { code: 2, message: "bad gateway" },
      [str("error", "true"), str("otel.status_code", "Error"), str("otel.status_description", "bad gateway")],
    ],
    ["error overrides otel.status_code=OK", { "otel.status_code": "OK", error: "x" }, { code: 2, message: "x" }, [str("otel.status_code", "OK"), str("error", "x")]],
    ["a description without a code stays a tag", { "otel.status_description": "x" }, { code: 0, message: "" }, [str("otel.status_description", "x")]],
  ])("status from %s", (_name, tags, status, attributes) => {
    const s = decodeOne({ tags });
    expect(s.status).toEqual(status);
    expect(s.attributes).toEqual(attributes);
    const [zipkin] = encodeZipkinSpans(decodeZipkinSpans([{ traceId: TRACE, id: "bd7a977555f6b982", tags }]).resourceSpans);
    expect(zipkin!.tags).toEqual(tags);
  });

  it("moves resource tags to the resource and groups spans by service, resource and scope", () => {
    const sdk = { "telemetry.sdk.language": "nodejs", "service.name": "api", "host.name": "h1" };
    const batch = decodeZipkinSpans([
      { traceId: TRACE, id: "0000000000000001", localEndpoint: { serviceName: "api" }, tags: { ...sdk, "otel.scope.name": "http", "otel.scope.version": "1.0", "http.route": "/a" } },
      { traceId: TRACE, id: "0000000000000002", localEndpoint: { serviceName: "api" }, tags: { ...sdk, "otel.library.name": "pg" } },
      { traceId: TRACE, id: "0000000000000003", localEndpoint: { serviceName: "api" }, tags: { "host.name": "h1", "telemetry.sdk.language": "nodejs", "otel.scope.name": "http", "otel.scope.version": "1.0" } },
      { traceId: TRACE, id: "0000000000000004", localEndpoint: { serviceName: "api" }, tags: { ...sdk, "host.name": "h2" } },
      { traceId: TRACE, id: "0000000000000005", tags: { "faas.name": "fn", "faas.trigger": "http" } },
    ]);
    expect(batch.resourceSpans.map((rs) => rs.resource.attributes)).toEqual([
      [str("service.name", "api"), str("host.name", "h1"), str("telemetry.sdk.language", "nodejs")],
      [str("service.name", "api"), str("host.name", "h2"), str("telemetry.sdk.language", "nodejs")],
      // No local service name: no service.name, as the collector does.
      [str("faas.name", "fn")],
    ]);
    const first = batch.resourceSpans[0]!;
    expect(first.scopeSpans.map((ss) => [ss.scope.name, ss.scope.version, ss.spans.map((s) => s.spanId.slice(-1))])).toEqual([
      ["http", "1.0", ["1", "3"]],
      ["pg", "", ["2"]],
    ]);
    expect(first.scopeSpans[0]!.spans[0]!.attributes).toEqual([str("http.route", "/a")]);
    expect(batch.resourceSpans[2]!.scopeSpans[0]!.spans[0]!.attributes).toEqual([str("faas.trigger", "http")]);
  });

  it("reads what the collector's zipkin exporter packs into tags and annotations", () => {
    const s = decodeOne({
      annotations: [
        { timestamp: 1502787600000001, value: 'retry|{"attempt":2,"ratio":0.5,"ok":true,"why":"a|b"}|1' },
        { timestamp: 1502787600000002, value: "not|json|x" },
      ],
      tags: {
        "w3c.tracestate": "rojo=00f067aa0ba902b7",
        "otlp.link.0": '0af7651916cd43dd8448eb211c80319c|B7AD6B7169203331|k=v|{"l":1}|2',
        "otlp.link.1": "broken",
        "otel.dropped_attributes_count": "3",
        "otel.dropped_events_count": "4",
        "otel.dropped_links_count": "5",
      },
    });
    expect(s.traceState).toBe("rojo=00f067aa0ba902b7");
    expect(s.events).toEqual([
      {
        timeUnixNano: "1502787600000001000",
        name: "retry",
        attributes: [int("attempt", 2), { key: "ratio", value: { doubleValue: 0.5 } }, bool("ok", true), str("why", "a|b")],
        droppedAttributesCount: 1,
      },
      { timeUnixNano: "1502787600000002000", name: "not|json|x", attributes: [], droppedAttributesCount: 0 },
    ]);
    expect(s.links).toEqual([
      { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceState: "k=v", attributes: [int("l", 1)], droppedAttributesCount: 2, flags: 0 },
    ]);
    expect(s).toMatchObject({ droppedAttributesCount: 3, droppedEventsCount: 4, droppedLinksCount: 5 });
    expect(s.attributes).toEqual([str("otlp.link.1", "broken")]);
  });

  // encode.ts writes event and link attributes' int64s as exact JSON numbers (JsonInt64).
  const BIG_JSON = '{"big":9007199254740993,"max":9223372036854775807,"min":-9223372036854775808,"two53":9007199254740992,"over":18446744073709551616,"small":42,"ratio":0.5,"exp":1e3}';
  const bigDecoded = (): Span =>
    decodeOne({ annotations: [{ timestamp: 1502787600000001, value: `e|${BIG_JSON}|0` }], tags: { "otlp.link.0": `0af7651916cd43dd8448eb211c80319c|b7ad6b7169203331||${BIG_JSON}|0` } });

  it("reads integers beyond 2^53 in event and link attribute JSON exactly, within int64", () => {
    const s = bigDecoded();
    const expected = [
      { key: "big", value: { intValue: "9007199254740993" } },
      { key: "max", value: { intValue: "9223372036854775807" } },
      { key: "min", value: { intValue: "-9223372036854775808" } },
      { key: "two53", value: { intValue: "9007199254740992" } },
      // Beyond int64 a number is a double, as before; so are fractions; exponents read as before.
      { key: "over", value: { doubleValue: 2 ** 64 } },
      int("small", 42),
      { key: "ratio", value: { doubleValue: 0.5 } },
      int("exp", 1000),
    ];
    expect(s.events[0]!.attributes).toEqual(expected);
    expect(s.links[0]!.attributes).toEqual(expected);
  });

  it("falls back to the nearest double where JSON.parse gives a reviver no source text", () => {
    const parse = JSON.parse.bind(JSON);
    const spy = vi.spyOn(JSON, "parse").mockImplementation((text: string, reviver?: (key: string, value: unknown) => unknown) =>
      parse(text, reviver && ((key: string, value: unknown) => reviver(key, value))),
    );
    try {
      const s = bigDecoded();
      expect(spy).toHaveBeenCalled();
      expect(s.events[0]!.attributes.slice(0, 2)).toEqual([
        { key: "big", value: { doubleValue: 2 ** 53 } },
        { key: "max", value: { doubleValue: 2 ** 63 } },
      ]);
      expect(s.links[0]!.attributes).toEqual(s.events[0]!.attributes);
    } finally {
      spy.mockRestore();
    }
  });

  it("lets a tag win over an endpoint-derived attribute of the same name", () => {
    const s = decodeOne({ kind: "CLIENT", remoteEndpoint: { serviceName: "db", ipv4: "10.0.0.1", port: 5432 }, tags: { "peer.service": "postgres", "server.address": "db.internal" } });
    expect(s.attributes).toEqual([
      str("peer.service", "postgres"),
      str("server.address", "db.internal"),
      str("network.peer.address", "10.0.0.1"),
      int("network.peer.port", 5432),
      int("server.port", 5432),
    ]);
  });

  it("keeps loosely typed tag values as text and skips null ones", () => {
    expect(decodeOne({ tags: { n: 42, b: false, gone: null } }).attributes).toEqual([str("n", "42"), str("b", "false")]);
  });
});

describe("decodeZipkinSpans: input it cannot read", () => {
  it.each<[string, unknown, string, RegExp]>([
    ["an object instead of a list", { traceId: TRACE }, "spans", /array of Zipkin v2 spans/],
    ["null", null, "spans", /array/],
    ["a span that is a string", [TRACE], "spans[0]", /object/],
    ["a non-hex trace id", [{}, { traceId: "xyz" }], "spans[1].traceId", /hex/],
    ["a numeric span id", [{ id: 12 }], "spans[0].id", /string/],
    ["a negative timestamp", [{ timestamp: -1 }], "spans[0].timestamp", /./],
    ["a timestamp past 2^53", [{ timestamp: 1e300 }], "spans[0].timestamp", /./],
    ["a string duration", [{ duration: "150ms" }], "spans[0].duration", /number/],
    ["a port that is a string", [{ localEndpoint: { port: "80" } }], "spans[0].localEndpoint.port", /number/],
    ["a port past 65535", [{ remoteEndpoint: { port: 70000 } }], "spans[0].remoteEndpoint.port", /./],
    ["a nested tag value", [{ tags: { a: { b: 1 } } }], "spans[0].tags.a", /./],
    ["annotations not a list", [{ annotations: {} }], "spans[0].annotations", /array/],
    ["an annotation without a numeric time", [{ annotations: [{ timestamp: "now", value: "x" }] }], "spans[0].annotations[0].timestamp", /number/],
    ["a kind that is a number", [{ kind: 2 }], "spans[0].kind", /string/],
    ["shared as a string", [{ shared: "true" }], "spans[0].shared", /boolean/],
  ])("%s", (_name, body, where, message) => {
    const err = decodeError(body);
    expect(err.where).toBe(where);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(`(at ${where})`);
  });
});

// ---------------------------------------------------------------------------------------------
// What @opentelemetry/exporter-zipkin really sends, captured from a local HTTP server.

async function captureZipkinExport(record: (provider: BasicTracerProvider) => void): Promise<{ body: unknown; finished: ReadableSpan[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let data = "";
    req.on("data", (chunk: Buffer) => (data += chunk.toString("utf8")));
    req.on("end", () => {
      bodies.push(data);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const exporter = new ZipkinExporter({ url: `http://127.0.0.1:${port}/api/v2/spans` });
    const finished: ReadableSpan[] = [];
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "checkout", "service.version": "1.4.0", "host.name": "web-1" }),
      spanProcessors: [
        { onStart() {}, onEnd: (s: ReadableSpan) => void finished.push(s), forceFlush: async () => {}, shutdown: async () => {} },
        new SimpleSpanProcessor(exporter),
      ],
    });
    record(provider);
    await provider.forceFlush();
    await provider.shutdown();
    expect(bodies.length).toBeGreaterThan(0);
    return { body: bodies.flatMap((b) => JSON.parse(b) as unknown[]), finished };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe("decodeZipkinSpans reads @opentelemetry/exporter-zipkin output", () => {
  it("round-trips ids, names, kinds, times, attributes, events, status and the resource", async () => {
    const { body, finished } = await captureZipkinExport((provider) => {
      const tracer = provider.getTracer("checkout-http", "0.9.0");
      const root = tracer.startSpan("POST /orders", { kind: OtelSpanKind.SERVER, startTime: [1_780_000_000, 123_456_789], attributes: { "http.route": "/orders", "http.response.status_code": 201 } });
      const ctx = trace.setSpan(context.active(), root);
      const db = tracer.startSpan("INSERT orders", { kind: OtelSpanKind.CLIENT, startTime: [1_780_000_000, 200_000_000], attributes: { "db.system.name": "postgresql", retries: 2, sampled: true } }, ctx);
      db.addEvent("exception", { "exception.message": "deadlock" }, [1_780_000_000, 250_000_000]);
      db.setStatus({ code: SpanStatusCode.ERROR, message: "deadlock detected" });
      db.end([1_780_000_000, 300_000_500]);
      const local = tracer.startSpan("validate", { startTime: [1_780_000_000, 150_000_000] }, ctx);
      local.setStatus({ code: SpanStatusCode.OK });
      local.end([1_780_000_000, 160_000_000]);
      // An ERROR without a description: the exporter writes otel.status_code and no `error` tag.
      const charge = tracer.startSpan("charge", { kind: OtelSpanKind.CLIENT, startTime: [1_780_000_000, 310_000_000] }, ctx);
      charge.setStatus({ code: SpanStatusCode.ERROR });
      charge.end([1_780_000_000, 320_000_000]);
      root.end([1_780_000_000, 400_000_000]);
    });
    const batch = decodeZipkinSpans(body);
    expect(batch.resourceSpans).toHaveLength(1);
    expect(batch.resourceSpans[0]!.resource.attributes).toEqual([
      str("service.name", "checkout"),
      str("host.name", "web-1"),
      str("service.version", "1.4.0"),
    ]);
    const byId = new Map(spans(batch).map((s) => [s.spanId, s]));
    expect(byId.size).toBe(4);
    for (const f of finished) {
      const s = byId.get(f.spanContext().spanId)!;
      expect(s.traceId).toBe(f.spanContext().traceId);
      expect(s.parentSpanId).toBe(f.parentSpanContext?.spanId ?? "");
      expect(s.name).toBe(f.name);
      // Zipkin has no INTERNAL kind: the exporter leaves kind out and it comes back unspecified.
      expect(s.kind).toBe({ [OtelSpanKind.SERVER]: 2, [OtelSpanKind.CLIENT]: 3, [OtelSpanKind.INTERNAL]: 0 }[f.kind as number]);
      // The exporter sends the start as fractional µs in a double (a quarter-µs resolution in this
      // decade) and the duration rounded to whole µs.
      const startNs = BigInt(f.startTime[0]) * 1_000_000_000n + BigInt(f.startTime[1]);
      const drift = BigInt(s.startTimeUnixNano) - startNs;
      expect(drift >= -250n && drift <= 250n).toBe(true);
      const durationUs = BigInt(Math.round(f.duration[0] * 1e6 + f.duration[1] / 1e3));
      expect(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)).toBe(durationUs * 1000n);
      // The span's attributes, and the status tags when they are not the ones our Zipkin API
      // writes for the status (that one lone otel.status_code), kept so they come back as sent.
      const lone = f.status.code === SpanStatusCode.ERROR && !f.status.message ? [str("otel.status_code", "ERROR")] : [];
      expect(s.attributes).toEqual([...Object.entries(f.attributes).map(([k, v]) => str(k, String(v))), ...lone]);
      expect(s.events.map((e) => e.name)).toEqual(f.events.map((e) => e.name));
      expect(s.status.code).toBe(f.status.code);
      expect(s.status.message).toBe(f.status.message ?? "");
    }
    const db = [...byId.values()].find((s) => s.name === "INSERT orders")!;
    expect(db.events[0]!.timeUnixNano).toBe("1780000000250000000");
    expect(validateBatch(batch).acceptedSpans).toBe(4);
    // Our Zipkin API gives each span back with exactly the tags the exporter sent, but for the
    // exporter's copy of localEndpoint.serviceName as a `service.name` tag (the resource has it).
    const back = new Map(encodeZipkinSpans(batch.resourceSpans).map((z) => [z.id, z.tags]));
    for (const sent of body as { id: string; tags: Record<string, string> }[]) {
      const { "service.name": serviceName, ...tags } = sent.tags;
      expect(serviceName).toBe("checkout");
      expect(back.get(sent.id), sent.id).toEqual(tags);
    }
  });
});
