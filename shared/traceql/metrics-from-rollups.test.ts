import { describe, expect, it } from "vitest";
import { summarizeTrace } from "../block/summarize.ts";
import { RedAccumulator } from "../metrics/red.ts";
import type { Resource, ResourceSpans, Span } from "../model/span.ts";
import { compileQuery } from "./eval.ts";
import { metricsFromRollups, rollupUnsupportedReason } from "./metrics-from-rollups.ts";
import { MetricsAccumulator, parseMetricsQuery, spanLabels, type Bucketing, type Series } from "./metrics.ts";

// A workload of spans of every kind and status, the rows the assembler's accumulator makes of it,
// and the answer the block scan would give (its loop in shared/search/metrics-blocks.ts, over
// the traces in memory): the rows' answer must be that answer, or undefined.

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
  name: string;
  kind: number;
  status: number;
  startMs: number;
}

function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, "0");
}

/** Each span its own trace (the scan's answer does not depend on how spans group into traces here). */
function toTraces(specs: Spec[]): { traceId: string; resourceSpans: ResourceSpans[] }[] {
  return specs.map((s, i) => {
    const traceId = hex(i + 1, 32);
    const span: Span = {
      traceId, spanId: hex(i + 1, 16), traceState: "", parentSpanId: "", flags: 1, name: s.name, kind: s.kind,
      startTimeUnixNano: `${s.startMs}123456`, endTimeUnixNano: `${s.startMs + 5}000000`,
      attributes: [{ key: "http.route", value: { stringValue: "/x" } }], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
      status: { code: s.status, message: "" },
    };
    const resource: Resource = { attributes: s.service === undefined ? [] : [{ key: "service.name", value: { stringValue: s.service } }], droppedAttributesCount: 0 };
    return { traceId, resourceSpans: [{ resource, schemaUrl: "", scopeSpans: [{ scope: { name: "s", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans: [span] }] }] };
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

function rowsOf(specs: Spec[]) {
  const red = new RedAccumulator("t");
  for (const t of toTraces(specs)) red.addSpans(t);
  return red.rows();
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
          const start = BigInt(span.startTimeUnixNano);
          acc.add({ startMs: Number(start / 1_000_000n), durationNanos: Number(BigInt(span.endTimeUnixNano) - start), labels: spanLabels(mq.by, span, rs.resource) });
        }
      }
    }
  }
  return acc.series();
}

const fromRows = (q: string, b: Bucketing, specs: Spec[], everySpanNamed = true) => metricsFromRollups(parseMetricsQuery(q), b, rowsOf(specs), { everySpanNamed });

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
  const aligned: Bucketing[] = [
    { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: MINUTE },
    { startMs: T0, endMs: T0 + 20 * MINUTE, stepMs: 5 * MINUTE },
    { startMs: T0 + 2 * MINUTE, endMs: T0 + 9 * MINUTE, stepMs: 2 * MINUTE }, // last step cut short by the end
    { startMs: T0 - 10 * MINUTE, endMs: T0 + 40 * MINUTE, stepMs: 10 * MINUTE },
  ];

  for (const q of SUPPORTED) {
    it(`answers ${q}`, () => {
      expect(rollupUnsupportedReason(parseMetricsQuery(q))).toBeUndefined();
      for (const b of aligned) {
        const got = fromRows(q, b, specs);
        expect(got, JSON.stringify(b)).toBeDefined();
        expect(got).toEqual(scan(q, b, specs));
      }
    });
  }

  it("gives no series where the scan gives none", () => {
    expect(fromRows('{ kind = server && resource.service.name = "nobody" } | rate()', aligned[0]!, specs)).toEqual([]);
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

describe("rollupUnsupportedReason: what scans", () => {
  const table: [string, RegExp][] = [
    // The rows count SERVER, CLIENT, PRODUCER and CONSUMER spans only.
    ["{ } | rate()", /kinds/],
    ["{ } | rate() by(resource.service.name)", /kinds/],
    ['{ resource.service.name = "web" } | rate()', /kinds/],
    ["{ status = error } | rate()", /kinds/],
    ["{ status = error } | rate() by(resource.service.name)", /kinds/],
    ["{ } | count_over_time() by(name)", /kinds/],
    ["{ kind != internal } | rate()", /kinds/],
    ["{ !(kind = internal) && kind != unspecified } | rate()", /kinds/], // a kind outside the enum passes
    ["{ kind = server || name = \"x\" } | rate()", /kinds/],
    ["{ kind = server } || { } | rate()", /kinds/],
    // Durations: the rows' histogram is approximate.
    ["{ kind = server } | quantile_over_time(duration, 0.5, 0.99)", /durations/],
    ["{ kind = server } | quantile_over_time(duration, 0.5) by(resource.service.name)", /durations/],
    // Fields the rows do not hold.
    ["{ kind = server } | rate() by(span.http.route)", /by\(span\.http\.route\)/],
    ["{ kind = server } | rate() by(span.kind)", /by\(span\.kind\)/],
    ["{ kind = server } | rate() by(status)", /by\(status\)/],
    ["{ kind = server } | rate() by(.service.name)", /by\(\.service\.name\)/],
    ['{ kind = server && span.http.route = "/x" } | rate()', /span\.http\.route/],
    ['{ kind = server && .service.name = "web" } | rate()', /\.service\.name/],
    ["{ kind = server && duration > 1s } | rate()", /duration/],
    ["{ kind = server && span:parentID = nil } | rate()", /span:parentID/],
    ['{ kind = server && rootServiceName = "web" } | rate()', /trace:rootService/],
    ['{ kind = server && statusMessage = "x" } | rate()', /statusMessage/],
    // Answers that depend on the rest of the trace.
    ["{ kind = server } && { kind = client } | rate()", /other spans/],
    ["{ kind = client } > { kind = server } | rate()", /other spans/],
    ["{ kind = server } | count() > 2 | rate()", /other spans/],
    ["{ kind = server } | by(name) | rate()", /other spans/],
  ];
  for (const [q, reason] of table) {
    it(`scans ${q}`, () => {
      const mq = parseMetricsQuery(q);
      expect(rollupUnsupportedReason(mq)).toMatch(reason);
      expect(metricsFromRollups(mq, { startMs: T0, endMs: T0 + MINUTE, stepMs: MINUTE }, [], { everySpanNamed: true })).toBeUndefined();
    });
  }

  it("would be wrong for `{ } | rate()`: the scan counts INTERNAL spans no row holds", () => {
    const specs = workload(3, 500, 5);
    const b = { startMs: T0, endMs: T0 + 5 * MINUTE, stepMs: MINUTE };
    const rowTotal = rowsOf(specs).reduce((n, r) => n + r.count, 0);
    const scanTotal = scan("{ } | count_over_time()", b, specs)[0]!.samples.reduce((n, s) => n + s.value, 0);
    expect(scanTotal).toBeGreaterThan(rowTotal);
  });
});
