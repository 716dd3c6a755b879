import { describe, expect, it } from "vitest";
import { bool, dbl, int, str, zeroSpan } from "../../test/support/spans.ts";
import { BRAVE_BACKEND_HALF, BRAVE_TRACE, braveFrontendSpans } from "../../test/support/zipkin-brave-call.ts";
import type { KeyValue, ResourceSpans, Span, TraceBatch } from "../model/span.ts";
import { decodeZipkinSpans } from "./decode.ts";
import { encodeZipkinSpans, zipkinTraceId } from "./encode.ts";

const TRACE = BRAVE_TRACE;

// Zipkin-shaped input: a Brave-style call (shared server half), an internal span, a producer with
// a host-name server, annotations with and without attributes, a link, a 64-bit trace.
const ZIPKIN = [
  ...braveFrontendSpans({ "host.name": "web-1", "otel.scope.name": "brave", "otel.scope.version": "5.0" }),
  {
    ...BRAVE_BACKEND_HALF,
    timestamp: 1502787600011000,
    duration: 90000,
    localEndpoint: { serviceName: "backend", ipv4: "172.17.0.9", port: 9000 },
    remoteEndpoint: { ipv4: "172.17.0.13" },
    tags: { "http.path": "/api", "otel.status_code": "OK" },
    annotations: [{ timestamp: 1502787600012000, value: 'cache.miss|{"key":"a|b","n":3}|1' }],
  },
  {
    traceId: TRACE,
    parentId: "be2d01e33cc78d97",
    id: "0000000000000abc",
    name: "render",
    timestamp: 1502787600013000,
    duration: 1,
    localEndpoint: { serviceName: "backend" },
    tags: { "span.kind": "internal", "w3c.tracestate": "k=v", [`otlp.link.0`]: `${TRACE}|00000000000000aa|x=y|{"why":"retry"}|0` },
  },
  {
    traceId: "463ac35c9f6413ad",
    id: "463ac35c9f6413ad",
    name: "send",
    kind: "PRODUCER",
    timestamp: 1502787600020000,
    duration: 500,
    debug: true,
    localEndpoint: { serviceName: "backend" },
    remoteEndpoint: { serviceName: "kafka", port: 9092 },
    tags: { "server.address": "broker.internal", "messaging.system": "kafka" },
  },
];

function spans(batch: TraceBatch): Span[] {
  return batch.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}

const byKey = (a: KeyValue, b: KeyValue) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Attribute order is not part of the contract. */
function normalized(rs: ResourceSpans[]): ResourceSpans[] {
  return rs.map((r) => ({
    ...r,
    resource: { ...r.resource, attributes: [...r.resource.attributes].sort(byKey) },
    scopeSpans: r.scopeSpans.map((ss) => ({ ...ss, spans: ss.spans.map((s) => ({ ...s, attributes: [...s.attributes].sort(byKey) })) })),
  }));
}

function span(over: Partial<Span>): Span {
  return zeroSpan({ traceId: TRACE, spanId: "bd7a977555f6b982", flags: 1, name: "op", startTimeUnixNano: "1502787600000000000", endTimeUnixNano: "1502787600001500999", ...over });
}

function rs(service: string | undefined, s: Span[], resourceAttrs: KeyValue[] = []): ResourceSpans {
  const attrs = service === undefined ? resourceAttrs : [{ key: "service.name", value: { stringValue: service } }, ...resourceAttrs];
  return { resource: { attributes: attrs, droppedAttributesCount: 0 }, schemaUrl: "", scopeSpans: [{ scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans: s }] };
}

describe("encodeZipkinSpans", () => {
  it("round-trips Zipkin-shaped input through decodeZipkinSpans", () => {
    const model = decodeZipkinSpans(structuredClone(ZIPKIN));
    const encoded = encodeZipkinSpans(model.resourceSpans);
    expect(encoded).toHaveLength(ZIPKIN.length);
    const again = decodeZipkinSpans(JSON.parse(JSON.stringify(encoded)));
    expect(normalized(again.resourceSpans)).toEqual(normalized(model.resourceSpans));
  });

  it("gives back the Zipkin fields of the input", () => {
    const encoded = encodeZipkinSpans(decodeZipkinSpans(structuredClone(ZIPKIN)).resourceSpans);
    const byId = (id: string, kind?: string) => encoded.find((s) => s.id === id && s.kind === kind)!;
    expect(byId("bd7a977555f6b982", "SERVER")).toEqual(ZIPKIN[0]);
    // Zipkin's `error` tag alone comes back alone, no otel.status_code beside it.
    expect(byId("be2d01e33cc78d97", "CLIENT")).toEqual(ZIPKIN[1]);
    const server = byId("be2d01e33cc78d97", "SERVER");
    expect(server.shared).toBe(true);
    expect(server.parentId).toBe("bd7a977555f6b982");
    expect(server.tags).toEqual({ "http.path": "/api", "otel.status_code": "OK" });
    expect(server.annotations).toEqual([{ timestamp: 1502787600012000, value: 'cache.miss|{"key":"a|b","n":3}|1' }]);
    const internal = byId("0000000000000abc");
    expect(internal?.kind).toBeUndefined();
    expect(internal.duration).toBe(1);
    expect(internal.remoteEndpoint).toBeUndefined();
    expect(internal.tags).toEqual(ZIPKIN[3]!.tags);
    // A 64-bit trace id comes back as 16 digits; a host name stays a tag.
    const producer = byId("463ac35c9f6413ad", "PRODUCER");
    expect(producer).toMatchObject({ traceId: "463ac35c9f6413ad", debug: true, remoteEndpoint: { serviceName: "kafka", port: 9092 } });
    expect(producer.tags).toEqual({ "server.address": "broker.internal", "messaging.system": "kafka" });
    expect(producer.parentId).toBeUndefined();
  });

  it("maps OTel-native spans: kinds, times, endpoints, status, typed tags", () => {
    const [client, internal, bare] = encodeZipkinSpans([
      rs("cart", [
        span({
          kind: 3,
          parentSpanId: "00f067aa0ba902b7",
          status: { code: 2, message: "" },
          attributes: [
            str("server.address", "10.0.0.5"),
            int("server.port", 443),
            str("network.local.address", "2001:db8::1"),
            int("retries", 2),
            dbl("ratio", 0.5),
            bool("cached", false),
            { key: "ids", value: { arrayValue: { values: [{ stringValue: "a" }, { intValue: "1" }] } } },
            { key: "map", value: { kvlistValue: { values: [{ key: "k", value: { boolValue: true } }] } } },
            { key: "empty", value: {} },
          ],
          events: [{ timeUnixNano: "1502787600000999999", name: "exception", attributes: [{ key: "exception.type", value: { stringValue: "Timeout" } }], droppedAttributesCount: 0 }],
          droppedAttributesCount: 3,
        }),
        span({ kind: 1, spanId: "00000000000000aa", status: { code: 2, message: "boom" }, endTimeUnixNano: "1502787600000000400" }),
      ], [{ key: "deployment.environment", value: { stringValue: "prod" } }]),
      rs(undefined, [span({ traceId: "0000000000000000463ac35c9f6413ad", startTimeUnixNano: "0", endTimeUnixNano: "0" })]),
    ]);
    expect(client).toEqual({
      traceId: TRACE,
      id: "bd7a977555f6b982",
      parentId: "00f067aa0ba902b7",
      name: "op",
      kind: "CLIENT",
      timestamp: 1502787600000000,
      duration: 1500,
      localEndpoint: { serviceName: "cart", ipv6: "2001:db8::1" },
      remoteEndpoint: { ipv4: "10.0.0.5", port: 443 },
      annotations: [{ timestamp: 1502787600000999, value: 'exception|{"exception.type":"Timeout"}|0' }],
      tags: {
        "deployment.environment": "prod",
        retries: "2",
        ratio: "0.5",
        cached: "false",
        ids: '["a",1]',
        map: '{"k":true}',
        empty: "",
        "otel.status_code": "ERROR",
        error: "true",
        "otel.dropped_attributes_count": "3",
      },
    });
    expect(internal?.kind).toBeUndefined();
    expect(internal).toMatchObject({ duration: 1, tags: { "span.kind": "internal", "otel.status_code": "ERROR", error: "boom" } });
    expect(bare).toEqual({ traceId: "463ac35c9f6413ad", id: "bd7a977555f6b982", name: "op" });
  });

  it("writes a span's own status tags when they say its status, else the status's (OTel's Zipkin mapping)", () => {
    const tagsOf = (attributes: KeyValue[], status: Span["status"]) => encodeZipkinSpans([rs("a", [span({ attributes, status })])])[0]!.tags;
    // As decode.ts keeps a Zipkin span's status tags.
    expect(tagsOf([str("error", "connection reset")], { code: 2, message: "connection reset" })).toEqual({ error: "connection reset" });
    expect(tagsOf([str("otel.status_code", "ERROR")], { code: 2, message: "" })).toEqual({ "otel.status_code": "ERROR" });
    expect(tagsOf([str("error", "false")], { code: 0, message: "" })).toEqual({ error: "false" });
    // Tags that say another status, or are not strings, give way to the status's.
    expect(tagsOf([str("error", "connection reset")], { code: 2, message: "boom" })).toEqual({ "otel.status_code": "ERROR", error: "boom" });
    expect(tagsOf([{ key: "error", value: { boolValue: true } }], { code: 2, message: "" })).toEqual({ error: "true", "otel.status_code": "ERROR" });
    expect(tagsOf([str("otel.status_code", "ERROR")], { code: 1, message: "" })).toEqual({ "otel.status_code": "OK" });
    expect(tagsOf([], { code: 2, message: "" })).toEqual({ "otel.status_code": "ERROR", error: "true" });
  });

  it("writes event and link attributes' int64s so that decode.ts reads them back exactly", () => {
    const big: KeyValue[] = [
      { key: "max", value: { intValue: "9223372036854775807" } },
      { key: "min", value: { intValue: "-9223372036854775808" } },
      { key: "above", value: { intValue: "9007199254740993" } },
    ];
    const sent = rs("a", [
      span({
        events: [{ timeUnixNano: "1502787600000500000", name: "e", attributes: big, droppedAttributesCount: 0 }],
        links: [{ traceId: TRACE, spanId: "00000000000000aa", traceState: "", attributes: big, droppedAttributesCount: 0, flags: 0 }],
      }),
    ]);
    const text = JSON.stringify(encodeZipkinSpans([sent]));
    expect(text).toContain('\\"max\\":9223372036854775807');
    const [back] = spans(decodeZipkinSpans(JSON.parse(text)));
    expect(back!.events[0]!.attributes).toEqual(big);
    expect(back!.links[0]!.attributes).toEqual(big);
  });

  it("keeps an IPv4 written with leading zeros as the endpoint's, as Zipkin does", () => {
    const input = [{ ...ZIPKIN[2]!, localEndpoint: { serviceName: "backend", ipv4: "010.001.002.003", port: 9000 }, remoteEndpoint: { ipv4: "172.017.000.013" } }];
    const [out] = encodeZipkinSpans(decodeZipkinSpans(structuredClone(input)).resourceSpans);
    expect(out).toEqual(input[0]);
    // Not IPv4 to Zipkin (an octet over 255, or four digits): the address stays a tag.
    for (const address of ["256.1.2.3", "1.2.3.0004", "1.2.3"]) {
      const [s] = encodeZipkinSpans([rs("a", [span({ attributes: [{ key: "network.local.address", value: { stringValue: address } }] })])]);
      expect(s!.localEndpoint).toEqual({ serviceName: "a" });
      expect(s!.tags).toEqual({ "network.local.address": address });
    }
  });

  it("writes a trace's scope attributes as tags, the span's winning, and ints beyond 2^53 exactly", () => {
    const resource = rs("a", [span({ attributes: [{ key: "shared.key", value: { stringValue: "span" } }, { key: "big", value: { arrayValue: { values: [{ intValue: "9223372036854775807" }] } } }] })]);
    resource.scopeSpans[0]!.scope = { name: "lib", version: "", attributes: [{ key: "scope.attr", value: { intValue: "-9223372036854775808" } }, { key: "shared.key", value: { stringValue: "scope" } }], droppedAttributesCount: 0 };
    const [s] = encodeZipkinSpans([resource]);
    expect(s!.tags).toEqual({ "scope.attr": "-9223372036854775808", "shared.key": "span", big: "[9223372036854775807]", "otel.scope.name": "lib" });
  });

  it("prints 16-digit trace ids only for a zero high half", () => {
    expect(zipkinTraceId("0000000000000000463ac35c9f6413ad")).toBe("463ac35c9f6413ad");
    expect(zipkinTraceId(TRACE)).toBe(TRACE);
    expect(spans(decodeZipkinSpans(encodeZipkinSpans([rs("a", [span({ traceId: "0000000000000000463ac35c9f6413ad" })])])))[0]!.traceId).toBe("0000000000000000463ac35c9f6413ad");
  });
});
