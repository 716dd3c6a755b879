import { describe, expect, it } from "vitest";
import type { KeyValue, ResourceSpans, Span } from "../../shared/model/span.ts";
import type { ZipkinSpan } from "../../shared/zipkin/encode.ts";
import { testResourceSpans, testSpan } from "../support/spans.ts";
import { dashboardGet, twoReaders } from "../support/dashboard-api.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

function span(traceId: string, spanId: string, parentSpanId: string, name: string, kind: number, startMs: number, attributes: KeyValue[] = []): Span {
  return testSpan({ traceId, spanId, parentSpanId, name, kind, startMs, attributes });
}

function resource(service: string, spans: Span[]): ResourceSpans {
  return testResourceSpans(service, spans);
}

const get = (path: string, key?: string) => dashboardGet(path, key, "content-type");

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SHORT_TRACE = "463ac35c9f6413ad";

describe("Zipkin v2 API", () => {
  it("answers traces, services, span names and remote services for the key's tenant only", async () => {
    const [a, b] = await twoReaders();
    const t0 = Date.now() - 60_000;
    await storeAssembled(a.tenantId, [
      resource("cart", [
        span(TRACE, "00f067aa0ba902b7", "", "GET /cart", 2, t0, [{ key: "http.route", value: { stringValue: "/cart" } }]),
        span(TRACE, "00f067aa0ba902b8", "00f067aa0ba902b7", "GET /stock", 3, t0 + 2, [
          { key: "server.address", value: { stringValue: "10.0.0.7" } },
          { key: "server.port", value: { intValue: "8080" } },
        ]),
        span(TRACE, "00f067aa0ba902ba", "00f067aa0ba902b7", "render", 1, t0 + 3),
      ]),
      resource("inventory", [span(TRACE, "00f067aa0ba902b9", "00f067aa0ba902b8", "GET /stock", 2, t0 + 4)]),
    ]);
    await storeAssembled(a.tenantId, [resource("cart", [span(`0000000000000000${SHORT_TRACE}`, "00f067aa0ba902c1", "", "checkout", 2, t0 + 10)])]);

    const res = await get(`/zipkin/api/v2/trace/${TRACE}`, a.secret);
    expect(res.status).toBe(200);
    expect(res.contentType).toContain("application/json");
    const spans: ZipkinSpan[] = res.body;
    expect(spans).toHaveLength(4);
    const byId = new Map(spans.map((s) => [s.id, s]));
    expect(byId.get("00f067aa0ba902b7")).toEqual({
      traceId: TRACE,
      id: "00f067aa0ba902b7",
      name: "GET /cart",
      kind: "SERVER",
      timestamp: t0 * 1000,
      duration: 25_000,
      localEndpoint: { serviceName: "cart" },
      tags: { "http.route": "/cart", "otel.scope.name": "test", "otel.scope.version": "1.0" },
    });
    expect(byId.get("00f067aa0ba902b8")).toMatchObject({
      parentId: "00f067aa0ba902b7",
      kind: "CLIENT",
      timestamp: (t0 + 2) * 1000,
      localEndpoint: { serviceName: "cart" },
      remoteEndpoint: { ipv4: "10.0.0.7", port: 8080 },
    });
    expect(byId.get("00f067aa0ba902b8")!.tags).not.toHaveProperty("server.address");
    expect(byId.get("00f067aa0ba902b9")).toMatchObject({ parentId: "00f067aa0ba902b8", kind: "SERVER", localEndpoint: { serviceName: "inventory" } });
    expect(byId.get("00f067aa0ba902ba")!.kind).toBeUndefined();
    expect(byId.get("00f067aa0ba902ba")!.tags).toMatchObject({ "span.kind": "internal" });

    // A 64-bit trace id is looked up and answered with 16 digits, also when asked with 32.
    const short = await get(`/zipkin/api/v2/trace/${SHORT_TRACE}`, a.secret);
    expect(short.status).toBe(200);
    expect(short.body).toMatchObject([{ traceId: SHORT_TRACE, id: "00f067aa0ba902c1", name: "checkout" }]);
    expect((await get(`/zipkin/api/v2/trace/0000000000000000${SHORT_TRACE}`, a.secret)).body).toEqual(short.body);

    const missing = await get(`/zipkin/api/v2/trace/${"ab".repeat(16)}`, a.secret);
    expect(missing.status).toBe(404);
    expect(missing.body).toBe(`${"ab".repeat(16)} not found`);
    const other = await get(`/zipkin/api/v2/trace/${TRACE}`, b.secret);
    expect(other.status).toBe(404);
    expect(other.contentType).toContain("text/plain");

    const many = await get(`/zipkin/api/v2/traceMany?traceIds=${TRACE},${"ab".repeat(16)},${SHORT_TRACE}`, a.secret);
    expect(many.status).toBe(200);
    const traces: ZipkinSpan[][] = many.body;
    expect(traces).toHaveLength(2);
    expect(traces.map((t) => t[0]!.traceId).sort()).toEqual([SHORT_TRACE, TRACE].sort());
    expect(traces.find((t) => t[0]!.traceId === TRACE)).toHaveLength(4);
    expect((await get(`/zipkin/api/v2/traceMany?traceIds=${TRACE},${SHORT_TRACE}`, b.secret)).body).toEqual([]);

    expect((await get(`/zipkin/api/v2/services`, a.secret)).body).toEqual(["cart", "inventory"]);
    expect((await get(`/zipkin/api/v2/services`, b.secret)).body).toEqual([]);

    // Internal spans get no RED rows, so "render" is not listed.
    expect((await get(`/zipkin/api/v2/spans?serviceName=cart`, a.secret)).body).toEqual(["GET /cart", "GET /stock", "checkout"]);
    expect((await get(`/zipkin/api/v2/spans?serviceName=INVENTORY`, a.secret)).body).toEqual(["GET /stock"]);
    expect((await get(`/zipkin/api/v2/spans?serviceName=nope`, a.secret)).body).toEqual([]);
    expect((await get(`/zipkin/api/v2/spans?serviceName=cart`, b.secret)).body).toEqual([]);

    expect((await get(`/zipkin/api/v2/remoteServices?serviceName=cart`, a.secret)).body).toEqual(["inventory"]);
    expect((await get(`/zipkin/api/v2/remoteServices?serviceName=inventory`, a.secret)).body).toEqual([]);
    expect((await get(`/zipkin/api/v2/remoteServices?serviceName=cart`, b.secret)).body).toEqual([]);
  });

  it("needs a read key and required parameters, and answers errors as plain text", async () => {
    const ingestOnly = await tenantWithKey(["ingest"]);
    const reader = await tenantWithKey(["read"]);
    const noKey = await get(`/zipkin/api/v2/services`);
    expect(noKey.status).toBe(401);
    expect(noKey.contentType).toContain("text/plain");
    expect(typeof noKey.body).toBe("string");
    expect((await get(`/zipkin/api/v2/services`, ingestOnly.secret)).status).toBe(403);
    const badId = await get(`/zipkin/api/v2/trace/not-hex`, reader.secret);
    expect(badId.status).toBe(400);
    expect(badId.contentType).toContain("text/plain");
    expect((await get(`/zipkin/api/v2/spans`, reader.secret)).status).toBe(400);
    expect((await get(`/zipkin/api/v2/remoteServices`, reader.secret)).status).toBe(400);
    expect((await get(`/zipkin/api/v2/traceMany`, reader.secret)).status).toBe(400);
    expect((await get(`/zipkin/api/v2/traceMany?traceIds=${TRACE}`, reader.secret)).status).toBe(400);
    expect((await get(`/zipkin/api/v2/traceMany?traceIds=${TRACE},${TRACE}`, reader.secret)).status).toBe(400);
    expect((await get(`/zipkin/api/v2/traceMany?traceIds=${TRACE},zz`, reader.secret)).status).toBe(400);
  });
});
