import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../metrics/histogram.ts";
import type { OperationRow } from "../metrics/red.ts";
import type { EdgeRow } from "../servicegraph/aggregate.ts";
import { instantParams, rangeParams } from "./api.ts";
import { bucketQuantile, formatValue, instantQuery, rangeQuery, type QueryData } from "./eval.ts";
import { parsePromQL, PromQLError } from "./parser.ts";
import { edgeSeries, operationSeries, type Series } from "./series.ts";

const M = 1_699_999_980; // a minute start (a multiple of 60)
const hist = (...ms: number[]) => {
  const h = new LatencyHistogram();
  for (const v of ms) h.observe(v);
  return h.encode();
};
const none = new Uint8Array();

const edge = (minute: number, source: string, target: string, connectionType: EdgeRow["connectionType"], requests: number, failed: number, client: Uint8Array, server: Uint8Array): EdgeRow => ({
  tenantId: "t",
  minute,
  source,
  target,
  connectionType,
  requests,
  failed,
  clientDurations: client,
  serverDurations: server,
});
const op = (minute: number, service: string, operation: string, kind: number, count: number, errors: number, durations: Uint8Array): OperationRow => ({ tenantId: "t", minute, service, operation, kind, count, errors, durations });

// frontend -> cart: 4 requests (1 failed) in minute M, 2 in M+60; cart -> orders (a database): 3 in M.
const edges = [
  edge(M, "frontend", "cart", "", 4, 1, hist(12, 22, 32, 310), hist(10, 20, 30, 300)),
  edge(M + 60, "frontend", "cart", "", 2, 0, hist(42, 52), hist(40, 50)),
  edge(M, "cart", "orders", "database", 3, 0, hist(5, 5, 5), none),
  edge(M, "user", "frontend", "", 5, 0, none, hist(100)),
];
// SERVER "POST /cart" in cart (as the edges), SERVER "GET /checkout" and CLIENT "POST /cart" in frontend.
const operations = [
  op(M, "cart", "POST /cart", 2, 4, 1, hist(10, 20, 30, 300)),
  op(M + 60, "cart", "POST /cart", 2, 2, 0, hist(40, 50)),
  op(M, "frontend", "GET /checkout", 2, 3, 0, hist(100, 100, 100)),
  op(M, "frontend", "POST /cart", 3, 3, 0, hist(50, 50, 50)),
];
const series: Series[] = [...edgeSeries(edges), ...operationSeries(operations)];
const opts = { lookbackSeconds: 300 };

function at(query: string, t: number): QueryData {
  return instantQuery(parsePromQL(query), series, t, opts);
}
function vector(query: string, t: number) {
  const d = at(query, t);
  if (d.resultType !== "vector") throw new Error(`not a vector: ${d.resultType}`);
  return d.result.map((r) => [r.metric, round(Number(r.value[1]))] as const);
}
/** 12 significant digits: a sum of rates differs from the rate of the sum in the last bits, as in Prometheus. */
function round(v: number): number {
  return Number(v.toPrecision(12));
}
/** Expected samples, rounded as `vector` rounds. */
function samples(...rows: [Record<string, string>, number][]) {
  return rows.map(([m, v]) => [m, round(v)] as const);
}

describe("the series of the rows", () => {
  it("names and labels them as Tempo's metrics-generator, with exact cumulative buckets", () => {
    const names = new Set(series.map((s) => s.labels.__name__));
    expect([...names].sort()).toEqual([
      "traces_service_graph_request_client_seconds_bucket", "traces_service_graph_request_client_seconds_count", "traces_service_graph_request_client_seconds_sum",
      "traces_service_graph_request_failed_total",
      "traces_service_graph_request_server_seconds_bucket", "traces_service_graph_request_server_seconds_count", "traces_service_graph_request_server_seconds_sum",
      "traces_service_graph_request_total",
      "traces_spanmetrics_calls_total", "traces_spanmetrics_latency_bucket", "traces_spanmetrics_latency_count", "traces_spanmetrics_latency_sum",
    ]);
    // A plain call has no connection_type label (empty is absent in Prometheus).
    const total = series.find((s) => s.labels.__name__ === "traces_service_graph_request_total" && s.labels.client === "frontend")!;
    expect(total.labels).toEqual({ __name__: "traces_service_graph_request_total", client: "frontend", server: "cart" });
    expect([...total.points]).toEqual([[M, 4], [M + 60, 2]]);
    // 10, 20, 30, 300 ms: 1 by 16 ms, 3 by 32 ms, 4 by 512 ms.
    const buckets = series.filter((s) => s.labels.__name__ === "traces_service_graph_request_server_seconds_bucket" && s.labels.client === "frontend").map((s) => [s.labels.le, s.points.get(M)]);
    expect(buckets).toEqual([
      ["0.001", 0], ["0.002", 0], ["0.004", 0], ["0.008", 0], ["0.016", 1], ["0.032", 3], ["0.064", 3], ["0.128", 3], ["0.256", 3], ["0.512", 4],
      ["1.024", 4], ["2.048", 4], ["4.096", 4], ["8.192", 4], ["16.384", 4], ["32.768", 4], ["65.536", 4], ["+Inf", 4],
    ]);
    // No server histogram for the database (a virtual target), no client one for the user.
    expect(series.some((s) => s.labels.server === "orders" && s.labels.__name__?.includes("server_seconds"))).toBe(false);
    expect(series.some((s) => s.labels.client === "user" && s.labels.__name__?.includes("client_seconds"))).toBe(false);
    // Calls split by status; no ERROR series where nothing failed; latency has no status_code.
    const calls = series.filter((s) => s.labels.__name__ === "traces_spanmetrics_calls_total" && s.labels.service === "cart").map((s) => [s.labels.status_code, [...s.points]]);
    expect(calls).toEqual([["STATUS_CODE_ERROR", [[M, 1]]], ["STATUS_CODE_UNSET", [[M, 3], [M + 60, 2]]]]);
    expect(series.filter((s) => s.labels.__name__ === "traces_spanmetrics_latency_count").every((s) => s.labels.status_code === undefined)).toBe(true);
  });
});

describe("Grafana's service-graph queries", () => {
  const t = M + 120; // both minutes of frontend -> cart have closed
  it("sum by (client, server) (rate(...[$__range])): increase over the range's seconds", () => {
    expect(vector("sum by (client, server) (rate(traces_service_graph_request_total[2m]))", t)).toEqual(samples(
      [{ client: "cart", server: "orders" }, 3 / 120],
      [{ client: "frontend", server: "cart" }, 6 / 120],
      [{ client: "user", server: "frontend" }, 5 / 120],
    ));
    expect(vector("sum by (client, server) (rate(traces_service_graph_request_failed_total[2m]))", t)).toEqual(samples([{ client: "frontend", server: "cart" }, 1 / 120]));
    // 10+20+30+300+40+50 ms of server time.
    expect(vector('sum by (client, server) (rate(traces_service_graph_request_server_seconds_sum{ client="frontend" }[2m]))', t)).toEqual(samples([{ client: "frontend", server: "cart" }, 0.45 / 120]));
  });

  it("group by (client, connection_type, server) (metric): the series of the lookback, valued 1", () => {
    expect(vector("group by (client, connection_type, server) (traces_service_graph_request_total)", t)).toEqual(samples(
      [{ client: "cart", connection_type: "database", server: "orders" }, 1],
      [{ client: "frontend", server: "cart" }, 1],
      [{ client: "user", server: "frontend" }, 1],
    ));
    // Ten minutes later nothing is in the 5-minute lookback.
    expect(vector("group by (client, connection_type, server) (traces_service_graph_request_total)", t + 600)).toEqual([]);
  });

  it("alternatives joined with OR", () => {
    expect(vector('sum by (client, server) (rate(traces_service_graph_request_total{client="cart"}[2m])) OR sum by (client, server) (rate(traces_service_graph_request_total{client="user"}[2m]))', t).map(([m]) => m.client)).toEqual(["cart", "user"]);
  });

  it("the edge links: request histogram p90 by (le, client, server)", () => {
    // 10, 20, 30, 40, 50, 300 ms: rank 0.9*6 = 5.4 falls in (0.256, 0.512] (5 below, 6 by its end).
    const [[labels, p90]] = vector('histogram_quantile(0.9, sum(rate(traces_service_graph_request_server_seconds_bucket{client="frontend",server="cart"}[2m])) by (le, client, server))', t) as [[Record<string, string>, number]];
    expect(labels).toEqual({ client: "frontend", server: "cart" });
    expect(p90).toBeCloseTo(0.256 + 0.256 * 0.4, 12);
  });

  it("a range query: one point per step, a series absent where its range is empty", () => {
    const d = rangeQuery(parsePromQL('sum by (client, server)(rate(traces_service_graph_request_total{client="frontend",server="cart"}[1m]))'), series, { start: M + 60, end: M + 180, step: 60 }, opts);
    expect(d).toEqual({ resultType: "matrix", result: [{ metric: { client: "frontend", server: "cart" }, values: [[M + 60, formatValue(4 / 60)], [M + 120, formatValue(2 / 60)]] }] });
  });

  it("a range shorter than a minute reads as one minute", () => {
    expect(vector('rate(traces_service_graph_request_total{client="frontend"}[30s])', M + 90)).toEqual(samples([{ client: "frontend", server: "cart" }, 4 / 60]));
    expect(vector('increase(traces_service_graph_request_total{client="frontend"}[2m])', M + 120)).toEqual(samples([{ client: "frontend", server: "cart" }, 6]));
  });
});

describe("Grafana's span-metrics table queries", () => {
  const t = M + 120;
  it("rate: topk(5, ...) by span_name of SERVER spans, largest first", () => {
    expect(vector('topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER"}[2m])) by (span_name))', t)).toEqual(samples(
      [{ span_name: "POST /cart" }, 6 / 120],
      [{ span_name: "GET /checkout" }, 3 / 120],
    ));
    expect(vector('topk(1, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER"}[2m])) by (span_name))', t)).toEqual(samples([{ span_name: "POST /cart" }, 6 / 120]));
  });

  it("error rate: STATUS_CODE_ERROR over the span names of the rate answer", () => {
    expect(vector('topk(5, sum(rate(traces_spanmetrics_calls_total{status_code="STATUS_CODE_ERROR",span_name=~"POST /cart|GET /checkout"}[2m])) by (span_name))', t)).toEqual(samples([{ span_name: "POST /cart" }, 1 / 120]));
  });

  it("duration: histogram_quantile(.9, ... by (le)) per span name", () => {
    // POST /cart, both kinds: 10, 20, 30, 40, 50, 50, 50, 50, 300 ms; rank 8.1 falls in (0.256, 0.512] (8 below).
    const [[labels, p90]] = vector('histogram_quantile(.9, sum(rate(traces_spanmetrics_latency_bucket{span_name=~"POST /cart"}[2m])) by (le))', t) as [[Record<string, string>, number]];
    expect(labels).toEqual({});
    expect(p90).toBeCloseTo(0.256 + 0.256 * 0.1, 12);
    // Latency has no status: filtering on it finds nothing rather than the wrong spans.
    expect(vector('histogram_quantile(.9, sum(rate(traces_spanmetrics_latency_bucket{status_code="STATUS_CODE_ERROR",span_name=~"POST /cart"}[2m])) by (le))', t)).toEqual([]);
  });

  it("a regex as Grafana escapes span names, and != / !~", () => {
    expect(vector('sum(rate(traces_spanmetrics_calls_total{span_name=~"GET /check\\\\.*"}[2m])) by (span_name)', t)).toEqual([]);
    expect(vector('sum(rate(traces_spanmetrics_calls_total{span_name=~"GET /check.*"}[2m])) by (span_name)', t)).toEqual(samples([{ span_name: "GET /checkout" }, 3 / 120]));
    expect(vector('sum(rate(traces_spanmetrics_calls_total{service!="cart",span_name!~"GET.*"}[2m])) by (service, span_kind)', t)).toEqual(samples([{ service: "frontend", span_kind: "SPAN_KIND_CLIENT" }, 3 / 120]));
  });
});

describe("arithmetic and the answers' shapes", () => {
  it("1+1 (Grafana's health check) is a scalar", () => {
    expect(at("1+1", M)).toEqual({ resultType: "scalar", result: [M, "2"] });
    expect(at("2 * 3 - 4 / 8", M)).toEqual({ resultType: "scalar", result: [M, "5.5"] });
  });

  it("vector with scalar and vector with vector (matched on all labels)", () => {
    const t = M + 120;
    expect(vector('sum by (client, server) (rate(traces_service_graph_request_total{client="frontend"}[2m])) * 60', t)).toEqual(samples([{ client: "frontend", server: "cart" }, 3]));
    expect(vector("sum by (client, server) (increase(traces_service_graph_request_failed_total[2m])) / sum by (client, server) (increase(traces_service_graph_request_total[2m]))", t)).toEqual(samples([{ client: "frontend", server: "cart" }, 1 / 6]));
  });

  it("aggregations without grouping fold everything; without (...) drops the labels named", () => {
    const t = M + 120;
    expect(vector("sum(increase(traces_service_graph_request_total[2m]))", t)).toEqual(samples([{}, 14]));
    expect(vector("count(increase(traces_service_graph_request_total[2m]))", t)).toEqual(samples([{}, 3]));
    expect(vector("max without (server) (increase(traces_service_graph_request_total[2m]))", t)).toEqual(samples([{ client: "cart", connection_type: "database" }, 3], [{ client: "frontend" }, 6], [{ client: "user" }, 5]));
    expect(vector('-increase(traces_service_graph_request_total{client="cart"}[2m])', t)).toEqual(samples([{ client: "cart", connection_type: "database", server: "orders" }, -3]));
  });

  it("formats values as Prometheus does", () => {
    expect([0.05, 1e-7, 1e21, NaN, Infinity, -Infinity, -2.5e-8].map(formatValue)).toEqual(["0.05", "0.0000001", "1000000000000000000000", "NaN", "+Inf", "-Inf", "-0.000000025"]);
  });

  it("bucketQuantile follows Prometheus: +Inf required, the last finite bound above it", () => {
    expect(bucketQuantile(0.5, [{ le: 1, count: 2 }, { le: 2, count: 4 }, { le: Infinity, count: 4 }])).toBe(1);
    expect(bucketQuantile(0.99, [{ le: 1, count: 1 }, { le: Infinity, count: 10 }])).toBe(1);
    expect(bucketQuantile(0.5, [{ le: 1, count: 1 }, { le: 2, count: 2 }])).toBeNaN();
    expect(bucketQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])).toBeNaN();
  });
});

describe("what is not served", () => {
  const refused = (q: string) => {
    try {
      parsePromQL(q);
    } catch (err) {
      expect(err).toBeInstanceOf(PromQLError);
      return (err as Error).message;
    }
    throw new Error(`accepted: ${q}`);
  };
  it("names the unsupported construct", () => {
    expect(refused("irate(traces_spanmetrics_calls_total[5m])")).toMatch(/unsupported function "irate"/);
    expect(refused("quantile(0.9, traces_spanmetrics_calls_total)")).toMatch(/unsupported aggregation "quantile"/);
    expect(refused("rate(traces_spanmetrics_calls_total[5m] offset 1h)")).toMatch(/offset/);
    expect(refused("traces_spanmetrics_calls_total and traces_spanmetrics_calls_total")).toMatch(/"and"/);
    expect(refused("traces_spanmetrics_calls_total > 1")).toMatch(/">"/);
    expect(refused("a / on(client) b")).toMatch(/"on" vector matching/);
    expect(refused("rate(traces_spanmetrics_calls_total[5m:1m])")).toMatch(/subqueries/);
    expect(refused('rate(traces_spanmetrics_calls_total{span_name="x"}[$__range])')).toMatch(/Grafana variable/);
    expect(refused('{span_name=~".*"}')).toMatch(/non-empty matcher/);
    expect(refused('traces_spanmetrics_calls_total{span_name=~"("}')).toMatch(/invalid regular expression/);
    expect(refused("rate(traces_spanmetrics_calls_total)")).toMatch(/range selector/);
    expect(refused('traces_spanmetrics_calls_total{span_name=~"(a)\\\\1"}')).toMatch(/not RE2/);
    expect(refused('traces_spanmetrics_calls_total{span_name=~"(?!x).*"}')).toMatch(/not RE2/);
    // An escaped backslash before a digit is a literal backslash, as Grafana escapes span names.
    expect(parsePromQL('traces_spanmetrics_calls_total{span_name=~"C:\\\\\\\\1"}').type).toBe("selector");
  });

  it("bad parameters are bad_data naming the parameter", () => {
    expect(() => instantParams({ query: ["1"], time: ["yesterday"] }, M)).toThrow(/invalid parameter "time"/);
    expect(() => rangeParams({ query: ["1"], start: ["10"], end: ["0"], step: ["1"] })).toThrow(/end timestamp must not be before start/);
    expect(() => rangeParams({ query: ["1"], start: ["0"], end: ["100000"], step: ["1"] })).toThrow(/11,000 points/);
    expect(() => instantParams({ query: ["rate(traces_spanmetrics_calls_total[9d])"] }, M)).toThrow(/at most 8/);
    expect(rangeParams({ query: ["1"], start: ["2023-11-14T22:13:00Z"], end: ["1699999980.5"], step: ["1m"] })).toMatchObject({ start: 1699999980, end: 1699999980.5, step: 60 });
  });
});
