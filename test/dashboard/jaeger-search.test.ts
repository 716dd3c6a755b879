import { describe, expect, it } from "vitest";
import type { JaegerTrace } from "../../shared/jaeger/convert.ts";
import type { KeyValue, ResourceSpans, Span } from "../../shared/model/span.ts";
import { str, testResourceSpans, testSpan } from "../support/spans.ts";
import { dashboardGet as get, twoReaders } from "../support/dashboard-api.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

function span(traceId: string, spanId: string, parentSpanId: string, name: string, kind: number, startMs: number, durationMs: number, attributes: KeyValue[] = []): Span {
  return testSpan({ traceId, spanId, parentSpanId, name, kind, startMs, durationMs, attributes });
}

function resource(service: string, spans: Span[]): ResourceSpans {
  return testResourceSpans(service, spans);
}

const ids = (body: { data: JaegerTrace[] }) => body.data.map((t) => t.traceID);

describe("Jaeger search and api_v3", () => {
  it("searches the key's tenant by service, operation, tags and duration, newest first", async () => {
    const [a, b] = await twoReaders();
    const t0 = Date.now() - 10 * 60_000;
    const T1 = "11111111111111111111111111111111";
    const T2 = "22222222222222222222222222222222";
    const T3 = "33333333333333333333333333333333";
    // T1: cart → inventory, 40 ms, status 200. T2: cart alone, 1.5 s, status 500. T3: inventory alone, 5 ms.
    await storeAssembled(a.tenantId, [
      resource("cart", [span(T1, "a000000000000001", "", "GET /cart", 2, t0, 40, [str("http.status_code", "200")])]),
      resource("inventory", [span(T1, "a000000000000002", "a000000000000001", "SELECT stock", 3, t0 + 5, 10)]),
    ]);
    await storeAssembled(a.tenantId, [resource("cart", [span(T2, "b000000000000001", "", "POST /cart", 2, t0 + 60_000, 1500, [str("http.status_code", "500")])])]);
    await storeAssembled(a.tenantId, [resource("inventory", [span(T3, "c000000000000001", "", "GET /stock", 2, t0 + 120_000, 5)])]);

    const search = (q: string, key = a.secret) => get(`/jaeger/api/traces?${q}`, key);

    const cart = await search("service=cart");
    expect(cart.status).toBe(200);
    expect(cart.body).toMatchObject({ total: 2, limit: 0, offset: 0, errors: null });
    expect(ids(cart.body)).toEqual([T2, T1]);
    // Full traces, every service's spans included.
    const t1 = cart.body.data[1] as JaegerTrace;
    expect(t1.spans.map((s) => s.operationName).sort()).toEqual(["GET /cart", "SELECT stock"]);
    expect(Object.values(t1.processes).map((p) => p.serviceName).sort()).toEqual(["cart", "inventory"]);

    expect(ids((await search("service=inventory")).body)).toEqual([T3, T1]);
    expect(ids((await search(`service=cart&operation=${encodeURIComponent("POST /cart")}`)).body)).toEqual([T2]);
    expect(ids((await search(`service=inventory&operation=${encodeURIComponent("SELECT stock")}`)).body)).toEqual([T1]);
    expect(ids((await search(`service=cart&tags=${encodeURIComponent(JSON.stringify({ "http.status_code": "500" }))}`)).body)).toEqual([T2]);
    expect(ids((await search(`service=cart&tags=${encodeURIComponent(JSON.stringify({ "http.status_code": "404" }))}`)).body)).toEqual([]);
    expect(ids((await search("service=cart&minDuration=1s")).body)).toEqual([T2]);
    expect(ids((await search("service=cart&maxDuration=300ms")).body)).toEqual([T1]);
    // Durations bound the service's span: T1 lasts 40 ms, its inventory span 10 ms.
    expect(ids((await search("service=inventory&minDuration=20ms&maxDuration=1.2s")).body)).toEqual([]);
    expect(ids((await search("service=inventory&minDuration=8ms&maxDuration=1.2s")).body)).toEqual([T1]);

    const limited = await search("service=cart&limit=1");
    expect(ids(limited.body)).toEqual([T2]);
    expect(limited.body.total).toBe(1);

    // start/end in µs: only T1's minute.
    expect(ids((await search(`service=cart&start=${(t0 - 1000) * 1000}&end=${(t0 + 30_000) * 1000}`)).body)).toEqual([T1]);
    // The default window is the last hour.
    expect(ids((await search(`service=cart&lookback=1m`)).body)).toEqual([]);

    expect((await search("service=cart", b.secret)).body).toEqual({ data: [], total: 0, limit: 0, offset: 0, errors: null });

    const missing = await search("operation=x");
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ data: null, errors: [{ code: 400, msg: "parameter 'service' is required" }] });
    expect((await search("service=cart&minDuration=soon")).status).toBe(400);
    expect((await search("service=cart&tags=notjson")).status).toBe(400);
    expect((await search("service=cart&start=abc")).status).toBe(400);
  });

  it("matches service, operation and tags on one span, as Jaeger does", async () => {
    const a = await tenantWithKey(["read"]);
    const t0 = Date.now() - 10 * 60_000;
    const T4 = "44444444444444444444444444444444";
    const T5 = "55555555555555555555555555555555";
    // T4: the cart span lacks the tag, the inventory span has it. T5: one cart span has both tags.
    await storeAssembled(a.tenantId, [
      resource("cart", [span(T4, "d000000000000001", "", "GET /cart", 2, t0, 40, [str("user", "u1")])]),
      resource("inventory", [span(T4, "d000000000000002", "d000000000000001", "GET /stock", 2, t0 + 5, 10, [str("http.status_code", "500")])]),
    ]);
    await storeAssembled(a.tenantId, [resource("cart", [
      span(T5, "e000000000000001", "", "GET /cart", 2, t0 + 60_000, 40, [str("http.status_code", "500")]),
      span(T5, "e000000000000002", "e000000000000001", "render", 1, t0 + 60_010, 5, [str("user", "u1")]),
    ])]);
    const search = async (q: Record<string, unknown>) => {
      const params = new URLSearchParams(Object.entries(q).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
      const res = await get(`/jaeger/api/traces?${params}`, a.secret);
      expect(res.status).toBe(200);
      return ids(res.body);
    };

    expect(await search({ service: "cart", tags: { "http.status_code": "500" } })).toEqual([T5]);
    expect(await search({ service: "inventory", tags: { "http.status_code": "500" } })).toEqual([T4]);
    // Two tags on two different cart spans of T5: no one span has both.
    expect(await search({ service: "cart", tags: { "http.status_code": "500", user: "u1" } })).toEqual([]);
    expect(await search({ service: "cart", tags: { user: "u1" } })).toEqual([T5, T4]);
    // The operation belongs to the same span as the tag.
    expect(await search({ service: "cart", operation: "render", tags: { "http.status_code": "500" } })).toEqual([]);
    expect(await search({ service: "cart", operation: "render", tags: { user: "u1" } })).toEqual([T5]);
    expect(await search({ service: "inventory", operation: "GET /cart" })).toEqual([]);
    // Tags Jaeger derives (span.kind) count, as the trace view shows them.
    expect(await search({ service: "cart", tags: { "span.kind": "internal" } })).toEqual([T5]);
  });

  it("answers api_v3 services, operations and trace by id in the OpenAPI shapes", async () => {
    const [a, b] = await twoReaders();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const t0 = Date.now() - 60_000;
    await storeAssembled(a.tenantId, [
      resource("cart", [span(traceId, "00f067aa0ba902b7", "", "GET /cart", 2, t0, 25)]),
      resource("inventory", [span(traceId, "00f067aa0ba902b9", "00f067aa0ba902b7", "SELECT stock", 3, t0 + 5, 10)]),
    ]);

    expect((await get(`/jaeger/api/v3/services`, a.secret)).body).toEqual({ services: ["cart", "inventory"] });
    expect((await get(`/jaeger/api/v3/services`, b.secret)).body).toEqual({ services: [] });
    expect((await get(`/jaeger/api/v3/operations?service=cart`, a.secret)).body).toEqual({ operations: [{ name: "GET /cart", spanKind: "server" }] });
    expect((await get(`/jaeger/api/v3/operations?service=inventory&spanKind=client`, a.secret)).body).toEqual({ operations: [{ name: "SELECT stock", spanKind: "client" }] });
    expect((await get(`/jaeger/api/v3/operations?service=inventory&spanKind=server`, a.secret)).body).toEqual({ operations: [] });
    expect((await get(`/jaeger/api/v3/operations?service=cart`, b.secret)).body).toEqual({ operations: [] });

    const trace = await get(`/jaeger/api/v3/traces/${traceId}`, a.secret);
    expect(trace.status).toBe(200);
    expect(Object.keys(trace.body)).toEqual(["result"]);
    const rs: ResourceSpans[] = trace.body.result.resourceSpans;
    const spans = rs.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    expect(spans.map((s) => s.spanId).sort()).toEqual(["00f067aa0ba902b7", "00f067aa0ba902b9"]);
    expect(spans.every((s) => s.traceId === traceId)).toBe(true);
    expect(spans.find((s) => s.spanId === "00f067aa0ba902b7")!.startTimeUnixNano).toBe(`${t0}000000`);

    const iso = (ms: number) => new Date(ms).toISOString();
    expect((await get(`/jaeger/api/v3/traces/${traceId}?startTime=${iso(t0 - 60_000)}&endTime=${iso(t0 + 60_000)}`, a.secret)).status).toBe(200);

    const other = await get(`/jaeger/api/v3/traces/${traceId}`, b.secret);
    expect(other.status).toBe(404);
    expect(other.body).toEqual({ error: { grpcCode: 5, httpCode: 404, httpStatus: "Not Found", message: "trace not found" } });

    const noService = await get(`/jaeger/api/v3/operations`, a.secret);
    expect(noService.status).toBe(400);
    expect(noService.body.error).toMatchObject({ httpCode: 400, grpcCode: 3 });
    expect((await get(`/jaeger/api/v3/traces/not-hex`, a.secret)).body.error.httpCode).toBe(400);
    expect((await get(`/jaeger/api/v3/traces/${traceId}?startTime=yesterday`, a.secret)).status).toBe(400);
    const noKey = await get(`/jaeger/api/v3/services`);
    expect(noKey.status).toBe(401);
    expect(noKey.body.error).toMatchObject({ httpCode: 401, grpcCode: 16 });
  });
});
