import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ResourceSpans, Span } from "../../shared/model/span.ts";
import { testResourceSpans, testSpan } from "../support/spans.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";


interface SpanInput {
  spanId: string;
  parent?: string;
  name: string;
  kind: number;
  startMs: number;
  durationMs: number;
  error?: boolean;
  attributes?: Record<string, string>;
}

function span(traceId: string, s: SpanInput): Span {
  return testSpan({ traceId, spanId: s.spanId, parentSpanId: s.parent, name: s.name, kind: s.kind, startMs: s.startMs, durationMs: s.durationMs, attributes: s.attributes, error: s.error });
}

function resource(service: string, spans: Span[]): ResourceSpans {
  return testResourceSpans(service, spans);
}

/** Stores a trace as ingest and the assembler would, for one tenant (edge and RED rows included). */
async function storeTrace(tenantId: string, resourceSpans: ResourceSpans[]) {
  await storeAssembled(tenantId, resourceSpans);
}

/**
 * frontend (root server) -> cart (client/server pair) -> orders (a postgresql database, virtual).
 * Server spans take 40 ms in cart, 100 ms in frontend; the database call 10 ms.
 */
function checkoutTrace(traceId: string, t0: number, cartFails: boolean): ResourceSpans[] {
  return [
    resource("frontend", [
      span(traceId, { spanId: "a000000000000001", name: "GET /checkout", kind: 2, startMs: t0, durationMs: 100 }),
      span(traceId, { spanId: "a000000000000002", parent: "a000000000000001", name: "POST /cart", kind: 3, startMs: t0 + 5, durationMs: 50, attributes: { "http.request.method": "POST" } }),
    ]),
    resource("cart", [
      span(traceId, { spanId: "b000000000000001", parent: "a000000000000002", name: "POST /cart", kind: 2, startMs: t0 + 8, durationMs: 40, error: cartFails }),
      span(traceId, { spanId: "b000000000000002", parent: "b000000000000001", name: "SELECT orders", kind: 3, startMs: t0 + 10, durationMs: 10, attributes: { "db.system": "postgresql", "db.name": "orders" } }),
    ]),
  ];
}


async function get(path: string, key?: string) {
  const res = await exports.default.fetch(`http://localhost${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

/** Within the histogram's relative error of the expected latency. */
function near(actual: number, expected: number) {
  expect(Math.abs(actual - expected) / expected).toBeLessThan(0.05);
}

describe("service graph API", () => {
  it("folds a tenant's edges into nodes and edges, RED per operation, and Jaeger's dependencies", async () => {
    const a = await tenantWithKey(["read"]);
    const b = await tenantWithKey(["read"]);
    const t0 = Date.now() - 120_000;
    await storeTrace(a.tenantId, checkoutTrace("11111111111111111111111111111111", t0, false));
    await storeTrace(a.tenantId, checkoutTrace("22222222222222222222222222222222", t0 + 1000, true));

    const res = await get(`/api/service-graph`, a.secret);
    expect(res.status).toBe(200);
    const { nodes, edges } = res.body;
    expect(nodes.map((n: { id: string; kind: string }) => [n.id, n.kind])).toEqual([
      ["cart", "service"], ["frontend", "service"], ["orders", "virtual"], ["user", "virtual"],
    ]);
    expect(nodes.map((n: { requests: number; failed: number }) => [n.requests, n.failed])).toEqual([[2, 1], [2, 0], [2, 0], [0, 0]]);
    expect(nodes[3]).toEqual({ id: "user", kind: "virtual", requests: 0, failed: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0 });
    expect(edges.map((e: { source: string; target: string; connectionType: string; requests: number; failed: number }) =>
      [e.source, e.target, e.connectionType, e.requests, e.failed])).toEqual([
      ["cart", "orders", "database", 2, 0],
      ["frontend", "cart", "", 2, 1],
      ["user", "frontend", "virtual_node", 2, 0],
    ]);
    // Latency from the server side where there is one, the client side for the database.
    near(edges[0].p50Ms, 10);
    near(edges[1].p50Ms, 40);
    near(edges[2].p99Ms, 100);
    expect(Object.keys(edges[0]).sort()).toEqual(["connectionType", "failed", "p50Ms", "p90Ms", "p99Ms", "requests", "source", "target"]);

    // An explicit window that holds the traces, and one that does not.
    const s = Math.floor(t0 / 1000);
    expect((await get(`/api/service-graph?start=${s - 60}&end=${s + 120}`, a.secret)).body.edges).toHaveLength(3);
    expect((await get(`/api/service-graph?start=${s - 7200}&end=${s - 3600}`, a.secret)).body).toEqual({ nodes: [], edges: [] });

    const ops = await get(`/api/services/cart/operations/metrics`, a.secret);
    expect(ops.status).toBe(200);
    expect(ops.body.service).toBe("cart");
    expect(ops.body.end - ops.body.start).toBe(3600);
    expect(ops.body.operations.map((o: { operation: string; kind: number; requests: number; errors: number }) => [o.operation, o.kind, o.requests, o.errors])).toEqual([
      ["POST /cart", 2, 2, 1],
      ["SELECT orders", 3, 2, 0],
    ]);
    near(ops.body.operations[0].p50Ms, 40);
    expect(ops.body.operations[0].rate).toBeCloseTo(2 / 3600, 8);
    expect((await get(`/api/services/nobody/operations/metrics`, a.secret)).body.operations).toEqual([]);

    const deps = await get(`/jaeger/api/dependencies`, a.secret);
    expect(deps.status).toBe(200);
    expect(deps.body).toEqual({
      data: [{ parent: "cart", child: "orders", callCount: 2 }, { parent: "frontend", child: "cart", callCount: 2 }],
      total: 2, limit: 0, offset: 0, errors: null,
    });
    const endTs = t0 + 60_000;
    expect((await get(`/jaeger/api/dependencies?endTs=${endTs}&lookback=120000`, a.secret)).body.data).toHaveLength(2);
    expect((await get(`/jaeger/api/dependencies?endTs=${t0 - 3_600_000}&lookback=60000`, a.secret)).body.data).toEqual([]);

    // Tenant B sees nothing of tenant A.
    expect((await get(`/api/service-graph`, b.secret)).body).toEqual({ nodes: [], edges: [] });
    expect((await get(`/api/services/cart/operations/metrics`, b.secret)).body.operations).toEqual([]);
    expect((await get(`/jaeger/api/dependencies`, b.secret)).body).toMatchObject({ data: [], errors: null });
  });

  it("needs a read key and answers 400 naming the bad parameter", async () => {
    const reader = await tenantWithKey(["read"]);
    const ingestOnly = await tenantWithKey(["ingest"]);
    expect((await get(`/api/service-graph`)).status).toBe(401);
    expect((await get(`/api/service-graph`, ingestOnly.secret)).status).toBe(403);
    expect((await get(`/api/services/cart/operations/metrics`, ingestOnly.secret)).status).toBe(403);
    expect((await get(`/jaeger/api/dependencies`, ingestOnly.secret)).status).toBe(403);

    const bad = async (path: string, param: string) => {
      const res = await get(path, reader.secret);
      expect(res.status, path).toBe(400);
      const message: string = res.body.message ?? res.body.errors?.[0]?.msg;
      expect(message, path).toContain(param);
    };
    const now = Math.floor(Date.now() / 1000);
    await bad(`/api/service-graph?start=abc`, "start");
    await bad(`/api/service-graph?end=-5`, "end");
    await bad(`/api/service-graph?start=${now}&end=${now - 10}`, "start");
    await bad(`/api/service-graph?start=${now - 8 * 86400}&end=${now}`, "start");
    await bad(`/api/service-graph?since=1`, "since");
    await bad(`/api/services/cart/operations/metrics?end=1.5`, "end");
    await bad(`/jaeger/api/dependencies?lookback=1h`, "lookback");
    await bad(`/jaeger/api/dependencies?endTs=soon`, "endTs");
    await bad(`/jaeger/api/dependencies?lookback=${8 * 86_400_000}`, "lookback");
    await bad(`/jaeger/api/dependencies?lookback=0`, "lookback");
    expect((await get(`/jaeger/api/dependencies?lookback=0`, reader.secret)).body).toMatchObject({ data: null, errors: [{ code: 400 }] });
    expect((await get(`/api/service-graph?start=${now - 7 * 86400}&end=${now}`, reader.secret)).status).toBe(200);
  });
});
