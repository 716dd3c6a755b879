/**
 * What ingest refuses, cuts and folds (shared/model/span-limits.ts, shared/ingest/dedupe-spans.ts)
 * through the real worker: the response each protocol gets and what is stored.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ResourceSpans, Span } from "../../shared/model/span.ts";
import { MAX_ATTRIBUTE_KEY_BYTES, MAX_NAME_BYTES } from "../../shared/model/span-limits.ts";
import { encodeTraceProto } from "../../shared/otlp/encode-proto.ts";
import { JSON_TYPE, post, PROTO, spyQueue, storedBatches, storedObjects, tenantWithKey } from "./helpers.ts";
import { modelSpan } from "../support/spans.ts";

const TRACE = "5b8efff798038103d269b633813fc60c";
const HOUR_NS = 3_600_000_000_000n;
const DAY_NS = 24n * HOUR_NS;
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

function span(spanId: string, o: Partial<Span> = {}): Span {
  const start = nowNs() - 60_000_000_000n;
  return modelSpan(spanId, { traceId: TRACE, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 5_000_000n), ...o });
}

const request = (spans: Span[]): ResourceSpans[] => [
  { resource: { attributes: [{ key: "service.name", value: { stringValue: "api" } }], droppedAttributesCount: 0 }, schemaUrl: "", scopeSpans: [{ scope: { name: "s", version: "", attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl: "" }] },
];

/** ExportTraceServiceResponse, read by hand (protobufjs does not load in workerd). */
function readPartialSuccess(bytes: Uint8Array): { rejectedSpans: number; errorMessage: string } | undefined {
  let pos = 0;
  const varint = (buf: Uint8Array) => {
    let n = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[pos++]!;
      n |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return n;
    }
  };
  if (bytes.length === 0) return undefined;
  expect(bytes[pos++]).toBe(0x0a);
  const end = pos + Number(varint(bytes));
  const out = { rejectedSpans: 0, errorMessage: "" };
  while (pos < end) {
    const tag = bytes[pos++];
    if (tag === 0x08) out.rejectedSpans = Number(varint(bytes));
    else if (tag === 0x12) {
      const len = Number(varint(bytes));
      out.errorMessage = new TextDecoder().decode(bytes.subarray(pos, pos + len));
      pos += len;
    } else throw new Error(`unexpected tag ${tag}`);
  }
  return out;
}

async function storedSpans(tenantId: string): Promise<Span[]> {
  return (await storedBatches(tenantId)).flatMap((b) => b.traces.flatMap((t) => t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans))));
}

describe("the time window around the receive time", () => {
  const outside = () => [
    span("1111111111111111", { startTimeUnixNano: "18446744073709551615", endTimeUnixNano: "18446744073709551615" }),
    span("2222222222222222", { endTimeUnixNano: String(nowNs() + 3n * HOUR_NS) }),
    span("3333333333333333", { startTimeUnixNano: "1", endTimeUnixNano: "2" }),
    span("4444444444444444", { startTimeUnixNano: String(nowNs() - 15n * DAY_NS) }),
  ];

  it("OTLP protobuf: spans outside it are rejected in partial_success and in the usage message; the others are stored", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const { queue, sent } = spyQueue();
    const res = await post("/v1/traces", encodeTraceProto(request([span("aaaaaaaaaaaaaaaa"), ...outside()])), { "content-type": PROTO, "x-api-key": secret }, { INGEST_QUEUE: queue });
    expect(res.status).toBe(200);
    const partial = readPartialSuccess(new Uint8Array(await res.arrayBuffer()));
    expect(partial!.rejectedSpans).toBe(4);
    expect(partial!.errorMessage).toBe(
      "span 1 of resourceSpans[0].scopeSpans[0]: endTimeUnixNano is more than 2 hours after the request was received; " +
        "span 3 of resourceSpans[0].scopeSpans[0]: startTimeUnixNano is more than 14 days (the tenant's retention) before the request was received",
    );
    expect((await storedSpans(tenantId)).map((s) => s.spanId)).toEqual(["aaaaaaaaaaaaaaaa"]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ spanCount: 1, rejectedSpans: 4 });
    expect(BigInt(sent[0]!.maxEndUnixNano)).toBeLessThan(nowNs());
  });

  it("OTLP JSON: the same, and a request with nothing inside the window is a 400 whose spans still count as rejected", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const { queue, sent } = spyQueue();
    const res = await post("/v1/traces", JSON.stringify({ resourceSpans: request([span("aaaaaaaaaaaaaaaa"), ...outside()]) }), { "content-type": JSON_TYPE, "x-api-key": secret }, { INGEST_QUEUE: queue });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedSpans).toBe("4");
    expect(body.partialSuccess.errorMessage).toMatch(/more than 2 hours after .* more than 14 days/);

    const none = await post("/v1/traces", JSON.stringify({ resourceSpans: request(outside()) }), { "content-type": JSON_TYPE, "x-api-key": secret }, { INGEST_QUEUE: queue });
    expect(none.status).toBe(400);
    expect(((await none.json()) as { message: string }).message).toMatch(/^All 4 spans were rejected: .*more than 2 hours after/);
    expect(sent.map((m) => [m.spanCount, m.rejectedSpans])).toEqual([
      [1, 4],
      [0, 4],
    ]);
    expect((await storedSpans(tenantId)).map((s) => s.spanId)).toEqual(["aaaaaaaaaaaaaaaa"]);
  });

  it("follows the tenant's retention", async () => {
    const { tenantId, secret } = await tenantWithKey();
    await env.DB.prepare("UPDATE tenants SET retention_days = 30 WHERE id = ?").bind(tenantId).run();
    const old = span("1111111111111111", { startTimeUnixNano: String(nowNs() - 20n * DAY_NS) });
    const res = await post("/v1/traces", JSON.stringify({ resourceSpans: request([old]) }), { "content-type": JSON_TYPE, "x-api-key": secret });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect((await storedSpans(tenantId)).map((s) => s.spanId)).toEqual(["1111111111111111"]);
  });

  it("Zipkin: the same window; the count and the reasons travel in headers", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const { queue, sent } = spyQueue();
    const nowUs = Date.now() * 1000;
    const z = (id: string, timestamp: number) => ({ traceId: TRACE, id, name: "get", timestamp, duration: 10, localEndpoint: { serviceName: "api" } });
    const res = await post("/api/v2/spans", JSON.stringify([z("aaaaaaaaaaaaaaaa", nowUs - 5000), z("1111111111111111", nowUs + 3 * 3_600_000_000), z("2222222222222222", 1)]), { "content-type": JSON_TYPE, "x-api-key": secret }, { INGEST_QUEUE: queue });
    expect(res.status).toBe(202);
    expect(res.headers.get("x-edgetrace-rejected-spans")).toBe("2");
    expect(res.headers.get("x-edgetrace-error-message")).toMatch(/more than 2 hours after .* more than 14 days/);
    expect((await storedSpans(tenantId)).map((s) => s.spanId)).toEqual(["aaaaaaaaaaaaaaaa"]);
    expect(sent[0]).toMatchObject({ spanCount: 1, rejectedSpans: 2 });
  });
});

describe("size bounds", () => {
  const big = "x".repeat(4 * 1024 * 1024);
  const huge = () => span("1111111111111111", { name: big, status: { code: 2, message: big }, attributes: [{ key: big, value: { stringValue: "v" } }, { key: "ok", value: { stringValue: "fine" } }] });
  const notice = `spans kept within this tenant's limits: truncated 1 status message to 65536 bytes, 1 name (span, event or scope name, scope version, schema URL, trace state) to ${MAX_NAME_BYTES} bytes; dropped 1 attribute with a key over ${MAX_ATTRIBUTE_KEY_BYTES} bytes`;

  async function expectBounded(tenantId: string) {
    const [s] = await storedSpans(tenantId);
    expect(s!.name).toBe("x".repeat(MAX_NAME_BYTES));
    expect(s!.status).toEqual({ code: 2, message: "x".repeat(64 * 1024) });
    expect(s!.attributes).toEqual([{ key: "ok", value: { stringValue: "fine" } }]);
    expect(s!.droppedAttributesCount).toBe(1);
    // 12 MiB sent; what is kept is small enough to travel inside the queue message (no R2 object).
    expect(await storedObjects(tenantId)).toEqual([]);
  }

  it("OTLP JSON: a 4 MiB span name, attribute key and status message are bounded, the span accepted, and partial_success says what was cut", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const res = await post("/v1/traces", JSON.stringify({ resourceSpans: request([huge()]) }), { "content-type": JSON_TYPE, "x-api-key": secret });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ partialSuccess: { rejectedSpans: "0", errorMessage: notice } });
    await expectBounded(tenantId);
  });

  it("OTLP protobuf: the same, with rejected_spans 0 and the message", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const res = await post("/v1/traces", encodeTraceProto(request([huge()])), { "content-type": PROTO, "x-api-key": secret });
    expect(res.status).toBe(200);
    expect(readPartialSuccess(new Uint8Array(await res.arrayBuffer()))).toEqual({ rejectedSpans: 0, errorMessage: notice });
    await expectBounded(tenantId);
  });

  it("Zipkin: a 4 MiB name, tag key and error text are bounded; the message travels in a header", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const z = { traceId: TRACE, id: "1111111111111111", name: big, timestamp: Date.now() * 1000 - 5000, duration: 10, localEndpoint: { serviceName: "api" }, tags: { [big]: "v", ok: "fine", error: big } };
    const res = await post("/api/v2/spans", JSON.stringify([z]), { "content-type": JSON_TYPE, "x-api-key": secret });
    expect(res.status).toBe(202);
    expect(res.headers.get("x-edgetrace-rejected-spans")).toBeNull();
    // A lone `error` tag (as Brave sends it) is also kept as an attribute (shared/zipkin/status.ts),
    // so its text is cut twice: as the status message and as an attribute value.
    expect(res.headers.get("x-edgetrace-error-message")).toBe(notice.replace("truncated 1 status message", "truncated 1 attribute value to 65536 bytes, 1 status message"));
    const [s] = await storedSpans(tenantId);
    expect(s!.name.length).toBe(MAX_NAME_BYTES);
    expect(s!.status.message.length).toBe(64 * 1024);
    expect(s!.attributes.map((a) => a.key)).toEqual(["ok", "error"]);
    expect(s!.attributes.find((a) => a.key === "error")!.value).toEqual({ stringValue: "x".repeat(64 * 1024) });
  });
});

describe("repeated spans within a request", () => {
  it("OTLP: an exact repeat is stored once and not rejected; a different span under the same id and kind is rejected", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const { queue, sent } = spyQueue();
    const a = span("1111111111111111");
    const b = span("2222222222222222", { parentSpanId: "1111111111111111", kind: 3 });
    const res = await post("/v1/traces", JSON.stringify({ resourceSpans: [...request([a, b, a]), ...request([b, span("1111111111111111", { name: "changed" })])] }), { "content-type": JSON_TYPE, "x-api-key": secret }, { INGEST_QUEUE: queue });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(body.partialSuccess.rejectedSpans).toBe("1");
    expect(body.partialSuccess.errorMessage).toBe(
      `1 span repeats the trace id, span id and kind of an earlier span of the request with different content and was dropped, as a repeat from a later request would be (first: span 1111111111111111 of trace ${TRACE}); ` +
        "2 spans were exact repeats of an earlier span of the request and stored once",
    );
    const stored = await storedSpans(tenantId);
    expect(stored.map((s) => `${s.spanId} ${s.name}`).sort()).toEqual(["1111111111111111 GET /", "2222222222222222 GET /"]);
    expect(sent[0]).toMatchObject({ spanCount: 2, traceCount: 1, rejectedSpans: 1 });
  });

  it("OTLP protobuf with only exact repeats: stored once, partial_success has rejected_spans 0 and says so", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const a = span("1111111111111111");
    const res = await post("/v1/traces", encodeTraceProto(request([a, a, a])), { "content-type": PROTO, "x-api-key": secret });
    expect(res.status).toBe(200);
    expect(readPartialSuccess(new Uint8Array(await res.arrayBuffer()))).toEqual({ rejectedSpans: 0, errorMessage: "2 spans were exact repeats of an earlier span of the request and stored once" });
    expect((await storedSpans(tenantId)).map((s) => s.spanId)).toEqual(["1111111111111111"]);
  });

  it("Zipkin: a span sent twice is stored once; the shared server half with the same id is kept", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const client = { traceId: TRACE, id: "1111111111111111", name: "get", kind: "CLIENT", timestamp: Date.now() * 1000 - 5000, duration: 10, localEndpoint: { serviceName: "web" } };
    const server = { ...client, kind: "SERVER", shared: true, localEndpoint: { serviceName: "api" } };
    const res = await post("/api/v2/spans", JSON.stringify([client, server, client]), { "content-type": JSON_TYPE, "x-api-key": secret });
    expect(res.status).toBe(202);
    expect(res.headers.get("x-edgetrace-rejected-spans")).toBeNull();
    expect(res.headers.get("x-edgetrace-error-message")).toBe("1 span was an exact repeat of an earlier span of the request and stored once");
    expect((await storedSpans(tenantId)).map((s) => s.kind).sort()).toEqual([2, 3]);
  });
});
