import { describe, expect, it } from "vitest";
import { summarizeTrace } from "../block/summarize.ts";
import type { KeyValue, ResourceSpans, Span } from "../model/span.ts";
import { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, parseAnnotationQuery, parseZipkinSearch, zipkinSpanMatcher, type ZipkinSearch } from "./search.ts";
import { ParamError } from "../http/params.ts";

const NOW = 1_700_000_000_000;
const WEEK_MS = 7 * 24 * 3_600_000;

function span(id: string, parent: string, startMs: number, durationUs: number, name: string, opts: { attrs?: KeyValue[]; kind?: number; error?: string; events?: string[] } = {}): Span {
  const start = BigInt(1_000_000 + startMs) * 1_000_000n;
  return {
    traceId: "t", spanId: id, traceState: "", parentSpanId: parent, flags: 0, name, kind: opts.kind ?? 2,
    startTimeUnixNano: String(start), endTimeUnixNano: String(start + BigInt(durationUs) * 1000n),
    attributes: opts.attrs ?? [], droppedAttributesCount: 0,
    events: (opts.events ?? []).map((e) => ({ timeUnixNano: String(start), name: e, attributes: e === "retried" ? [] : [{ key: "n", value: { intValue: "1" } }], droppedAttributesCount: 0 })),
    droppedEventsCount: 0, links: [], droppedLinksCount: 0,
    status: { code: opts.error !== undefined ? 2 : 0, message: opts.error ?? "" },
  };
}

function service(name: string, spans: Span[], attrs: KeyValue[] = []): ResourceSpans {
  return {
    resource: { attributes: [{ key: "service.name", value: { stringValue: name } }, ...attrs], droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeSpans: [{ scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }],
  };
}

const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });

// Frontend: GET /cart (300 ms, http.method=GET) → client call "GET /stock" to inventory (20 ms).
// Inventory: GET /stock (10 ms, failed "out of stock", annotation "retried", event "cache miss" with attributes).
const trace = [
  service("Frontend", [
    span("a", "", 0, 300_000, "GET /cart", { attrs: [str("http.method", "GET")] }),
    span("b", "a", 2, 20_000, "GET /stock", { kind: 3, attrs: [str("peer.service", "Inventory")] }),
  ], [str("host.name", "h1")]),
  service("inventory", [span("c", "b", 5, 10_000, "GET /stock", { error: "out of stock", events: ["retried", "cache miss"] })]),
];
const summary = summarizeTrace("t", trace);

function matches(q: Partial<ZipkinSearch>, service?: string): string[] | undefined {
  const m = zipkinSpanMatcher({ annotationQuery: [], startMs: 0, endMs: 0, limit: 10, ...q }, service);
  if (!m.mayMatch(summary)) return undefined;
  if (m.summaryOnly) return [];
  return m.match(trace, summary)?.[0]?.spans.map((s) => s.spanID);
}
const aq = (s: string) => parseAnnotationQuery(s);

describe("zipkinSpanMatcher", () => {
  it("needs one span of the service to meet every condition", () => {
    expect(matches({ annotationQuery: aq("http.method=GET") }, "Frontend")).toEqual(["a"]);
    // Frontend has spans, inventory's span failed: not one span.
    expect(matches({ annotationQuery: aq("error") }, "Frontend")).toBeUndefined();
    expect(matches({ annotationQuery: aq("error") }, "inventory")).toEqual(["c"]);
    expect(matches({ annotationQuery: aq("http.method=GET and error") })).toBeUndefined();
    expect(matches({ spanName: "GET /stock", annotationQuery: aq("http.method=GET") })).toBeUndefined();
    expect(matches({ spanName: "get /stock" })).toEqual(["b", "c"]);
    expect(matches({ spanName: "GET /stock" }, "inventory")).toEqual(["c"]);
    expect(matches({ remoteServiceName: "inventory" }, "Frontend")).toEqual(["b"]);
    expect(matches({ remoteServiceName: "inventory" }, "inventory")).toBeUndefined();
  });

  it("reads annotationQuery terms as Zipkin does: tags by value, bare words as annotations or tag keys", () => {
    expect(matches({ annotationQuery: aq("error=out of stock") })).toEqual(["c"]);
    expect(matches({ annotationQuery: aq("error=true") })).toBeUndefined();
    expect(matches({ annotationQuery: aq("otel.status_code=ERROR and retried") })).toEqual(["c"]);
    expect(matches({ annotationQuery: aq("cache miss") })).toEqual(["c"]);
    expect(matches({ annotationQuery: aq("host.name=h1 and http.method") })).toEqual(["a"]);
    expect(matches({ annotationQuery: aq("http.method=") })).toEqual(["a"]);
    // peer.service is the remote endpoint in Zipkin, not a tag.
    expect(matches({ annotationQuery: aq("peer.service") })).toBeUndefined();
    expect(matches({ annotationQuery: aq("nope") })).toBeUndefined();
  });

  it("bounds one span's duration in whole microseconds", () => {
    expect(matches({ minDurationMicros: 100_000 })).toEqual(["a"]);
    expect(matches({ minDurationMicros: 100_000 }, "inventory")).toBeUndefined();
    expect(matches({ minDurationMicros: 10_000, maxDurationMicros: 10_000 })).toEqual(["c"]);
    expect(matches({ minDurationMicros: 10_001, maxDurationMicros: 20_000 })).toEqual(["b"]);
    expect(matches({ minDurationMicros: 11_000, maxDurationMicros: 19_999 })).toBeUndefined();
  });

  it("leaves a bare service to the summary and prunes blocks by it", () => {
    const m = zipkinSpanMatcher({ annotationQuery: [], startMs: 0, endMs: 0, limit: 10 }, "inventory");
    expect(m.summaryOnly).toBe(true);
    expect(m.requiredServices).toEqual(["inventory"]);
    expect(matches({}, "billing")).toBeUndefined();
  });
});

describe("parseAnnotationQuery", () => {
  it("splits on ' and ', key=value or bare, trimming and skipping empty terms", () => {
    expect(aq("http.uri=/foo and retried")).toEqual([["http.uri", "/foo"], ["retried", ""]]);
    expect(aq(" a = b=c  AND  x and  ")).toEqual([["a", "b=c"], ["x", ""]]);
    expect(aq("")).toEqual([]);
    expect(aq("=v")).toEqual([]);
  });
});

describe("parseZipkinSearch", () => {
  it("reads the parameters with Zipkin's defaults", () => {
    expect(parseZipkinSearch({}, NOW, WEEK_MS)).toEqual({ annotationQuery: [], startMs: NOW - 24 * 3_600_000, endMs: NOW, limit: DEFAULT_SEARCH_LIMIT });
    expect(parseZipkinSearch({ serviceName: "cart", spanName: "all", remoteServiceName: "all", annotationQuery: "a=b", minDuration: "10", maxDuration: "20", endTs: "5000", lookback: "1000", limit: "500" }, NOW, WEEK_MS)).toEqual({
      serviceName: "cart", annotationQuery: [["a", "b"]], minDurationMicros: 10, maxDurationMicros: 20, startMs: 4000, endMs: 5000, limit: MAX_SEARCH_LIMIT,
    });
  });

  it("refuses what Zipkin refuses", () => {
    for (const q of [{ limit: "x" }, { limit: "0" }, { minDuration: "1ms" }, { minDuration: "0" }, { maxDuration: "5" }, { minDuration: "10", maxDuration: "5" }, { endTs: "soon" }, { lookback: "0" }, { lookback: String(WEEK_MS + 1) }]) {
      expect(() => parseZipkinSearch(q, NOW, WEEK_MS), JSON.stringify(q)).toThrow(ParamError);
    }
  });
});
