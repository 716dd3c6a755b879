import { describe, expect, it } from "vitest";
import type { TraceFacts } from "../block/summarize.ts";
import type { AnyValue, KeyValue, ResourceSpans, Span } from "../model/span.ts";
import { stringify } from "../traceql/stringify.ts";
import { dropIncompleteMatchers, fixedIntrinsicValues, parseTagIdentifier, TagNameCollector, TagValueCollector, tagFilterQuery, typedValues } from "./tag-catalog.ts";

const kv = (key: string, value: AnyValue): KeyValue => ({ key, value });
const str = (key: string, v: string) => kv(key, { stringValue: v });

function span(name: string, attributes: KeyValue[], extra: Partial<Span> = {}): Span {
  return {
    traceId: "01", spanId: "0a", parentSpanId: "", name, traceState: "", flags: 0, kind: 2,
    startTimeUnixNano: "1", endTimeUnixNano: "2", attributes, droppedAttributesCount: 0,
    events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: "" }, ...extra,
  };
}

function trace(resource: KeyValue[], spans: Span[], scopeAttrs: KeyValue[] = []): ResourceSpans[] {
  return [{ resource: { attributes: resource, droppedAttributesCount: 0 }, schemaUrl: "", scopeSpans: [{ scope: { name: "lib", version: "1.2", attributes: scopeAttrs, droppedAttributesCount: 0 }, schemaUrl: "", spans }] }];
}

const facts = (root = "GET /", service = "web"): TraceFacts => ({
  traceId: "01", startTimeUnixNano: "1", endTimeUnixNano: "2", durationNanos: "1", rootServiceName: service, rootSpanName: root, spanCount: 1, errorCount: 0, services: [],
});

const T = trace(
  [str("service.name", "web"), str("k8s.pod", "pod-1")],
  [
    span("GET /", [str("http.method", "GET"), kv("http.status_code", { intValue: "200" }), kv("ratio", { doubleValue: 0.5 }), kv("cached", { boolValue: true })], {
      events: [{ timeUnixNano: "1", name: "exception", attributes: [str("exception.type", "Boom")], droppedAttributesCount: 0 }],
      links: [{ traceId: "02", spanId: "0b", traceState: "", attributes: [str("link.kind", "follows")], droppedAttributesCount: 0, flags: 0 }],
    }),
    span("SELECT", [str("db.system", "pg"), kv("tags", { arrayValue: { values: [{ stringValue: "a" }, { intValue: "3" }] } })], { status: { code: 2, message: "timeout" } }),
  ],
  [str("otel.library", "x")],
);

describe("TagNameCollector", () => {
  it("collects attribute names per scope, sorted", () => {
    const c = new TagNameCollector(["span", "resource", "event", "link", "instrumentation"]);
    c.add(facts(), T, undefined);
    expect(c.names("span")).toEqual(["cached", "db.system", "http.method", "http.status_code", "ratio", "tags"]);
    expect(c.names("resource")).toEqual(["k8s.pod", "service.name"]);
    expect(c.names("event")).toEqual(["exception.type"]);
    expect(c.names("link")).toEqual(["link.kind"]);
    expect(c.names("instrumentation")).toEqual(["otel.library"]);
    expect(c.done).toBe(false);
  });

  it("keeps only the spans kept, and only the scopes asked", () => {
    const c = new TagNameCollector(["span"]);
    c.add(facts(), T, (s) => s.name === "SELECT");
    expect(c.names("span")).toEqual(["db.system", "tags"]);
    expect(c.names("resource")).toEqual([]);
  });

  it("is done when every scope is full, skipping over-long names", () => {
    const c = new TagNameCollector(["span", "resource"], { maxValues: 2, maxValueLength: 10 });
    c.add(facts(), trace([str("r", "1")], [span("x", [str("a", "1"), str("a-very-long-name", "1"), str("b", "1"), str("c", "1")])]), undefined);
    expect(c.names("span")).toEqual(["a", "b"]);
    expect(c.skipped).toBe(1);
    expect(c.done).toBe(false);
    c.add(facts(), trace([str("s", "1")], [span("x", [])]), undefined);
    expect(c.names("resource")).toEqual(["r", "s"]);
    expect(c.done).toBe(true);
  });
});

describe("TagValueCollector", () => {
  const values = (tag: string, opts: ConstructorParameters<typeof TagValueCollector>[1] = {}, keep?: (s: Span) => boolean) => {
    const c = new TagValueCollector(parseTagIdentifier(tag)!, opts);
    c.add(facts(), T, keep);
    return c.values();
  };

  it("types attribute values as Tempo does, arrays element by element", () => {
    expect(values("span.http.status_code")).toEqual([{ type: "int", value: "200" }]);
    expect(values("span.ratio")).toEqual([{ type: "float", value: "0.5" }]);
    expect(values("span.cached")).toEqual([{ type: "bool", value: "true" }]);
    expect(values("span.tags")).toEqual([{ type: "string", value: "a" }, { type: "int", value: "3" }]);
    expect(values("resource.k8s.pod")).toEqual([{ type: "string", value: "pod-1" }]);
    expect(values(".service.name")).toEqual([{ type: "string", value: "web" }]);
    expect(values("span.service.name")).toEqual([]);
    expect(values("event.exception.type")).toEqual([{ type: "string", value: "Boom" }]);
    expect(values("link.link.kind")).toEqual([{ type: "string", value: "follows" }]);
    expect(values("instrumentation.otel.library")).toEqual([{ type: "string", value: "x" }]);
  });

  it("answers intrinsics from the spans or the summary", () => {
    expect(values("name")).toEqual([{ type: "string", value: "GET /" }, { type: "string", value: "SELECT" }]);
    expect(values("span:statusMessage")).toEqual([{ type: "string", value: "timeout" }]);
    expect(values("event:name")).toEqual([{ type: "string", value: "exception" }]);
    expect(values("instrumentation:version")).toEqual([{ type: "string", value: "1.2" }]);
    // A duration, as Tempo: no values listed.
    expect(parseTagIdentifier("event:timeSinceStart")).toEqual({ kind: "intrinsic", name: "event:timeSinceStart" });
    expect(fixedIntrinsicValues("event:timeSinceStart")).toEqual([]);
    const root = new TagValueCollector(parseTagIdentifier("trace:rootService")!);
    expect(root.needsSpans).toBe(false);
    root.add(facts("x", "cart"), undefined, undefined);
    root.add(facts("x", ""), undefined, undefined);
    expect(root.values()).toEqual([{ type: "string", value: "cart" }]);
  });

  it("narrows to kept spans and to the types asked", () => {
    expect(values("name", {}, (s) => s.name === "SELECT")).toEqual([{ type: "string", value: "SELECT" }]);
    const c = new TagValueCollector(parseTagIdentifier(".tags")!, {}, ["string"]);
    c.add(facts(), T, undefined);
    expect(c.values()).toEqual([{ type: "string", value: "a" }]);
  });

  it("caps count, length, bytes and stale runs of a high-cardinality attribute", () => {
    const ids = trace([], Array.from({ length: 50 }, (_, i) => span("s", [str("id", `id-${String(i).padStart(3, "0")}`)])));
    const capped = new TagValueCollector(parseTagIdentifier("span.id")!, { maxValues: 10 });
    capped.add(facts(), ids, undefined);
    expect(capped.values()).toHaveLength(10);
    expect(capped.done).toBe(true);

    const long = new TagValueCollector(parseTagIdentifier("span.q")!, { maxValueLength: 8 });
    long.add(facts(), trace([], [span("s", [str("q", "short")]), span("s", [str("q", "much too long")])]), undefined);
    expect(long.values()).toEqual([{ type: "string", value: "short" }]);
    expect(long.skipped).toBe(1);

    const bytes = new TagValueCollector(parseTagIdentifier("span.id")!, { maxCollectedBytes: 20 });
    bytes.add(facts(), ids, undefined);
    expect(bytes.values()).toHaveLength(3); // 6 bytes each
    expect(bytes.done).toBe(true);

    const stale = new TagValueCollector(parseTagIdentifier("span.v")!, { maxStaleValues: 3 });
    stale.add(facts(), trace([], [span("s", [str("v", "a")]), ...Array.from({ length: 3 }, () => span("s", [str("v", "a")])), span("s", [str("v", "b")])]), undefined);
    expect(stale.values()).toEqual([{ type: "string", value: "a" }]);
    expect(stale.done).toBe(true);
  });

  it("sorts numbers numerically", () => {
    const c = new TagValueCollector(parseTagIdentifier("span.n")!);
    c.add(facts(), trace([], ["10", "9", "100"].map((v) => span("s", [kv("n", { intValue: v })]))), undefined);
    expect(c.values().map((v) => v.value)).toEqual(["9", "10", "100"]);
  });
});

describe("parseTagIdentifier", () => {
  it("reads Tempo's identifiers", () => {
    expect(parseTagIdentifier("resource.service.name")).toEqual({ kind: "attribute", scope: "resource", name: "service.name" });
    expect(parseTagIdentifier(".http.method")).toEqual({ kind: "attribute", scope: "any", name: "http.method" });
    expect(parseTagIdentifier('span."a b"')).toEqual({ kind: "attribute", scope: "span", name: "a b" });
    expect(parseTagIdentifier("span:kind")).toEqual({ kind: "intrinsic", name: "kind" });
    expect(parseTagIdentifier("trace:rootName")).toEqual({ kind: "intrinsic", name: "rootName" });
    for (const bad of ["foo", "span.", "bogus.x", ""]) expect(parseTagIdentifier(bad)).toBeUndefined();
  });
});

describe("typedValues", () => {
  it("skips bytes, kvlists and empty values", () => {
    expect(typedValues({ bytesValue: "AA==" })).toEqual([]);
    expect(typedValues({ kvlistValue: { values: [] } })).toEqual([]);
    expect(typedValues({})).toEqual([]);
  });
});

describe("tagFilterQuery", () => {
  const f = (q: string) => {
    const e = tagFilterQuery(q);
    return e ? stringify(e) : undefined;
  };

  it("uses a spanset selector, or the source of a pipeline", () => {
    expect(f(`{ resource.service.name = "cart" }`)).toBe(`{ resource.service.name = "cart" }`);
    expect(f(`{ .a = "x" || .b = 1 }`)).toBe(`{ (.a = "x") || (.b = 1) }`);
    expect(f(`{ .a = "x" } | count() > 1`)).toBe(`{ .a = "x" }`);
  });

  it("drops incomplete matchers, as an editor sends them", () => {
    expect(f(`{ resource.service.name = "cart" && span.http.method = }`)).toBe(`{ resource.service.name = "cart" }`);
    expect(f(`{ span.http.method = && resource.service.name = "cart" }`)).toBe(`{ resource.service.name = "cart" }`);
    expect(dropIncompleteMatchers(`{ .a != }`)).toBe("{}");
    // Just after typing `&&` (Grafana's autocomplete asks for values then): the complete part filters.
    expect(f(`{ resource.service.name = "cart" && }`)).toBe(`{ resource.service.name = "cart" }`);
    expect(f(`{ (.a = "x" || ) && .b = 1 }`)).toBe(`{ (.a = "x") && (.b = 1) }`);
  });

  it("gives no filter for nothing to filter by, several spansets or nonsense", () => {
    for (const q of ["", "  ", "{}", "{ .a = }", `{ .a = "x" } && { .b = "y" }`, `{ .a = "x" } >> { .b = "y" }`, "not traceql"]) expect(f(q)).toBeUndefined();
    // Event, link, instrumentation and parent scopes filter like any other.
    for (const q of [`{ event.x = "y" }`, `{ link:spanID = "a1" }`, `{ parent.resource.service.name = "x" }`]) expect(f(q)).toBeDefined();
  });
});
