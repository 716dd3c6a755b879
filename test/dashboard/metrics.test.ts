import { env, exports } from "cloudflare:workers";
import { createExecutionContext, runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { d1 } from "../../shared/db/d1.ts";
import { readOperationRows, readServiceRows } from "../../shared/db/queries/metrics.ts";
import type { KeyValue, ResourceSpans } from "../../shared/model/span.ts";
import { metricsQueryRange } from "../../shared/search/metrics-blocks.ts";
import { r2Store } from "../../shared/storage/object-store.ts";
import { inSample, parseMetricsQuery } from "../../shared/traceql/metrics.ts";
import { app } from "../../workers/dashboard/app.ts";
import { METRICS_SOURCE_HEADER } from "../../workers/dashboard/routes/metrics.ts";
import { ROLLUP_QUANTILE_RELATIVE_ERROR } from "../../shared/traceql/metrics-from-rollups.ts";
import { testResourceSpans, testSpan, testTrace } from "../support/spans.ts";
import { twoReaders, type Reader } from "../support/dashboard-api.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

async function get(path: string, secret?: string) {
  const res = await exports.default.fetch(`http://localhost${path}`, { headers: secret ? { "x-api-key": secret } : {} });
  const text = await res.text();
  return { status: res.status, source: res.headers.get(METRICS_SOURCE_HEADER), body: text.startsWith("{") ? JSON.parse(text) : text };
}

/** Through the route with the operator's switch off: always the block scan. */
async function getScanned(path: string, secret: string) {
  const res = await app.request(`http://localhost${path}`, { headers: { "x-api-key": secret } }, { ...env, METRICS_FROM_ROLLUPS: "0" }, createExecutionContext());
  const text = await res.text();
  return { status: res.status, source: res.headers.get(METRICS_SOURCE_HEADER), body: text.startsWith("{") ? JSON.parse(text) : text };
}

const id = (n: number) => `${"0".repeat(31)}${n}`;
// A whole minute, half an hour ago: buckets of 60 s from here.
const base = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000;
const startS = base / 1000;
const range = `start=${startS}&end=${startS + 600}&step=60`;
const url = (q: string, r = range) => `/api/metrics/query_range?q=${encodeURIComponent(q)}&${r}`;

let a: Reader;
let b: Reader;

beforeAll(async () => {
  [a, b] = await twoReaders();
  await storeAssembled(a.tenantId, [
    ...testTrace(id(1), [
      { service: "web", spanId: "a100000000000001", name: "GET /", startMs: base + 10_000, durationMs: 100 },
      { service: "cart", spanId: "a100000000000002", parentSpanId: "a100000000000001", name: "SELECT", startMs: base + 10_005, durationMs: 20 },
    ]),
    ...testTrace(id(2), [{ service: "cart", spanId: "a200000000000001", name: "POST /checkout", startMs: base + 70_000, durationMs: 300 }]),
    ...testTrace(id(3), [{ service: "web", spanId: "a300000000000001", name: "GET /", startMs: base + 130_000, durationMs: 200 }]),
  ]);
  // Another block.
  await storeAssembled(a.tenantId, testTrace(id(4), [{ service: "cart", spanId: "a400000000000001", name: "GET /cart", startMs: base + 75_000, durationMs: 500 }]));
});

const values = (series: { samples: { value: number }[] }) => series.samples.map((s) => s.value);

describe("TraceQL metrics: /api/metrics/query_range", () => {
  it("counts spans per service and step, in Tempo's shape", async () => {
    const r = await getScanned(url("{} | count_over_time() by(resource.service.name)"), a.secret);
    expect(r.status).toBe(200);
    expect(r.source).toBe("blocks");
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
    // By default the service rows answer it, the same, reading no block.
    const rows = await get(url("{} | count_over_time() by(resource.service.name)"), a.secret);
    expect(rows.source).toBe("rollups");
    expect(rows.body.series).toEqual(r.body.series);
    expect(rows.body.metrics.inspectedBytes).toBe("0");
  });

  it("answers rates per second, with ns times and a Go duration step", async () => {
    const ns = `start=${startS}000000000&end=${startS + 300}000000000&step=1m`;
    const r = await getScanned(url('{ resource.service.name = "cart" } | rate()', ns), a.secret);
    expect(r.status).toBe(200);
    expect(r.body.series).toHaveLength(1);
    expect(r.body.series[0].labels).toEqual([]);
    expect(values(r.body.series[0])).toEqual([1 / 60, 2 / 60, 0, 0, 0]);
    // Pruned to the blocks with cart.
    expect(r.body.metrics.totalJobs).toBe(2);
    const web = await getScanned(url('{ resource.service.name = "web" } | rate()'), a.secret);
    expect(web.body.metrics.totalJobs).toBe(1);
    // From the service rows, the same.
    const rows = await get(url('{ resource.service.name = "cart" } | rate()', ns), a.secret);
    expect(rows.source).toBe("rollups");
    expect(rows.body.series).toEqual(r.body.series);
  });

  it("answers quantiles of span durations in seconds", async () => {
    const r = await getScanned(url('{ resource.service.name = "cart" } | quantile_over_time(duration, 0.5, 1) by(name)'), a.secret);
    expect(r.status).toBe(200);
    const byName = Object.fromEntries(r.body.series.map((s: { promLabels: string; samples: unknown }) => [s.promLabels, s.samples]));
    expect(byName['{name="SELECT", p="0.5"}']).toEqual([{ timestampMs: String(base), value: 0.02 }]);
    expect(byName['{name="POST /checkout", p="1"}']).toEqual([{ timestampMs: String(base + 60_000), value: 0.3 }]);
    const all = await getScanned(url('{ resource.service.name = "cart" } | quantile_over_time(duration, 0.5)'), a.secret);
    expect(all.body.series).toEqual([{ labels: [{ key: "p", value: { doubleValue: 0.5 } }], samples: [{ timestampMs: String(base), value: 0.02 }, { timestampMs: String(base + 60_000), value: 0.4 }], promLabels: '{p="0.5"}' }]);
    // From the service rows' histograms: within 4.33% of those.
    const rows = await get(url('{ resource.service.name = "cart" } | quantile_over_time(duration, 0.5)'), a.secret);
    expect(rows.source).toBe("rollups");
    expect(rows.body.series[0].samples.map((x: { timestampMs: string }) => x.timestampMs)).toEqual([String(base), String(base + 60_000)]);
    expect(Math.abs(rows.body.series[0].samples[0].value - 0.02) / 0.02).toBeLessThanOrEqual(ROLLUP_QUANTILE_RELATIVE_ERROR);
    expect(Math.abs(rows.body.series[0].samples[1].value - 0.4) / 0.4).toBeLessThanOrEqual(ROLLUP_QUANTILE_RELATIVE_ERROR);
  });

  // Spans per 60 s bucket: 0: web 100 ms, cart 20 ms; 1: cart 300 ms, 500 ms; 2: web 200 ms.
  it("answers min/max/avg_over_time of durations in seconds, only where spans fell, from the blocks", async () => {
    const min = await get(url("{} | min_over_time(duration) by(resource.service.name)"), a.secret);
    expect(min.status).toBe(200);
    expect(min.source).toBe("blocks");
    const at = (i: number) => String(base + i * 60_000);
    expect(min.body.series).toEqual([
      { labels: [{ key: "resource.service.name", value: { stringValue: "cart" } }], samples: [{ timestampMs: at(0), value: 0.02 }, { timestampMs: at(1), value: 0.3 }], promLabels: '{resource.service.name="cart"}' },
      { labels: [{ key: "resource.service.name", value: { stringValue: "web" } }], samples: [{ timestampMs: at(0), value: 0.1 }, { timestampMs: at(2), value: 0.2 }], promLabels: '{resource.service.name="web"}' },
    ]);
    const max = await get(url("{} | max_over_time(duration) by(resource.service.name)"), a.secret);
    expect(max.body.series.map(values)).toEqual([[0.02, 0.5], [0.1, 0.2]]);
    const avg = await get(url("{} | avg_over_time(duration)"), a.secret);
    expect(avg.body.series).toHaveLength(1);
    values(avg.body.series[0]).forEach((v, i) => expect(v).toBeCloseTo([0.06, 0.4, 0.2][i]!, 9));
  });

  it("answers histogram_over_time with a __bucket label (the power-of-two upper bound in seconds), from the rows as from the blocks", async () => {
    const rows = await get(url("{} | histogram_over_time(duration)"), a.secret);
    const scanned = await getScanned(url("{} | histogram_over_time(duration)"), a.secret);
    expect(rows.status).toBe(200);
    // The rows' histograms count spans per Tempo bucket too (shared/metrics/histogram.ts).
    expect(rows.source).toBe("rollups");
    expect(scanned.source).toBe("blocks");
    for (const r of [rows, scanned]) {
      // 20 ms -> 2^25 ns, 100 ms -> 2^27, 200 ms -> 2^28, 300 and 500 ms -> 2^29.
      const byBucket = Object.fromEntries(r.body.series.map((s: { labels: { key: string; value: { doubleValue: number } }[]; samples: { value: number }[] }) => {
        expect(s.labels.map((l) => l.key)).toEqual(["__bucket"]);
        return [s.labels[0]!.value.doubleValue, values(s)];
      }));
      const zeros = (i: number, n: number) => Array.from({ length: 10 }, (_, j) => (j === i ? n : 0));
      expect(byBucket).toEqual({ 0.033554432: zeros(0, 1), 0.134217728: zeros(0, 1), 0.268435456: zeros(2, 1), 0.536870912: zeros(1, 2) });
    }
    expect(rows.body.series).toEqual(scanned.body.series);
    // By service, from the rows, the same as the scan.
    const q = "{} | histogram_over_time(duration) by(resource.service.name)";
    const [byRows, byScan] = [await get(url(q), a.secret), await getScanned(url(q), a.secret)];
    expect(byRows.source).toBe("rollups");
    expect(byRows.body.series).toEqual(byScan.body.series);
  });

  it("applies topk and thresholds after the function, from the rows as from the blocks, and reports ignored hints", async () => {
    // Counts: cart 1 | 2 | 0 ...; web 1 | 0 | 1 | 0 ... topk(1) per step: ties go to cart (labels order).
    const q = "{} | count_over_time() by(resource.service.name) | topk(1) with(sample=true)";
    const rows = await get(url(q), a.secret);
    expect(rows.status).toBe(200);
    expect(rows.source).toBe("rollups");
    expect(rows.body.warnings).toEqual([expect.stringContaining("sample=true")]);
    const at = (s: { samples: { timestampMs: string }[] }) => s.samples.map((p) => (Number(p.timestampMs) - base) / 60_000);
    expect(rows.body.series.map(at)).toEqual([[0, 1, 3, 4, 5, 6, 7, 8, 9], [2]]);
    const scanned = await getScanned(url(q), a.secret);
    expect(scanned.source).toBe("blocks");
    expect(scanned.body.series).toEqual(rows.body.series);
    const over = await get(url("{} | count_over_time() by(resource.service.name) >= 2"), a.secret);
    expect(over.body.series).toEqual([{ labels: [{ key: "resource.service.name", value: { stringValue: "cart" } }], samples: [{ timestampMs: String(base + 60_000), value: 2 }], promLabels: '{resource.service.name="cart"}' }]);
    expect(over.body.warnings).toBeUndefined();
  });

  it("answers compare(): per attribute value, selection against baseline, with totals; a window narrows the selection", async () => {
    const series = async (q: string) => {
      const r = await get(url(q), a.secret);
      expect(r.status, q).toBe(200);
      expect(r.source).toBe("blocks");
      return Object.fromEntries((r.body.series as { promLabels: string; samples: { value: number }[] }[]).map((s) => [s.promLabels, values(s).slice(0, 3)]));
    };
    // cart: SELECT at 10 s | POST /checkout, GET /cart at 70, 75 s; web: GET / at 10 s | - | GET / at 130 s.
    const all = await series('{} | compare({ resource.service.name = "cart" })');
    expect(all['{__meta_type="selection", resource.service.name="cart"}']).toEqual([1, 2, 0]);
    expect(all['{__meta_type="baseline", resource.service.name="web"}']).toEqual([1, 0, 1]);
    expect(all['{__meta_type="selection", name="SELECT"}']).toEqual([1, 0, 0]);
    expect(all['{__meta_type="baseline", name="GET /"}']).toEqual([1, 0, 1]);
    expect(all['{__meta_type="selection_total", name="<nil>"}']).toEqual([1, 2, 0]);
    expect(all['{__meta_type="baseline_total", name="<nil>"}']).toEqual([1, 0, 1]);
    expect(all['{__meta_type="selection", resource.service.name="web"}']).toBeUndefined();
    // Only the first minute can be selected: cart's later spans join the baseline.
    const ns = (ms: number) => `${ms}000000`;
    const first = await series(`{} | compare({ resource.service.name = "cart" }, 10, ${ns(base)}, ${ns(base + 60_000)})`);
    expect(first['{__meta_type="selection", resource.service.name="cart"}']).toEqual([1, 0, 0]);
    expect(first['{__meta_type="baseline", resource.service.name="cart"}']).toEqual([0, 2, 0]);
    // Top 1 value per attribute: name has three in the baseline (GET / twice), so it is flagged.
    const top = await series('{} | compare({ name = "SELECT" }, 1)');
    expect(top['{__meta_type="baseline", name="GET /"}']).toEqual([1, 0, 1]);
    expect(top['{__meta_type="baseline", name="POST /checkout"}']).toBeUndefined();
    expect(top['{__meta_error="__too_many_values__", name="<nil>"}']).toEqual([]);
  });

  it("answers the instant /api/metrics/query over the whole window as one value per series", async () => {
    const inst = (q: string) => `/api/metrics/query?q=${encodeURIComponent(q)}&start=${startS}&end=${startS + 600}`;
    const count = await get(inst("{} | count_over_time() by(resource.service.name)"), a.secret);
    expect(count.status).toBe(200);
    expect(count.body.series).toEqual([
      { labels: [{ key: "resource.service.name", value: { stringValue: "cart" } }], value: 3, promLabels: '{resource.service.name="cart"}' },
      { labels: [{ key: "resource.service.name", value: { stringValue: "web" } }], value: 2, promLabels: '{resource.service.name="web"}' },
    ]);
    // 5 spans over 600 s; the longest is 500 ms; the 20 ms one is alone in 2^25 ns.
    expect((await get(inst("{} | rate()"), a.secret)).body.series[0].value).toBeCloseTo(5 / 600, 12);
    expect((await get(inst("{} | max_over_time(duration)"), a.secret)).body.series).toEqual([{ labels: [], value: 0.5, promLabels: "{}" }]);
    const hist = await get(inst("{} | histogram_over_time(duration)"), a.secret);
    expect(hist.body.series.map((x: { labels: { value: { doubleValue: number } }[]; value: number }) => [x.labels[0]!.value.doubleValue, x.value])).toEqual([[0.033554432, 1], [0.134217728, 1], [0.268435456, 1], [0.536870912, 2]]);
    const warned = await get(inst("{} | rate() with(sample=0.5)"), a.secret);
    expect(warned.body.warnings).toHaveLength(1);
    expect((await get(inst("{} | rate("), a.secret)).status).toBe(400);
    expect((await get(inst("{} | rate()"))).status).toBe(401);
  });

  // Spans per 60 s bucket: 0: web a1..01 (trace 1, +10 s), cart a1..02 (trace 1, +10.005 s); 1: cart a2..01 (trace 2, +70 s),
  // a4..01 (trace 4, +75 s); 2: web a3..01 (trace 3, +130 s).
  it("answers arithmetic between queries and with numbers, series matched by labels", async () => {
    const at = (i: number) => String(base + i * 60_000);
    // cart / all: 1/2 | 2/2 | 0/1; the other steps are 0/0, left out.
    const share = '({ resource.service.name = "cart" } | count_over_time()) / ({ } | count_over_time())';
    const scanned = await getScanned(url(share), a.secret);
    expect(scanned.status).toBe(200);
    expect(scanned.source).toBe("blocks");
    expect(scanned.body.series).toEqual([{ labels: [], samples: [{ timestampMs: at(0), value: 0.5 }, { timestampMs: at(1), value: 1 }, { timestampMs: at(2), value: 0 }], promLabels: "{}" }]);
    // Both queries from the service rows: the same.
    const rows = await get(url(share), a.secret);
    expect(rows.source).toBe("rollups");
    expect(rows.body.series).toEqual(scanned.body.series);
    // A number at every step: rates per minute are the counts.
    const perMinute = await getScanned(url("{ } | rate() by(resource.service.name) * 60"), a.secret);
    expect(perMinute.body.series.map((x: { samples: { value: number }[] }) => values(x).map((v) => Math.round(v * 1e9) / 1e9))).toEqual([[1, 2, 0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]]);
    // Different label sets: nothing matches.
    expect((await get(url("({ } | count_over_time() by(resource.service.name)) + ({ } | count_over_time() by(name))"), a.secret)).body.series).toEqual([]);
    // One query from the rows, one scanned: count - max duration, only where both have a sample.
    const mixed = await get(url("({ } | count_over_time()) - ({ } | max_over_time(duration))"), a.secret);
    expect(mixed.source).toBe("mixed");
    expect(mixed.body.series[0].samples.map((x: { timestampMs: string }) => x.timestampMs)).toEqual([at(0), at(1), at(2)]);
    values(mixed.body.series[0]).forEach((v, i) => expect(v).toBeCloseTo([1.9, 1.5, 0.8][i]!, 9));
    expect(Number(mixed.body.metrics.inspectedBytes)).toBeGreaterThan(0);
    const bad = await get(url("({ } | rate()) % ({ } | rate())"), a.secret);
    expect(bad.status).toBe(400);
    expect(bad.body.position).toMatchObject({ line: 1, column: 16 });
  });

  it("gives exemplars when asked: spans of each series, from the block scan", async () => {
    const q = "{ } | count_over_time() by(resource.service.name)";
    const exemplar = (trace: number, spanId: string, value: number, startMs: number) => ({
      labels: [{ key: "trace:id", value: { stringValue: id(trace) } }, { key: "span:id", value: { stringValue: spanId } }], value, timestampMs: String(base + startMs),
    });
    // 4 per series: two slots of 300 s, two first spans each; a count's exemplar has its step's count.
    const r = await getScanned(`${url(q)}&exemplars=4`, a.secret);
    expect(r.status).toBe(200);
    expect(r.body.series.map((x: { exemplars?: unknown }) => x.exemplars)).toEqual([
      [exemplar(1, "a100000000000002", 1, 10_005), exemplar(2, "a200000000000001", 2, 70_000)],
      [exemplar(1, "a100000000000001", 1, 10_000), exemplar(3, "a300000000000001", 1, 130_000)],
    ]);
    // None unless asked; with(exemplars=false) wins; with(exemplars=true) alone asks for up to 100.
    expect((await getScanned(url(q), a.secret)).body.series[0]).not.toHaveProperty("exemplars");
    expect((await getScanned(`${url(`${q} with(exemplars=false)`)}&exemplars=4`, a.secret)).body.series[0]).not.toHaveProperty("exemplars");
    expect((await getScanned(url(`${q} with(exemplars=true)`), a.secret)).body.series[0].exemplars).toHaveLength(3);
    // Only at steps left with a sample: >= 2 keeps cart's step 1.
    const over = await getScanned(`${url(`${q} >= 2`)}&exemplars=4`, a.secret);
    expect(over.body.series[0].exemplars).toEqual([exemplar(2, "a200000000000001", 2, 70_000)]);
    // The rows name no span: the newest blocks' spans (here both blocks) are the exemplars, valued at the rows' counts.
    const rows = await get(`${url(q)}&exemplars=4`, a.secret);
    expect(rows.source).toBe("rollups");
    expect(rows.body.series).toEqual(r.body.series);
    expect(Number(rows.body.metrics.inspectedBytes)).toBeGreaterThan(0);
    expect((await get(url(q), a.secret)).body.metrics.inspectedBytes).toBe("0");
    // The exemplar scan leaves the stages to the rows' series: >= 2 keeps cart's step 1 and its exemplar there.
    const rowsOver = await get(`${url(`${q} >= 2`)}&exemplars=4`, a.secret);
    expect(rowsOver.source).toBe("rollups");
    expect(rowsOver.body.series).toEqual(over.body.series);
    // The bound: the newest block alone (traces 1-3, ending last) leaves out trace 4's span.
    const newest = await metricsQueryRange(d1(env.DB), r2Store(env.SPANS), a.tenantId, parseMetricsQuery(q), { startMs: base, endMs: base + 600_000, stepMs: 60_000 }, { maxBlocks: 1 });
    expect(newest.metrics.totalJobs).toBe(1);
    expect(newest.series.map((x) => x.samples.slice(0, 3).map((p) => p.value))).toEqual([[1, 1, 0], [1, 0, 1]]);
    expect((await get(`${url(q)}&exemplars=many`, a.secret)).status).toBe(400);
    // Fanned out into jobs of one block each (the two blocks in two invocations): the same exemplars and samples.
    expect(typeof (env.SCAN_JOBS as { metrics?: unknown } | undefined)?.metrics).toBe("function");
    const fannedEnv = { ...env, METRICS_FROM_ROLLUPS: "0", SCAN_BLOCKS_PER_JOB: "1" };
    const fanned = await app.request(`http://localhost${url(q)}&exemplars=4`, { headers: { "x-api-key": a.secret } }, fannedEnv, createExecutionContext());
    expect(((await fanned.json()) as { series: unknown }).series).toEqual(r.body.series);
  });

  it("honours with(sample=f): a deterministic share of the traces (or spans), counts scaled by 1/f; the rows answer exactly", async () => {
    // inSample at 0.75: traces 2, 3 and 4 (not 1): 0 | 2 x 4/3 | 1 x 4/3.
    expect([1, 2, 3, 4].map((n) => inSample(id(n), 0.75))).toEqual([false, true, true, true]);
    const traces = await getScanned(url("{ } | count_over_time() with(sample=0.75)"), a.secret);
    expect(traces.status).toBe(200);
    values(traces.body.series[0]).forEach((v, i) => expect(v).toBeCloseTo([0, 8 / 3, 4 / 3, 0, 0, 0, 0, 0, 0, 0][i]!, 9));
    expect(traces.body.warnings).toEqual([expect.stringContaining("scaled by 1.33")]);
    // span_sample at 0.5: a1..01, a2..01, a3..01, a4..01 (not a1..02): 1 | 2 | 1, x 2.
    expect(["a100000000000001", "a100000000000002", "a200000000000001", "a300000000000001", "a400000000000001"].map((x) => inSample(x, 0.5))).toEqual([true, false, true, true, true]);
    const spans = await getScanned(url("{ } | count_over_time() with(span_sample=0.5)"), a.secret);
    expect(values(spans.body.series[0])).toEqual([2, 4, 2, 0, 0, 0, 0, 0, 0, 0]);
    // From the rows, every span counted, exactly; the answer says so.
    const rows = await get(url("{ } | count_over_time() with(sample=0.75)"), a.secret);
    expect(rows.source).toBe("rollups");
    expect(values(rows.body.series[0])).toEqual([2, 2, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(rows.body.warnings).toEqual([expect.stringContaining("answered exactly")]);
    expect((await get(url("{ } | count_over_time() with(sample=2)"), a.secret)).status).toBe(400);
    // Fanned out into jobs: the same sample.
    const fanned = await app.request(`http://localhost${url("{ } | count_over_time() with(span_sample=0.5)")}`, { headers: { "x-api-key": a.secret } }, { ...env, METRICS_FROM_ROLLUPS: "0", SCAN_BLOCKS_PER_JOB: "1" }, createExecutionContext());
    expect(((await fanned.json()) as { series: unknown }).series).toEqual(spans.body.series);
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
    const unsupported = await get(url("{} | min_over_time(name)"), a.secret);
    expect(unsupported.status).toBe(400);
    expect(unsupported.body.unsupported).toBe("min_over_time(name)");
    expect((await get(`/api/metrics/query_range?${range}`, a.secret)).status).toBe(400);
    expect((await get(url("{} | rate()", `start=${startS}&end=${startS + 600}&step=0.01`), a.secret)).status).toBe(400);
    expect((await get(url("{} | rate()", `start=${startS}&end=${startS + 600}&step=soon`), a.secret)).status).toBe(400);
    expect((await get(url("{} | rate()", `start=${startS}&end=${startS}`), a.secret)).status).toBe(400);
    expect((await get(url("{} | rate()", `start=abc`), a.secret)).status).toBe(400);
    expect((await get(url("{} | rate()"))).status).toBe(401);
  });
});

// ---- Answers from the per-minute rows ------------------------------------------------------------

describe("TraceQL metrics from the per-minute rows", () => {
  let c: { tenantId: string; secret: string };
  let u: { tenantId: string; secret: string };
  let w: { tenantId: string; secret: string };
  // Spans of every kind and status, of three services, over minutes 0..4 of the window.
  const KINDS = [0, 1, 2, 3, 4, 5];
  function batch(traceBase: number, count: number, minuteOffset: number): ResourceSpans[] {
    const out: ResourceSpans[] = [];
    for (let i = 0; i < count; i++) {
      const service = ["web", "cart", "db"][i % 3]!;
      const spans = [0, 1, 2].map((j) => {
        const s = testSpan({
          traceId: id(traceBase + i), spanId: `c${String(traceBase + i).padStart(11, "0")}000${j}`, name: ["GET /", "SELECT", "send"][(i + j) % 3]!,
          kind: KINDS[(i * 3 + j) % KINDS.length], startMs: base + ((i * 37_000 + j * 1_000 + minuteOffset * 60_000) % 300_000) + 500, error: (i + j) % 4 === 0,
          durationMs: 1 + ((i * 131 + j * 17) % 400),
        });
        if ((i + j) % 5 === 1) s.status.code = 1;
        return s;
      });
      out.push(testResourceSpans(service, spans));
    }
    return out;
  }

  const scanned = (tenantId: string, q: string, r: { startMs: number; endMs: number; stepMs: number }) => metricsQueryRange(d1(env.DB), r2Store(env.SPANS), tenantId, parseMetricsQuery(q), r);
  const win = (startMs: number, minutes: number, stepMs: number) => ({ startMs, endMs: startMs + minutes * 60_000, stepMs, qs: `start=${startMs / 1000}&end=${startMs / 1000 + minutes * 60}&step=${stepMs / 1000}` });
  async function withSwitchOff(path: string, secret: string) {
    const res = await app.request(`http://localhost${path}`, { headers: { "x-api-key": secret } }, { ...env, METRICS_FROM_ROLLUPS: "0" }, createExecutionContext());
    return { headers: res.headers, body: (await res.json()) as { series: unknown[]; metrics: { inspectedBytes: string } } };
  }
  /** Spans of every kind under a resource with these attributes (or none). */
  function resourceWith(attributes: KeyValue[], traceBase: number, count: number): ResourceSpans {
    const spans = Array.from({ length: count }, (_, i) =>
      testSpan({
        traceId: id(traceBase + i), spanId: `e${String(traceBase + i).padStart(15, "0")}`, name: ["GET /", "render", "send"][i % 3]!, kind: KINDS[i % KINDS.length],
        startMs: base + ((i * 41_000) % 300_000) + 700, error: i % 3 === 0, durationMs: 2 + ((i * 97) % 700),
        // Every other span is no root (its parent is in no block): the service rows keep them apart.
        parentSpanId: i % 2 === 1 ? "f000000000000001" : "",
      }),
    );
    return { ...testResourceSpans("x", spans), resource: { attributes, droppedAttributesCount: 0 } };
  }
  async function fetchWithHeaders(path: string, secret: string) {
    const res = await exports.default.fetch(`http://localhost${path}`, { headers: { "x-api-key": secret } });
    return { status: res.status, source: res.headers.get(METRICS_SOURCE_HEADER), body: (await res.json()) as { series: unknown[]; metrics: { inspectedBytes: string; totalBlocks: number } } };
  }

  beforeAll(async () => {
    c = await tenantWithKey(["read"]);
    u = await tenantWithKey(["read"]);
    await storeAssembled(c.tenantId, batch(100, 40, 0));
    // The object writes the closed minutes of that batch to D1; the next batches stay open rows,
    // some in the same minutes, so the answer needs both merged.
    expect(await runDurableObjectAlarm(env.TENANTS.get(env.TENANTS.idFromName(c.tenantId)))).toBe(true);
    expect((await readOperationRows(d1(env.DB), c.tenantId, {})).length).toBeGreaterThan(0);
    await storeAssembled(c.tenantId, batch(200, 30, 1));
    await storeAssembled(c.tenantId, batch(300, 20, 3));
    // A tenant with spans of a resource without service.name: the rows leave them out.
    await storeAssembled(u.tenantId, [...batch(400, 10, 0), { ...testResourceSpans("x", [testSpan({ traceId: id(499), spanId: "d000000000000001", name: "GET /", kind: 2, startMs: base + 5_000 })]), resource: { attributes: [], droppedAttributesCount: 0 } }]);
    // A tenant whose spans, of every kind, come also from resources without service.name, with
    // service.name "" and with an int service.name: the service rows count them all.
    w = await tenantWithKey(["read"]);
    await storeAssembled(w.tenantId, [...batch(500, 40, 0), resourceWith([], 700, 12)]);
    expect(await runDurableObjectAlarm(env.TENANTS.get(env.TENANTS.idFromName(w.tenantId)))).toBe(true);
    expect((await readServiceRows(d1(env.DB), w.tenantId, {})).length).toBeGreaterThan(0);
    await storeAssembled(w.tenantId, [
      ...batch(600, 30, 1),
      resourceWith([{ key: "host.name", value: { stringValue: "h1" } }], 800, 9),
      resourceWith([{ key: "service.name", value: { stringValue: "" } }], 900, 7),
      resourceWith([{ key: "service.name", value: { intValue: "7" } }], 1000, 5),
    ]);
  });

  const SUPPORTED = [
    "{ kind = server } | rate()",
    "{ kind = server } | count_over_time() by(resource.service.name)",
    "{ (kind = server || kind = consumer) } | rate() by(resource.service.name)",
    "{ (kind = server || kind = consumer) && status = error } | rate() by(resource.service.name)",
    '{ resource.service.name = "web" && (kind = server || kind = consumer) } | rate()',
    '{ resource.service.name = "cart" && (kind = server || kind = consumer) && status = error } | rate()',
    "{ kind = server || kind = client } | count_over_time() by(name)",
    "{ kind = client && status != error } | rate() by(kind)",
    '{ kind = producer || kind = consumer } | count_over_time() by(resource.service.name, name, kind)',
  ];

  it("answers each supported shape from the rows, equal to the block scan's answer", async () => {
    for (const w of [win(base, 10, 60_000), win(base, 6, 120_000), win(base - 300_000, 20, 300_000)]) {
      for (const q of SUPPORTED) {
        const r = await fetchWithHeaders(url(q, w.qs), c.secret);
        expect(r.status, q).toBe(200);
        expect(r.source, q).toBe("rollups");
        expect(r.body.metrics.inspectedBytes).toBe("0");
        const scan = await scanned(c.tenantId, q, w);
        expect(scan.series.length, q).toBeGreaterThan(0);
        expect(scan.metrics.inspectedBytes).toBeGreaterThan(0);
        expect(r.body.series, `${q} ${w.qs}`).toEqual(JSON.parse(JSON.stringify(scan.series)));
        // The same through the route with the operator switch off.
        const off = await withSwitchOff(url(q, w.qs), c.secret);
        expect(off.headers.get(METRICS_SOURCE_HEADER)).toBe("blocks");
        expect(Number(off.body.metrics.inspectedBytes)).toBeGreaterThan(0);
        expect(off.body.series).toEqual(r.body.series);
      }
    }
  });

  it("scans the shapes the rows cannot answer, and windows that split minutes", async () => {
    const w = win(base, 10, 60_000);
    const cases: [string, string][] = [
      ["{ } | count_over_time() by(name)", w.qs], // INTERNAL and UNSPECIFIED spans: not in the operation rows
      ["{ status = error } | rate() by(kind)", w.qs],
      ["{ kind != server } | rate()", w.qs],
      ["{ kind = server && status = error } | quantile_over_time(duration, 0.5)", w.qs], // one histogram holds an operation row's errors and the rest
      ["{ kind = server && status = ok } | rate()", w.qs], // the operation rows do not tell OK from UNSET
      ["{ nestedSetParent = -1 && name = \"GET /\" } | rate()", w.qs], // root spans: only the service rows, which have no name
      ['{ span.http.route = "/x" || kind = server } | rate()', w.qs], // not in the rows
      ["{ kind = server } | rate()", `start=${startS + 30}&end=${startS + 630}&step=60`], // minutes straddle the steps
      ["{ kind = server } | rate()", `start=${startS}&end=${startS + 600}&step=45`],
      ["{ } | rate() by(resource.service.name)", `start=${startS + 30}&end=${startS + 630}&step=60`],
    ];
    for (const [q, qs] of cases) {
      const r = await fetchWithHeaders(url(q, qs), c.secret);
      expect(r.status, q).toBe(200);
      expect(r.source, `${q} ${qs}`).toBe("blocks");
      expect(Number(r.body.metrics.inspectedBytes), q).toBeGreaterThan(0);
      expect(r.body.series.length, q).toBeGreaterThan(0);
    }
    // The operation rows would be wrong for `{ } | rate()`: fewer spans than the scan counts.
    const all = await scanned(c.tenantId, "{ } | count_over_time()", w);
    const servers = await scanned(c.tenantId, "{ kind = server || kind = client || kind = producer || kind = consumer } | count_over_time()", w);
    const sum = (s: { samples: { value: number }[] }[]) => s.reduce((n, x) => n + x.samples.reduce((m, y) => m + y.value, 0), 0);
    expect(sum(all.series)).toBeGreaterThan(sum(servers.series));
  });

  it("scans when a block in range has spans without a service name", async () => {
    const w = win(base, 10, 60_000);
    const q = "{ kind = server } | rate() by(resource.service.name)";
    const r = await fetchWithHeaders(url(q, w.qs), u.secret);
    expect(r.source).toBe("blocks");
    const scan = await scanned(u.tenantId, q, w);
    expect(r.body.series).toEqual(JSON.parse(JSON.stringify(scan.series)));
    // The scan has a series without the label for that span; no operation row holds it.
    expect(scan.series.some((s) => s.labels.length === 0)).toBe(true);
    // The service rows do.
    const all = "{ } | rate() by(resource.service.name)";
    const rows = await fetchWithHeaders(url(all, w.qs), u.secret);
    expect(rows.source).toBe("rollups");
    expect(rows.body.series).toEqual(JSON.parse(JSON.stringify((await scanned(u.tenantId, all, w)).series)));
    expect((rows.body.series as { labels: unknown[] }[]).some((s) => s.labels.length === 0)).toBe(true);
  });

  const SERVICE_SHAPES = [
    "{ } | rate()",
    "{ } | count_over_time()",
    "{ } | rate() by(resource.service.name)",
    "{ } | count_over_time() by(resource.service.name)",
    '{ resource.service.name = "web" } | rate()',
    '{ resource.service.name != "web" } | count_over_time() by(resource.service.name)',
    '{ resource.service.name =~ "c.*" } | rate() by(resource.service.name)',
    '{ resource.service.name !~ "c.*" } | count_over_time()',
    "{ status = error } | rate() by(resource.service.name)",
    "{ status != error } | count_over_time()",
    '{ resource.service.name = "cart" && status = error } | rate()',
    '{ resource.service.name = "" } | count_over_time()',
    "{ resource.service.name = nil } | count_over_time()",
    // Grafana Traces Drilldown's panels: root spans, OK apart from UNSET, by status.
    "{ nestedSetParent<0 && true && status!=error } | rate() by(resource.service.name, status)",
    "{ nestedSetParent<0 && true && status=error } | rate() by(resource.service.name)",
    "{ true && true && status!=error } | rate() by(resource.service.name, status)",
    "{ nestedSetParent >= 0 } | count_over_time()",
    "{ status = ok } | rate()",
    "{ nestedSetParent < 0 } | histogram_over_time(duration)",
  ];

  it("answers each all-spans shape from the service rows, equal to the block scan's answer (INTERNAL, UNSPECIFIED, unnamed, \"\" and typed names included)", async () => {
    // The data is what the operation rows miss.
    const byService = await scanned(w.tenantId, "{ } | count_over_time() by(resource.service.name)", win(base, 10, 60_000));
    expect(byService.series.map((x) => x.promLabels)).toEqual(expect.arrayContaining(["{}", '{resource.service.name=""}', '{resource.service.name="7"}', '{resource.service.name="web"}']));
    const kinds = await scanned(w.tenantId, "{ kind = internal || kind = unspecified } | count_over_time()", win(base, 10, 60_000));
    expect(kinds.series[0]!.samples.reduce((n, x) => n + x.value, 0)).toBeGreaterThan(20);
    for (const v of [win(base, 10, 60_000), win(base, 6, 120_000), win(base - 300_000, 20, 300_000), win(base + 120_000, 3, 60_000)]) {
      for (const q of SERVICE_SHAPES) {
        const r = await fetchWithHeaders(url(q, v.qs), w.secret);
        expect(r.status, q).toBe(200);
        expect(r.source, `${q} ${v.qs}`).toBe("rollups");
        expect(r.body.metrics.inspectedBytes).toBe("0");
        const scan = await scanned(w.tenantId, q, v);
        expect(scan.metrics.inspectedBytes).toBeGreaterThan(0);
        expect(r.body.series, `${q} ${v.qs}`).toEqual(JSON.parse(JSON.stringify(scan.series)));
        const off = await withSwitchOff(url(q, v.qs), w.secret);
        expect(off.headers.get(METRICS_SOURCE_HEADER)).toBe("blocks");
        expect(off.body.series).toEqual(r.body.series);
      }
    }
    // The operation-row shapes still scan for this tenant (a block lists the service ""), and no
    // operation row holds a service row's span.
    expect((await fetchWithHeaders(url("{ kind = server } | rate()", win(base, 10, 60_000).qs), w.secret)).source).toBe("blocks");
    const ops = await readOperationRows(d1(env.DB), w.tenantId, {});
    expect(ops.every((o) => [2, 3, 4, 5].includes(o.kind) && o.operation !== "")).toBe(true);
  });

  it("answers duration quantiles from the rows' histograms, within the documented error of the scan", async () => {
    const cases: [{ tenantId: string; secret: string }, string][] = [
      [w, "{ } | quantile_over_time(duration, 0.5, 0.99) by(resource.service.name)"],
      [w, '{ resource.service.name = "web" } | quantile_over_time(duration, 0, 0.9, 1)'],
      [c, "{ kind = server } | quantile_over_time(duration, 0.5, 0.99) by(name)"],
      [c, "{ kind = server || kind = client } | quantile_over_time(duration, 0.5) by(resource.service.name, kind)"],
    ];
    for (const v of [win(base, 10, 60_000), win(base, 6, 120_000)]) {
      for (const [t, q] of cases) {
        const r = await fetchWithHeaders(url(q, v.qs), t.secret);
        expect(r.source, q).toBe("rollups");
        const scan = (await scanned(t.tenantId, q, v)).series;
        type S = { labels: unknown; promLabels: string; samples: { timestampMs: string; value: number }[] };
        const got = r.body.series as S[];
        const strip = (xs: S[]) => xs.map((x) => ({ labels: x.labels, promLabels: x.promLabels, at: x.samples.map((p) => p.timestampMs) }));
        expect(strip(got), q).toEqual(strip(JSON.parse(JSON.stringify(scan)) as S[]));
        let compared = 0;
        scan.forEach((x, i) =>
          x.samples.forEach((p, j) => {
            const value = got[i]!.samples[j]!.value;
            expect(Math.abs(value - p.value) / p.value, `${q} ${x.promLabels} ${value} vs ${p.value}`).toBeLessThanOrEqual(ROLLUP_QUANTILE_RELATIVE_ERROR + 1e-9);
            compared++;
          }),
        );
        expect(compared, q).toBeGreaterThan(3);
      }
    }
  });
});
