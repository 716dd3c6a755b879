import { describe, expect, it } from "vitest";
import { expectSummaryOnlyFor } from "../../test/support/summary-matcher.ts";
import { summarizeTrace } from "../block/summarize.ts";
import type { KeyValue, ResourceSpans, Span } from "../model/span.ts";
import { attributeString, parseGoDuration, parseLogfmt, tagsMatcher, TagsQueryError } from "./tags-matcher.ts";

function span(id: string, parent: string, startMs: number, endMs: number, name = id, opts: { error?: boolean; ok?: boolean; attrs?: KeyValue[] } = {}): Span {
  return {
    traceId: "t", spanId: id, traceState: "", parentSpanId: parent, flags: 0, name, kind: 1,
    startTimeUnixNano: `${1_000_000 + startMs}000000`, endTimeUnixNano: `${1_000_000 + endMs}000000`,
    attributes: opts.attrs ?? [], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
    status: { code: opts.error ? 2 : opts.ok ? 1 : 0, message: "" },
  };
}

function service(name: string, spans: Span[], attrs: KeyValue[] = []): ResourceSpans {
  return {
    resource: { attributes: [{ key: "service.name", value: { stringValue: name } }, ...attrs], droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeSpans: [{ scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }],
  };
}

const trace = [
  service("web", [span("a", "", 0, 250, "GET /cart", { attrs: [{ key: "http.status_code", value: { intValue: "500" } }] })], [{ key: "deployment.environment", value: { stringValue: "prod" } }]),
  service("cart", [span("b", "a", 10, 200, "SELECT cart", { error: true, attrs: [{ key: "db.system", value: { stringValue: "postgresql" } }] }), span("c", "a", 20, 30, "cache get", { ok: true, attrs: [{ key: "cache.hit", value: { boolValue: true } }] })]),
];
const summary = summarizeTrace("t", trace);

function run(tags: string, extra: { minDuration?: string; maxDuration?: string; spss?: number } = {}) {
  const m = tagsMatcher({ tags, minDuration: extra.minDuration, maxDuration: extra.maxDuration }, { spss: extra.spss });
  if (!m.mayMatch(summary)) return undefined;
  if (m.summaryOnly) return [];
  return m.match(trace, summary);
}

describe("parseLogfmt", () => {
  it("reads bare and quoted values, escapes and spaces", () => {
    expect(parseLogfmt(`service.name=cart http.status_code=500  name="GET /cart" status=error msg="a \\"b\\" \\\\ c"`)).toEqual([
      ["service.name", "cart"],
      ["http.status_code", "500"],
      ["name", "GET /cart"],
      ["status", "error"],
      ["msg", 'a "b" \\ c'],
    ]);
    expect(parseLogfmt("")).toEqual([]);
    expect(parseLogfmt("  k=  ")).toEqual([["k", ""]]);
    expect(parseLogfmt('k=""')).toEqual([["k", ""]]);
  });

  it("refuses broken input", () => {
    for (const bad of ["k", "k=v j", 'k="open', '="v"', 'k="v"x', 'k=a"b']) expect(() => parseLogfmt(bad), bad).toThrow(TagsQueryError);
  });
});

describe("parseGoDuration", () => {
  it("reads Go's units, fractions and sequences", () => {
    expect(parseGoDuration("100ms")).toBe(100_000_000n);
    expect(parseGoDuration("1.5s")).toBe(1_500_000_000n);
    expect(parseGoDuration("2h45m")).toBe((2n * 3600n + 45n * 60n) * 1_000_000_000n);
    expect(parseGoDuration("1us")).toBe(1000n);
    expect(parseGoDuration("1µs")).toBe(1000n);
    expect(parseGoDuration("10ns")).toBe(10n);
    expect(parseGoDuration(".5s")).toBe(500_000_000n);
    expect(parseGoDuration("1.s")).toBe(1_000_000_000n);
    expect(parseGoDuration("0")).toBe(0n);
    expect(parseGoDuration("+3m")).toBe(180_000_000_000n);
  });

  it("refuses what Go refuses, and negatives", () => {
    for (const bad of ["", "100", "ms", "1d", "1.5", "-1s", "1s2", "abc", ".s", "1 s"]) expect(() => parseGoDuration(bad), bad).toThrow(TagsQueryError);
  });
});

describe("attributeString", () => {
  it("gives the string form of each value kind", () => {
    expect(attributeString({ stringValue: "x" })).toBe("x");
    expect(attributeString({ intValue: "500" })).toBe("500");
    expect(attributeString({ doubleValue: 1.5 })).toBe("1.5");
    expect(attributeString({ boolValue: false })).toBe("false");
  });
});

describe("tagsMatcher", () => {
  it("matches service.name from the summary alone, and names it for block pruning", () => {
    expectSummaryOnlyFor(tagsMatcher({ tags: "service.name=cart" }), "cart", summary);
    expect(tagsMatcher({ tags: "service.name=checkout" }).mayMatch(summary)).toBe(false);
    expect(tagsMatcher({}).requiredServices).toBeUndefined();
  });

  it("status=error and error=true come from the summary's error count", () => {
    expect(run("status=error")).toEqual([]);
    expect(run("error=true")).toEqual([]);
    expect(run("error=false")).toEqual([]);
    const noErrors = summarizeTrace("t", [service("web", [span("a", "", 0, 1)])]);
    expect(tagsMatcher({ tags: "status=error" }).mayMatch(noErrors)).toBe(false);
    expect(tagsMatcher({ tags: "error=false" }).mayMatch(noErrors)).toBe(true);
  });

  it("matches span names, status ok/unset and attributes of spans and resources by string form", () => {
    expect(run('name="SELECT cart"')?.[0]?.spans.map((s) => s.spanID)).toEqual(["b"]);
    expect(run('name="nope"')).toBeUndefined();
    expect(run("status=ok")?.[0]?.spans.map((s) => s.spanID)).toEqual(["c"]);
    expect(run("http.status_code=500")?.[0]?.spans[0]).toMatchObject({ spanID: "a", name: "GET /cart", durationNanos: "250000000" });
    expect(run("http.status_code=404")).toBeUndefined();
    expect(run("cache.hit=true")?.[0]?.spans.map((s) => s.spanID)).toEqual(["c"]);
    // A resource attribute matches every span of that resource.
    expect(run("deployment.environment=prod")?.[0]?.spans.map((s) => s.spanID)).toEqual(["a"]);
  });

  it("needs every tag, possibly on different spans, and reports the spans that met one", () => {
    const sets = run("service.name=cart db.system=postgresql http.status_code=500");
    expect(sets?.[0]?.matched).toBe(2);
    expect(sets?.[0]?.spans.map((s) => s.spanID)).toEqual(["a", "b"]);
    expect(sets?.[0]?.spans[1]?.attributes).toEqual([
      { key: "db.system", value: { stringValue: "postgresql" } },
      { key: "service.name", value: { stringValue: "cart" } },
    ]);
    expect(run("service.name=web db.system=mysql")).toBeUndefined();
    expect(run("service.name=checkout db.system=postgresql")).toBeUndefined();
  });

  it("caps the spans per spanset at spss", () => {
    const sets = run("status=unset db.system=postgresql", { spss: 1 });
    expect(sets?.[0]?.matched).toBe(2);
    expect(sets?.[0]?.spans).toHaveLength(1);
  });

  it("filters by the trace's duration, inclusive", () => {
    expect(run("", { minDuration: "250ms" })).toEqual([]);
    expect(run("", { minDuration: "251ms" })).toBeUndefined();
    expect(run("", { maxDuration: "0.25s" })).toEqual([]);
    expect(run("", { maxDuration: "249ms" })).toBeUndefined();
    expect(run("name=cache", { minDuration: "1ms" })).toBeUndefined();
    expect(() => tagsMatcher({ minDuration: "2s", maxDuration: "1s" })).toThrow(TagsQueryError);
    expect(() => tagsMatcher({ minDuration: "fast" })).toThrow(/minDuration/);
  });

  it("refuses bad special values", () => {
    expect(() => tagsMatcher({ tags: "status=broken" })).toThrow(TagsQueryError);
    expect(() => tagsMatcher({ tags: "error=maybe" })).toThrow(TagsQueryError);
  });
});
