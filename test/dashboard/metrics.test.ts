import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { ResourceSpans, Span } from "../../shared/model/span.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

interface SpanSpec {
  service: string;
  id: string;
  parent?: string;
  name: string;
  startMs: number;
  durMs: number;
}

function toResourceSpans(traceId: string, specs: SpanSpec[]): ResourceSpans[] {
  return specs.map((s) => {
    const span: Span = {
      traceId, spanId: s.id, parentSpanId: s.parent ?? "", name: s.name, traceState: "", flags: 1, kind: 2,
      startTimeUnixNano: `${s.startMs}000000`, endTimeUnixNano: `${s.startMs + s.durMs}000000`,
      attributes: [], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
      status: { code: 0, message: "" },
    };
    return {
      resource: { attributes: [{ key: "service.name", value: { stringValue: s.service } }], droppedAttributesCount: 0 },
      schemaUrl: "",
      scopeSpans: [{ scope: { name: "test", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans: [span] }],
    };
  });
}

async function get(path: string, secret?: string) {
  const res = await exports.default.fetch(`http://localhost${path}`, { headers: secret ? { "x-api-key": secret } : {} });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

const id = (n: number) => `${"0".repeat(31)}${n}`;
// A whole minute, half an hour ago: buckets of 60 s from here.
const base = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000;
const startS = base / 1000;
const range = `start=${startS}&end=${startS + 600}&step=60`;
const url = (q: string, r = range) => `/api/metrics/query_range?q=${encodeURIComponent(q)}&${r}`;

let a: { tenantId: string; secret: string };
let b: { tenantId: string; secret: string };

beforeAll(async () => {
  a = await tenantWithKey(["read"]);
  b = await tenantWithKey(["read"]);
  await storeAssembled(a.tenantId, [
    ...toResourceSpans(id(1), [
      { service: "web", id: "a100000000000001", name: "GET /", startMs: base + 10_000, durMs: 100 },
      { service: "cart", id: "a100000000000002", parent: "a100000000000001", name: "SELECT", startMs: base + 10_005, durMs: 20 },
    ]),
    ...toResourceSpans(id(2), [{ service: "cart", id: "a200000000000001", name: "POST /checkout", startMs: base + 70_000, durMs: 300 }]),
    ...toResourceSpans(id(3), [{ service: "web", id: "a300000000000001", name: "GET /", startMs: base + 130_000, durMs: 200 }]),
  ]);
  // Another block.
  await storeAssembled(a.tenantId, toResourceSpans(id(4), [{ service: "cart", id: "a400000000000001", name: "GET /cart", startMs: base + 75_000, durMs: 500 }]));
});

const values = (series: { samples: { value: number }[] }) => series.samples.map((s) => s.value);

describe("TraceQL metrics: /api/metrics/query_range", () => {
  it("counts spans per service and step, in Tempo's shape", async () => {
    const r = await get(url("{} | count_over_time() by(resource.service.name)"), a.secret);
    expect(r.status).toBe(200);
    expect(r.body.series.map((s: { labels: unknown }) => s.labels)).toEqual([
      [{ key: "resource.service.name", value: { stringValue: "cart" } }],
      [{ key: "resource.service.name", value: { stringValue: "web" } }],
    ]);
    expect(r.body.series[0].promLabels).toBe('{resource.service.name="cart"}');
    expect(values(r.body.series[0])).toEqual([1, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(values(r.body.series[1])).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(r.body.series[0].samples[1]).toEqual({ timestampMs: String(base + 60_000), value: 2 });
    expect(Number(r.body.metrics.inspectedBytes)).toBeGreaterThan(0);
    expect(r.body.metrics).toMatchObject({ inspectedTraces: 4, totalJobs: 2, completedJobs: 2 });
  });

  it("answers rates per second, with ns times and a Go duration step", async () => {
    const ns = `start=${startS}000000000&end=${startS + 300}000000000&step=1m`;
    const r = await get(url('{ resource.service.name = "cart" } | rate()', ns), a.secret);
    expect(r.status).toBe(200);
    expect(r.body.series).toHaveLength(1);
    expect(r.body.series[0].labels).toEqual([]);
    expect(values(r.body.series[0])).toEqual([1 / 60, 2 / 60, 0, 0, 0]);
    // Pruned to the blocks with cart.
    expect(r.body.metrics.totalJobs).toBe(2);
    const web = await get(url('{ resource.service.name = "web" } | rate()'), a.secret);
    expect(web.body.metrics.totalJobs).toBe(1);
  });

  it("answers quantiles of span durations in seconds", async () => {
    const r = await get(url('{ resource.service.name = "cart" } | quantile_over_time(duration, 0.5, 1) by(name)'), a.secret);
    expect(r.status).toBe(200);
    const byName = Object.fromEntries(r.body.series.map((s: { promLabels: string; samples: unknown }) => [s.promLabels, s.samples]));
    expect(byName['{name="SELECT", p="0.5"}']).toEqual([{ timestampMs: String(base), value: 0.02 }]);
    expect(byName['{name="POST /checkout", p="1"}']).toEqual([{ timestampMs: String(base + 60_000), value: 0.3 }]);
    const all = await get(url('{ resource.service.name = "cart" } | quantile_over_time(duration, 0.5)'), a.secret);
    expect(all.body.series).toEqual([{ labels: [{ key: "p", value: { doubleValue: 0.5 } }], samples: [{ timestampMs: String(base), value: 0.02 }, { timestampMs: String(base + 60_000), value: 0.4 }], promLabels: '{p="0.5"}' }]);
  });

  it("defaults the step to at most 100 buckets", async () => {
    const r = await get(url("{} | count_over_time()", `start=${startS}&end=${startS + 600}`), a.secret);
    expect(r.status).toBe(200);
    expect(r.body.series[0].samples).toHaveLength(100);
    expect(r.body.series[0].samples.reduce((n: number, s: { value: number }) => n + s.value, 0)).toBe(5);
  });

  it("shows another tenant nothing", async () => {
    const r = await get(url("{} | count_over_time() by(resource.service.name)"), b.secret);
    expect(r.status).toBe(200);
    expect(r.body.series).toEqual([]);
  });

  it("answers 400 for bad queries and parameters, 401 without a key", async () => {
    const broken = await get(url("{ name = } | rate()"), a.secret);
    expect(broken.status).toBe(400);
    expect(broken.body.position).toMatchObject({ line: 1 });
    expect((await get(url("{ name = \"x\" }"), a.secret)).status).toBe(400);
    const unsupported = await get(url("{} | histogram_over_time(duration)"), a.secret);
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.unsupported).toBe("metrics function histogram_over_time()");
    expect((await get(`/api/metrics/query_range?${range}`, a.secret)).status).toBe(400);
    expect((await get(url("{} | rate()", `start=${startS}&end=${startS + 600}&step=0.01`), a.secret)).status).toBe(400);
    expect((await get(url("{} | rate()", `start=${startS}&end=${startS + 600}&step=soon`), a.secret)).status).toBe(400);
    expect((await get(url("{} | rate()", `start=${startS}&end=${startS}`), a.secret)).status).toBe(400);
    expect((await get(url("{} | rate()", `start=abc`), a.secret)).status).toBe(400);
    expect((await get(url("{} | rate()"))).status).toBe(401);
  });
});
