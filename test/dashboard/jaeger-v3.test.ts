import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { KeyValue, ResourceSpans, Span } from "../../shared/model/span.ts";
import { int, str, testResourceSpans, testSpan } from "../support/spans.ts";
import { dashboardGet as get, twoReaders } from "../support/dashboard-api.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

function span(traceId: string, spanId: string, parentSpanId: string, name: string, kind: number, startMs: number, durationMs: number, attributes: KeyValue[] = [], error = false): Span {
  return testSpan({ traceId, spanId, parentSpanId, name, kind, startMs, durationMs, attributes, error });
}

function resource(service: string, spans: Span[]): ResourceSpans {
  return testResourceSpans(service, spans, [str("host.name", `${service}-1`)]);
}

/*
 * The response schemas of jaeger-idl's query_service.openapi.yaml (components.schemas), written
 * out with zod: opentelemetry.proto.trace.v1.TracesData in the gateway's `result` wrapper,
 * jaeger.api_v3.DependenciesResponse, and the gateway's error. Strict objects, so a field the
 * OpenAPI does not define fails too. Ids are hex, as OTLP/JSON and Jaeger's gateway write them.
 */
const u64 = z.string().regex(/^(0|[1-9]\d*)$/);
const AnyValue: z.ZodType = z.lazy(() =>
  z.union([
    z.strictObject({ stringValue: z.string() }),
    z.strictObject({ boolValue: z.boolean() }),
    z.strictObject({ intValue: z.string().regex(/^-?\d+$/) }),
    z.strictObject({ doubleValue: z.number() }),
    z.strictObject({ bytesValue: z.string() }),
    z.strictObject({ arrayValue: z.strictObject({ values: z.array(AnyValue) }) }),
    z.strictObject({ kvlistValue: z.strictObject({ values: z.array(KeyValueSchema) }) }),
    z.strictObject({}),
  ]),
);
const KeyValueSchema = z.strictObject({ key: z.string(), value: AnyValue });
const attributes = z.array(KeyValueSchema);
const SpanSchema = z.strictObject({
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
  spanId: z.string().regex(/^[0-9a-f]{16}$/),
  traceState: z.string(),
  parentSpanId: z.string().regex(/^([0-9a-f]{16})?$/),
  flags: z.number().int(),
  name: z.string(),
  kind: z.number().int().min(0).max(5),
  startTimeUnixNano: u64,
  endTimeUnixNano: u64,
  attributes,
  droppedAttributesCount: z.number().int(),
  events: z.array(z.strictObject({ timeUnixNano: u64, name: z.string(), attributes, droppedAttributesCount: z.number().int() })),
  droppedEventsCount: z.number().int(),
  links: z.array(z.strictObject({ traceId: z.string(), spanId: z.string(), traceState: z.string(), attributes, droppedAttributesCount: z.number().int(), flags: z.number().int() })),
  droppedLinksCount: z.number().int(),
  status: z.strictObject({ message: z.string(), code: z.number().int().min(0).max(2) }),
});
const TracesDataResult = z.strictObject({
  result: z.strictObject({
    resourceSpans: z.array(
      z.strictObject({
        resource: z.strictObject({ attributes, droppedAttributesCount: z.number().int() }),
        scopeSpans: z.array(z.strictObject({ scope: z.strictObject({ name: z.string(), version: z.string(), attributes, droppedAttributesCount: z.number().int() }), spans: z.array(SpanSchema), schemaUrl: z.string() })),
        schemaUrl: z.string(),
      }),
    ),
  }),
});
const DependenciesResponse = z.strictObject({ dependencies: z.array(z.strictObject({ parent: z.string(), child: z.string(), callCount: u64 })) });
const GatewayError = z.strictObject({ error: z.strictObject({ grpcCode: z.number().int(), httpCode: z.number().int(), httpStatus: z.string(), message: z.string() }) });

type TracesData = z.infer<typeof TracesDataResult>;
const spansOf = (body: TracesData) => body.result.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
const traceIds = (body: TracesData) => [...new Set(spansOf(body).map((s) => s.traceId))];

const T1 = "11111111111111111111111111111111";
const T2 = "22222222222222222222222222222222";
const T3 = "33333333333333333333333333333333";
const T4 = "44444444444444444444444444444444";
const iso = (ms: number) => new Date(ms).toISOString();

describe("Jaeger api_v3 FindTraces and GetDependencies", () => {
  it("searches the key's tenant on one span, answering TracesData in the gateway's result wrapper", async () => {
    const [a, b] = await twoReaders();
    const t0 = Date.now() - 10 * 60_000;
    // T1: cart GET /cart (40 ms, status 200) → inventory SELECT stock (10 ms). T2: cart POST /cart, 1.5 s, status 500, failed.
    // T3: inventory GET /stock, 5 ms. T4: cart GET /cart without a status code → inventory span with status 500.
    await storeAssembled(a.tenantId, [
      resource("cart", [span(T1, "a000000000000001", "", "GET /cart", 2, t0, 40, [int("http.status_code", 200)])]),
      resource("inventory", [span(T1, "a000000000000002", "a000000000000001", "SELECT stock", 3, t0 + 5, 10)]),
    ]);
    await storeAssembled(a.tenantId, [resource("cart", [span(T2, "b000000000000001", "", "POST /cart", 2, t0 + 60_000, 1500, [int("http.status_code", 500)], true)])]);
    await storeAssembled(a.tenantId, [resource("inventory", [span(T3, "c000000000000001", "", "GET /stock", 2, t0 + 120_000, 5)])]);
    await storeAssembled(a.tenantId, [
      resource("cart", [span(T4, "d000000000000001", "", "GET /cart", 2, t0 + 180_000, 30)]),
      resource("inventory", [span(T4, "d000000000000002", "d000000000000001", "GET /stock", 2, t0 + 185_000, 20, [int("http.status_code", 500)])]),
    ]);

    const window = `query.startTimeMin=${iso(t0 - 60_000)}&query.startTimeMax=${iso(Date.now() + 60_000)}`;
    const find = async (q: string, key = a.secret) => {
      const res = await get(`/jaeger/api/v3/traces?${window}&${q}`, key);
      if (res.status === 200) TracesDataResult.parse(res.body);
      else GatewayError.parse(res.body);
      return res;
    };
    const ids = async (q: string) => {
      const res = await find(q);
      return res.status === 404 ? [] : traceIds(res.body);
    };
    const attrs = (o: Record<string, string>) => `query.attributes=${encodeURIComponent(JSON.stringify(o))}`;

    const cart = await find("query.serviceName=cart");
    expect(cart.status).toBe(200);
    expect(Object.keys(cart.body)).toEqual(["result"]);
    // Newest first, each trace whole: every service's spans.
    expect(traceIds(cart.body)).toEqual([T4, T2, T1]);
    expect(spansOf(cart.body).filter((s) => s.traceId === T1).map((s) => s.spanId).sort()).toEqual(["a000000000000001", "a000000000000002"]);
    expect(cart.body.result.resourceSpans.map((rs: ResourceSpans) => rs.resource.attributes[0]!.value)).toContainEqual({ stringValue: "inventory" });

    expect(await ids("query.serviceName=inventory")).toEqual([T4, T3, T1]);
    expect(await ids(`query.serviceName=cart&query.operationName=${encodeURIComponent("POST /cart")}`)).toEqual([T2]);
    expect(await ids(`query.serviceName=inventory&query.operationName=${encodeURIComponent("SELECT stock")}`)).toEqual([T1]);
    // Span-level: T4's cart span lacks the status code its inventory span has.
    expect(await ids(`query.serviceName=cart&${attrs({ "http.status_code": "500" })}`)).toEqual([T2]);
    expect(await ids(`query.serviceName=inventory&${attrs({ "http.status_code": "500" })}`)).toEqual([T4]);
    expect(await ids(`query.serviceName=cart&query.attributes[http.status_code]=200`)).toEqual([T1]);
    expect(await ids(`query.serviceName=cart&${attrs({ error: "true", "span.kind": "server" })}`)).toEqual([T2]);
    // Resource attributes count, on the same span's resource only.
    expect(await ids(`query.serviceName=cart&${attrs({ "host.name": "cart-1", "http.status_code": "200" })}`)).toEqual([T1]);
    expect(await ids(`query.serviceName=cart&${attrs({ "host.name": "inventory-1" })}`)).toEqual([]);
    // Durations on the span: T1 lasts 40 ms, but its inventory span 10 ms.
    expect(await ids("query.serviceName=cart&query.durationMin=1s")).toEqual([T2]);
    expect(await ids("query.serviceName=cart&query.durationMax=0.035s")).toEqual([T4]);
    expect(await ids("query.serviceName=inventory&query.durationMin=0.015s")).toEqual([T4]);
    expect(await ids("query.serviceName=inventory&query.durationMin=8ms&query.durationMax=12ms")).toEqual([T1]);
    expect(await ids("query.serviceName=cart&query.searchDepth=2")).toEqual([T4, T2]);
    expect(await ids("query.serviceName=cart&query.rawTraces=true")).toEqual([T4, T2, T1]);

    // The snake_case names of older clients.
    const snake = await get(`/jaeger/api/v3/traces?query.service_name=cart&query.operation_name=GET%20%2Fcart&query.start_time_min=${iso(t0 - 60_000)}&query.start_time_max=${iso(t0 + 60_000)}&query.search_depth=5&query.raw_traces=false`, a.secret);
    expect(snake.status).toBe(200);
    expect(traceIds(TracesDataResult.parse(snake.body))).toEqual([T1]);

    // The time window: start_time_max is exclusive.
    const early = await get(`/jaeger/api/v3/traces?query.serviceName=cart&query.startTimeMin=${iso(t0 - 3_600_000)}&query.startTimeMax=${iso(t0 - 1_800_000)}`, a.secret);
    expect(early.status).toBe(404);
    expect(early.body).toEqual({ error: { grpcCode: 5, httpCode: 404, httpStatus: "Not Found", message: "No traces found" } });

    // Another tenant's key finds nothing.
    const other = await find("query.serviceName=cart", b.secret);
    expect(other.status).toBe(404);
    expect(other.body.error.message).toBe("No traces found");
  });

  it("answers bad FindTraces parameters with a 400 naming them, and needs a read key", async () => {
    const reader = await tenantWithKey(["read"]);
    const ingestOnly = await tenantWithKey(["ingest"]);
    const now = Date.now();
    const window = `query.startTimeMin=${iso(now - 3_600_000)}&query.startTimeMax=${iso(now)}`;
    const cases: [string, string][] = [
      [window, "query.serviceName is required"],
      ["query.serviceName=cart", "query.startTimeMin and query.startTimeMax are required"],
      [`query.serviceName=cart&query.startTimeMin=${iso(now)}`, "query.startTimeMax"],
      [`query.serviceName=cart&query.startTimeMin=yesterday&query.startTimeMax=${iso(now)}`, "query.startTimeMin"],
      [`query.serviceName=cart&query.startTimeMin=${now - 3_600_000}&query.startTimeMax=${iso(now)}`, "query.startTimeMin"],
      [`query.serviceName=cart&query.startTimeMin=${iso(now)}&query.startTimeMax=${iso(now - 3_600_000)}`, "query.startTimeMax must be after query.startTimeMin"],
      [`query.serviceName=cart&${window}&query.durationMin=soon`, "query.durationMin"],
      [`query.serviceName=cart&${window}&query.duration_max=-1s`, "query.duration_max"],
      [`query.serviceName=cart&${window}&query.durationMin=2s&query.durationMax=1s`, "query.durationMin"],
      [`query.serviceName=cart&${window}&query.searchDepth=-3`, "query.searchDepth"],
      [`query.serviceName=cart&${window}&query.rawTraces=maybe`, "query.rawTraces"],
      [`query.serviceName=cart&${window}&query.attributes=notjson`, "query.attributes"],
      [`query.serviceName=cart&${window}&query.attributes=${encodeURIComponent('{"code":500}')}`, "query.attributes"],
      [`query.serviceName=cart&${window}&query.filter=${encodeURIComponent('{"op":"eq","args":[]}')}`, "query.filter"],
    ];
    for (const [q, message] of cases) {
      const res = await get(`/jaeger/api/v3/traces?${q}`, reader.secret);
      expect(res.status, q).toBe(400);
      expect(GatewayError.parse(res.body).error).toMatchObject({ grpcCode: 3, httpCode: 400, httpStatus: "Bad Request" });
      expect(res.body.error.message, q).toContain(message);
    }
    const noKey = await get(`/jaeger/api/v3/traces?query.serviceName=cart&${window}`);
    expect(noKey.status).toBe(401);
    expect(GatewayError.parse(noKey.body).error.grpcCode).toBe(16);
    expect((await get(`/jaeger/api/v3/traces?query.serviceName=cart&${window}`, ingestOnly.secret)).status).toBe(403);
  });

  it("answers dependencies from the service-graph rows in the OpenAPI's shape", async () => {
    const [a, b] = await twoReaders();
    const t0 = Date.now() - 120_000;
    // frontend → cart (client/server pair) → the orders database (virtual), twice.
    for (const [traceId, start] of [[T1, t0], [T2, t0 + 1000]] as const) {
      await storeAssembled(a.tenantId, [
        resource("frontend", [
          span(traceId, "a000000000000001", "", "GET /checkout", 2, start, 100),
          span(traceId, "a000000000000002", "a000000000000001", "POST /cart", 3, start + 5, 50),
        ]),
        resource("cart", [
          span(traceId, "b000000000000001", "a000000000000002", "POST /cart", 2, start + 8, 40),
          span(traceId, "b000000000000002", "b000000000000001", "SELECT orders", 3, start + 10, 10, [str("db.system", "postgresql"), str("db.name", "orders")]),
        ]),
      ]);
    }

    const now = Date.now();
    const res = await get(`/jaeger/api/v3/dependencies?startTime=${iso(now - 3_600_000)}&endTime=${iso(now + 60_000)}`, a.secret);
    expect(res.status).toBe(200);
    expect(DependenciesResponse.parse(res.body)).toEqual({
      dependencies: [{ parent: "cart", child: "orders", callCount: "2" }, { parent: "frontend", child: "cart", callCount: "2" }],
    });
    // The same links as v1's /api/dependencies.
    const v1 = await get(`/jaeger/api/dependencies?endTs=${now + 60_000}&lookback=${3_660_000}`, a.secret);
    expect(v1.body.data.map((l: { parent: string; child: string; callCount: number }) => ({ ...l, callCount: String(l.callCount) }))).toEqual(res.body.dependencies);
    // snake_case aliases; a window before the calls has none.
    expect((await get(`/jaeger/api/v3/dependencies?start_time=${iso(now - 3_600_000)}&end_time=${iso(now + 60_000)}`, a.secret)).body).toEqual(res.body);
    expect((await get(`/jaeger/api/v3/dependencies?startTime=${iso(t0 - 7_200_000)}&endTime=${iso(t0 - 3_600_000)}`, a.secret)).body).toEqual({ dependencies: [] });
    // Another tenant's key sees none of them.
    expect((await get(`/jaeger/api/v3/dependencies?startTime=${iso(now - 3_600_000)}&endTime=${iso(now + 60_000)}`, b.secret)).body).toEqual({ dependencies: [] });

    const cases: [string, string][] = [
      ["", "startTime is required"],
      [`startTime=${iso(now - 60_000)}`, "endTime is required"],
      [`startTime=yesterday&endTime=${iso(now)}`, "startTime"],
      [`start_time=${iso(now - 60_000)}&end_time=${now}`, "end_time"],
      [`startTime=${iso(now)}&endTime=${iso(now)}`, "endTime must be after startTime"],
      [`startTime=${iso(now - 8 * 86_400_000)}&endTime=${iso(now)}`, "at most 168 hours"],
    ];
    for (const [q, message] of cases) {
      const bad = await get(`/jaeger/api/v3/dependencies?${q}`, a.secret);
      expect(bad.status, q).toBe(400);
      expect(GatewayError.parse(bad.body).error.message, q).toContain(message);
    }
    expect((await get(`/jaeger/api/v3/dependencies?startTime=${iso(now - 60_000)}&endTime=${iso(now)}`)).status).toBe(401);
  });
});
