import { describe, expect, it } from "vitest";
import type { KeyValue, ResourceSpans, Span } from "../../shared/model/span.ts";
import type { ZipkinSpan } from "../../shared/zipkin/encode.ts";
import { str, testResourceSpans, testSpan } from "../support/spans.ts";
import { dashboardGet, twoReaders } from "../support/dashboard-api.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

function span(traceId: string, spanId: string, parentSpanId: string, name: string, kind: number, startMs: number, durationMs: number, attributes: KeyValue[] = [], error = false): Span {
  return testSpan({ traceId, spanId, parentSpanId, name, kind, startMs, durationMs, attributes, error });
}

function resource(service: string, spans: Span[]): ResourceSpans {
  return testResourceSpans(service, spans);
}

const get = (path: string, key?: string) => dashboardGet(path, key, "content-type");

const T1 = "11111111111111111111111111111111";
const T2 = "22222222222222222222222222222222";
const T3 = "33333333333333333333333333333333";
const ids = (body: ZipkinSpan[][]) => body.map((t) => t[0]!.traceId);

describe("Zipkin v2 search, dependencies and autocomplete", () => {
  it("searches the key's tenant, newest first, and lists dependencies", async () => {
    const [a, b] = await twoReaders();
    const t0 = Date.now() - 10 * 60_000;
    // T1: Cart → inventory, 40 ms, http.method=GET. T2: Cart alone, 1.5 s, error. T3: inventory alone, 5 ms.
    await storeAssembled(a.tenantId, [
      resource("Cart", [span(T1, "a000000000000001", "", "GET /cart", 2, t0, 40, [str("http.method", "GET")]),
        span(T1, "a000000000000003", "a000000000000001", "GET /stock", 3, t0 + 2, 20, [str("peer.service", "inventory")])]),
      resource("inventory", [span(T1, "a000000000000002", "a000000000000003", "GET /stock", 2, t0 + 5, 10, [], true)]),
    ]);
    await storeAssembled(a.tenantId, [resource("Cart", [span(T2, "b000000000000001", "", "POST /cart", 2, t0 + 60_000, 1500, [str("http.method", "POST")], true)])]);
    await storeAssembled(a.tenantId, [resource("inventory", [span(T3, "c000000000000001", "", "GET /stock", 2, t0 + 120_000, 5)])]);

    const search = (q: string, key = a.secret) => get(`/zipkin/api/v2/traces?${q}`, key);

    const all = await search("");
    expect(all.status).toBe(200);
    expect(all.contentType).toContain("application/json");
    expect(ids(all.body)).toEqual([T3, T2, T1]);
    expect(all.body[2]).toHaveLength(3);

    // serviceName matches case-insensitively (Zipkin clients lowercase).
    expect(ids((await search("serviceName=cart")).body)).toEqual([T2, T1]);
    expect(ids((await search("serviceName=Cart")).body)).toEqual([T2, T1]);
    expect(ids((await search("serviceName=inventory")).body)).toEqual([T3, T1]);
    expect((await search("serviceName=nope")).body).toEqual([]);

    expect(ids((await search("spanName=GET%20%2Fstock")).body)).toEqual([T3, T1]);
    expect(ids((await search("serviceName=cart&spanName=POST%20%2Fcart")).body)).toEqual([T2]);
    expect(ids((await search("remoteServiceName=inventory")).body)).toEqual([T1]);

    expect(ids((await search(`annotationQuery=${encodeURIComponent("http.method=GET")}`)).body)).toEqual([T1]);
    expect(ids((await search(`annotationQuery=${encodeURIComponent("http.method=POST and error")}`)).body)).toEqual([T2]);
    expect(ids((await search(`annotationQuery=error`)).body)).toEqual([T2, T1]);
    // Tags as Zipkin shows them: peer.service is T1's remote endpoint, not a tag; the error tag
    // holds the status message or "true".
    expect(ids((await search(`annotationQuery=${encodeURIComponent("peer.service")}`)).body)).toEqual([]);
    expect(ids((await search(`annotationQuery=${encodeURIComponent("error=true and otel.status_code=ERROR")}`)).body)).toEqual([T2, T1]);

    // One span must meet every condition: Cart has spans in T1 and T1 has a failed span, but it is inventory's.
    expect(ids((await search("serviceName=cart&annotationQuery=error")).body)).toEqual([T2]);
    expect(ids((await search("serviceName=inventory&annotationQuery=error")).body)).toEqual([T1]);
    expect(ids((await search(`serviceName=cart&spanName=GET%20%2Fstock&annotationQuery=${encodeURIComponent("http.method=GET")}`)).body)).toEqual([]);
    expect(ids((await search(`annotationQuery=${encodeURIComponent("http.method=GET and error")}`)).body)).toEqual([]);
    expect(ids((await search("serviceName=inventory&remoteServiceName=inventory")).body)).toEqual([]);

    // Durations in microseconds, on one span's duration.
    expect(ids((await search("minDuration=100000")).body)).toEqual([T2]);
    expect(ids((await search("minDuration=1&maxDuration=10000")).body)).toEqual([T3, T1]);
    expect(ids((await search("minDuration=10001&maxDuration=100000")).body)).toEqual([T1]);
    // T1 lasts 40 ms, but none of inventory's spans.
    expect(ids((await search("serviceName=inventory&minDuration=15000")).body)).toEqual([]);

    expect(ids((await search("limit=2")).body)).toEqual([T3, T2]);
    // endTs/lookback (ms) bound the window.
    expect(ids((await search(`endTs=${t0 + 30_000}&lookback=60000`)).body)).toEqual([T1]);

    expect((await search("", b.secret)).body).toEqual([]);

    const deps = await get(`/zipkin/api/v2/dependencies?endTs=${Date.now()}&lookback=3600000`, a.secret);
    expect(deps.status).toBe(200);
    expect(deps.body).toEqual([{ parent: "Cart", child: "inventory", callCount: 1, errorCount: 1 }]);
    expect((await get(`/zipkin/api/v2/dependencies`, a.secret)).body).toEqual(deps.body);
    expect((await get(`/zipkin/api/v2/dependencies`, b.secret)).body).toEqual([]);

    expect((await get(`/zipkin/api/v2/autocompleteKeys`, a.secret)).body).toEqual([]);
    expect((await get(`/zipkin/api/v2/autocompleteValues?key=serviceName`, a.secret)).body).toEqual(["Cart", "inventory"]);
    expect((await get(`/zipkin/api/v2/autocompleteValues?key=http.method`, a.secret)).body).toEqual([]);
    expect((await get(`/zipkin/api/v2/autocompleteValues?key=serviceName`, b.secret)).body).toEqual([]);
  });

  it("answers bad parameters with a plain-text 400", async () => {
    const reader = await tenantWithKey(["read"]);
    for (const q of ["limit=x", "limit=0", "minDuration=1ms", "minDuration=0", "maxDuration=-1", "maxDuration=5", "minDuration=10&maxDuration=5", "endTs=soon", "lookback=0", `lookback=${8 * 24 * 3600 * 1000}`]) {
      const res = await get(`/zipkin/api/v2/traces?${q}`, reader.secret);
      expect(res.status, q).toBe(400);
      expect(res.contentType).toContain("text/plain");
    }
    expect((await get(`/zipkin/api/v2/dependencies?endTs=x`, reader.secret)).status).toBe(400);
    expect((await get(`/zipkin/api/v2/dependencies?lookback=0`, reader.secret)).status).toBe(400);
    expect((await get(`/zipkin/api/v2/autocompleteValues`, reader.secret)).status).toBe(400);
    expect((await get(`/zipkin/api/v2/traces`)).status).toBe(401);
  });
});
