import { describe, expect, it } from "vitest";
import type { JaegerSpan, JaegerTrace } from "../../shared/jaeger/convert.ts";
import type { ResourceSpans, Span } from "../../shared/model/span.ts";
import { str, testResourceSpans, testSpan } from "../support/spans.ts";
import { dashboardGet as get, twoReaders } from "../support/dashboard-api.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

function span(traceId: string, spanId: string, parentSpanId: string, name: string, kind: number, startMs: number): Span {
  return testSpan({ traceId, spanId, parentSpanId, name, kind, startMs, attributes: { "http.route": "/cart" } });
}

function resource(service: string, spans: Span[]): ResourceSpans {
  return testResourceSpans(service, spans, [str("host.name", "h1")]);
}

describe("Jaeger API", () => {
  it("answers trace by id, services and operations for the key's tenant only", async () => {
    const [a, b] = await twoReaders();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const t0 = Date.now() - 60_000;
    await storeAssembled(a.tenantId, [
      resource("cart", [span(traceId, "00f067aa0ba902b7", "", "GET /cart", 2, t0), span(traceId, "00f067aa0ba902b8", "00f067aa0ba902b7", "render", 1, t0 + 2)]),
      resource("inventory", [span(traceId, "00f067aa0ba902b9", "00f067aa0ba902b7", "SELECT stock", 3, t0 + 5)]),
    ]);

    const res = await get(`/jaeger/api/traces/${traceId}`, a.secret);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 0, limit: 0, offset: 0, errors: null });
    expect(res.body.data).toHaveLength(1);
    const trace: JaegerTrace = res.body.data[0];
    expect(trace.traceID).toBe(traceId);
    const byName = new Map(trace.spans.map((s: JaegerSpan) => [s.operationName, s]));
    expect([...byName.keys()].sort()).toEqual(["GET /cart", "SELECT stock", "render"]);
    const root = byName.get("GET /cart")!;
    const select = byName.get("SELECT stock")!;
    expect(root.references).toEqual([]);
    expect(select.references).toEqual([{ refType: "CHILD_OF", traceID: traceId, spanID: "00f067aa0ba902b7" }]);
    expect(root.traceID).toBe(traceId);
    expect(root.spanID).toBe("00f067aa0ba902b7");
    expect(root.startTime).toBe(t0 * 1000);
    expect(root.duration).toBe(25_000);
    expect(select.startTime).toBe((t0 + 5) * 1000);
    expect(root.tags).toEqual(expect.arrayContaining([
      { key: "http.route", type: "string", value: "/cart" },
      { key: "span.kind", type: "string", value: "server" },
      { key: "otel.scope.name", type: "string", value: "test" },
    ]));
    expect(select.tags).toContainEqual({ key: "span.kind", type: "string", value: "client" });
    expect(byName.get("render")!.tags).toContainEqual({ key: "span.kind", type: "string", value: "internal" });
    expect(trace.processes[root.processID]).toEqual({ serviceName: "cart", tags: [{ key: "host.name", type: "string", value: "h1" }] });
    expect(trace.processes[select.processID]!.serviceName).toBe("inventory");
    expect(byName.get("render")!.processID).toBe(root.processID);
    expect(Object.keys(trace.processes)).toHaveLength(2);

    // start/end in epoch µs narrow the lookup.
    const s = t0 * 1000;
    expect((await get(`/jaeger/api/traces/${traceId}?start=${s - 60_000_000}&end=${s + 60_000_000}`, a.secret)).status).toBe(200);
    expect((await get(`/jaeger/api/traces/${traceId}?start=${s + 600_000_000}&end=${s + 1_200_000_000}`, a.secret)).status).toBe(404);

    const other = await get(`/jaeger/api/traces/${traceId}`, b.secret);
    expect(other.status).toBe(404);
    expect(other.body).toEqual({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: "trace not found" }] });

    expect((await get(`/jaeger/api/services`, a.secret)).body).toEqual({ data: ["cart", "inventory"], total: 2, limit: 0, offset: 0, errors: null });
    expect((await get(`/jaeger/api/services`, b.secret)).body).toMatchObject({ data: [], total: 0 });

    // Internal spans get no RED rows, so "render" is not listed.
    expect((await get(`/jaeger/api/services/cart/operations`, a.secret)).body).toMatchObject({ data: ["GET /cart"] });
    expect((await get(`/jaeger/api/services/inventory/operations`, a.secret)).body).toMatchObject({ data: ["SELECT stock"] });
    expect((await get(`/jaeger/api/services/cart/operations`, b.secret)).body).toMatchObject({ data: [] });

    expect((await get(`/jaeger/api/operations?service=cart`, a.secret)).body).toMatchObject({ data: [{ name: "GET /cart", spanKind: "server" }], total: 1 });
    expect((await get(`/jaeger/api/operations?service=inventory&spanKind=client`, a.secret)).body.data).toEqual([{ name: "SELECT stock", spanKind: "client" }]);
    expect((await get(`/jaeger/api/operations?service=inventory&spanKind=server`, a.secret)).body.data).toEqual([]);
    expect((await get(`/jaeger/api/operations?service=cart`, b.secret)).body.data).toEqual([]);
  });

  it("needs a read key and proper parameters, and answers errors in Jaeger's shape", async () => {
    const ingestOnly = await tenantWithKey(["ingest"]);
    const reader = await tenantWithKey(["read"]);
    const noKey = await get(`/jaeger/api/services`);
    expect(noKey.status).toBe(401);
    expect(noKey.body).toMatchObject({ data: null, errors: [{ code: 401 }] });
    expect((await get(`/jaeger/api/services`, ingestOnly.secret)).status).toBe(403);
    const badId = await get(`/jaeger/api/traces/not-hex`, reader.secret);
    expect(badId.status).toBe(400);
    expect(badId.body.errors[0].code).toBe(400);
    expect((await get(`/jaeger/api/traces/${"a".repeat(32)}?start=abc`, reader.secret)).status).toBe(400);
    expect((await get(`/jaeger/api/operations`, reader.secret)).status).toBe(400);
    expect((await get(`/jaeger/api/operations?service=x&spanKind=bogus`, reader.secret)).status).toBe(400);
  });
});
