/**
 * min/max/sum/avg_over_time, histogram_over_time, topk/bottomk, thresholds and with() hints over
 * a small fixed set of spans; every expected value is worked out by hand below.
 */
import { describe, expect, it } from "vitest";
import { TraceQLError } from "./lexer.ts";
import { applyStages, comparePoints, finishSeries, hintWarnings, inSample, MAX_EXEMPLARS, MetricsAccumulator, metricsSpan, parseMetricsQuery, sampleNotes, withExemplarsOf, type Series } from "./metrics.ts";
import { exemplarsAtSamples } from "./metrics-arithmetic.ts";
import type { AnyValue, Resource, Span } from "../model/span.ts";
import { expectCloseTables, table } from "../../test/support/series-table.ts";

// Three buckets of 10 s: [0, 10 s), [10 s, 20 s), [20 s, 30 s).
const b = { startMs: 0, endMs: 30_000, stepMs: 10_000 };

function span(startMs: number, durationMs: number, size?: AnyValue): Span {
  const ns = BigInt(startMs) * 1_000_000n;
  return {
    traceId: "t", spanId: `s${startMs}`, parentSpanId: "", name: "op", kind: 2,
    startTimeUnixNano: String(ns), endTimeUnixNano: String(ns + BigInt(durationMs) * 1_000_000n),
    attributes: size ? [{ key: "size", value: size }] : [], status: { code: 0, message: "" },
  } as unknown as Span;
}
const res = (service: string): Resource => ({ attributes: [{ key: "service.name", value: { stringValue: service } }], droppedAttributesCount: 0 });

// service, start, duration, span.size
//   s1 web   1 s  100 ms  int 10
//   s2 web   2 s  300 ms  int 3
//   s3 cart  5 s   50 ms  (none)
//   s4 web  12 s  200 ms  double 1.5
//   s5 cart 15 s 1000 ms  int 7
//   s6 cart 25 s  400 ms  string "big"
const SPANS: [Span, Resource][] = [
  [span(1_000, 100, { intValue: "10" }), res("web")],
  [span(2_000, 300, { intValue: "3" }), res("web")],
  [span(5_000, 50), res("cart")],
  [span(12_000, 200, { doubleValue: 1.5 }), res("web")],
  [span(15_000, 1000, { intValue: "7" }), res("cart")],
  [span(25_000, 400, { stringValue: "big" }), res("cart")],
];

/** The series for `q` over SPANS (every span matches `{ }`), optionally through two merged accumulators. */
function run(q: string, split = false): Series[] {
  const mq = parseMetricsQuery(q);
  const accs = [new MetricsAccumulator(mq, b), new MetricsAccumulator(mq, b)];
  SPANS.forEach(([s, r], i) => {
    const p = metricsSpan(mq, s, r);
    if (p) (accs[split ? i % 2 : 0] as MetricsAccumulator).add(p);
  });
  if (split) accs[0]!.merge(JSON.parse(JSON.stringify(accs[1]!.state())));
  return applyStages(accs[0]!.series(), mq.stages);
}

const close = expectCloseTables;
const SVC = (s: string) => `{resource.service.name="${s}"}`;

describe("min/max/sum/avg_over_time", () => {
  it("durations in seconds, by service; buckets without spans have no sample", () => {
    // cart: 50 ms | 1000 ms | 400 ms; web: 100, 300 ms | 200 ms | -
    close(table(run("{ } | min_over_time(duration) by(resource.service.name)")), { [SVC("cart")]: [[0, 0.05], [10_000, 1], [20_000, 0.4]], [SVC("web")]: [[0, 0.1], [10_000, 0.2]] });
    close(table(run("{ } | max_over_time(duration) by(resource.service.name)")), { [SVC("cart")]: [[0, 0.05], [10_000, 1], [20_000, 0.4]], [SVC("web")]: [[0, 0.3], [10_000, 0.2]] });
    // All: 0.1 + 0.3 + 0.05 = 0.45 | 0.2 + 1 = 1.2 | 0.4; averages 0.15 | 0.6 | 0.4.
    close(table(run("{ } | sum_over_time(duration)")), { "{}": [[0, 0.45], [10_000, 1.2], [20_000, 0.4]] });
    close(table(run("{ } | avg_over_time(span:duration)")), { "{}": [[0, 0.15], [10_000, 0.6], [20_000, 0.4]] });
  });

  it("a numeric attribute: int and double count, strings and missing ones do not", () => {
    // size: 10, 3 (s3 none) | 1.5, 7 | "big": no number.
    close(table(run("{ } | sum_over_time(span.size)")), { "{}": [[0, 13], [10_000, 8.5]] });
    close(table(run("{ } | avg_over_time(.size)")), { "{}": [[0, 6.5], [10_000, 4.25]] });
    close(table(run("{ } | min_over_time(span.size) by(resource.service.name)")), { [SVC("cart")]: [[10_000, 7]], [SVC("web")]: [[0, 3], [10_000, 1.5]] });
    close(table(run("{ } | max_over_time(span.size) by(resource.service.name)")), { [SVC("cart")]: [[10_000, 7]], [SVC("web")]: [[0, 10], [10_000, 1.5]] });
    // A series with no number at all is left out.
    expect(run("{ } | max_over_time(span.missing)")).toEqual([]);
  });

  it("merges accumulator states (fanned-out jobs) to the same answer", () => {
    for (const q of ["{ } | min_over_time(duration) by(resource.service.name)", "{ } | avg_over_time(span.size)", "{ } | sum_over_time(duration)", "{ } | histogram_over_time(duration)"]) {
      expect(run(q, true), q).toEqual(run(q));
    }
  });
});

describe("histogram_over_time", () => {
  it("counts per power-of-two bucket of the duration, __bucket in seconds (a double), last label", () => {
    // 50 ms -> 2^26 ns, 100 ms -> 2^27, 200 ms -> 2^28, 300 and 400 ms -> 2^29, 1000 ms -> 2^30.
    const series = run("{ } | histogram_over_time(duration)");
    expect(table(series)).toEqual({
      '{__bucket="0.067108864"}': [[0, 1], [10_000, 0], [20_000, 0]],
      '{__bucket="0.134217728"}': [[0, 1], [10_000, 0], [20_000, 0]],
      '{__bucket="0.268435456"}': [[0, 0], [10_000, 1], [20_000, 0]],
      '{__bucket="0.536870912"}': [[0, 1], [10_000, 0], [20_000, 1]],
      '{__bucket="1.073741824"}': [[0, 0], [10_000, 1], [20_000, 0]],
    });
    expect(series[0]!.labels).toEqual([{ key: "__bucket", value: { doubleValue: 67108864 / 1e9 } }]);
    const by = run("{ } | histogram_over_time(duration) by(resource.service.name)");
    expect(by[0]!.labels).toEqual([{ key: "resource.service.name", value: { stringValue: "cart" } }, { key: "__bucket", value: { doubleValue: 0.067108864 } }]);
    expect(by.map((s) => s.samples.reduce((n, p) => n + p.value, 0)).reduce((x, y) => x + y)).toBe(6);
  });

  it("an int attribute: the value rounded up to a power of two; doubles and strings are left out", () => {
    // 10 -> 16, 3 -> 4, 7 -> 8; 1.5 (double) and "big" are not bucketed.
    expect(table(run("{ } | histogram_over_time(span.size)"))).toEqual({
      '{__bucket="16"}': [[0, 1], [10_000, 0], [20_000, 0]],
      '{__bucket="4"}': [[0, 1], [10_000, 0], [20_000, 0]],
      '{__bucket="8"}': [[0, 0], [10_000, 1], [20_000, 0]],
    });
  });
});

describe("stages after the function", () => {
  // count_over_time() by service: web 2 | 1 | 0, cart 1 | 1 | 1.
  it("topk/bottomk keep, at each timestamp, the k highest/lowest series (ties: labels order)", () => {
    expect(table(run("{ } | count_over_time() by(resource.service.name) | topk(1)"))).toEqual({ [SVC("cart")]: [[10_000, 1], [20_000, 1]], [SVC("web")]: [[0, 2]] });
    expect(table(run("{ } | count_over_time() by(resource.service.name) | bottomk(1)"))).toEqual({ [SVC("cart")]: [[0, 1], [10_000, 1]], [SVC("web")]: [[20_000, 0]] });
    expect(table(run("{ } | count_over_time() by(resource.service.name) | topk(5)"))).toEqual(table(run("{ } | count_over_time() by(resource.service.name)")));
  });

  it("thresholds keep the data points meeting them and the series with any left", () => {
    expect(table(run("{ } | count_over_time() by(resource.service.name) >= 2"))).toEqual({ [SVC("web")]: [[0, 2]] });
    // rate = count / 10 s: web 0.2 | 0.1 | 0, cart 0.1 | 0.1 | 0.1.
    expect(table(run("{ } | rate() by(resource.service.name) > 0.15"))).toEqual({ [SVC("web")]: [[0, 0.2]] });
    expect(table(run("{ } | rate() by(resource.service.name) = 0"))).toEqual({ [SVC("web")]: [[20_000, 0]] });
    expect(table(run("{ } | count_over_time() by(resource.service.name) != 1"))).toEqual({ [SVC("web")]: [[0, 2], [20_000, 0]] });
    expect(table(run("{ } | max_over_time(duration) < 0.3"))).toEqual({});
    // max of all: 0.3 | 1 | 0.4; count of all: 3 | 2 | 1.
    expect(table(run("{ } | max_over_time(duration) <= 0.4"))).toEqual({ "{}": [[0, 0.3], [20_000, 0.4]] });
    expect(table(run("{ } | count_over_time() > -1 | topk(1) > 1"))).toEqual({ "{}": [[0, 3], [10_000, 2]] });
    // In order: topk then the threshold.
    expect(table(run("{ } | count_over_time() by(resource.service.name) | topk(1) > 1"))).toEqual({ [SVC("web")]: [[0, 2]] });
  });

  it("parses stages and refuses others after the function", () => {
    expect(parseMetricsQuery("{ } | rate() by(name) | topk(3)").stages).toEqual([{ kind: "topk", k: 3 }]);
    expect(parseMetricsQuery("{ } | rate() > 10").stages).toEqual([{ kind: "threshold", op: ">", value: 10 }]);
    expect(parseMetricsQuery("{ } | rate() | bottomk(2) <= -0.5").stages).toEqual([{ kind: "bottomk", k: 2 }, { kind: "threshold", op: "<=", value: -0.5 }]);
    for (const q of ["{ } | rate() | topk(0)", "{ } | rate() | topk(x)", "{ } | rate() | topk(1.5)", "{ } | rate() > \"a\"", "{ } | rate() =~ 1", "{ } | rate() | count()", "{ } | rate() topk(1)"]) {
      expect(() => parseMetricsQuery(q), q).toThrow(TraceQLError);
    }
    for (const q of ["{ } | min_over_time()", "{ } | min_over_time(name)", "{ } | histogram_over_time(trace:duration)", "{ } | sum_over_time(1)"]) {
      expect(() => parseMetricsQuery(q), q).toThrow(TraceQLError);
    }
    expect(parseMetricsQuery("{ } | max_over_time(resource.x) by(name)").field).toMatchObject({ kind: "attribute", scope: "resource", name: "x" });
  });
});

describe("with() hints", () => {
  it("sample fractions and exemplars=false are honoured; the others are accepted, not honoured, and reported", () => {
    const mq = parseMetricsQuery("{ } | rate() by(name) | topk(2) with(sample=true, exemplars=false, most_recent=0.1)");
    expect(mq.stages).toEqual([{ kind: "topk", k: 2 }]);
    expect(mq.ignoredHints).toEqual([{ name: "sample", value: true }, { name: "most_recent", value: 0.1 }]);
    expect(mq.exemplars).toBe(0);
    expect(mq.sample).toBeUndefined();
    expect(hintWarnings(mq)).toHaveLength(2);
    expect(hintWarnings(mq)[0]).toContain("sample=true");
    expect(hintWarnings(parseMetricsQuery("{ } | rate()"))).toEqual([]);
    expect(parseMetricsQuery("{ } | rate() with(sample=0.5)")).toMatchObject({ sample: { by: "trace", fraction: 0.5 }, ignoredHints: [] });
    expect(parseMetricsQuery("{ } | rate() with(trace_sample=0.25)").sample).toEqual({ by: "trace", fraction: 0.25 });
    expect(parseMetricsQuery("{ } | rate() with(span_sample=0.1, exemplars=true)")).toMatchObject({ sample: { by: "span", fraction: 0.1 }, ignoredHints: [] });
    expect(sampleNotes(parseMetricsQuery("{ } | rate() with(sample=0.5)"))).toEqual([expect.stringContaining("scaled by 2")]);
    expect(sampleNotes(parseMetricsQuery("{ } | rate() with(sample=1)"))).toEqual([]);
    for (const q of [
      "{ } | rate() with(sample)", "{ } | rate() with(sample=)", "{ } | rate() with(sample=true) | topk(1)", "{ } | rate() with(sample=true",
      "{ } | rate() with(sample=0)", "{ } | rate() with(sample=1.5)", '{ } | rate() with(span_sample="x")', "{ } | rate() with(trace_sample=true)", "{ } | rate() with(exemplars=1)",
    ]) {
      expect(() => parseMetricsQuery(q), q).toThrow(TraceQLError);
    }
  });

  it("a sample scales counts and sums by 1 / fraction, not quantiles, averages, minima or maxima", () => {
    // run() adds every span, as the scan adds the sampled ones: counts 3 | 2 | 1 become 6 | 4 | 2.
    expect(table(run("{ } | count_over_time() with(sample=0.5)"))).toEqual({ "{}": [[0, 6], [10_000, 4], [20_000, 2]] });
    close(table(run("{ } | rate() with(span_sample=0.5)")), { "{}": [[0, 0.6], [10_000, 0.4], [20_000, 0.2]] });
    close(table(run("{ } | sum_over_time(duration) with(sample=0.5)")), { "{}": [[0, 0.9], [10_000, 2.4], [20_000, 0.8]] });
    for (const q of ["{ } | avg_over_time(duration)", "{ } | min_over_time(duration)", "{ } | max_over_time(span.size)", "{ } | quantile_over_time(duration, 0.5)"]) {
      expect(run(`${q} with(sample=0.25)`), q).toEqual(run(q));
    }
    expect(table(run("{ } | histogram_over_time(span.size) with(sample=0.5)"))['{__bucket="4"}']).toEqual([[0, 2], [10_000, 0], [20_000, 0]]);
  });

  it("inSample: deterministic, nested as the fraction grows, and near the fraction over many ids", () => {
    const ids = Array.from({ length: 20_000 }, (_, n) => n.toString(16).padStart(32, "0"));
    for (const f of [0.1, 0.5]) {
      const share = ids.filter((id) => inSample(id, f)).length / ids.length;
      expect(Math.abs(share - f)).toBeLessThan(0.02);
    }
    expect(ids.filter((id) => inSample(id, 0.1) && !inSample(id, 0.5))).toEqual([]);
    expect(ids.every((id) => inSample(id, 1))).toBe(true);
    expect(ids.slice(0, 50).map((id) => inSample(id, 0.5))).toEqual(ids.slice(0, 50).map((id) => inSample(id, 0.5)));
  });
});

describe("quantile_over_time of a number attribute", () => {
  it("exact quantiles of the int and double values, spans without a number left out", () => {
    // size: 10, 3 | 1.5, 7 | "big": medians 6.5 | 4.25 | none; p1: 10 | 7.
    close(table(run("{ } | quantile_over_time(span.size, 0.5, 1)")), { '{p="0.5"}': [[0, 6.5], [10_000, 4.25]], '{p="1"}': [[0, 10], [10_000, 7]] });
    close(table(run("{ } | quantile_over_time(.size, 0) by(resource.service.name)")), { '{resource.service.name="cart", p="0"}': [[10_000, 7]], '{resource.service.name="web", p="0"}': [[0, 3], [10_000, 1.5]] });
    expect(parseMetricsQuery("{ } | quantile_over_time(resource.x, 0.9)").field).toMatchObject({ kind: "attribute", scope: "resource", name: "x" });
    for (const q of ["{ } | quantile_over_time(name, 0.5)", "{ } | quantile_over_time(span.x)", "{ } | quantile_over_time(span.x, 2)"]) {
      expect(() => parseMetricsQuery(q), q).toThrow(TraceQLError);
    }
  });
});

describe("exemplars", () => {
  /** The series for `q` over SPANS with `n` exemplars per series. */
  function withExemplars(q: string, n: number, split = false): Series[] {
    const mq = parseMetricsQuery(q);
    const accs = [new MetricsAccumulator(mq, b, { exemplars: n }), new MetricsAccumulator(mq, b, { exemplars: n })];
    SPANS.forEach(([s, r], i) => {
      const p = metricsSpan(mq, s, r);
      if (p) (accs[split ? (i + 1) % 2 : 0] as MetricsAccumulator).add(p);
    });
    if (split) accs[0]!.merge(JSON.parse(JSON.stringify(accs[1]!.state())));
    return exemplarsAtSamples(finishSeries(mq, accs[0]!.series()), b);
  }
  const ex = (s: Series | undefined) => (s?.exemplars ?? []).map((e) => [e.labels.find((l) => l.key === "span:id")?.value, Number(e.timestampMs), e.value]);
  const sid = (id: string) => ({ stringValue: id });

  it("real spans of the series, in Tempo's shape: trace:id and span:id labels, the span's start, a value", () => {
    const [all] = withExemplars("{ } | count_over_time()", 2);
    // One slot of 30 s (2 / 2): the two first spans; a count's exemplar has its sample's value (3 in bucket 0).
    expect(all!.exemplars).toEqual([
      { labels: [{ key: "trace:id", value: { stringValue: "t" } }, { key: "span:id", value: { stringValue: "s1000" } }], value: 3, timestampMs: "1000" },
      { labels: [{ key: "trace:id", value: { stringValue: "t" } }, { key: "span:id", value: { stringValue: "s2000" } }], value: 3, timestampMs: "2000" },
    ]);
    // Four: two slots of 15 s, two each (s5000 and s12000 start later in the first slot); rate values are per second.
    expect(ex(withExemplars("{ } | rate()", 4)[0])).toEqual([[sid("s1000"), 1000, 3 * 0.1], [sid("s2000"), 2000, 3 * 0.1], [sid("s15000"), 15000, 2 * 0.1], [sid("s25000"), 25000, 0.1]]);
    // Per series; the values of durations are seconds, of attributes the attribute.
    const byService = withExemplars("{ } | max_over_time(duration) by(resource.service.name)", 100);
    expect(byService.map(ex)).toEqual([
      [[sid("s5000"), 5000, 0.05], [sid("s15000"), 15000, 1], [sid("s25000"), 25000, 0.4]],
      [[sid("s1000"), 1000, 0.1], [sid("s2000"), 2000, 0.3], [sid("s12000"), 12000, 0.2]],
    ]);
    expect(ex(withExemplars("{ } | quantile_over_time(span.size, 0.5)", 2)[0])).toEqual([[sid("s1000"), 1000, 10], [sid("s2000"), 2000, 3]]);
    // Histogram: each bucket series its own spans.
    expect(ex(withExemplars("{ } | histogram_over_time(duration)", 2).find((s) => s.promLabels === '{__bucket="0.536870912"}'))).toEqual([[sid("s2000"), 2000, 0.3], [sid("s25000"), 25000, 0.4]]);
  });

  it("withExemplarsOf: another answer's series (the rows') take the scan's exemplars by labels, a count's at their own sample", () => {
    const scanned = withExemplars("{ } | count_over_time() by(resource.service.name)", 2);
    const rows: Series[] = scanned.map(({ exemplars: _, ...s }) => ({ ...s, samples: s.samples.map((p) => ({ ...p, value: p.value * 10 })) }));
    const got = withExemplarsOf(rows.slice(0, 1), scanned, b, true);
    // cart: s5000 (bucket 0) and s15000 (bucket 1), at the rows' 10 and 10.
    expect(ex(got[0])).toEqual([[sid("s5000"), 5000, 10], [sid("s15000"), 15000, 10]]);
    expect(ex(withExemplarsOf(rows, scanned, b, false)[1])).toEqual(ex(scanned[1]));
    expect(withExemplarsOf(rows, [], b, true)).toEqual(rows);
  });

  it("none unless asked; only at steps left with a sample; the same whatever order the spans come in", () => {
    expect(withExemplars("{ } | count_over_time()", 0)[0]).not.toHaveProperty("exemplars");
    // > 1 drops bucket 2 (count 1): s25000 goes with it.
    expect(ex(withExemplars("{ } | count_over_time() > 1", 4)[0])).toEqual([[sid("s1000"), 1000, 3], [sid("s2000"), 2000, 3], [sid("s15000"), 15000, 2]]);
    for (const q of ["{ } | count_over_time() by(resource.service.name)", "{ } | avg_over_time(duration)", "{ } | histogram_over_time(duration)"]) {
      expect(withExemplars(q, 4, true), q).toEqual(withExemplars(q, 4));
    }
    // At most MAX_EXEMPLARS (100) per series, whatever is asked: 300 spans, 1 s apart, in 300 s.
    const long = { startMs: 0, endMs: 300_000, stepMs: 10_000 };
    const acc = new MetricsAccumulator({ fn: "count_over_time", quantiles: [] }, long, { exemplars: 1000 });
    for (let t = 0; t < 300_000; t += 1000) acc.add({ startMs: t, durationNanos: 1, labels: [], traceId: "t", spanId: `s${t}` });
    expect(acc.series()[0]!.exemplars).toHaveLength(MAX_EXEMPLARS);
  });
});

describe("compare()", () => {
  /** compare()'s series over SPANS, the selection being the web spans. */
  function compare(q: string): Series[] {
    const mq = parseMetricsQuery(q);
    const acc = new MetricsAccumulator(mq, b);
    for (const [s, r] of SPANS) for (const p of comparePoints(s, r, JSON.stringify(r.attributes[0]!.value) === JSON.stringify({ stringValue: "web" }))) acc.add(p);
    return finishSeries(mq, acc.series());
  }

  it("counts each attribute value per step in the selection and the baseline, top N per attribute, totals, too-many-values", () => {
    // Selection (web): s1, s2 | s4; baseline (cart): s3 | s5 | s6. Sizes: web 10, 3 | 1.5; cart - | 7 | "big".
    const got = table(compare('{ } | compare({ resource.service.name = "web" }, 2)'));
    const sel = (k: string, v: string) => `{__meta_type="selection", ${k}="${v}"}`;
    const base = (k: string, v: string) => `{__meta_type="baseline", ${k}="${v}"}`;
    const at = (a: number, c: number, d: number): [number, number][] => [[0, a], [10_000, c], [20_000, d]];
    expect(got).toEqual({
      [base("kind", "server")]: at(1, 1, 1),
      [base("name", "op")]: at(1, 1, 1),
      [base("resource.service.name", "cart")]: at(1, 1, 1),
      [base("span.size", "7")]: at(0, 1, 0),
      [base("span.size", "big")]: at(0, 0, 1),
      [base("status", "unset")]: at(1, 1, 1),
      [base("kind", "<nil>").replace("baseline", "baseline_total")]: at(1, 1, 1),
      '{__meta_type="baseline_total", name="<nil>"}': at(1, 1, 1),
      '{__meta_type="baseline_total", resource.service.name="<nil>"}': at(1, 1, 1),
      '{__meta_type="baseline_total", span.size="<nil>"}': at(0, 1, 1),
      '{__meta_type="baseline_total", status="<nil>"}': at(1, 1, 1),
      [sel("kind", "server")]: at(2, 1, 0),
      [sel("name", "op")]: at(2, 1, 0),
      [sel("resource.service.name", "web")]: at(2, 1, 0),
      // Three values, each totalling 1: the first two by labels order.
      [sel("span.size", "1.5")]: at(0, 1, 0),
      [sel("span.size", "10")]: at(1, 0, 0),
      [sel("status", "unset")]: at(2, 1, 0),
      '{__meta_type="selection_total", kind="<nil>"}': at(2, 1, 0),
      '{__meta_type="selection_total", name="<nil>"}': at(2, 1, 0),
      '{__meta_type="selection_total", resource.service.name="<nil>"}': at(2, 1, 0),
      '{__meta_type="selection_total", span.size="<nil>"}': at(2, 1, 0),
      '{__meta_type="selection_total", status="<nil>"}': at(2, 1, 0),
      '{__meta_error="__too_many_values__", span.size="<nil>"}': [],
    });
    // Labels are typed: the int value stays an int, the totals' attribute label has no value.
    const series = compare('{ } | compare({ resource.service.name = "web" }, 2)');
    expect(series.find((s) => s.promLabels === sel("span.size", "10"))!.labels).toEqual([{ key: "__meta_type", value: { stringValue: "selection" } }, { key: "span.size", value: { intValue: "10" } }]);
    expect(series.find((s) => s.promLabels === '{__meta_type="selection_total", span.size="<nil>"}')!.labels[1]).toEqual({ key: "span.size", value: {} });
  });

  it("parses the filter, top N (default 10) and the optional window", () => {
    expect(parseMetricsQuery("{ } | compare({ status = error })").compare).toMatchObject({ filter: { kind: "selector" }, topN: 10 });
    expect(parseMetricsQuery("{ } | compare({ status = error && span.x > 1 }, 5, 1000, 2000)").compare).toMatchObject({ topN: 5, startNs: "1000", endNs: "2000" });
    for (const q of ["{ } | compare()", "{ } | compare({ status = error }, 0)", "{ } | compare({ status = error }, 5, 1000)", "{ } | compare({ status = error }, 5, 2000, 1000)", "{ } | compare(status = error)", "{ } | compare({ a } > { b })", "{ } | compare({ status = error }) by(name)"]) {
      expect(() => parseMetricsQuery(q), q).toThrow(TraceQLError);
    }
  });
});
