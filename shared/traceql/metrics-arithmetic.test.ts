/**
 * Arithmetic between metrics queries and with numbers: parsing (precedence, parentheses, stages,
 * positions) and Tempo's series matching, over a small fixed set of spans with every answer worked
 * out by hand below.
 */
import { describe, expect, it } from "vitest";
import { TraceQLError } from "./lexer.ts";
import { evaluateMetricsExpr } from "./metrics-arithmetic.ts";
import { finishSeries, MetricsAccumulator, metricsQueries, metricsSpan, parseMetricsExpression, parseMetricsQuery, type Series } from "./metrics.ts";
import type { Resource, Span } from "../model/span.ts";
import { expectCloseTables, table } from "../../test/support/series-table.ts";

// Three buckets of 10 s.
const b = { startMs: 0, endMs: 30_000, stepMs: 10_000 };

function span(startMs: number, durationMs: number, name: string): Span {
  const ns = BigInt(startMs) * 1_000_000n;
  return {
    traceId: "t", spanId: `s${startMs}`, parentSpanId: "", name, kind: 2,
    startTimeUnixNano: String(ns), endTimeUnixNano: String(ns + BigInt(durationMs) * 1_000_000n), attributes: [], status: { code: 0, message: "" },
  } as unknown as Span;
}
const res = (service: string): Resource => ({ attributes: [{ key: "service.name", value: { stringValue: service } }], droppedAttributesCount: 0 });

// service, start, duration, name        count by service: web 2 | 1 | 0, cart 1 | 1 | 1; all 3 | 2 | 1
//   web   1 s  100 ms  GET                max duration by service: web 0.3 | 0.2 | -, cart 0.05 | 1 | 0.4
//   web   2 s  300 ms  GET
//   cart  5 s   50 ms  SQL
//   web  12 s  200 ms  GET
//   cart 15 s 1000 ms  SQL
//   cart 25 s  400 ms  SQL
const SPANS: [Span, Resource][] = [
  [span(1_000, 100, "GET"), res("web")], [span(2_000, 300, "GET"), res("web")], [span(5_000, 50, "SQL"), res("cart")],
  [span(12_000, 200, "GET"), res("web")], [span(15_000, 1000, "SQL"), res("cart")], [span(25_000, 400, "SQL"), res("cart")],
];

/** The series of expression `q` over SPANS (every span matches each `{ }`). */
function run(q: string): Series[] {
  const { expr } = parseMetricsExpression(q);
  const perQuery = metricsQueries(expr).map((mq) => {
    const acc = new MetricsAccumulator(mq, b);
    for (const [s, r] of SPANS) {
      const p = metricsSpan(mq, s, r);
      if (p) acc.add(p);
    }
    return finishSeries(mq, acc.series());
  });
  return evaluateMetricsExpr(expr, perQuery, b);
}
const close = expectCloseTables;
const WEB = '{resource.service.name="web"}';
const CART = '{resource.service.name="cart"}';
const COUNT_BY = "({ } | count_over_time() by(resource.service.name))";

describe("arithmetic with numbers", () => {
  it("applies the number at every step, with the usual precedence", () => {
    // rate = count / 10 s: 0.3 | 0.2 | 0.1, per minute 18 | 12 | 6.
    close(table(run("{ } | rate() * 60")), { "{}": [[0, 18], [10_000, 12], [20_000, 6]] });
    close(table(run("60 * ({ } | rate())")), { "{}": [[0, 18], [10_000, 12], [20_000, 6]] });
    expect(table(run("{ } | count_over_time() by(resource.service.name) * 2 + 1"))).toEqual({ [CART]: [[0, 3], [10_000, 3], [20_000, 3]], [WEB]: [[0, 5], [10_000, 3], [20_000, 1]] });
    expect(table(run("1 + 2 * ({ } | count_over_time())"))).toEqual({ "{}": [[0, 7], [10_000, 5], [20_000, 3]] });
    expect(table(run("(1 + 2) * ({ } | count_over_time())"))).toEqual({ "{}": [[0, 9], [10_000, 6], [20_000, 3]] });
    expect(table(run("({ } | count_over_time()) - -1"))).toEqual({ "{}": [[0, 4], [10_000, 3], [20_000, 2]] });
    // x / 0 is NaN: left out, and a series with no sample left is dropped.
    expect(run("({ } | count_over_time()) / 0")).toEqual([]);

    // A number operand followed by a threshold or `| topk` (as in Tempo's docs: `2 * ({} | rate()) | topk(10)`).
    expect(table(run(`${COUNT_BY} * 2 > 3`))).toEqual({ [WEB]: [[0, 4]] });
    expect(table(run(`${COUNT_BY} - 2 >= -1`))).toEqual({ [CART]: [[0, -1], [10_000, -1], [20_000, -1]], [WEB]: [[0, 0], [10_000, -1]] });
    expect(table(run(`${COUNT_BY} * 100 | topk(2)`))).toEqual({ [CART]: [[0, 100], [10_000, 100], [20_000, 100]], [WEB]: [[0, 200], [10_000, 100], [20_000, 0]] });
    expect(parseMetricsExpression(`2 * ${COUNT_BY} | topk(10)`).expr).toMatchObject({ kind: "binary", left: { kind: "number", value: 2 }, stages: [{ kind: "topk", k: 10 }] });
    expect(parseMetricsExpression(`${COUNT_BY} + 1 > 2 | topk(1) < 5`).expr).toMatchObject({ kind: "binary", right: { kind: "number", value: 1 }, stages: [{ kind: "threshold", op: ">", value: 2 }, { kind: "topk", k: 1 }, { kind: "threshold", op: "<", value: 5 }] });
  });
});

describe("arithmetic between queries: series matched by labels, as Tempo", () => {
  it("divides each service by the total (the right side has a series without labels)", () => {
    close(table(run(`${COUNT_BY} / ({ } | count_over_time())`)), { [CART]: [[0, 1 / 3], [10_000, 0.5], [20_000, 1]], [WEB]: [[0, 2 / 3], [10_000, 0.5], [20_000, 0]] });
  });

  it("divides the total by each service (the left side's series without labels meets each); x / 0 leaves the step out", () => {
    // web's bucket 2 has 0 spans: 1 / 0 is left out.
    close(table(run(`({ } | count_over_time()) / ${COUNT_BY}`)), { [CART]: [[0, 3], [10_000, 2], [20_000, 1]], [WEB]: [[0, 1.5], [10_000, 2]] });
  });

  it("pairs equal label sets; a step without a sample on either side has none", () => {
    // count + max duration, by service: cart 1+0.05 | 1+1 | 1+0.4; web 2+0.3 | 1+0.2 | (no max) -.
    close(table(run(`${COUNT_BY} + ({ } | max_over_time(duration) by(resource.service.name))`)), { [CART]: [[0, 1.05], [10_000, 2], [20_000, 1.4]], [WEB]: [[0, 2.3], [10_000, 1.2]] });
  });

  it("mismatches: a series missing on one side is dropped; different labels give nothing", () => {
    // The threshold inside the parentheses keeps web's bucket 0 only, so cart has no partner.
    expect(table(run(`${COUNT_BY} * ({ } | count_over_time() by(resource.service.name) >= 2)`))).toEqual({ [WEB]: [[0, 4]] });
    expect(run(`${COUNT_BY} - ({ } | count_over_time() by(name))`)).toEqual([]);
    // Labels of both sides when they differ only by the fallback: the labelled side's.
    expect(run(`({ } | count_over_time() by(name)) / ({ } | count_over_time())`).map((s) => s.promLabels)).toEqual(['{name="GET"}', '{name="SQL"}']);
  });

  it("stages after arithmetic apply to its result; inside parentheses, to that part", () => {
    // shares: cart 1/3 | 1/2 | 1, web 2/3 | 1/2 | 0.
    close(table(run(`${COUNT_BY} / ({ } | count_over_time()) > 0.5`)), { [CART]: [[20_000, 1]], [WEB]: [[0, 2 / 3]] });
    close(table(run(`(${COUNT_BY} / ({ } | count_over_time()) | topk(1))`)), { [CART]: [[10_000, 0.5], [20_000, 1]], [WEB]: [[0, 2 / 3]] });
    const { expr } = parseMetricsExpression(`${COUNT_BY} / ({ } | count_over_time()) > 0.5`);
    expect(expr).toMatchObject({ kind: "binary", op: "/", stages: [{ kind: "threshold", op: ">", value: 0.5 }], right: { kind: "query", query: { stages: [] } } });
  });
});

describe("parsing metrics expressions", () => {
  it("keeps a single query as before, and each query's own | topk", () => {
    expect(parseMetricsExpression("{ } | rate() by(name) | topk(2) > 1").expr).toMatchObject({ kind: "query", query: { stages: [{ kind: "topk", k: 2 }, { kind: "threshold", op: ">", value: 1 }] } });
    expect(parseMetricsExpression("({} > {}) | count_over_time()").expr).toMatchObject({ kind: "query", query: { fn: "count_over_time", query: { kind: "spansetOp" } } });
    // A number that starts a spanset part is not an operand.
    expect(parseMetricsExpression("{ } | 1 < count() | rate()").expr).toMatchObject({ kind: "query", query: { fn: "rate" } });
    expect(parseMetricsExpression("1 < count() | rate()").expr).toMatchObject({ kind: "query", query: { fn: "rate" } });
    // Parentheses around spansets, followed by more spanset operators.
    expect(parseMetricsExpression("({ .a = 1 }) && ({ .b = 2 }) | rate()").expr).toMatchObject({ kind: "query", query: { query: { kind: "spansetOp", op: "&&" } } });
    expect(parseMetricsExpression("({ .a = 1 } > { }) > { } | count_over_time()").expr).toMatchObject({ kind: "query", query: { fn: "count_over_time" } });
    const { expr, hints } = parseMetricsExpression("(({ status = error } | rate() by(name) | topk(3)) / ({ } | rate() by(name))) with(sample=0.5)");
    expect(expr).toMatchObject({ kind: "binary", op: "/", left: { kind: "query", query: { stages: [{ kind: "topk", k: 3 }] } }, right: { kind: "query" } });
    expect(hints).toEqual([{ name: "sample", value: 0.5 }]);
    // Hints reach every query.
    expect(metricsQueries(expr).map((q) => q.sample)).toEqual([{ by: "trace", fraction: 0.5 }, { by: "trace", fraction: 0.5 }]);
  });

  it("refuses broken or unsupported arithmetic, naming the position", () => {
    for (const q of [
      "({ } | rate()) % ({ } | rate())", "({ } | rate()) /", "({ } | rate()", "1 + 2", "{ } | rate() * ", "({ } | rate()) ({ } | rate())",
      "({ } | rate()) / ({ } | rate()) with(sample=true) + 1", "({ } | compare({ status = error })) / ({ } | rate())",
    ]) {
      expect(() => parseMetricsExpression(q), q).toThrow(TraceQLError);
    }
    const q = "({ } | rate()) / ({ name = } | rate())";
    try {
      parseMetricsExpression(q);
      expect.unreachable();
    } catch (e) {
      expect((e as TraceQLError).offset).toBe(q.indexOf("} | rate())", 20));
    }
    expect(() => parseMetricsQuery("({ } | rate()) / ({ } | rate())")).toThrow(/one metrics query/);
  });
});
