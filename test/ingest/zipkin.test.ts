import { describe, expect, it } from "vitest";
import { compress, JSON_TYPE, post, storedBatches, tenantWithKey } from "./helpers.ts";

const now = Date.now() * 1000;
const zipkinSpans = [
  {
    traceId: "463ac35c9f6413ad",
    id: "a2fb4a1d1a96d312",
    name: "get /api",
    kind: "SERVER",
    timestamp: now,
    duration: 12_000,
    localEndpoint: { serviceName: "frontend", ipv4: "10.0.0.1", port: 8080 },
    tags: { "http.method": "GET", "http.path": "/api" },
    annotations: [{ timestamp: now + 10, value: "wr" }],
  },
  {
    traceId: "463ac35c9f6413ad",
    parentId: "a2fb4a1d1a96d312",
    id: "b7ad6b7169203331",
    name: "select",
    kind: "CLIENT",
    timestamp: now + 100,
    duration: 5_000,
    localEndpoint: { serviceName: "frontend" },
    remoteEndpoint: { serviceName: "mysql", ipv4: "10.0.0.9", port: 3306 },
    tags: { error: "timeout" },
  },
];

describe("Zipkin v2 ingest", () => {
  it("stores Zipkin spans with OTLP semantics and answers 202", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const res = await post("/api/v2/spans", JSON.stringify(zipkinSpans), { "content-type": JSON_TYPE, "x-api-key": secret });
    expect(res.status).toBe(202);
    const [batch] = await storedBatches(tenantId);
    expect(batch!.source).toBe("zipkin-json");
    expect(batch!.traces).toHaveLength(1);
    const trace = batch!.traces[0]!;
    expect(trace.traceId).toBe("0000000000000000463ac35c9f6413ad");
    const rs = trace.resourceSpans[0]!;
    expect(rs.resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "frontend" } });
    const spans = rs.scopeSpans.flatMap((ss) => ss.spans);
    const server = spans.find((s) => s.spanId === "a2fb4a1d1a96d312")!;
    const client = spans.find((s) => s.spanId === "b7ad6b7169203331")!;
    expect(server.kind).toBe(2);
    expect(server.startTimeUnixNano).toBe(String(BigInt(now) * 1000n));
    expect(BigInt(server.endTimeUnixNano) - BigInt(server.startTimeUnixNano)).toBe(12_000_000n);
    expect(server.events[0]!.name).toBe("wr");
    expect(client.kind).toBe(3);
    expect(client.parentSpanId).toBe("a2fb4a1d1a96d312");
    expect(client.status.code).toBe(2);
    expect(client.attributes).toContainEqual({ key: "peer.service", value: { stringValue: "mysql" } });
  });

  it("accepts gzip", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const body = await compress(new TextEncoder().encode(JSON.stringify(zipkinSpans)), "gzip");
    const res = await post("/api/v2/spans", body, { "content-type": JSON_TYPE, "content-encoding": "gzip", authorization: `Bearer ${secret}` });
    expect(res.status).toBe(202);
    expect((await storedBatches(tenantId))[0]!.spanCount).toBe(2);
  });

  for (const [name, body, status, type] of [
    ["empty body", "", 400, JSON_TYPE],
    ["not an array", "{\"traceId\":\"1\"}", 400, JSON_TYPE],
    ["invalid JSON", "[{", 400, JSON_TYPE],
    ["a bad trace id", JSON.stringify([{ ...zipkinSpans[0], traceId: "xyz" }]), 400, JSON_TYPE],
    ["protobuf (only JSON is supported)", "\x0a\x00", 415, "application/x-protobuf"],
  ] as const) {
    it(`rejects ${name} with ${status} and stores nothing`, async () => {
      const { tenantId, secret } = await tenantWithKey();
      const res = await post("/api/v2/spans", body, { "content-type": type, "x-api-key": secret });
      expect(res.status).toBe(status);
      expect(((await res.json()) as { message: string }).message.length).toBeGreaterThan(5);
      expect(await storedBatches(tenantId)).toEqual([]);
    });
  }
});
