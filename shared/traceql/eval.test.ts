import { describe, expect, it } from "vitest";
import { summarizeTrace } from "../block/summarize.ts";
import type { TraceFacts } from "../block/summarize.ts";
import type { AnyValue, KeyValue, ResourceSpans, Span } from "../model/span.ts";
import { compileTraceQL } from "./index.ts";

interface S {
  id: string;
  parent?: string;
  service: string;
  name: string;
  kind: number;
  status?: number;
  message?: string;
  startMs: number;
  durMs: number;
  attrs?: Record<string, string | number | boolean>;
}

const BASE = 1_700_000_000_000n * 1_000_000n;

function anyValue(v: string | number | boolean): AnyValue {
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}
const kvs = (o: Record<string, string | number | boolean> = {}): KeyValue[] => Object.entries(o).map(([key, v]) => ({ key, value: anyValue(v) }));

const RESOURCE_EXTRA: Record<string, Record<string, string | number | boolean>> = {
  worker: { "deployment.environment": "prod", region: "eu" },
  api: { region: "eu" },
};

function trace(traceId: string, spans: S[]): { id: string; rs: ResourceSpans[]; summary: TraceFacts } {
  const byService = new Map<string, Span[]>();
  for (const s of spans) {
    const start = BASE + BigInt(s.startMs) * 1_000_000n;
    const span: Span = {
      traceId, spanId: s.id, traceState: "", parentSpanId: s.parent ?? "", flags: 0, name: s.name, kind: s.kind,
      startTimeUnixNano: start.toString(), endTimeUnixNano: (start + BigInt(s.durMs) * 1_000_000n).toString(),
      attributes: kvs(s.attrs), droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
      status: { code: s.status ?? 0, message: s.message ?? "" },
    };
    const list = byService.get(s.service) ?? [];
    list.push(span);
    byService.set(s.service, list);
  }
  const rs: ResourceSpans[] = [...byService].map(([service, list]) => ({
    resource: { attributes: kvs({ "service.name": service, ...RESOURCE_EXTRA[service] }), droppedAttributesCount: 0 },
    scopeSpans: [{ scope: { name: "t", version: "", attributes: [], droppedAttributesCount: 0 }, spans: list, schemaUrl: "" }],
    schemaUrl: "",
  }));
  return { id: traceId, rs, summary: summarizeTrace(traceId, rs) };
}

const T = "0000000000000000000000000000000";
const DATA = [
  // a1: cart page, healthy, with a postgres call.
  trace(`${T}1`, [
    { id: "1100000000000001", service: "frontend", name: "GET /cart", kind: 2, startMs: 0, durMs: 1200, attrs: { "http.method": "GET", "http.status_code": 200, "http.url": "/cart" } },
    { id: "1100000000000002", parent: "1100000000000001", service: "frontend", name: "HTTP GET", kind: 3, startMs: 10, durMs: 1100, attrs: { "http.method": "GET" } },
    { id: "1100000000000003", parent: "1100000000000002", service: "cart", name: "GET /cart", kind: 2, startMs: 20, durMs: 1000, attrs: { "http.method": "GET" } },
    { id: "1100000000000004", parent: "1100000000000003", service: "cart", name: "SELECT cart", kind: 3, startMs: 30, durMs: 700, attrs: { "db.system": "postgresql", "db.rows": 3 } },
  ]),
  // a2: checkout with a failed payment and a mysql call.
  trace(`${T}2`, [
    { id: "2200000000000001", service: "frontend", name: "GET /checkout", kind: 2, startMs: 0, durMs: 3000, attrs: { "http.method": "GET", "http.status_code": 500 } },
    { id: "2200000000000002", parent: "2200000000000001", service: "checkout", name: "POST /checkout", kind: 2, status: 2, message: "payment failed", startMs: 100, durMs: 2800, attrs: { "http.method": "POST", "http.status_code": 500 } },
    { id: "2200000000000003", parent: "2200000000000002", service: "checkout", name: "charge", kind: 3, status: 2, startMs: 200, durMs: 2000 },
    { id: "2200000000000004", parent: "2200000000000003", service: "payment", name: "charge", kind: 2, status: 2, message: "card declined", startMs: 210, durMs: 1900, attrs: { amount: 12.5 } },
    { id: "2200000000000005", parent: "2200000000000002", service: "checkout", name: "SELECT orders", kind: 3, startMs: 2300, durMs: 300, attrs: { "db.system": "mysql", "db.rows": 10 } },
  ]),
  // a3: a consumer in a worker, resource attributes.
  trace(`${T}3`, [
    { id: "3300000000000001", service: "worker", name: "consume orders", kind: 5, startMs: 0, durMs: 50, attrs: { "messaging.system": "kafka", retry: false } },
    { id: "3300000000000002", parent: "3300000000000001", service: "worker", name: "process", kind: 1, status: 1, startMs: 5, durMs: 40, attrs: { region: "us" } },
  ]),
  // a4: a tiny 404.
  trace(`${T}4`, [
    { id: "4400000000000001", service: "frontend", name: "GET", kind: 2, status: 1, startMs: 0, durMs: 20, attrs: { "http.status_code": 404, "foo bar": "baz", "http.method": "GET" } },
  ]),
  // a5: a producer with three internal siblings, one failing.
  trace(`${T}5`, [
    { id: "5500000000000001", service: "api", name: "publish", kind: 4, startMs: 0, durMs: 500 },
    { id: "5500000000000002", parent: "5500000000000001", service: "api", name: "validate", kind: 1, startMs: 10, durMs: 5 },
    { id: "5500000000000003", parent: "5500000000000001", service: "api", name: "enqueue", kind: 1, startMs: 20, durMs: 100, attrs: { "queue.depth": 7 } },
    { id: "5500000000000004", parent: "5500000000000001", service: "api", name: "audit", kind: 1, status: 2, message: "audit log full", startMs: 130, durMs: 60 },
    { id: "5500000000000005", parent: "5500000000000003", service: "api", name: "write", kind: 0, startMs: 25, durMs: 50 },
  ]),
];

/** Runs a query over the dataset; returns the short ids (last digit) of matching traces, checking that pruning is sound. */
function run(q: string, spss?: number) {
  const m = compileTraceQL(q, spss === undefined ? {} : { spss });
  const hits: { trace: string; sets: NonNullable<ReturnType<typeof m.match>> }[] = [];
  for (const t of DATA) {
    const may = m.mayMatch(t.summary);
    const sets = m.match(t.rs, t.summary);
    if (sets) expect(may, `mayMatch pruned a matching trace for ${q}`).toBe(true);
    if (m.summaryOnly) expect(!!sets).toBe(may);
    if (sets) hits.push({ trace: t.id.slice(-1), sets });
  }
  return hits;
}
const traces = (q: string) => run(q).map((h) => h.trace).join("");
const spanIds = (q: string) => run(q, 100).flatMap((h) => h.sets.flatMap((s) => s.spans.map((x) => x.spanID.slice(0, 2) + x.spanID.slice(-1))));

// [query, matching traces (last digit of the trace id)]
const TABLE: [string, string][] = [
  ["{}", "12345"],
  ["{ }", "12345"],
  ["{ true }", "12345"],
  ["{ false }", ""],
  ['{ resource.service.name = "cart" }', "1"],
  ['{ .service.name = "payment" }', "2"],
  ['{ span.service.name = "payment" }', ""],
  ['{ resource.service.name != "frontend" }', "1235"],
  ['{ name = "GET /cart" }', "1"],
  ['{ name =~ "GET" }', "4"],
  ['{ name =~ "GET.*" }', "124"],
  ['{ name =~ "(?i)get /CART" }', "1"],
  ['{ name !~ "GET.*" }', "1235"],
  ['{ name =~ "SELECT" }', ""],
  ["{ status = error }", "25"],
  ["{ status = ok }", "34"],
  ["{ status != unset }", "2345"],
  ["{ status = unset && name = \"write\" }", "5"],
  ['{ statusMessage = "card declined" }', "2"],
  ['{ statusMessage =~ ".*full" }', "5"],
  ["{ kind = server }", "124"],
  ["{ kind = client }", "12"],
  ["{ kind = consumer }", "3"],
  ["{ kind = producer }", "5"],
  ["{ kind = internal }", "35"],
  ["{ kind = unspecified }", "5"],
  ["{ duration > 1s }", "12"],
  ["{ duration >= 2s }", "2"],
  ["{ duration < 10ms }", "5"],
  ["{ duration > 1.5s && duration < 2500ms }", "2"],
  ["{ duration = 60ms }", "5"],
  ["{ duration > 100us && duration < 0.01s }", "5"],
  ["{ duration < 1m }", "12345"],
  ["{ duration > 1h }", ""],
  ['{ trace:rootService = "frontend" }', "124"],
  ['{ rootServiceName = "worker" }', "3"],
  ['{ trace:rootName = "publish" }', "5"],
  ['{ rootName =~ "GET /.*" }', "12"],
  ["{ trace:duration > 1s }", "12"],
  ["{ traceDuration < 100ms }", "34"],
  ['{ trace:id = "00000000000000000000000000000003" }', "3"],
  ['{ trace:id = "4" }', "4"],
  ['{ span:id = "5500000000000004" }', "5"],
  ['{ span:parentID = "5500000000000001" }', "5"],
  ["{ span.http.status_code = 500 }", "2"],
  ["{ span.http.status_code >= 400 }", "24"],
  ["{ .http.status_code = 500.0 }", "2"],
  ['{ span.http.status_code = "500" }', ""],
  ["{ span.amount > 12 }", "2"],
  ["{ span.amount = 12.5 }", "2"],
  ["{ span.retry = false }", "3"],
  ["{ span.retry }", ""],
  ['{ span."foo bar" = "baz" }', "4"],
  ['{ resource.deployment.environment = "prod" }', "3"],
  // Unscoped: span attribute first, then resource.
  ['{ .region = "us" }', "3"],
  ['{ .region = "eu" }', "35"],
  ['{ resource.region = "eu" && span.region = "us" }', "3"],
  // nil and missing attributes.
  ["{ span.db.system = nil && kind = client }", "12"],
  ['{ span.db.system = nil && kind = client && resource.service.name = "checkout" }', "2"],
  ["{ span.db.system != nil }", "12"],
  ['{ span.db.system != "mysql" }', "1"],
  ['{ !(span.db.system = "mysql") && kind = client }', "12"],
  // `&&` and `||` are one level, left to right, as in Tempo: (publish || GET) && error.
  ['{ name = "publish" || name = "GET" && status = error }', ""],
  ['{ status = error && name = "audit" || name = "publish" }', "5"],
  ['{ (name = "publish" || name = "GET") && status = ok }', "4"],
  ['{ name = "GET" && status = ok || name = "process" }', "34"],
  ["{ !(status = error) && kind = internal }", "35"],
  // Spanset operators.
  ['{ resource.service.name = "cart" } && { kind = server }', "1"],
  ['{ resource.service.name = "cart" } || { resource.service.name = "worker" }', "13"],
  ['{ kind = server } && { span.db.system = "mysql" } || { kind = consumer }', "23"],
  ['{ kind = server } && ({ span.db.system = "mysql" } || { kind = consumer })', "2"],
  // Structural.
  ['{ resource.service.name = "frontend" } > { resource.service.name = "cart" }', "1"],
  ['{ resource.service.name = "frontend" } >> { span.db.system != nil }', "12"],
  ['{ resource.service.name = "frontend" } > { span.db.system != nil }', ""],
  ['{ span.db.system != nil } < { kind = server }', "12"],
  ['{ span.db.system = "postgresql" } < { kind = server }', "1"],
  ['{ span.db.system != nil } << { name = "GET /checkout" }', "2"],
  ['{ status = error } ~ { name = "validate" }', "5"],
  ['{ name = "validate" } ~ { name = "validate" }', ""],
  ["{ kind = server } > { kind = client } > { kind = server }", "12"],
  ["{ kind = server } > { kind = client } > { kind = server } > { kind = client }", "1"],
  ['{ kind = producer } > { } > { name = "write" }', "5"],
  ['({ kind = server } > { kind = client }) && { span.db.system = "mysql" }', "2"],
  ['{ span.db.system = "mysql" } || { kind = consumer } > { kind = internal }', "23"],
  // Arithmetic and field against field (db.rows: 3 in a1, 10 in a2).
  ["{ span.db.rows * 2 > 10 }", "2"],
  ["{ span.db.rows + 7 = 10 }", "1"],
  ["{ -span.db.rows < -5 }", "2"],
  ["{ span.db.rows % 4 = 2 }", "2"],
  ["{ span.db.rows ^ 2 = 9 }", "1"],
  ["{ duration / 2 > 1s }", "2"],
  ["{ 2 ^ 3 ^ 2 = 512 && -2 ^ 2 = -4 }", "12345"],
  ["{ span.http.method + 1 = 2 }", ""],
  ["{ span.db.rows = span.db.rows }", "12"],
  ["{ span.db.rows < duration }", "12"],
  ["{ span.http.method =~ span.http.method }", "124"],
  ["{ span.http.method != span.http.url }", "1"],
  ["{ !span.retry }", "3"],
  ["{ !span.absent }", ""],
  // Pipelines.
  ["{ } | count() > 4", "25"],
  ["{ } | count() = 2", "3"],
  ["{ kind = internal } | count() >= 3", "5"],
  ["{ } | avg(duration) > 1s", "2"],
  ["{ } | avg(duration) >= 1s", "12"],
  ["{ } | max(duration) < 100ms", "34"],
  ["{ } | min(duration) <= 5ms", "5"],
  ["{ } | sum(duration) > 7s", "2"],
  ["{ span.db.rows != nil } | sum(span.db.rows) > 5", "2"],
  ["{ } | by(resource.service.name) | count() > 2", "25"],
  ["{ } | by(resource.service.name) | count() = 2", "13"],
  ["{ status = error } | by(resource.service.name) | count() > 1", "2"],
  ['{ } | { kind = client }', "12"],
  ['{ } | select(span.http.url) | count() > 3', "125"],
  ['({ kind = server } | count() > 1) && { kind = client }', "12"],
  // Scalar filters first in a pipeline read the whole trace (span counts: 4, 5, 2, 1, 5).
  ["count() > 4 | { kind = client }", "2"],
  ["count() = 1 | { true }", "4"],
  ["(count() > 1) | { kind = consumer }", "3"],
  // Average durations: a1 (1200+1100+1000+700)/4 = 1000ms, a2 (3000+2800+2000+1900+300)/5 = 2000ms.
  ["avg(duration) > 1s", "2"],
  ["avg(duration) >= 1s", "12"],
  ["max(duration) > 2s | { status = error }", "2"],
  // Aggregates of expressions (db.rows: 3 in a1, 10 in a2).
  ["{ } | max(span.db.rows + 1) > 5", "2"],
  ["{ } | max(span.db.rows * 2) = 6", "1"],
  ["{ } | sum(span:childCount) = 4", "25"],
  // Scalar arithmetic and numbers on either side.
  ["{ } | count() + 1 > 5", "25"],
  ["{ } | count() * 2 = 4", "3"],
  ["{ } | 2 < count()", "125"],
  ["{ } | max(duration) - min(duration) > 2s", "2"],
  ["{ } | 3 > 2", "12345"],
  ["{ } | 3 < 2", ""],
  // Wrapped pipelines compared (servers/clients: a1 2/2, a2 3/2, a3 0/0, a4 1/0, a5 0/0); a
  // pipeline that yields no spanset has no value, so a3's 0 = 0 does not hold.
  ["({ kind = server } | count()) = ({ kind = client } | count())", "1"],
  ["({ kind = server } | avg(duration)) > ({ kind = client } | avg(duration))", "12"],
  ["({ kind = server } | count()) + ({ kind = client } | count()) >= 4", "12"],
  ["({ kind = server } | count()) > 2", "2"],
  // Per service: a1 frontend 2, cart 2; a2 frontend 1, checkout 3, payment 1; a5 api 5.
  ["({ } | by(resource.service.name) | count()) > 2", "25"],
  // by() and select() first; by() of an expression; coalesce().
  ["by(resource.service.name) | count() = 1", "24"],
  ["select(span.db.rows) | { kind = client }", "12"],
  ["{ } | by(span.db.rows * 2) | count() = 1", "124"],
  ["{ } | by(resource.service.name) | coalesce() | count() = 5", "25"],
  ["{ } | by(resource.service.name) | count() = 1 | coalesce()", "24"],
  // The 64-bit bounds.
  ["{ span.db.rows > minInt && span.db.rows < maxInt }", "12"],
  ["{ span.db.rows > maxInt || span.db.rows < minInt }", ""],
  ["{ } | count() < maxInt", "12345"],
  // Root spans.
  ["{ parent = nil }", "12345"],
  ["{ parent = nil && kind = server }", "124"],
  ["{ parent != nil && kind = server }", "12"],
  ["{ parent != nil && kind = producer }", ""],
  // Hints are accepted and change nothing.
  ["{ kind = consumer } with(sample=true)", "3"],
  ["{ } | count() > 4 with(most_recent=true, sample=0.5)", "25"],
];

describe("TraceQL conformance", () => {
  it.each(TABLE)("%s", (q, expected) => {
    expect(traces(q)).toBe(expected);
  });

  it("returns the matching span ids", () => {
    expect(spanIds('{ resource.service.name = "frontend" } >> { span.db.system != nil }')).toEqual(["114", "225"]);
    expect(spanIds("{ status = error } ~ { kind = internal }")).toEqual(["552", "553"]);
    expect(spanIds('{ name = "write" } << { }')).toEqual(["551", "553"]);
    expect(spanIds("{ kind = client } < { }")).toEqual(["111", "113", "222"]);
  });

  // Worked out by hand on a5 (publish > validate, enqueue > write, audit[error]) and a2
  // (GET /checkout > POST /checkout[error] > charge[error, client] > charge[error, server];
  // POST /checkout > SELECT orders). A negated operator with no left span keeps every right span.
  it.each<[string, string[]]>([
    ['{ name = "enqueue" } !> { kind = unspecified }', []],
    ['{ name = "validate" } !> { kind = unspecified }', ["555"]],
    ['{ name = "nothing" } !> { kind = internal }', ["332", "552", "553", "554"]],
    ["{ status = error } !~ { kind = internal }", ["332", "554"]],
    ["{ kind = producer } !>> { kind = internal }", ["332"]],
    ['{ name = "write" } !< { kind = internal }', ["332", "552", "554"]],
    ['{ name = "write" } !<< { resource.service.name = "api" }', ["552", "554", "555"]],
    ["{ kind = producer } &> { kind = internal }", ["551", "552", "553", "554"]],
    ['{ name = "enqueue" } &>> { }', ["553", "555"]],
    ["{ status = error } &< { kind = server }", ["221", "222", "223"]],
    ['{ name = "write" } &<< { kind = producer }', ["551", "555"]],
    ['{ name = "validate" } &~ { name = "audit" }', ["552", "554"]],
    ['{ name = "nothing" } &> { }', []],
  ])("negated and union structural: %s", (q, ids) => {
    expect(spanIds(q)).toEqual(ids);
  });

  it("limits spans per spanset and reports matched", () => {
    const [hit] = run("{ trace:rootName = \"publish\" }", 2);
    expect(hit?.sets[0]?.matched).toBe(5);
    expect(hit?.sets[0]?.spans).toHaveLength(2);
    expect(run("{ }").find((h) => h.trace === "5")?.sets[0]?.spans).toHaveLength(3);
  });

  it("returns the referenced and selected attributes", () => {
    const [hit] = run('{ span.http.status_code = 404 } | select(span."foo bar", resource.service.name, span.missing)');
    const span = hit?.sets[0]?.spans[0];
    expect(span).toMatchObject({ spanID: "4400000000000001", name: "GET", durationNanos: "20000000" });
    expect(span?.attributes).toEqual([
      { key: "http.status_code", value: { intValue: "404" } },
      { key: "foo bar", value: { stringValue: "baz" } },
      { key: "service.name", value: { stringValue: "frontend" } },
    ]);
    const [err] = run('{ status = error && name = "audit" }');
    expect(err?.sets[0]?.spans[0]?.attributes).toEqual([{ key: "status", value: { stringValue: "error" } }]);
  });

  it("labels by() groups and aggregates", () => {
    const sets = run("{ status = error } | by(resource.service.name)").flatMap((h) => h.sets);
    expect(sets.map((s) => [s.attributes, s.matched])).toEqual([
      [[{ key: "by(resource.service.name)", value: { stringValue: "checkout" } }], 2],
      [[{ key: "by(resource.service.name)", value: { stringValue: "payment" } }], 1],
      [[{ key: "by(resource.service.name)", value: { stringValue: "api" } }], 1],
    ]);
    const [c] = run("{ kind = internal } | count() > 2");
    expect(c?.sets[0]?.attributes).toEqual([{ key: "count()", value: { intValue: "3" } }]);
  });

  it("returns a pipeline's spans: a scalar filter keeps its input spanset whole", () => {
    expect(spanIds("count() = 2 | { }")).toEqual(["331", "332"]);
    expect(spanIds("({ kind = server } | count()) = ({ kind = client } | count())")).toEqual(["111", "112", "113", "114"]);
    expect(spanIds("{ parent = nil }")).toEqual(["111", "221", "331", "441", "551"]);
    const [hit] = run("select(span.db.rows, nestedSetLeft, kind) | { name = \"SELECT cart\" }");
    expect(hit?.sets[0]?.spans[0]?.attributes).toEqual([
      { key: "db.rows", value: { intValue: "3" } },
      { key: "nestedSetLeft", value: { intValue: "4" } },
      { key: "kind", value: { stringValue: "client" } },
    ]);
  });

  it("labels by() of expressions and aggregates of expressions; coalesce() merges and drops labels", () => {
    const byRows = run("{ span.db.rows != nil } | by(span.db.rows * 2)").flatMap((h) => h.sets.map((s) => s.attributes));
    expect(byRows).toEqual([[{ key: "by(span.db.rows * 2)", value: { intValue: "6" } }], [{ key: "by(span.db.rows * 2)", value: { intValue: "20" } }]]);
    const [agg] = run("{ } | max(span.db.rows + 1) > 5");
    expect(agg?.sets[0]?.attributes).toEqual([{ key: "max(span.db.rows + 1)", value: { intValue: "11" } }]);
    const merged = run("{ status = error } | by(resource.service.name) | coalesce()").map((h) => [h.trace, h.sets.map((s) => [s.matched, s.attributes])]);
    expect(merged).toEqual([["2", [[3, undefined]]], ["5", [[1, undefined]]]]);
  });

  it("prunes nothing it does not understand in the new pipeline forms", () => {
    for (const q of ["count() > 4 | { kind = client }", "select(.a)", "by(name) | { }", "{ parent = nil }", "{ } | count() + 1 > 2"]) {
      const m = compileTraceQL(q);
      expect(m.indexCondition?.kind ?? "all", q).toBe("all");
      expect(DATA.every((t) => m.mayMatch(t.summary)), q).toBe(true);
    }
  });

  it("needs what the wrapped pipelines of a scalar filter need: each must yield a spanset", () => {
    const m = compileTraceQL('({ span.db.system = "mysql" } | count()) >= ({ resource.service.name = "payment" } | count())');
    expect(m.indexCondition).toMatchObject({ kind: "and" });
    const s = (i: number) => DATA[i]?.summary as TraceFacts;
    // Only a2 has a payment service; the summary rules out the others.
    expect([0, 1, 2, 3, 4].map((i) => m.mayMatch(s(i)))).toEqual([false, true, false, false, false]);
    expect(traces('({ span.db.system = "mysql" } | count()) >= ({ resource.service.name = "payment" } | count())')).toBe("2");
    expect(compileTraceQL("({ span.absent = 1 } | count()) > 0").indexCondition).toEqual({ kind: "numeric", name: "absent", op: "=", value: 1 });
  });

  it("prunes on the summary row", () => {
    const s = (i: number) => DATA[i]?.summary as TraceFacts;
    const m = compileTraceQL('{ resource.service.name = "cart" && duration > 500ms }');
    expect(m.summaryOnly).toBe(false);
    expect([0, 1, 2, 3, 4].map((i) => m.mayMatch(s(i)))).toEqual([true, false, false, false, false]);
    const e = compileTraceQL('{ resource.service.name = "frontend" && status = error }');
    expect([0, 1, 2, 3, 4].map((i) => e.mayMatch(s(i)))).toEqual([false, false, false, false, false]);
    expect(compileTraceQL("{ trace:duration > 1s }").mayMatch(s(2))).toBe(false);
    expect(compileTraceQL("{ duration > 2s }").mayMatch(s(0))).toBe(false);
    expect(compileTraceQL('{ .service.name = "x" }').mayMatch(s(0))).toBe(true);
    expect(compileTraceQL('{ resource.service.name = "x" } || { }').mayMatch(s(0))).toBe(true);
    expect(compileTraceQL('{ resource.service.name = "x" } > { }').mayMatch(s(0))).toBe(false);
  });

  it("is summary-only exactly when the summary decides", () => {
    expect(compileTraceQL("{}").summaryOnly).toBe(true);
    expect(compileTraceQL('{ trace:rootService = "x" }').summaryOnly).toBe(true);
    expect(compileTraceQL('{ trace:rootService = "x" && trace:duration > 1s }').summaryOnly).toBe(true);
    expect(compileTraceQL('{ trace:rootService = "x" && name = "y" }').summaryOnly).toBe(false);
    expect(compileTraceQL("{} | count() > 1").summaryOnly).toBe(false);
    expect(compileTraceQL("{} && {}").summaryOnly).toBe(false);
  });
});

describe("nestedSetParent against a number", () => {
  it("picks the spans the numbering gives, roots decided by parent id alone (orphans included)", () => {
    const t = trace(`${T}9`, [
      { id: "9100000000000001", service: "api", name: "root", kind: 2, startMs: 0, durMs: 10 },
      { id: "9100000000000002", parent: "9100000000000001", service: "api", name: "child", kind: 1, startMs: 1, durMs: 2 },
      { id: "9100000000000003", parent: "9100000000000002", service: "worker", name: "grandchild", kind: 1, startMs: 2, durMs: 1 },
      { id: "9100000000000004", parent: "91000000000000ff", service: "api", name: "orphan", kind: 1, startMs: 3, durMs: 2 },
    ]);
    const numbered = compileTraceQL("{ } | select(nestedSetParent)", { spss: 10 }).match(t.rs, t.summary)![0]!.spans;
    const parentOf = numbered.map((s) => ({ id: s.spanID, v: Number((s.attributes.find((a) => a.key === "nestedSetParent")!.value as { intValue: string }).intValue) }));
    expect(parentOf.map((p) => p.v).sort()).toEqual([-1, 0, 1, 2]);
    const cmp: Record<string, (a: number, b: number) => boolean> = { "<": (a, b) => a < b, "<=": (a, b) => a <= b, ">": (a, b) => a > b, ">=": (a, b) => a >= b, "=": (a, b) => a === b, "!=": (a, b) => a !== b };
    for (const [op, f] of Object.entries(cmp)) {
      for (const lit of [-2, -1, -0.5, 0, 0.5, 1, 2]) {
        const got = compileTraceQL(`{ nestedSetParent ${op} ${lit} }`, { spss: 10 }).match(t.rs, t.summary)?.[0]?.spans.map((s) => s.spanID) ?? [];
        expect(got.sort(), `${op} ${lit}`).toEqual(parentOf.filter((p) => f(p.v, lit)).map((p) => p.id).sort());
      }
    }
  });
});
