import { describe, expect, it } from "vitest";
import { summarizeTrace } from "../block/summarize.ts";
import { RedAccumulator, type ServiceRow } from "../metrics/red.ts";
import type { AnyValue, KeyValue, Resource, ResourceSpans, Span } from "../model/span.ts";
import { compileQuery } from "./eval.ts";
import { metricsFromRollups, metricsFromServiceRollups, ROLLUP_QUANTILE_RELATIVE_ERROR, rollupSource, rollupUnsupportedReason, type ServiceRollupRow } from "./metrics-from-rollups.ts";
import { LatencyHistogram } from "../metrics/histogram.ts";
import { MetricsAccumulator, metricsSpan, parseMetricsQuery, type Bucketing, type Series } from "./metrics.ts";

// A workload of spans of every kind and status, the rows the assembler's accumulator makes of it,
// and the answer the block scan would give (its loop in shared/search/metrics-blocks.ts, over
// the traces in memory): the rows' answer must be that answer (quantiles: within the documented
// bound of it), or undefined.

const T0 = 1_700_000_040_000; // a whole minute, in ms
const MINUTE = 60_000;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Spec {
  service?: string;
  /** The resource's attributes, instead of `service.name` = `service`. */
  resource?: KeyValue[];
  name: string;
  kind: number;
  status: number;
  startMs: number;
  /** Whole ms (default: 5 ms less 123456 ns). */
  durMs?: number;
  /** Nanoseconds, instead of durMs. */
  durNs?: number;
  /** "child": the span's trace also holds its parent (a root of the same resource); "orphan": its parent is in no trace. */
  parent?: "child" | "orphan";
}

function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, "0");
}

/** Each span its own trace, with its parent when it is a child (the scan's answer does not depend on how spans group into traces here). */
function toTraces(specs: Spec[]): { traceId: string; resourceSpans: ResourceSpans[] }[] {
  return specs.map((s, i) => {
    const traceId = hex(i + 1, 32);
    const parentId = s.parent === "child" ? hex(0x100000 + i, 16) : s.parent === "orphan" ? hex(0x200000 + i, 16) : "";
    const span: Span = {
      traceId, spanId: hex(i + 1, 16), traceState: "", parentSpanId: parentId, flags: 1, name: s.name, kind: s.kind,
      startTimeUnixNano: `${s.startMs}123456`,
      endTimeUnixNano: s.durNs !== undefined ? String(BigInt(`${s.startMs}123456`) + BigInt(s.durNs)) : `${s.startMs + (s.durMs ?? 5)}${s.durMs === undefined ? "000000" : "123456"}`,
      attributes: [{ key: "http.route", value: { stringValue: "/x" } }], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
      status: { code: s.status, message: "" },
    };
    const resource: Resource = { attributes: s.resource ?? (s.service === undefined ? [] : [{ key: "service.name", value: { stringValue: s.service } }]), droppedAttributesCount: 0 };
    const parent: Span[] = s.parent === "child" ? [{ ...span, spanId: parentId, parentSpanId: "", name: "parent", kind: 2, status: { code: 0, message: "" }, attributes: [] }] : [];
    return { traceId, resourceSpans: [{ resource, schemaUrl: "", scopeSpans: [{ scope: { name: "s", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans: [...parent, span] }] }] };
  });
}

function workload(seed: number, n: number, minutes: number, opts: { unnamed?: boolean } = {}): Spec[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  return Array.from({ length: n }, () => ({
    service: opts.unnamed && r() < 0.1 ? undefined : pick(["web", "cart", "db-proxy"]),
    name: pick(["GET /", "POST /checkout", "SELECT", "send"]),
    kind: pick([0, 1, 1, 2, 2, 3, 3, 4, 5]),
    status: pick([0, 0, 1, 2]),
    startMs: T0 + Math.floor(r() * minutes * MINUTE),
  }));
}

/**
 * Resources as they come: named, "" named, unnamed, named by another type, named twice, the name
 * after another attribute. Every pair differs in promLabels, so series order is the sort's alone.
 */
const name = (value: AnyValue): KeyValue => ({ key: "service.name", value });
const RESOURCES: KeyValue[][] = [
  [name({ stringValue: "web" })],
  [name({ stringValue: "cart" })],
  [name({ stringValue: "db-proxy" })],
  [{ key: "host.name", value: { stringValue: "h1" } }, name({ stringValue: "web" })],
  [name({ stringValue: "cart" }), name({ stringValue: "web" })],
  [],
  [{ key: "host.name", value: { stringValue: "h2" } }],
  [name({ stringValue: "" })],
  [name({ intValue: "7" })],
  [name({ doubleValue: Number.NaN })],
  [name({ arrayValue: { values: [{ stringValue: "a" }] } })],
];

/** Spans of every kind and status, of all the RESOURCES, with durations from 0 to seconds. */
function wideWorkload(seed: number, n: number, minutes: number, resources = RESOURCES): Spec[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  return Array.from({ length: n }, () => ({
    resource: pick(resources),
    name: pick(["GET /", "POST /checkout", "SELECT", "send", "render"]),
    kind: pick([0, 1, 1, 1, 2, 2, 3, 3, 4, 5, 7]),
    status: pick([0, 0, 1, 2, 3]),
    startMs: T0 + Math.floor(r() * minutes * MINUTE),
    durMs: pick([0, 1, 2, 5, 20, 80, 300, 1200, 4000]) + Math.floor(r() * 50),
    parent: pick([undefined, undefined, "child", "orphan"] as const),
  }));
}

function accumulate(specs: Spec[]): RedAccumulator {
  const red = new RedAccumulator("t");
  for (const t of toTraces(specs)) red.addSpans(t);
  return red;
}

function rowsOf(specs: Spec[]) {
  return accumulate(specs).rows();
}

function serviceRowsOf(specs: Spec[]): ServiceRow[] {
  return accumulate(specs).serviceRows();
}

/** What D1 answers for the service rows (readMinuteRowsByStep): minutes summed per step and key, no histogram. */
function summedPerStep(rows: ServiceRow[], b: Bucketing): ServiceRollupRow[] {
  const out = new Map<string, ServiceRollupRow & { lastMinute: number }>();
  for (const row of rows) {
    if (row.minute * 1000 + MINUTE <= b.startMs || row.minute * 1000 >= b.endMs) continue;
    const step = row.minute * 1000 < b.startMs ? -1 : Math.floor((row.minute * 1000 - b.startMs) / b.stepMs);
    const key = JSON.stringify([step, row.service, row.serviceNameType, row.root, row.status]);
    const seen = out.get(key);
    if (!seen) out.set(key, { minute: row.minute, lastMinute: row.minute, service: row.service, serviceNameType: row.serviceNameType, root: row.root, status: row.status, count: row.count, errors: row.errors });
    else out.set(key, { ...seen, minute: Math.min(seen.minute, row.minute), lastMinute: Math.max(seen.lastMinute, row.minute), count: seen.count + row.count, errors: seen.errors + row.errors });
  }
  return [...out.values()];
}

function scan(q: string, b: Bucketing, specs: Spec[]): Series[] {
  const mq = parseMetricsQuery(q);
  const matcher = compileQuery(mq.query, { spss: Number.MAX_SAFE_INTEGER });
  const acc = new MetricsAccumulator(mq, b);
  for (const t of toTraces(specs)) {
    const sets = matcher.match(t.resourceSpans, summarizeTrace(t.traceId, t.resourceSpans));
    if (!sets) continue;
    const ids = new Set(sets.flatMap((s) => s.spans.map((sp) => sp.spanID)));
    for (const rs of t.resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          if (!ids.has(span.spanId)) continue;
          // As the scan (shared/search/metrics-blocks.ts): the span as the function reads it, or none.
          const point = metricsSpan(mq, span, rs.resource);
          if (point) acc.add(point);
        }
      }
    }
  }
  return acc.series();
}

/** Bucketings whose steps hold whole minutes (the rows' buckets), over the workloads' 20 minutes and past them. */
const ALIGNED: Bucketing[] = [
  { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: MINUTE },
  { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: 5 * MINUTE },
  { startMs: T0 + 2 * MINUTE, endMs: T0 + 9 * MINUTE, stepMs: 2 * MINUTE }, // last step cut short by the end
  { startMs: T0 - 10 * MINUTE, endMs: T0 + 40 * MINUTE, stepMs: 10 * MINUTE },
];

const fromRows = (q: string, b: Bucketing, specs: Spec[], everySpanNamed = true) => metricsFromRollups(parseMetricsQuery(q), b, rowsOf(specs), { everySpanNamed });
const fromServiceRows = (q: string, b: Bucketing, specs: Spec[], from = 0) => metricsFromServiceRollups(parseMetricsQuery(q), b, serviceRowsOf(specs), { from });

/** The rows' quantile series against the scan's: same series, buckets and labels, values within the bound. */
function expectQuantilesWithinBound(got: Series[] | undefined, want: Series[], what: string): void {
  expect(got, what).toBeDefined();
  const strip = (xs: Series[]) => xs.map((x) => ({ labels: x.labels, promLabels: x.promLabels, at: x.samples.map((p) => p.timestampMs) }));
  expect(strip(got!), what).toEqual(strip(want));
  let compared = 0;
  want.forEach((w, i) => {
    w.samples.forEach((sample, j) => {
      const value = got![i]!.samples[j]!.value;
      const error = sample.value === 0 ? Math.abs(value) : Math.abs(value - sample.value) / sample.value;
      // A float error at a bucket bound may add a few ulps to the bound.
      expect(error, `${what} ${w.promLabels} @${sample.timestampMs}: ${value} vs ${sample.value}`).toBeLessThanOrEqual(ROLLUP_QUANTILE_RELATIVE_ERROR + 1e-9);
      compared++;
    });
  });
  expect(compared, what).toBeGreaterThan(0);
}

const SUPPORTED = [
  "{ kind = server } | rate()",
  "{ kind = server } | count_over_time()",
  "{ kind = server } | rate() by(resource.service.name)",
  "{ (kind = server || kind = consumer) } | rate() by(resource.service.name)",
  "{ (kind = server || kind = consumer) && status = error } | rate() by(resource.service.name)",
  '{ resource.service.name = "web" && (kind = server || kind = consumer) } | rate()',
  '{ resource.service.name = "web" && (kind = server || kind = consumer) && status = error } | rate()',
  "{ kind = server || kind = client } | count_over_time() by(kind)",
  "{ kind = client && status != error } | rate() by(name)",
  '{ kind = server && name =~ "(GET|POST) .*" } | count_over_time() by(resource.service.name, name)',
  '{ kind = producer && resource.service.name != "web" } | rate() by(name, kind)',
  "{ kind = server } || { kind = client && status = error } | rate() by(kind)",
  "{ kind = server } | { status = error } | rate()",
  "{ } | { kind = consumer } | count_over_time()",
  "{ kind = server } | select(name) | rate() by(name)",
  "{ (kind = server && status = error) || (kind = client && status != error) } | count_over_time() by(kind)",
  '{ kind = server && !(resource.service.name = "web") } | count_over_time() by(resource.service.name)',
];

describe("metricsFromRollups: the block scan's answer from the operation rows", () => {
  const specs = workload(7, 3000, 20);

  for (const q of SUPPORTED) {
    it(`answers ${q}`, () => {
      expect(rollupUnsupportedReason(parseMetricsQuery(q))).toBeUndefined();
      for (const b of ALIGNED) {
        const got = fromRows(q, b, specs);
        expect(got, JSON.stringify(b)).toBeDefined();
        expect(got).toEqual(scan(q, b, specs));
      }
    });
  }

  it("gives no series where the scan gives none", () => {
    expect(fromRows('{ kind = server && resource.service.name = "nobody" } | rate()', ALIGNED[0]!, specs)).toEqual([]);
    expect(fromRows("{ kind = server } | rate()", { startMs: T0 + 60 * MINUTE, endMs: T0 + 70 * MINUTE, stepMs: MINUTE }, specs)).toEqual([]);
  });

  it("falls back when a minute with matching spans straddles a step or an end of the window", () => {
    const q = "{ kind = server } | rate()";
    for (const b of [
      { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: 90_000 },
      { startMs: T0 + 30_000, endMs: T0 + 20 * MINUTE, stepMs: MINUTE },
      { startMs: T0, endMs: T0 + 20 * MINUTE - 1, stepMs: MINUTE },
      { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: 1000 },
    ]) {
      expect(fromRows(q, b, specs), JSON.stringify(b)).toBeUndefined();
    }
  });

  it("answers a step that is not whole minutes when no matching minute straddles", () => {
    // Spans only in minutes 0, 3 and 4 of [T0, T0 + 6 min); 90 s steps split minutes 1 and 4... only 1 is empty.
    const sparse: Spec[] = [0, 3].flatMap((m) => [
      { service: "web", name: "GET /", kind: 2, status: 0, startMs: T0 + m * MINUTE + 1000 },
      { service: "web", name: "GET /", kind: 2, status: 2, startMs: T0 + m * MINUTE + 59_000 },
    ]);
    const b = { startMs: T0, endMs: T0 + 6 * MINUTE, stepMs: 90_000 };
    const q = "{ kind = server } | rate() by(name)";
    expect(fromRows(q, b, sparse)).toEqual(scan(q, b, sparse));
    // A span in minute 4, which straddles 4.5 min: not placeable.
    expect(fromRows(q, b, [...sparse, { service: "web", name: "GET /", kind: 2, status: 0, startMs: T0 + 4 * MINUTE }])).toBeUndefined();
    // ...unless it does not match.
    expect(fromRows(q, b, [...sparse, { service: "web", name: "GET /", kind: 1, status: 0, startMs: T0 + 4 * MINUTE }])).toEqual(scan(q, b, sparse));
  });

  it("needs every span in the window to have a service name (the rows leave the others out)", () => {
    const unnamed = workload(11, 1000, 10, { unnamed: true });
    const b = { startMs: T0, endMs: T0 + 10 * MINUTE, stepMs: MINUTE };
    const q = "{ kind = server } | rate() by(resource.service.name)";
    expect(fromRows(q, b, unnamed, false)).toBeUndefined();
    // Why: the scan answers a series without the label for them.
    expect(scan(q, b, unnamed).some((s) => s.labels.length === 0)).toBe(true);
  });

  it("does not tell OK from UNSET", () => {
    const b = { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: MINUTE };
    expect(fromRows("{ kind = server && status = ok } | rate()", b, specs)).toBeUndefined();
    expect(fromRows("{ kind = server && status = unset } | rate()", b, specs)).toBeUndefined();
    // Fine where the rows of that key have errors only.
    const errorsOnly: Spec[] = [{ service: "web", name: "GET /", kind: 2, status: 2, startMs: T0 + 1000 }];
    expect(fromRows("{ kind = server && status = ok } | count_over_time()", b, errorsOnly)).toEqual([]);
  });
});

describe("metricsFromRollups: quantiles from the operation rows' histograms", () => {
  // Named resources only (the operation rows need every span named), durations from 0 to seconds.
  const specs = wideWorkload(13, 4000, 20, RESOURCES.slice(0, 5));
  const QUANTILE_SHAPES = [
    "{ kind = server } | quantile_over_time(duration, 0.5, 0.99) by(name)",
    "{ kind = server || kind = client } | quantile_over_time(duration, 0, 0.9, 1) by(resource.service.name, kind)",
    '{ kind = consumer && resource.service.name = "web" } | quantile_over_time(duration, 0.5)',
    "{ kind = server || kind = producer } | quantile_over_time(duration, 0.25, 0.75)",
  ];
  for (const q of QUANTILE_SHAPES) {
    it(`answers ${q} within ${(ROLLUP_QUANTILE_RELATIVE_ERROR * 100).toFixed(2)}% of the scan`, () => {
      expect(rollupSource(parseMetricsQuery(q))).toBe("operations");
      for (const b of [
        { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: MINUTE },
        { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: 5 * MINUTE },
      ]) {
        expectQuantilesWithinBound(fromRows(q, b, specs), scan(q, b, specs), `${q} ${JSON.stringify(b)}`);
      }
    });
  }

  it("falls back when a row's spans match by status: one histogram holds them all", () => {
    const b = { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: MINUTE };
    expect(fromRows("{ kind = server && status = error } | quantile_over_time(duration, 0.5)", b, specs)).toBeUndefined();
    // Unless each row's spans are all errors, or none is.
    const errorsOnly: Spec[] = [1, 2, 3].map((i) => ({ service: "web", name: "GET /", kind: 2, status: 2, startMs: T0 + i * 1000, durMs: i * 10 }));
    const q = "{ kind = server && status = error } | quantile_over_time(duration, 0.5)";
    expectQuantilesWithinBound(fromRows(q, b, errorsOnly), scan(q, b, errorsOnly), q);
  });
});

// ---- Service rows: every span of every service --------------------------------------------------

const SERVICE_SHAPES = [
  "{ } | rate()",
  "{ } | count_over_time()",
  "{ } | rate() by(resource.service.name)",
  "{ } | count_over_time() by(resource.service.name)",
  '{ resource.service.name = "web" } | rate()',
  '{ resource.service.name = "" } | count_over_time()',
  '{ resource.service.name != "web" } | rate() by(resource.service.name)',
  '{ resource.service.name =~ "c.*|db-.*" } | count_over_time() by(resource.service.name)',
  '{ resource.service.name !~ "c.*" } | rate()',
  "{ status = error } | rate()",
  "{ status = error } | rate() by(resource.service.name)",
  "{ status != error } | count_over_time() by(resource.service.name)",
  '{ resource.service.name = "cart" && status = error } | rate()',
  '{ resource.service.name = "cart" || status = error } | rate() by(resource.service.name)',
  "{ resource.service.name = nil } | count_over_time()",
  "{ resource.service.name != nil } | rate() by(resource.service.name)",
  "{ } | { status = error } | count_over_time()",
  '{ resource.service.name = "web" } || { status = error } | rate() by(resource.service.name)',
  "{ true } | rate()",
  // OK apart from UNSET, by status, and root spans: Grafana Traces Drilldown's panels.
  "{ status = ok } | rate()",
  "{ status = unset } | count_over_time() by(resource.service.name)",
  "{ } | rate() by(status)",
  "{ nestedSetParent<0 && true && status!=error } | rate() by(resource.service.name, status)",
  "{ nestedSetParent<0 && true && status=error } | rate() by(resource.service.name)",
  "{ true && true && status!=error } | rate() by(resource.service.name, status)",
  "{ nestedSetParent < 0 } | count_over_time()",
  "{ nestedSetParent >= 0 } | count_over_time() by(status)",
  "{ nestedSetParent != -1 && status = ok } | rate()",
  "{ -1 = nestedSetParent } | rate()",
  "{ nestedSetParent < -3 || nestedSetParent > -0.5 } | rate()",
  "{ !(nestedSetParent < 0) } | rate()",
];

describe("metricsFromServiceRollups: the block scan's answer from the service rows", () => {
  const specs = wideWorkload(21, 4000, 20);

  it("the workload has what the operation rows miss: other kinds, and unnamed, empty and typed names", () => {
    const b = ALIGNED[0]!;
    const byService = scan("{ } | count_over_time() by(resource.service.name)", b, specs).map((x) => x.promLabels);
    expect(byService).toEqual(expect.arrayContaining(["{}", '{resource.service.name=""}', '{resource.service.name="7"}', '{resource.service.name="NaN"}', '{resource.service.name="web"}']));
    const total = (xs: Series[]) => xs.reduce((n, x) => n + x.samples.reduce((m, p) => m + p.value, 0), 0);
    // A child's trace holds its parent too.
    const spans = specs.length + specs.filter((x) => x.parent === "child").length;
    expect(total(scan("{ } | count_over_time()", b, specs))).toBe(spans);
    expect(rowsOf(specs).reduce((n, r) => n + r.count, 0)).toBeLessThan(spans * 0.6);
  });

  for (const q of SERVICE_SHAPES) {
    it(`answers ${q}`, () => {
      expect(rollupSource(parseMetricsQuery(q))).toBe("services");
      expect(rollupUnsupportedReason(parseMetricsQuery(q))).toBeUndefined();
      for (const b of ALIGNED) {
        const want = scan(q, b, specs);
        expect(fromServiceRows(q, b, specs), JSON.stringify(b)).toEqual(want);
        // And from the rows D1 sums per step.
        expect(metricsFromServiceRollups(parseMetricsQuery(q), b, summedPerStep(serviceRowsOf(specs), b), { from: 0 }), `summed ${JSON.stringify(b)}`).toEqual(want);
      }
    });
  }

  it("answers quantiles of durations within the documented bound", () => {
    for (const q of [
      "{ } | quantile_over_time(duration, 0, 0.5, 0.9, 0.99, 1) by(resource.service.name)",
      '{ resource.service.name = "web" } | quantile_over_time(duration, 0.5)',
      '{ resource.service.name != "cart" } | quantile_over_time(duration, 0.1, 0.999)',
    ]) {
      for (const b of ALIGNED.slice(0, 3)) expectQuantilesWithinBound(fromServiceRows(q, b, specs), scan(q, b, specs), `${q} ${JSON.stringify(b)}`);
      // Summed rows carry no histogram: the reader reads minutes with them for quantiles.
      expect(metricsFromServiceRollups(parseMetricsQuery(q), ALIGNED[0]!, summedPerStep(serviceRowsOf(specs), ALIGNED[0]!), { from: 0 })).toBeUndefined();
    }
    // A row's spans share a status and root or not: their histogram serves any of those conditions.
    for (const q of ["{ status = error } | quantile_over_time(duration, 0.5)", "{ nestedSetParent<0 && true } | quantile_over_time(duration, 0.9) by()", "{ status = ok } | quantile_over_time(duration, 0.5, 0.99) by(status)"]) {
      expectQuantilesWithinBound(fromServiceRows(q, ALIGNED[0]!, specs), scan(q, ALIGNED[0]!, specs), q);
    }
  });

  it("answers only from the first minute the rows hold every span", () => {
    const q = "{ } | rate()";
    const b = ALIGNED[0]!;
    expect(fromServiceRows(q, b, specs, T0 / 1000)).toEqual(scan(q, b, specs));
    expect(fromServiceRows(q, b, specs, T0 / 1000 + 60)).toBeUndefined();
    expect(fromServiceRows(q, { ...b, startMs: T0 + MINUTE }, specs, T0 / 1000 + 60)).toEqual(scan(q, { ...b, startMs: T0 + MINUTE }, specs));
  });

  it("falls back when a minute with matching spans straddles a step or an end of the window", () => {
    for (const b of [
      { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: 90_000 },
      { startMs: T0 + 30_000, endMs: T0 + 20 * MINUTE, stepMs: MINUTE },
      { startMs: T0, endMs: T0 + 20 * MINUTE - 1, stepMs: MINUTE },
    ]) {
      expect(fromServiceRows("{ } | rate()", b, specs), JSON.stringify(b)).toBeUndefined();
      expect(metricsFromServiceRollups(parseMetricsQuery("{ } | rate()"), b, summedPerStep(serviceRowsOf(specs), b), { from: 0 }), `summed ${JSON.stringify(b)}`).toBeUndefined();
    }
  });

  it("the workload has roots, children and orphans, of every status", () => {
    const rows = serviceRowsOf(specs);
    expect(new Set(rows.map((r) => `${r.root}/${r.status}`))).toEqual(new Set(["0/0", "0/1", "0/2", "0/3", "1/0", "1/1", "1/2", "1/3"]));
    const children = scan("{ nestedSetParent > 0 } | count_over_time()", ALIGNED[0]!, specs)[0]!.samples.reduce((n, p) => n + p.value, 0);
    const orphans = scan("{ nestedSetParent = 0 } | count_over_time()", ALIGNED[0]!, specs)[0]!.samples.reduce((n, p) => n + p.value, 0);
    expect(children).toBeGreaterThan(500);
    expect(orphans).toBeGreaterThan(500);
  });

  it("leaves to the scan what tells non-root spans apart", () => {
    for (const q of ["{ nestedSetParent = 0 } | rate()", "{ nestedSetParent > 0 } | rate()", "{ nestedSetParent <= 0 } | rate()", "{ nestedSetParent < 3 } | rate()", "{ nestedSetParent + 1 > 0 } | rate()", "{ nestedSetParent = nestedSetLeft } | rate()"]) {
      const mq = parseMetricsQuery(q);
      expect(rollupSource(mq), q).toBeUndefined();
      expect(rollupUnsupportedReason(mq), q).toMatch(/nestedSet/);
    }
  });

  it("gives no series where the scan gives none, and ignores rows outside the window", () => {
    expect(fromServiceRows('{ resource.service.name = "nobody" } | rate()', ALIGNED[0]!, specs)).toEqual([]);
    const later = { startMs: T0 + 60 * MINUTE, endMs: T0 + 70 * MINUTE, stepMs: MINUTE };
    expect(fromServiceRows("{ } | rate()", later, specs)).toEqual([]);
    expect(metricsFromServiceRollups(parseMetricsQuery("{ } | rate()"), later, summedPerStep(serviceRowsOf(specs), later), { from: 0 })).toEqual([]);
  });

  it("leaves the operation rows' shapes to the operation rows", () => {
    expect(metricsFromServiceRollups(parseMetricsQuery("{ kind = server } | rate()"), ALIGNED[0]!, serviceRowsOf(specs), { from: 0 })).toBeUndefined();
    expect(metricsFromRollups(parseMetricsQuery("{ } | rate()"), ALIGNED[0]!, rowsOf(specs), { everySpanNamed: true })).toBeUndefined();
  });
});

describe("rollupUnsupportedReason: what scans", () => {
  const table: [string, RegExp][] = [
    // Name or kind: only the operation rows have them, and they count SERVER, CLIENT, PRODUCER and CONSUMER spans only.
    ["{ } | count_over_time() by(name)", /kinds/],
    ["{ } | rate() by(kind)", /kinds/],
    ['{ name = "GET /" } | rate()', /kinds/],
    ["{ kind != internal } | rate()", /kinds/],
    ["{ !(kind = internal) && kind != unspecified } | rate()", /kinds/], // a kind outside the enum passes
    ["{ kind = server || name = \"x\" } | rate()", /kinds/],
    ["{ kind = server } || { } | rate()", /kinds/],
    ["{ status = error } | quantile_over_time(duration, 0.5) by(name)", /kinds/],
    // Fields the rows do not hold.
    ["{ kind = server } | rate() by(span.http.route)", /by\(span\.http\.route\)/],
    ["{ } | rate() by(span.http.route)", /by\(span\.http\.route\)/],
    ["{ kind = server } | rate() by(span.kind)", /by\(span\.kind\)/],
    ["{ kind = server } | rate() by(status)", /by\(status\)/],
    ["{ kind = server } | rate() by(.service.name)", /by\(\.service\.name\)/],
    ['{ kind = server && span.http.route = "/x" } | rate()', /span\.http\.route/],
    ['{ kind = server && .service.name = "web" } | rate()', /\.service\.name/],
    ['{ .service.name = "web" } | rate()', /\.service\.name/],
    ['{ resource.host.name = "h1" } | rate()', /resource\.host\.name/],
    ["{ kind = server && duration > 1s } | rate()", /duration/],
    ["{ duration > 1s } | rate() by(resource.service.name)", /duration/],
    ["{ kind = server && span:parentID = nil } | rate()", /span:parentID/],
    ['{ kind = server && rootServiceName = "web" } | rate()', /trace:rootService/],
    ['{ kind = server && statusMessage = "x" } | rate()', /statusMessage/],
    // Answers that depend on the rest of the trace.
    ["{ kind = server } && { kind = client } | rate()", /other spans/],
    ["{ kind = client } > { kind = server } | rate()", /other spans/],
    ["{ status = error } >> { } | rate() by(resource.service.name)", /other spans/],
    ["{ kind = server } | count() > 2 | rate()", /other spans/],
    ["{ kind = server } | by(name) | rate()", /other spans/],
    // Functions the rows cannot answer exactly: every span's value.
    ["{ } | min_over_time(duration)", /min_over_time\(\): not answered/],
    ["{ } | max_over_time(duration) by(resource.service.name)", /max_over_time/],
    ["{ kind = server } | sum_over_time(duration)", /sum_over_time/],
    ["{ status = error } | avg_over_time(duration)", /avg_over_time/],
    ["{ } | compare({ status = error })", /compare/],
    // The rows' histograms are of durations, not of attributes.
    ["{ } | quantile_over_time(span.size, 0.5)", /durations only/],
    ["{ kind = server } | quantile_over_time(resource.x, 0.9) by(name)", /durations only/],
    ["{ } | histogram_over_time(span.size)", /histogram_over_time\(span\.size\): the rows hold durations only/],
    ["{ kind = server } | histogram_over_time(span.size) by(name)", /durations only/],
  ];
  for (const [q, reason] of table) {
    it(`scans ${q}`, () => {
      const mq = parseMetricsQuery(q);
      expect(rollupUnsupportedReason(mq)).toMatch(reason);
      expect(rollupSource(mq)).toBeUndefined();
      expect(metricsFromRollups(mq, { startMs: T0, endMs: T0 + MINUTE, stepMs: MINUTE }, [], { everySpanNamed: true })).toBeUndefined();
      expect(metricsFromServiceRollups(mq, { startMs: T0, endMs: T0 + MINUTE, stepMs: MINUTE }, [], { from: 0 })).toBeUndefined();
    });
  }

  it("the operation rows would be wrong for `{ } | rate()`: the scan counts INTERNAL spans no operation row holds; the service rows do", () => {
    const specs = workload(3, 500, 5);
    const b = { startMs: T0, endMs: T0 + 5 * MINUTE, stepMs: MINUTE };
    const rowTotal = rowsOf(specs).reduce((n, r) => n + r.count, 0);
    const scanTotal = scan("{ } | count_over_time()", b, specs)[0]!.samples.reduce((n, s) => n + s.value, 0);
    expect(scanTotal).toBeGreaterThan(rowTotal);
    expect(serviceRowsOf(specs).reduce((n, r) => n + r.count, 0)).toBe(scanTotal);
  });
});

// ---- histogram_over_time(duration): Tempo's buckets, exactly ------------------------------------

describe("histogram_over_time(duration) from the rows: the scan's series exactly", () => {
  /** Durations at and next to Tempo's bounds (powers of two ns), 0 and 1 ns (left out), and spread ones. */
  function edgeDurations(seed: number, specs: Spec[]): Spec[] {
    const r = rng(seed);
    return specs.map((s, i) => {
      const k = 1 + Math.floor(r() * 36);
      const choices = [0, 1, 2, 2 ** k - 1, 2 ** k, 2 ** k + 1, Math.floor(2 ** (r() * 35))];
      return i % 3 === 0 ? s : { ...s, durMs: undefined, durNs: choices[Math.floor(r() * choices.length)] };
    });
  }
  const serviceSpecs = edgeDurations(4, wideWorkload(31, 4000, 20));
  const operationSpecs = edgeDurations(5, wideWorkload(32, 4000, 20, RESOURCES.slice(0, 5)));

  const SERVICE_HISTOGRAMS = [
    "{ } | histogram_over_time(duration)",
    "{ } | histogram_over_time(duration) by(resource.service.name)",
    '{ resource.service.name = "web" } | histogram_over_time(duration)',
    '{ resource.service.name != "cart" } | histogram_over_time(duration) by(resource.service.name)',
  ];
  for (const q of SERVICE_HISTOGRAMS) {
    it(`answers ${q} from the service rows`, () => {
      expect(rollupSource(parseMetricsQuery(q))).toBe("services");
      for (const b of ALIGNED) {
        const want = scan(q, b, serviceSpecs);
        expect(fromServiceRows(q, b, serviceSpecs), JSON.stringify(b)).toEqual(want);
      }
      // The bounds next to the powers of two are there.
      const want = scan(q, ALIGNED[0]!, serviceSpecs);
      expect(want.length).toBeGreaterThan(20);
      // Rows summed per step by D1 carry no histogram.
      expect(metricsFromServiceRollups(parseMetricsQuery(q), ALIGNED[0]!, summedPerStep(serviceRowsOf(serviceSpecs), ALIGNED[0]!), { from: 0 })).toBeUndefined();
    });
  }

  const OPERATION_HISTOGRAMS = [
    "{ kind = server } | histogram_over_time(duration)",
    "{ kind = server || kind = client } | histogram_over_time(duration) by(name, kind)",
    '{ kind = consumer && resource.service.name = "web" } | histogram_over_time(duration) by(resource.service.name)',
  ];
  for (const q of OPERATION_HISTOGRAMS) {
    it(`answers ${q} from the operation rows`, () => {
      expect(rollupSource(parseMetricsQuery(q))).toBe("operations");
      for (const b of ALIGNED.slice(0, 3)) expect(fromRows(q, b, operationSpecs), JSON.stringify(b)).toEqual(scan(q, b, operationSpecs));
    });
  }

  it("falls back when a row's spans match by status, or a row's histogram has no Tempo buckets (stored before them)", () => {
    const b = ALIGNED[0]!;
    expect(fromServiceRows("{ status = error } | histogram_over_time(duration)", b, serviceSpecs)).toEqual(scan("{ status = error } | histogram_over_time(duration)", b, serviceSpecs));
    expect(fromRows("{ kind = server && status != error } | histogram_over_time(duration)", b, operationSpecs)).toBeUndefined();
    const rows = serviceRowsOf(serviceSpecs);
    const q = parseMetricsQuery("{ } | histogram_over_time(duration)");
    expect(metricsFromServiceRollups(q, b, rows, { from: 0 })).toEqual(scan("{ } | histogram_over_time(duration)", b, serviceSpecs));
    // Format 1 (shared/metrics/histogram.ts): 3 spans of 2 ms, no Tempo counts.
    const old = { ...rows[0]!, count: 3, errors: 0, durations: Uint8Array.from([1, 0, 0xf0, 0x2e, 16, 3]) };
    expect(LatencyHistogram.decode(old.durations).count).toBe(3);
    expect(metricsFromServiceRollups(q, b, [...rows, old], { from: 0 })).toBeUndefined();
    // Counts alone do not need them.
    expect(metricsFromServiceRollups(parseMetricsQuery("{ } | count_over_time()"), b, [...rows, old], { from: 0 })).toBeDefined();
  });
});
