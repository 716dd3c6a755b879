/**
 * Issue 4's isolation proof: every query route, walked with the owner's key (which must see the
 * data, so the walk can fail) and with a second tenant's key (which must see none of it: not the
 * trace id, the service names, the span name nor an attribute value). Routes answer 404 for the
 * other tenant's trace ids, exactly as for missing ones.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ResourceSpans, Span } from "../../shared/model/span.ts";
import { testResourceSpans, testSpan } from "../support/spans.ts";
import { twoReaders } from "../support/dashboard-api.ts";
import { storeAssembled } from "../support/store-assembled.ts";

const tag = crypto.randomUUID().slice(0, 8);
const SERVICE = `iso-svc-${tag}`;
const PEER = `iso-peer-${tag}`;
const SPAN_NAME = `iso-op-${tag}`;
const MARKER = `iso-marker-${tag}`;
const TRACE_ID = crypto.randomUUID().replaceAll("-", "");

function span(spanId: string, parentSpanId: string, name: string, kind: number, startMs: number, attrs: Record<string, string>): Span {
  return testSpan({ traceId: TRACE_ID, spanId, parentSpanId, name, kind, startMs, durationMs: 40, attributes: attrs });
}

function resource(service: string, spans: Span[]): ResourceSpans {
  return testResourceSpans(service, spans);
}

async function get(path: string, key: string) {
  const res = await exports.default.fetch(`http://localhost${path}`, { headers: { "x-api-key": key } });
  return { status: res.status, text: await res.text() };
}

describe("tenant isolation across every query route", () => {
  it("shows the tenant's data to its key and nothing of it to another tenant's key", async () => {
    const [a, b] = await twoReaders();
    const t0 = Date.now() - 90_000;
    // A server span and its client call to an uninstrumented peer (a virtual node in the graph).
    await storeAssembled(a.tenantId, [
      resource(SERVICE, [
        span("a000000000000001", "", SPAN_NAME, 2, t0, { marker: MARKER, "http.route": "/iso" }),
        span("a000000000000002", "a000000000000001", "call peer", 3, t0 + 5, { "peer.service": PEER, marker: MARKER }),
      ]),
    ]);
    // A later batch settles the client half that has no server partner (a virtual-node edge).
    await storeAssembled(a.tenantId, [], Date.now() + 90_000);
    // B has data of its own, so its answers are not empty for want of data.
    await storeAssembled(b.tenantId, [resource("b-service", [{ ...span("b000000000000001", "", "b-op", 2, t0, {}), traceId: "b".repeat(32) }])]);

    const s = Math.floor(t0 / 1000) - 600;
    const e = Math.floor(t0 / 1000) + 600;
    const us = (sec: number) => `${sec}000000`;
    const rfc = (sec: number) => new Date(sec * 1000).toISOString();
    const q = encodeURIComponent(`{ resource.service.name = "${SERVICE}" }`);
    // [path, what A's own key must find in the answer]
    const routes: [string, string][] = [
      [`/api/traces/${TRACE_ID}`, SPAN_NAME],
      [`/api/v2/traces/${TRACE_ID}`, SPAN_NAME],
      [`/api/search?tags=${encodeURIComponent(`service.name=${SERVICE}`)}&start=${s}&end=${e}`, TRACE_ID],
      [`/api/search?q=${q}&start=${s}&end=${e}`, TRACE_ID],
      [`/api/search/tags?start=${s}&end=${e}`, "marker"],
      [`/api/v2/search/tags?start=${s}&end=${e}`, "marker"],
      [`/api/search/tag/service.name/values?start=${s}&end=${e}`, SERVICE],
      [`/api/search/tag/marker/values?start=${s}&end=${e}`, MARKER],
      [`/api/v2/search/tag/span.marker/values?start=${s}&end=${e}`, MARKER],
      [`/api/v2/search/tag/resource.service.name/values?start=${s}&end=${e}`, SERVICE],
      [`/api/metrics/query_range?q=${encodeURIComponent(`{ resource.service.name = "${SERVICE}" } | rate()`)}&start=${s}&end=${e}&step=60`, `"samples":[{`],
      [`/api/service-graph?start=${s}&end=${e}`, PEER],
      [`/api/services/${SERVICE}/operations/metrics?start=${s}&end=${e}`, SPAN_NAME],
      [`/jaeger/api/services`, SERVICE],
      [`/jaeger/api/services/${SERVICE}/operations`, SPAN_NAME],
      [`/jaeger/api/operations?service=${SERVICE}`, SPAN_NAME],
      [`/jaeger/api/traces?service=${SERVICE}&start=${us(s)}&end=${us(e)}`, TRACE_ID],
      [`/jaeger/api/traces/${TRACE_ID}`, SPAN_NAME],
      [`/jaeger/api/dependencies?endTs=${e * 1000}&lookback=1200000`, PEER],
      [`/jaeger/api/v3/services`, SERVICE],
      [`/jaeger/api/v3/operations?service=${SERVICE}`, SPAN_NAME],
      [`/jaeger/api/v3/traces?query.service_name=${SERVICE}&query.start_time_min=${rfc(s)}&query.start_time_max=${rfc(e)}`, SPAN_NAME],
      [`/jaeger/api/v3/traces/${TRACE_ID}`, SPAN_NAME],
      [`/jaeger/api/v3/dependencies?start_time=${rfc(s)}&end_time=${rfc(e)}`, PEER],
      [`/zipkin/api/v2/services`, SERVICE],
      [`/zipkin/api/v2/spans?serviceName=${SERVICE}`, SPAN_NAME.toLowerCase()],
      [`/zipkin/api/v2/remoteServices?serviceName=${SERVICE}`, PEER],
      [`/zipkin/api/v2/traces?serviceName=${SERVICE}&endTs=${e * 1000}&lookback=1200000`, TRACE_ID],
      [`/zipkin/api/v2/trace/${TRACE_ID}`, SPAN_NAME],
      [`/zipkin/api/v2/traceMany?traceIds=${TRACE_ID},${"b".repeat(32)}`, SPAN_NAME],
      [`/zipkin/api/v2/dependencies?endTs=${e * 1000}&lookback=1200000`, PEER],
      [`/zipkin/api/v2/autocompleteValues?key=serviceName`, SERVICE],
      [`/prometheus/api/v1/query?query=${encodeURIComponent("sum by (client, server) (rate(traces_service_graph_request_total[1200s]))")}&time=${e}`, PEER],
      [`/prometheus/api/v1/label/span_name/values?start=${s}&end=${e}`, SPAN_NAME],
      [`/prometheus/api/v1/series?match[]=traces_spanmetrics_calls_total&start=${s}&end=${e}`, SERVICE],
    ];
    const secrets = [TRACE_ID, SERVICE, PEER, SPAN_NAME, MARKER];
    for (const [path, expected] of routes) {
      const own = await get(path, a.secret);
      expect(own.status, `A ${path}: ${own.text.slice(0, 200)}`).toBe(200);
      expect(own.text.toLowerCase(), `A ${path}`).toContain(expected.toLowerCase());
      const other = await get(path, b.secret);
      expect([200, 404], `B ${path}: ${other.text.slice(0, 200)}`).toContain(other.status);
      // What the path itself names may be echoed back (a 404 repeats the id asked for); nothing else.
      for (const secret of secrets.filter((x) => !path.includes(x))) expect(other.text.toLowerCase(), `B ${path} leaks ${secret}`).not.toContain(secret.toLowerCase());
      if (path.includes(TRACE_ID) && !path.includes("traceMany")) expect(other.status, `B ${path}`).toBe(404);
      if (path.startsWith("/api/metrics/")) {
        // Counts carry no names: B's series for A's service must count nothing.
        const series = (JSON.parse(other.text) as { series: { samples: { value: number }[] }[] }).series;
        expect(series.flatMap((x) => x.samples).reduce((n, x) => n + Number(x.value), 0), `B ${path}`).toBe(0);
      }
    }
  });
});
