import { describe, expect, it } from "vitest";
import { TraceQLError } from "./lexer.ts";
import { bucketOf, MetricsAccumulator, parseMetricsQuery, quantile, spanLabels } from "./metrics.ts";
import type { Resource, Span } from "../model/span.ts";

describe("parseMetricsQuery", () => {
  it("splits the spanset part from the metrics stage", () => {
    const mq = parseMetricsQuery('{ resource.service.name = "a" } | rate()');
    expect(mq.fn).toBe("rate");
    expect(mq.by).toEqual([]);
    expect(mq.query.kind).toBe("selector");
  });

  it("reads by() and quantiles, and keeps pipelines before the stage", () => {
    const mq = parseMetricsQuery("{ } | select(name) | quantile_over_time(duration, 0.5, 0.99) by(resource.service.name, name)");
    expect(mq.fn).toBe("quantile_over_time");
    expect(mq.quantiles).toEqual([0.5, 0.99]);
    expect(mq.by.map((f) => (f.kind === "attribute" ? `${f.scope}.${f.name}` : f.name))).toEqual(["resource.service.name", "name"]);
    expect(mq.query.kind).toBe("pipeline");
    expect(parseMetricsQuery("({} > {}) | count_over_time() by(span.http.method)").fn).toBe("count_over_time");
    // Traces Drilldown sends an empty by() for its ungrouped panels: no grouping, as without it.
    expect(parseMetricsQuery("{ nestedSetParent < 0 } | quantile_over_time(duration, 0.9) by()").by).toEqual([]);
    expect(parseMetricsQuery("{ } | rate() by() | topk(2)").by).toEqual([]);
    expect(() => parseMetricsQuery("{ } | rate() by(,)")).toThrow();
    expect(() => parseMetricsQuery("{ } | rate() by(name,)")).toThrow();
  });

  it("rejects broken, missing and unsupported stages with a position", () => {
    for (const q of ["{}", "{ | rate()", "{} | rate(", "{} | rate() by(", "{} | quantile_over_time(duration)", "{} | quantile_over_time(duration, 2)", "{} | rate() | count() > 1"]) {
      expect(() => parseMetricsQuery(q), q).toThrow(TraceQLError);
    }
    const err = (() => {
      try {
        parseMetricsQuery("{} | min_over_time(name)");
      } catch (e) {
        return e as TraceQLError;
      }
      return undefined;
    })();
    expect(err?.unsupported).toBe("min_over_time(name)");
    expect(err?.column).toBe(20);
  });
});

describe("bucketing", () => {
  const b = { startMs: 1000, endMs: 11000, stepMs: 2000 };

  it("puts a span in floor((t - start) / step), nothing outside [start, end)", () => {
    expect(bucketOf(b, 1000)).toBe(0);
    expect(bucketOf(b, 2999)).toBe(0);
    expect(bucketOf(b, 3000)).toBe(1);
    expect(bucketOf(b, 10999)).toBe(4);
    expect(bucketOf(b, 11000)).toBe(-1);
    expect(bucketOf(b, 999)).toBe(-1);
  });

  it("counts and rates per group, zeros included", () => {
    const lab = (s: string) => [{ key: "resource.service.name", value: { stringValue: s } }];
    for (const fn of ["count_over_time", "rate"] as const) {
      const acc = new MetricsAccumulator({ fn, quantiles: [] }, b);
      for (const t of [1000, 1500, 5000]) acc.add({ startMs: t, durationNanos: 1, labels: lab("a") });
      acc.add({ startMs: 9000, durationNanos: 1, labels: lab("b") });
      acc.add({ startMs: 20000, durationNanos: 1, labels: lab("b") });
      const series = acc.series();
      const k = fn === "rate" ? 0.5 : 1;
      expect(series.map((s) => s.promLabels)).toEqual(['{resource.service.name="a"}', '{resource.service.name="b"}']);
      expect(series[0]!.samples).toEqual([0, 1, 2, 3, 4].map((i) => ({ timestampMs: String(1000 + i * 2000), value: [2, 0, 1, 0, 0][i]! * k })));
      expect(series[1]!.samples.map((s) => s.value)).toEqual([0, 0, 0, 0, 1].map((v) => v * k));
    }
  });

  it("quantiles of durations in seconds, per quantile series, only buckets with spans", () => {
    const acc = new MetricsAccumulator({ fn: "quantile_over_time", quantiles: [0.5, 1] }, b);
    for (const ms of [100, 300, 200]) acc.add({ startMs: 1200, durationNanos: ms * 1e6, labels: [] });
    acc.add({ startMs: 7000, durationNanos: 1e9, labels: [] });
    const series = acc.series();
    expect(series.map((s) => s.labels)).toEqual([[{ key: "p", value: { doubleValue: 0.5 } }], [{ key: "p", value: { doubleValue: 1 } }]]);
    expect(series[0]!.samples).toEqual([{ timestampMs: "1000", value: 0.2 }, { timestampMs: "7000", value: 1 }]);
    expect(series[1]!.samples[0]!.value).toBeCloseTo(0.3);
  });

  it("interpolates quantiles between ranks", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
    expect(quantile([5], 0.9)).toBe(5);
    expect(Number.isNaN(quantile([], 0.5))).toBe(true);
  });

  it("labels spans by span, resource, unscoped attributes and intrinsics; missing ones are left out", () => {
    const span = { traceId: "t", spanId: "s", parentSpanId: "", name: "GET", kind: 2, startTimeUnixNano: "0", endTimeUnixNano: "5", attributes: [{ key: "x", value: { intValue: "3" } }], status: { code: 2, message: "" } } as unknown as Span;
    const resource: Resource = { attributes: [{ key: "service.name", value: { stringValue: "web" } }], droppedAttributesCount: 0 };
    const { by } = parseMetricsQuery("{} | rate() by(resource.service.name, .x, span.missing, name, status, kind, .service.name)");
    expect(spanLabels(by, span, resource)).toEqual([
      { key: "resource.service.name", value: { stringValue: "web" } },
      { key: ".x", value: { intValue: "3" } },
      { key: "name", value: { stringValue: "GET" } },
      { key: "status", value: { stringValue: "error" } },
      { key: "kind", value: { stringValue: "server" } },
      { key: ".service.name", value: { stringValue: "web" } },
    ]);
  });

  it("labels spans by their instrumentation scope's name and version, when the scope is given", () => {
    const span = { traceId: "t", spanId: "s", parentSpanId: "", name: "q", kind: 3, startTimeUnixNano: "0", endTimeUnixNano: "1", attributes: [], status: { code: 0, message: "" } } as unknown as Span;
    const resource: Resource = { attributes: [], droppedAttributesCount: 0 };
    const scope = { name: "io.example.jdbc", version: "2.1", attributes: [], droppedAttributesCount: 0 };
    const { by } = parseMetricsQuery("{ kind = client } | rate() by (instrumentation:name, instrumentation:version)");
    expect(spanLabels(by, span, resource, scope)).toEqual([
      { key: "instrumentation:name", value: { stringValue: "io.example.jdbc" } },
      { key: "instrumentation:version", value: { stringValue: "2.1" } },
    ]);
    expect(spanLabels(by, span, resource)).toEqual([]);
  });
});
