/**
 * The requests Grafana sends to a Tempo datasource (and the Prometheus datasource linked for its
 * Service Graph tab), replayed against the running stack over traces exported with the real
 * OpenTelemetry JS SDK, with Basic auth as Grafana sends it (any user, the key as password).
 * Requests as Grafana's Tempo datasource (public/app/plugins/datasource/tempo: datasource.ts,
 * language_provider.ts) and Traces Drilldown build them: search with q/limit/spss/start/end, tags
 * v2 with scope, tag values with q, trace by id as protobuf and v2, TraceQL metrics range and
 * instant (rate by service, histogram_over_time(duration), quantile_over_time, compare), the health
 * check (/api/echo) and buildinfo, and the service-graph and span-metrics PromQL queries.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span as ApiSpan, type Tracer } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter as OTLPProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { ResourceSpans } from "../../shared/model/span.ts";
import { decodeTraceRequest } from "../../shared/otlp/decode-proto.ts";
import { retrying503 } from "../support/retry-503.ts";
import { adminClient, flattenResourceSpans, stringAttr, waitUntilTracesWhole, type CreatedKey } from "./support.ts";

const ingestUrl = inject("ingestUrl");
const dashboardUrl = inject("dashboardUrl");
const adminToken = inject("adminToken");

const SERVICES = ["gr-frontend", "gr-checkout", "gr-payments"] as const;
const TRACE_COUNT = 6;
const DEADLINE_MS = 90_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** frontend SERVER -> frontend CLIENT -> checkout SERVER -> checkout CLIENT -> payments SERVER; trace 1's payment fails. */
function emitTrace(i: number, [frontend, checkout, payments]: Tracer[], t0: number): void {
  const ctx = (span: ApiSpan) => trace.setSpan(ROOT_CONTEXT, span);
  const root = frontend!.startSpan("GET /cart", { kind: SpanKind.SERVER, startTime: t0, attributes: { "http.request.method": "GET", "http.route": "/cart" } });
  const toCheckout = frontend!.startSpan("POST checkout", { kind: SpanKind.CLIENT, startTime: t0 + 2 }, ctx(root));
  const checkoutServer = checkout!.startSpan("POST /checkout", { kind: SpanKind.SERVER, startTime: t0 + 4, attributes: { "http.route": "/checkout" } }, ctx(toCheckout));
  const toPayments = checkout!.startSpan("POST charge", { kind: SpanKind.CLIENT, startTime: t0 + 6 }, ctx(checkoutServer));
  const paymentsServer = payments!.startSpan("POST /charge", { kind: SpanKind.SERVER, startTime: t0 + 8, attributes: { "payment.method": i % 2 ? "card" : "voucher" } }, ctx(toPayments));
  if (i === 1) paymentsServer.setStatus({ code: SpanStatusCode.ERROR, message: "declined" });
  paymentsServer.end(t0 + 20 + i);
  toPayments.end(t0 + 22 + i);
  checkoutServer.end(t0 + 25 + i);
  toCheckout.end(t0 + 27 + i);
  root.end(t0 + 30 + i);
}

function basic(key: string): string {
  return `Basic ${Buffer.from(`grafana:${key}`).toString("base64")}`;
}

describe("the requests Grafana's Tempo datasource and Traces Drilldown send", () => {
  const admin = adminClient(dashboardUrl, adminToken);
  let readKey: CreatedKey;
  const traceIds = new Set<string>();
  let errorTraceId = "";
  let start: number;
  let end: number;

  async function get(path: string, accept?: string): Promise<Response> {
    // A 503 (the local D1 briefly locked by the other process) is asked again, as the admin client does.
    return retrying503(() => fetch(`${dashboardUrl}${path}`, { headers: { authorization: basic(readKey.secret), ...(accept ? { accept } : {}) } }));
  }
  async function getJson<T>(path: string): Promise<T> {
    const res = await get(path);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text) as T;
  }
  /** Asks until `ok` holds of the answer (the per-minute rows and blocks may lag), then returns the last answer. */
  async function poll<T>(path: string, ok: (a: T) => boolean, ms = 60_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const answer = await getJson<T>(path);
      if (ok(answer) || Date.now() > deadline) return answer;
      await sleep(2000);
    }
  }
  const qs = (params: Record<string, string | number>) => new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();

  beforeAll(async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const tenant = (await admin.createTenant(`e2e grafana ${suffix}`)).id;
    const ingestKey = await admin.createKey(tenant, "collector", ["ingest"]);
    readKey = await admin.createKey(tenant, "grafana", ["read"]);

    const t0 = Date.now() - 5_000;
    start = Math.floor(t0 / 1000) - 600;

    const exporter = new OTLPProtoTraceExporter({ url: `${ingestUrl}/v1/traces`, headers: { "x-api-key": ingestKey.secret } });
    const results: number[] = [];
    const processor = new BatchSpanProcessor(
      { export: (spans, cb) => exporter.export(spans, (r) => { results.push(r.code); for (const s of spans) traceIds.add(s.spanContext().traceId); if (spans.some((s) => s.status.code === SpanStatusCode.ERROR)) errorTraceId = spans.find((s) => s.status.code === SpanStatusCode.ERROR)!.spanContext().traceId; cb(r); }), shutdown: () => exporter.shutdown(), forceFlush: () => exporter.forceFlush() },
      { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 60_000 },
    );
    const providers = SERVICES.map((service) => new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": service, "deployment.environment.name": "e2e" }), spanProcessors: [processor] }));
    const tracers = providers.map((p, i) => p.getTracer(`edgetrace-e2e/${SERVICES[i]}`, "0.1.0"));
    for (let i = 0; i < TRACE_COUNT; i++) emitTrace(i, tracers, t0 + i * 200);
    await processor.forceFlush();
    await Promise.all(providers.map((p) => p.shutdown()));
    expect(results.length).toBeGreaterThan(0);
    for (const code of results) expect(code).toBe(ExportResultCode.SUCCESS);
    expect(traceIds.size).toBe(TRACE_COUNT);
    expect(errorTraceId).toMatch(/^[0-9a-f]{32}$/);

    // Wait until every trace answers whole by id (5 spans each).
    await waitUntilTracesWhole((path) => get(path), traceIds, (_, spans) => spans.length === 5, DEADLINE_MS);
    end = Math.floor(Date.now() / 1000) + 60;
  }, 180_000);

  it("health check and build info: /api/echo, /api/status/buildinfo", async () => {
    const echo = await get("/api/echo");
    expect(echo.status).toBe(200);
    expect(await echo.text()).toBe("echo");
    const info = await getJson<Record<string, unknown>>("/api/status/buildinfo");
    expect(typeof info.version).toBe("string");
  });

  it("search: /api/search?q=&limit=&spss=&start=&end=", async () => {
    const q = `{resource.service.name="gr-payments"}`;
    const answer = await getJson<{ traces: { traceID: string; rootServiceName: string; rootTraceName: string; startTimeUnixNano: string; durationMs?: number; spanSets?: { spans: { spanID: string; startTimeUnixNano: string; durationNanos: string }[]; matched: number }[]; spanSet?: unknown }[]; metrics: Record<string, unknown> }>(
      `/api/search?${qs({ q, limit: 20, spss: 3, start, end })}`,
    );
    expect(new Set(answer.traces.map((t) => t.traceID.padStart(32, "0")))).toEqual(traceIds);
    for (const t of answer.traces) {
      expect(t.rootServiceName).toBe("gr-frontend");
      expect(t.rootTraceName).toBe("GET /cart");
      expect(t.startTimeUnixNano).toMatch(/^\d+$/);
      expect(t.spanSets?.length).toBeGreaterThan(0);
      for (const ss of t.spanSets!) {
        expect(ss.matched).toBe(1);
        for (const s of ss.spans) {
          expect(s.spanID).toMatch(/^[0-9a-f]+$/);
          expect(s.durationNanos).toMatch(/^\d+$/);
        }
      }
    }
    const errors = await getJson<{ traces: { traceID: string }[] }>(`/api/search?${qs({ q: "{status=error}", limit: 20, spss: 3, start, end })}`);
    expect(errors.traces.map((t) => t.traceID.padStart(32, "0"))).toEqual([errorTraceId]);
    const limited = await getJson<{ traces: unknown[] }>(`/api/search?${qs({ q: "{}", limit: 2, spss: 3, start, end })}`);
    expect(limited.traces).toHaveLength(2);
  });

  it("tags v2 with scope: /api/v2/search/tags?scope=", async () => {
    for (const scope of ["resource", "span", "intrinsic"]) {
      const answer = await getJson<{ scopes: { name: string; tags: string[] }[] }>(`/api/v2/search/tags?${qs({ scope, start, end })}`);
      const tags = answer.scopes.find((s) => s.name === scope)?.tags ?? [];
      if (scope === "resource") expect(tags).toEqual(expect.arrayContaining(["service.name", "deployment.environment.name"]));
      if (scope === "span") expect(tags).toEqual(expect.arrayContaining(["http.route", "payment.method"]));
      if (scope === "intrinsic") expect(tags).toEqual(expect.arrayContaining(["duration", "name", "status", "kind"]));
    }
    const all = await getJson<{ scopes: { name: string; tags: string[] }[] }>(`/api/v2/search/tags?${qs({ scope: "all", start, end })}`);
    expect(all.scopes.map((s) => s.name)).toEqual(expect.arrayContaining(["resource", "span", "intrinsic"]));
  });

  it("tag values with q: /api/v2/search/tag/<tag>/values?q=", async () => {
    const services = await getJson<{ tagValues: { type: string; value: string }[] }>(`/api/v2/search/tag/resource.service.name/values?${qs({ q: "{}", start, end })}`);
    expect(services.tagValues.map((v) => v.value).sort()).toEqual([...SERVICES].sort());
    for (const v of services.tagValues) expect(v.type).toBe("string");
    // The editor narrows values by the rest of the query.
    const routes = await getJson<{ tagValues: { type: string; value: string }[] }>(`/api/v2/search/tag/span.http.route/values?${qs({ q: `{resource.service.name="gr-checkout"}`, start, end })}`);
    expect(routes.tagValues).toEqual([{ type: "string", value: "/checkout" }]);
    const names = await getJson<{ tagValues: { type: string; value: string }[] }>(`/api/v2/search/tag/name/values?${qs({ q: `{resource.service.name="gr-payments" && kind=server}`, start, end })}`);
    expect(names.tagValues.map((v) => v.value)).toEqual(["POST /charge"]);
    // While the user types: the query just after `&&` narrows by its complete part.
    const typing = await getJson<{ tagValues: { type: string; value: string }[] }>(`/api/v2/search/tag/name/values?${qs({ q: `{resource.service.name="gr-payments" && }`, start, end })}`);
    expect(typing.tagValues.map((v) => v.value)).toEqual(["POST /charge"]);
    const status = await getJson<{ tagValues: { type: string; value: string }[] }>(`/api/v2/search/tag/status/values?${qs({ q: "{}" })}`);
    expect(status.tagValues.map((v) => v.value)).toEqual(expect.arrayContaining(["error", "ok", "unset"]));
  });

  it("trace by id: /api/traces/<id> with Accept: application/protobuf, and /api/v2/traces/<id>", async () => {
    for (const id of traceIds) {
      const res = await get(`/api/traces/${id}`, "application/protobuf");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/protobuf/);
      const decoded = flattenResourceSpans(decodeTraceRequest(new Uint8Array(await res.arrayBuffer())).resourceSpans);
      expect(decoded).toHaveLength(5);
      for (const s of decoded) expect(s.traceId).toBe(id);
      expect(new Set(decoded.map((s) => stringAttr(s.resource.attributes, "service.name")))).toEqual(new Set(SERVICES));

      const v2 = await getJson<{ trace: { resourceSpans: ResourceSpans[] } }>(`/api/v2/traces/${id}`);
      const spans = flattenResourceSpans(v2.trace.resourceSpans);
      expect(spans).toHaveLength(5);
      expect(spans.map((s) => s.span.name).sort()).toEqual(["GET /cart", "POST /charge", "POST /checkout", "POST charge", "POST checkout"]);
    }
    const missing = await get(`/api/traces/${"0".repeat(31)}1`, "application/protobuf");
    await missing.body?.cancel();
    expect(missing.status).toBe(404);
  });

  type RangeAnswer = { series: { labels: { key: string; value: Record<string, unknown> }[]; samples: { timestampMs: string; value: number }[]; promLabels?: string }[] };
  const label = (s: RangeAnswer["series"][number], key: string) => {
    const v = s.labels.find((l) => l.key === key)?.value;
    return v ? Object.values(v)[0] : undefined;
  };
  const total = (s: RangeAnswer["series"][number]) => s.samples.reduce((a, p) => a + p.value, 0);

  it("metrics range: Drilldown's rate, errors and duration panels, histogram_over_time, compare", async () => {
    const range = (q: string, step = "60s") => `/api/metrics/query_range?${qs({ q, start, end, step })}`;
    // Drilldown's RED panels (generateMetricsQuery: `{primarySignal && filters && status!=error} | rate() by(...)`),
    // over its default "root spans" signal (nestedSetParent<0) and over all spans (true).
    const rate = await poll<RangeAnswer>(range(`{nestedSetParent<0 && true && status!=error} | rate() by(resource.service.name, status)`), (a) => a.series.length > 0 && total(a.series[0]!) * 60 >= TRACE_COUNT);
    expect(rate.series.map((s) => [label(s, "resource.service.name"), label(s, "status")])).toEqual([["gr-frontend", "unset"]]);
    expect(total(rate.series[0]!) * 60).toBeCloseTo(TRACE_COUNT, 5);
    for (const p of rate.series[0]!.samples) expect(String(p.timestampMs)).toMatch(/^\d+$/);

    const all = await getJson<RangeAnswer>(range(`{true && true && resource.service.name != nil} | rate() by(resource.service.name)`));
    expect(all.series.map((s) => label(s, "resource.service.name")).sort()).toEqual([...SERVICES].sort());
    const perService = Object.fromEntries(all.series.map((s) => [label(s, "resource.service.name"), Math.round(total(s) * 60)]));
    expect(perService).toEqual({ "gr-frontend": 2 * TRACE_COUNT, "gr-checkout": 2 * TRACE_COUNT, "gr-payments": TRACE_COUNT });

    // Drilldown's other primary signals: server spans.
    const server = await getJson<RangeAnswer>(range(`{kind=server && true && status!=error} | rate() `));
    expect(server.series).toHaveLength(1);
    expect(Math.round(total(server.series[0]!) * 60)).toBe(3 * TRACE_COUNT - 1);

    const errors = await getJson<RangeAnswer>(range(`{true && true && status=error} | rate() by(status)`));
    expect(errors.series.map((s) => [label(s, "status"), Math.round(total(s) * 60)])).toEqual([["error", 1]]);

    // The duration panel: quantile_over_time(duration, 0.9) with Drilldown's empty `by()`, and by a key.
    const p90 = await getJson<RangeAnswer>(range(`{nestedSetParent<0 && true} | quantile_over_time(duration, 0.9) by()`));
    expect(p90.series.length).toBeGreaterThan(0);
    const values = p90.series.flatMap((s) => s.samples.map((p) => p.value)).filter((v) => typeof v === "number" && !Number.isNaN(v));
    expect(values.length).toBeGreaterThan(0);
    // Root spans last 30..35 ms.
    for (const v of values) {
      expect(v).toBeGreaterThan(0.025);
      expect(v).toBeLessThan(0.05);
    }
    const p90By = await getJson<RangeAnswer>(range(`{true && true && resource.service.name != nil} | quantile_over_time(duration, 0.9) by(resource.service.name)`));
    expect(new Set(p90By.series.map((s) => label(s, "resource.service.name")))).toEqual(new Set(SERVICES));

    // The duration heatmap.
    const hist = await getJson<RangeAnswer>(range(`{nestedSetParent<0} | histogram_over_time(duration)`));
    expect(hist.series.length).toBeGreaterThan(0);
    for (const s of hist.series) expect(Number(label(s, "__bucket"))).toBeGreaterThan(0);
    expect(hist.series.reduce((a, s) => a + total(s), 0)).toBe(TRACE_COUNT);

    // Comparison (root cause errors / highlighted selection).
    const compare = await getJson<RangeAnswer>(range(`{true && true} | compare({status = error}, 10)`));
    const metaTypes = new Set(compare.series.map((s) => label(s, "__meta_type")));
    expect([...metaTypes]).toEqual(expect.arrayContaining(["baseline", "baseline_total", "selection", "selection_total"]));
    // The one error span is gr-payments' POST /charge.
    const selected = compare.series.filter((s) => label(s, "__meta_type") === "selection" && label(s, "resource.service.name") !== undefined);
    expect(selected.map((s) => label(s, "resource.service.name"))).toEqual(["gr-payments"]);
  });

  it("metrics instant: /api/metrics/query", async () => {
    const answer = await getJson<{ series: { labels: { key: string; value: Record<string, unknown> }[]; value: number }[] }>(
      `/api/metrics/query?${qs({ q: `{true} | rate() by(resource.service.name)`, start, end })}`,
    );
    const window = end - start;
    const counts = Object.fromEntries(answer.series.map((s) => [Object.values(s.labels.find((l) => l.key === "resource.service.name")!.value)[0], Math.round(s.value * window)]));
    expect(counts).toEqual({ "gr-frontend": 2 * TRACE_COUNT, "gr-checkout": 2 * TRACE_COUNT, "gr-payments": TRACE_COUNT });
  });

  type PromVector = { status: string; data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
  type PromMatrix = { status: string; data: { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] } };

  it("Service Graph tab: the Prometheus queries on /prometheus/api/v1/query and query_range", async () => {
    // Grafana evaluates at the range's end (now) with `[$__range]`; the rows count a minute once it
    // has closed, so ask again (with a new now) until the spans' minute has.
    let now = 0;
    let range: string;
    const instant = (query: string) => `/prometheus/api/v1/query?${qs({ query, time: now })}`;
    const deadline = Date.now() + 150_000;
    let requests: PromVector;
    for (;;) {
      now = Math.floor(Date.now() / 1000);
      range = `${now - start}s`;
      requests = await getJson<PromVector>(instant(`sum by (client, server) (rate(traces_service_graph_request_total[${range}]))`));
      if (requests.data.result.length >= 3 || Date.now() > deadline) break;
      await sleep(3000);
    }
    expect(requests.status).toBe("success");
    expect(requests.data.resultType).toBe("vector");
    const edges = Object.fromEntries(requests.data.result.map((r) => [`${r.metric.client}->${r.metric.server}`, Number(r.value[1])]));
    // Tempo's metrics-generator names the root's caller "user".
    expect(Object.keys(edges).sort()).toEqual(["gr-checkout->gr-payments", "gr-frontend->gr-checkout", "user->gr-frontend"]);
    // Six calls on each edge: equal rates, above zero.
    const edgeRate = edges["gr-frontend->gr-checkout"]!;
    expect(edgeRate).toBeGreaterThan(0);
    for (const rate of Object.values(edges)) expect(rate).toBeCloseTo(edgeRate, 9);

    const failed = await getJson<PromVector>(instant(`sum by (client, server) (rate(traces_service_graph_request_failed_total[${range}]))`));
    // One failed call of six.
    expect(failed.data.result.map((r) => [`${r.metric.client}->${r.metric.server}`, Math.round((Number(r.value[1]) / edgeRate) * TRACE_COUNT)])).toEqual([["gr-checkout->gr-payments", 1]]);

    const seconds = await getJson<PromVector>(instant(`sum by (client, server) (rate(traces_service_graph_request_server_seconds_sum[${range}]))`));
    expect(seconds.data.result).toHaveLength(3);
    for (const r of seconds.data.result) expect(Number(r.value[1])).toBeGreaterThan(0);

    const p90 = await getJson<PromVector>(instant(`histogram_quantile(0.9, sum by (le, client, server) (rate(traces_service_graph_request_server_seconds_bucket[${range}])))`));
    expect(p90.data.result).toHaveLength(3);
    for (const r of p90.data.result) {
      expect(Number(r.value[1])).toBeGreaterThan(0);
      expect(Number(r.value[1])).toBeLessThan(0.1);
    }

    // The span-metrics (RED) table under the graph: graphTransform.ts's rate, error rate and duration.
    const rate = await getJson<PromVector>(instant(`topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER"}[${range}])) by (span_name))`));
    expect(rate.data.result.map((r) => r.metric.span_name).sort()).toEqual(["GET /cart", "POST /charge", "POST /checkout"]);
    for (const r of rate.data.result) expect(Number(r.value[1])).toBeCloseTo(edgeRate, 9);
    const errorRate = await getJson<PromVector>(instant(`topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_ERROR",span_name=~"GET /cart|POST /charge|POST /checkout"}[${range}])) by (span_name))`));
    expect(errorRate.data.result.map((r) => r.metric.span_name)).toEqual(["POST /charge"]);
    const duration = await getJson<PromVector>(instant(`histogram_quantile(.9, sum(rate(traces_spanmetrics_latency_bucket{span_kind="SPAN_KIND_SERVER",span_name=~"POST /charge"}[${range}])) by (le))`));
    expect(duration.data.result).toHaveLength(1);
    expect(Number(duration.data.result[0]!.value[1])).toBeGreaterThan(0);

    // The range query as Grafana's Prometheus datasource aligns it (start and end on the step).
    const step = 15;
    let matrix: PromMatrix;
    for (const until = Date.now() + 60_000; ; ) {
      const rangeEnd = Math.floor(Date.now() / 1000 / step) * step;
      matrix = await getJson<PromMatrix>(`/prometheus/api/v1/query_range?${qs({ query: `sum by (client, server) (rate(traces_service_graph_request_total[2m]))`, start: Math.floor(start / step) * step, end: rangeEnd, step })}`);
      if (matrix.data.result.length > 0 || Date.now() > until) break;
      await sleep(3000);
    }
    const fc = matrix.data.result.find((r) => r.metric.client === "gr-frontend" && r.metric.server === "gr-checkout");
    expect(fc?.values.some(([, v]) => Number(v) > 0)).toBe(true);
  });
});
