import { describe, expect, it } from "vitest";
import type { ResourceSpans, Span } from "../model/span.ts";
import { criticalPath } from "./critical-path.ts";
import { buildSpanTree } from "./span-tree.ts";
import { selfTimeUs, traceStats } from "./trace-stats.ts";

const T0 = 1_700_000_000_000_000_000n;
const TRACE = "0af7651916cd43dd8448eb211c80319c";

function span(id: string, parent: string, name: string, startUs: number, endUs: number, extra: Partial<Span> = {}): Span {
  return {
    traceId: TRACE, spanId: id.padStart(16, "0"), parentSpanId: parent ? parent.padStart(16, "0") : "", name, traceState: "", flags: 1, kind: 1,
    startTimeUnixNano: String(T0 + BigInt(startUs) * 1000n), endTimeUnixNano: String(T0 + BigInt(endUs) * 1000n),
    attributes: [], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: "" }, ...extra,
  };
}

function trace(byService: Record<string, Span[]>): ResourceSpans[] {
  return Object.entries(byService).map(([service, spans]) => ({
    resource: { attributes: [{ key: "service.name", value: { stringValue: service } }], droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeSpans: [{ scope: { name: "t", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }],
  }));
}

// root 0-100 (api) -> A 10-40 (api), B 30-90 (db) -> C 40-80 (db)
const sample = () =>
  buildSpanTree(
    trace({
      api: [span("1", "", "GET /", 0, 100), span("2", "1", "A", 10, 40)],
      db: [span("3", "1", "B", 30, 90, { status: { code: 2, message: "x" } }), span("4", "3", "C", 40, 80)],
    }),
  );

describe("span tree", () => {
  it("orders spans depth first by start, with depths, services and times from the trace start", () => {
    const tree = sample();
    expect(tree.ordered.map((n) => [n.span.name, n.depth, n.service, n.startUs, n.endUs])).toEqual([
      ["GET /", 0, "api", 0, 100],
      ["A", 1, "api", 10, 40],
      ["B", 1, "db", 30, 90],
      ["C", 2, "db", 40, 80],
    ]);
    expect(tree.durationUs).toBe(100);
  });

  it("shows a span whose parent is missing as a root, and survives parent cycles", () => {
    const orphan = buildSpanTree(trace({ a: [span("1", "", "root", 0, 10), span("2", "9", "orphan", 5, 8)] }));
    expect(orphan.roots.map((n) => n.span.name)).toEqual(["root", "orphan"]);
    const cycle = buildSpanTree(trace({ a: [span("1", "2", "x", 0, 10), span("2", "1", "y", 1, 5)] }));
    expect(cycle.ordered.map((n) => n.span.name).sort()).toEqual(["x", "y"]);
  });

  it("attaches a child to the other half of a shared Zipkin span id, not to itself", () => {
    const tree = buildSpanTree(trace({ client: [span("1", "", "call", 0, 50, { kind: 3 })], server: [span("1", "1", "handle", 5, 45, { kind: 2 })] }));
    expect(tree.ordered.map((n) => [n.span.name, n.depth])).toEqual([
      ["call", 0],
      ["handle", 1],
    ]);
  });
});

describe("critical path", () => {
  it("follows what each span waited for, back from the end", () => {
    const path = criticalPath(sample());
    expect(path.map((s) => [s.node.span.name, s.startUs, s.endUs])).toEqual([
      ["GET /", 0, 10],
      ["A", 10, 30],
      ["B", 30, 40],
      ["C", 40, 80],
      ["B", 80, 90],
      ["GET /", 90, 100],
    ]);
    // It covers the root exactly once.
    expect(path.reduce((n, s) => n + s.endUs - s.startUs, 0)).toBe(100);
  });

  it("ignores children that start after the ones that end last, and async children past the end", () => {
    const tree = buildSpanTree(trace({ a: [span("1", "", "root", 0, 100), span("2", "1", "fast", 10, 20), span("3", "1", "async", 50, 300)] }));
    expect(criticalPath(tree).map((s) => [s.node.span.name, s.startUs, s.endUs])).toEqual([
      ["root", 0, 10],
      ["fast", 10, 20],
      ["root", 20, 50],
      ["async", 50, 100],
    ]);
  });
});

describe("trace statistics", () => {
  it("counts self time once for concurrent children", () => {
    const tree = sample();
    expect(tree.ordered.map((n) => selfTimeUs(n))).toEqual([20, 30, 20, 40]);
  });

  it("groups by service and operation with counts, totals, self time and errors", () => {
    const stats = traceStats(sample());
    expect(stats.find((s) => s.operation === "B")).toEqual({ service: "db", operation: "B", count: 1, totalUs: 60, selfUs: 20, minUs: 60, maxUs: 60, errors: 1 });
    expect(stats.reduce((n, s) => n + s.selfUs, 0)).toBe(110); // self times of all spans (C is concurrent with A)
  });
});

describe("trace comparison", () => {
  it("matches spans by structure, lists added and removed spans, and finds what got slower", async () => {
    const { compareTraces, slowerSpans } = await import("./compare-traces.ts");
    const before = buildSpanTree(trace({ api: [span("1", "", "GET /", 0, 100), span("2", "1", "auth", 5, 15), span("3", "1", "query", 20, 60), span("4", "1", "query", 60, 90)] }));
    const after = buildSpanTree(trace({ api: [span("a", "", "GET /", 0, 200), span("b", "a", "query", 20, 150), span("c", "a", "query", 150, 180), span("d", "a", "cache", 180, 190)] }));
    const c = compareTraces(before, after);
    expect(c.removed.map((r) => r.path)).toEqual(["api:GET /[0] > api:auth[0]"]);
    expect(c.added.map((r) => r.path)).toEqual(["api:GET /[0] > api:cache[0]"]);
    expect(c.matched.map((m) => [m.path, m.deltaUs])).toEqual([
      ["api:GET /[0]", 100],
      ["api:GET /[0] > api:query[0]", 90],
      ["api:GET /[0] > api:query[1]", 0],
    ]);
    expect(slowerSpans(c).map((m) => m.path)).toEqual(["api:GET /[0]", "api:GET /[0] > api:query[0]"]);
  });

  it("finds spans whose error status differs, and counts each trace's errors", async () => {
    const { compareTraces, errorCounts, statusChanges } = await import("./compare-traces.ts");
    const err = { status: { code: 2, message: "boom" } };
    const before = buildSpanTree(trace({ api: [span("1", "", "GET /", 0, 100), span("2", "1", "pay", 5, 15, err), span("3", "1", "query", 20, 60), span("4", "1", "gone", 60, 70, err)] }));
    const after = buildSpanTree(trace({ api: [span("a", "", "GET /", 0, 100), span("b", "a", "pay", 5, 15), span("c", "a", "query", 20, 60, err), span("d", "a", "new", 60, 70, err)] }));
    const changes = statusChanges(compareTraces(before, after));
    expect(changes.map((x) => [x.path, x.change])).toEqual([
      ["api:GET /[0] > api:pay[0]", "error gone"],
      ["api:GET /[0] > api:query[0]", "new error"],
    ]);
    expect(errorCounts(before, after)).toEqual({ a: 2, b: 2 });
  });
});
