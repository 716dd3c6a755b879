/**
 * min/max/sum/avg_over_time, histogram_over_time, topk/bottomk, thresholds and with() hints over
 * a small fixed set of spans; every expected value is worked out by hand below.
 */
import { describe, expect, it } from "vitest";
import { TraceQLError } from "./lexer.ts";
import { applyStages, comparePoints, finishSeries, hintWarnings, MetricsAccumulator, metricsSpan, parseMetricsQuery, type Series } from "./metrics.ts";
import type { AnyValue, Resource, Span } from "../model/span.ts";

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

/** Series as `promLabels -> [[timestamp, value], ...]`. */
function table(series: Series[]): Record<string, [number, number][]> {
  return Object.fromEntries(series.map((s) => [s.promLabels, s.samples.map((p) => [Number(p.timestampMs), p.value] as [number, number])]));
}
const close = (got: Record<string, [number, number][]>, want: Record<string, [number, number][]>) => {
  expect(Object.keys(got)).toEqual(Object.keys(want));
  for (const [k, samples] of Object.entries(want)) {
    expect(got[k]!.map((p) => p[0]), k).toEqual(samples.map((p) => p[0]));
    samples.forEach(([, v], i) => expect(got[k]![i]![1], k).toBeCloseTo(v, 9));
  }
};
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
  it("are accepted, not honoured, and reported", () => {
    const mq = parseMetricsQuery('{ } | rate() by(name) | topk(2) with(sample=true, exemplars=false, most_recent=0.1, span_sample="x")');
    expect(mq.stages).toEqual([{ kind: "topk", k: 2 }]);
    expect(mq.ignoredHints).toEqual([{ name: "sample", value: true }, { name: "exemplars", value: false }, { name: "most_recent", value: 0.1 }, { name: "span_sample", value: "x" }]);
    expect(hintWarnings(mq)).toHaveLength(4);
    expect(hintWarnings(mq)[0]).toContain("sample=true");
    expect(hintWarnings(parseMetricsQuery("{ } | rate()"))).toEqual([]);
    for (const q of ["{ } | rate() with(sample)", "{ } | rate() with(sample=)", "{ } | rate() with(sample=true) | topk(1)", "{ } | rate() with(sample=true"]) {
      expect(() => parseMetricsQuery(q), q).toThrow(TraceQLError);
    }
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
