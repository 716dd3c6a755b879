/**
 * The Prometheus API (/prometheus/api/v1/*) as Grafana calls it: the exact queries its Tempo
 * datasource sends for the Service Graph and the span-metrics table (public/app/plugins/datasource/
 * tempo/datasource.ts, graphTransform.ts; `$__range` as Grafana fills it in), as form POSTs like
 * Grafana's Prometheus datasource, over rows the assembler wrote for two checkout traces.
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ResourceSpans, Span } from "../../shared/model/span.ts";
import { testResourceSpans, testSpan } from "../support/spans.ts";
import { twoReaders, type Reader } from "../support/dashboard-api.ts";
import { storeAssembled } from "../support/store-assembled.ts";

const span = (traceId: string, s: { spanId: string; parent?: string; name: string; kind: number; startMs: number; durationMs: number; error?: boolean; attributes?: Record<string, string> }): Span =>
  testSpan({ traceId, spanId: s.spanId, parentSpanId: s.parent, name: s.name, kind: s.kind, startMs: s.startMs, durationMs: s.durationMs, attributes: s.attributes, error: s.error });

/** frontend (root server, 100 ms) -> cart (client 50 ms / server 40 ms) -> orders (a postgresql database, 10 ms). */
function checkoutTrace(traceId: string, t0: number, cartFails: boolean): ResourceSpans[] {
  return [
    testResourceSpans("frontend", [
      span(traceId, { spanId: "a000000000000001", name: "GET /checkout", kind: 2, startMs: t0, durationMs: 100 }),
      span(traceId, { spanId: "a000000000000002", parent: "a000000000000001", name: "POST /cart", kind: 3, startMs: t0 + 5, durationMs: 50 }),
    ]),
    testResourceSpans("cart", [
      span(traceId, { spanId: "b000000000000001", parent: "a000000000000002", name: "POST /cart", kind: 2, startMs: t0 + 8, durationMs: 40, error: cartFails }),
      span(traceId, { spanId: "b000000000000002", parent: "b000000000000001", name: "SELECT orders", kind: 3, startMs: t0 + 10, durationMs: 10, attributes: { "db.system": "postgresql", "db.name": "orders" } }),
    ]),
  ];
}

type Headers = Record<string, string>;
const bearer = (key: string): Headers => ({ authorization: `Bearer ${key}` });

async function call(path: string, headers: Headers, form?: Record<string, string>) {
  const init: RequestInit = form
    ? { method: "POST", headers: { ...headers, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form).toString() }
    : { headers };
  const res = await exports.default.fetch(`http://localhost/prometheus${path}`, init);
  return { status: res.status, body: JSON.parse(await res.text()) };
}

/** An instant query as Grafana's Prometheus datasource posts it. */
const instant = (key: string, query: string, time: number) => call("/api/v1/query", bearer(key), { query, time: String(time) });

/** The result as [labels, value] pairs, sorted by labels. */
function samples(body: { status: string; data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } }) {
  expect(body.status).toBe("success");
  expect(body.data.resultType).toBe("vector");
  return body.data.result.map((r) => [r.metric, Number(r.value[1])] as const);
}

const near = (actual: number, expected: number) => expect(actual).toBeCloseTo(expected, 12);

let a: Reader;
let b: Reader;
// The traces' minute, closed two minutes before "now" of the queries.
const minute = Math.floor((Date.now() - 5 * 60_000) / 60_000) * 60;
const T = minute + 120;
const RANGE = "3600s";

beforeAll(async () => {
  [a, b] = await twoReaders();
  const t0 = minute * 1000 + 1000;
  await storeAssembled(a.tenantId, checkoutTrace("11111111111111111111111111111111", t0, false));
  await storeAssembled(a.tenantId, checkoutTrace("22222222222222222222222222222222", t0 + 1000, true));
});

describe("Prometheus API: the Service Graph's queries", () => {
  it("sum by (client, server) (rate(<metric>[$__range])) for the four service-map metrics", async () => {
    const total = samples((await instant(a.secret, `sum by (client, server) (rate(traces_service_graph_request_total[${RANGE}]))`, T)).body);
    expect(total.map(([m]) => m)).toEqual([{ client: "cart", server: "orders" }, { client: "frontend", server: "cart" }, { client: "user", server: "frontend" }]);
    for (const [, v] of total) near(v, 2 / 3600);

    expect(samples((await instant(a.secret, `sum by (client, server) (rate(traces_service_graph_request_failed_total[${RANGE}]))`, T)).body)).toEqual([[{ client: "frontend", server: "cart" }, 1 / 3600]]);

    // Server time: cart's two 40 ms spans, frontend's two 100 ms; the database has none.
    const seconds = samples((await instant(a.secret, `sum by (client, server) (rate(traces_service_graph_request_server_seconds_sum[${RANGE}]))`, T)).body);
    expect(seconds.map(([m]) => m)).toEqual([{ client: "frontend", server: "cart" }, { client: "user", server: "frontend" }]);
    near(seconds[0]![1], 0.08 / 3600);
    near(seconds[1]![1], 0.2 / 3600);

    // 18 buckets (17 powers of two and +Inf) of 2 each, summed.
    const buckets = samples((await instant(a.secret, `sum by (client, server) (rate(traces_service_graph_request_server_seconds_bucket[${RANGE}]))`, T)).body);
    expect(buckets.map(([m]) => m.client)).toEqual(["frontend", "user"]);
  });

  it("group by (client, connection_type, server) (<metric>): the edges and their connection types", async () => {
    const res = await instant(a.secret, "group by (client, connection_type, server) (traces_service_graph_request_total)", T);
    expect(samples(res.body)).toEqual([
      [{ client: "cart", connection_type: "database", server: "orders" }, 1],
      [{ client: "frontend", server: "cart" }, 1],
      [{ client: "user", connection_type: "virtual_node", server: "frontend" }, 1],
    ]);
  });

  it("the edge links as range queries: request rate and the p90 histogram", async () => {
    const rate = await call("/api/v1/query_range", bearer(a.secret), {
      query: 'sum by (client, server)(rate(traces_service_graph_request_total{client="frontend",server="cart"}[1m0s]))',
      start: String(minute),
      end: String(minute + 180),
      step: "60",
    });
    expect(rate.status).toBe(200);
    expect(rate.body).toEqual({ status: "success", data: { resultType: "matrix", result: [{ metric: { client: "frontend", server: "cart" }, values: [[minute + 60, String(2 / 60)]] }] } });

    const p90 = await call("/api/v1/query_range", bearer(a.secret), {
      query: 'histogram_quantile(0.9, sum(rate(traces_service_graph_request_server_seconds_bucket{client="frontend",server="cart"}[1m0s])) by (le, client, server))',
      start: String(minute + 60),
      end: String(minute + 60),
      step: "15",
    });
    // Two 40 ms spans: all in (0.032, 0.064]; rank 1.8 of 2.
    const [series] = p90.body.data.result;
    expect(series.metric).toEqual({ client: "frontend", server: "cart" });
    near(Number(series.values[0][1]), 0.032 + 0.032 * 0.9);
  });
});

describe("Prometheus API: the span-metrics table's queries", () => {
  it("rate, error rate and p90 duration per span name", async () => {
    const rate = samples((await instant(a.secret, `topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER"}[${RANGE}])) by (span_name))`, T)).body);
    expect(rate.map(([m]) => m.span_name).sort()).toEqual(["GET /checkout", "POST /cart"]);
    for (const [, v] of rate) near(v, 2 / 3600);

    const errors = await instant(a.secret, `topk(5, sum(rate(traces_spanmetrics_calls_total{status_code="STATUS_CODE_ERROR",span_name=~"GET /checkout|POST /cart"}[${RANGE}])) by (span_name))`, T);
    expect(samples(errors.body)).toEqual([[{ span_name: "POST /cart" }, 1 / 3600]]);

    // POST /cart: cart's server spans (40 ms) and frontend's client spans (50 ms), all in (0.032, 0.064].
    const duration = samples((await instant(a.secret, `histogram_quantile(.9, sum(rate(traces_spanmetrics_latency_bucket{span_name=~"POST /cart"}[${RANGE}])) by (le))`, T)).body);
    expect(duration.map(([m]) => m)).toEqual([{}]);
    near(duration[0]![1], 0.032 + 0.032 * 0.9);
  });
});

describe("Prometheus API: what Grafana's datasource needs to connect and browse", () => {
  it("1+1, buildinfo, labels, label values, series and metadata; GET and Basic auth work too", async () => {
    const basic = { authorization: `Basic ${btoa(`grafana:${a.secret}`)}` };
    expect((await call(`/api/v1/query?query=${encodeURIComponent("1+1")}&time=${T}`, basic)).body).toEqual({ status: "success", data: { resultType: "scalar", result: [T, "2"] } });
    expect((await call("/api/v1/status/buildinfo", basic)).body.data.version).toMatch(/^2\./);

    const window = `start=${minute - 60}&end=${T}`;
    const labels = (await call(`/api/v1/labels?${window}`, bearer(a.secret))).body;
    expect(labels).toEqual({ status: "success", data: ["__name__", "client", "connection_type", "le", "server", "service", "span_kind", "span_name", "status_code"] });
    const names = (await call(`/api/v1/label/__name__/values?${window}`, bearer(a.secret))).body.data;
    expect(names).toContain("traces_service_graph_request_total");
    expect(names).toContain("traces_spanmetrics_latency_bucket");
    expect((await call(`/api/v1/label/service/values?${window}`, bearer(a.secret))).body.data).toEqual(["cart", "frontend"]);

    const series = await call(`/api/v1/series?${window}&match[]=${encodeURIComponent('traces_spanmetrics_calls_total{service="cart"}')}`, bearer(a.secret));
    expect(series.body.data).toEqual(expect.arrayContaining([
      { __name__: "traces_spanmetrics_calls_total", service: "cart", span_name: "POST /cart", span_kind: "SPAN_KIND_SERVER", status_code: "STATUS_CODE_ERROR" },
      { __name__: "traces_spanmetrics_calls_total", service: "cart", span_name: "POST /cart", span_kind: "SPAN_KIND_SERVER", status_code: "STATUS_CODE_UNSET" },
    ]));
    const metadata = (await call("/api/v1/metadata", bearer(a.secret))).body.data;
    expect(metadata.traces_spanmetrics_latency).toEqual([expect.objectContaining({ type: "histogram" })]);
  });

  it("answers what it does not serve with Prometheus' bad_data error, and a missing key with its error shape", async () => {
    const res = await instant(a.secret, "irate(traces_spanmetrics_calls_total[5m])", T);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ status: "error", errorType: "bad_data", error: expect.stringMatching(/unsupported function "irate"/) });
    const noKey = await call("/api/v1/query?query=1", {});
    expect(noKey.status).toBe(401);
    expect(noKey.body).toMatchObject({ status: "error", errorType: "unauthorized" });
  });

  it("another tenant's key sees none of it", async () => {
    expect(samples((await instant(b.secret, `sum by (client, server) (rate(traces_service_graph_request_total[${RANGE}]))`, T)).body)).toEqual([]);
    expect(samples((await instant(b.secret, `topk(5, sum(rate(traces_spanmetrics_calls_total{}[${RANGE}])) by (span_name))`, T)).body)).toEqual([]);
    expect((await call(`/api/v1/label/service/values?start=${minute - 60}&end=${T}`, bearer(b.secret))).body).toEqual({ status: "success", data: [] });
  });
});
