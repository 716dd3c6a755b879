import { describe, expect, it } from "vitest";
import type { ResourceSpans, Span } from "../model/span.ts";
import { MAX_ATTRIBUTE_KEY_BYTES, MAX_NAME_BYTES } from "../model/span-limits.ts";
import { encodeTraceProto } from "../otlp/encode-proto.ts";
import { decodeIngestBatch } from "./batch-object.ts";
import { partialSuccess, prepareBatch, type PrepareOptions } from "./prepare.ts";
import { modelSpan } from "../../test/support/spans.ts";

const RECEIVED_MS = 1_780_000_000_000;
const NOW_NS = BigInt(RECEIVED_MS) * 1_000_000n;
const opts: PrepareOptions = { tenantId: "tn_a", batchId: "b1", receivedAtMs: RECEIVED_MS, maxAttributeValueBytes: 1024, retentionDays: 14 };
const TRACE = "0af7651916cd43dd8448eb211c80319c";
const enc = new TextEncoder();

function span(spanId: string, o: Partial<Span> = {}): Span {
  return modelSpan(spanId, { traceId: TRACE, startTimeUnixNano: String(NOW_NS - 1_000_000_000n), endTimeUnixNano: String(NOW_NS - 900_000_000n), ...o });
}

const request = (...spans: Span[]): ResourceSpans[] => [
  { resource: { attributes: [{ key: "service.name", value: { stringValue: "api" } }], droppedAttributesCount: 0 }, schemaUrl: "", scopeSpans: [{ scope: { name: "s", version: "", attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: "" }] },
];
const proto = (...spans: Span[]) => encodeTraceProto(request(...spans));
const json = (...spans: Span[]) => enc.encode(JSON.stringify({ resourceSpans: request(...spans) }));
const stored = (body: Uint8Array | undefined) => decodeIngestBatch(body!).traces.flatMap((t) => t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));

describe("prepareBatch: the time window", () => {
  const far = [
    span("1111111111111111", { startTimeUnixNano: "18446744073709551615", endTimeUnixNano: "18446744073709551615" }),
    span("2222222222222222", { endTimeUnixNano: String(NOW_NS + 3n * 3_600_000_000_000n) }),
    span("3333333333333333", { startTimeUnixNano: "1000", endTimeUnixNano: "2000" }),
    span("4444444444444444", { startTimeUnixNano: String(NOW_NS - 15n * 86_400_000_000_000n) }),
  ];

  it.each([
    ["OTLP protobuf", "otlp-proto", proto(span("aaaaaaaaaaaaaaaa"), ...far)],
    ["OTLP JSON", "otlp-json", json(span("aaaaaaaaaaaaaaaa"), ...far)],
  ] as const)("%s: spans outside it are rejected and counted; the stored object and its time range hold only the others", (_n, source, body) => {
    const p = prepareBatch(body, source, opts);
    expect(p.acceptedSpans).toBe(1);
    expect(p.rejectedSpans).toBe(4);
    expect(p.errors).toEqual([
      "span 1 of resourceSpans[0].scopeSpans[0]: endTimeUnixNano is more than 2 hours after the request was received",
      "span 3 of resourceSpans[0].scopeSpans[0]: startTimeUnixNano is more than 14 days (the tenant's retention) before the request was received",
    ]);
    expect(stored(p.body).map((s) => s.spanId)).toEqual(["aaaaaaaaaaaaaaaa"]);
    expect(p.minStartUnixNano).toBe(String(NOW_NS - 1_000_000_000n));
    expect(p.maxEndUnixNano).toBe(String(NOW_NS - 900_000_000n));
    expect(partialSuccess(p)).toEqual({ rejectedSpans: 4, errorMessage: p.errors.join("; ") });
  });

  it("Zipkin: the same window, from epoch microseconds", () => {
    const nowUs = RECEIVED_MS * 1000;
    const z = (id: string, timestamp: number, duration = 10) => ({ traceId: TRACE, id, name: "get", timestamp, duration, localEndpoint: { serviceName: "api" } });
    const body = enc.encode(JSON.stringify([z("aaaaaaaaaaaaaaaa", nowUs - 5_000), z("1111111111111111", nowUs + 3 * 3_600_000_000), z("2222222222222222", 1), z("3333333333333333", Number.MAX_SAFE_INTEGER - 10)]));
    const p = prepareBatch(body, "zipkin-json", opts);
    expect(p.acceptedSpans).toBe(1);
    expect(p.rejectedSpans).toBe(3);
    expect(stored(p.body).map((s) => s.spanId)).toEqual(["aaaaaaaaaaaaaaaa"]);
  });

  it("a request with only such spans stores nothing and counts them all", () => {
    const p = prepareBatch(json(...far), "otlp-json", opts);
    expect(p).toMatchObject({ body: undefined, acceptedSpans: 0, rejectedSpans: 4, traceCount: 0 });
  });

  it("uses the tenant's retention", () => {
    const old = span("1111111111111111", { startTimeUnixNano: String(NOW_NS - 20n * 86_400_000_000_000n) });
    expect(prepareBatch(json(old), "otlp-json", opts).rejectedSpans).toBe(1);
    expect(prepareBatch(json(old), "otlp-json", { ...opts, retentionDays: 30 }).acceptedSpans).toBe(1);
  });
});

describe("prepareBatch: sizes", () => {
  // 1 MiB keeps the test quick on a busy machine; the ingest suite sends 4 MiB through the worker.
  const big = "x".repeat(1024 * 1024);

  it("cuts a 1 MiB span name, status message and attribute value, drops a 1 MiB key, keeps the span, and says so", () => {
    const s = span("1111111111111111", {
      name: big,
      status: { code: 2, message: big },
      attributes: [
        { key: big, value: { stringValue: "v" } },
        { key: "payload", value: { stringValue: big } },
      ],
    });
    for (const [source, body] of [["otlp-proto", proto(s)], ["otlp-json", json(s)]] as const) {
      const p = prepareBatch(body, source, opts);
      expect(p.acceptedSpans).toBe(1);
      expect(p.rejectedSpans).toBe(0);
      expect(p.body!.byteLength).toBeLessThan(16 * 1024);
      const [out] = stored(p.body);
      expect(out!.name).toBe("x".repeat(MAX_NAME_BYTES));
      expect(out!.status).toEqual({ code: 2, message: "x".repeat(1024) });
      expect(out!.attributes).toEqual([{ key: "payload", value: { stringValue: "x".repeat(1024) } }]);
      expect(out!.droppedAttributesCount).toBe(1);
      expect(p.notices).toEqual([
        `spans kept within this tenant's limits: truncated 1 attribute value to 1024 bytes, 1 status message to 1024 bytes, 1 name (span, event or scope name, scope version, schema URL, trace state) to ${MAX_NAME_BYTES} bytes; dropped 1 attribute with a key over ${MAX_ATTRIBUTE_KEY_BYTES} bytes`,
      ]);
      expect(partialSuccess(p)).toEqual({ rejectedSpans: 0, errorMessage: p.notices[0] });
    }
  });

  it("Zipkin: a 1 MiB name, tag key, tag value and error text are bounded the same way", () => {
    const body = enc.encode(JSON.stringify([{ traceId: TRACE, id: "1111111111111111", name: big, timestamp: RECEIVED_MS * 1000 - 5000, duration: 10, localEndpoint: { serviceName: "api" }, tags: { [big]: "v", payload: big, error: big } }]));
    const p = prepareBatch(body, "zipkin-json", opts);
    const [out] = stored(p.body);
    expect(out!.name.length).toBe(MAX_NAME_BYTES);
    expect(out!.status.message.length).toBe(1024);
    expect(out!.attributes.find((a) => a.key === "payload")!.value).toEqual({ stringValue: "x".repeat(1024) });
    expect(out!.attributes.some((a) => a.key.length > MAX_ATTRIBUTE_KEY_BYTES)).toBe(false);
    expect(p.body!.byteLength).toBeLessThan(16 * 1024);
    expect(p.notices[0]).toMatch(/^spans kept within this tenant's limits: truncated .*; dropped 1 attribute with a key over/);
  });
});

describe("prepareBatch: repeated spans", () => {
  it("stores an exact repeat once and says so without rejecting; a different span with the same id and kind is rejected", () => {
    const a = span("1111111111111111");
    const p = prepareBatch(json(a, span("2222222222222222"), a, a, span("1111111111111111", { name: "other" })), "otlp-json", opts);
    expect(stored(p.body).map((s) => `${s.spanId} ${s.name}`)).toEqual(["1111111111111111 GET /", "2222222222222222 GET /"]);
    expect(p).toMatchObject({ acceptedSpans: 2, rejectedSpans: 1, duplicateSpans: 2, traceCount: 1 });
    expect(decodeIngestBatch(p.body!).spanCount).toBe(2);
    expect(partialSuccess(p)!.rejectedSpans).toBe(1);
    expect(partialSuccess(p)!.errorMessage).toMatch(/^1 span repeats the trace id, span id and kind .*; 2 spans were exact repeats of an earlier span of the request and stored once$/);
  });

  it("Zipkin: a span sent twice in one request is stored once; its shared server half is kept", () => {
    const z = { traceId: TRACE, id: "1111111111111111", name: "get", kind: "CLIENT", timestamp: RECEIVED_MS * 1000 - 5000, duration: 10, localEndpoint: { serviceName: "web" } };
    const server = { ...z, kind: "SERVER", shared: true, localEndpoint: { serviceName: "api" } };
    const p = prepareBatch(enc.encode(JSON.stringify([z, server, z])), "zipkin-json", opts);
    expect(stored(p.body).map((s) => s.kind).sort()).toEqual([2, 3]);
    expect(p).toMatchObject({ acceptedSpans: 2, rejectedSpans: 0, duplicateSpans: 1 });
  });
});

describe("partialSuccess", () => {
  it("is undefined for a plain success and joins rejections before notices", () => {
    expect(partialSuccess({ rejectedSpans: 0, errors: [], notices: [] })).toBeUndefined();
    expect(partialSuccess({ rejectedSpans: 2, errors: ["a", "b"], notices: ["c"] })).toEqual({ rejectedSpans: 2, errorMessage: "a; b; c" });
    expect(partialSuccess({ rejectedSpans: 0, errors: [], notices: ["c"] })).toEqual({ rejectedSpans: 0, errorMessage: "c" });
  });
});
