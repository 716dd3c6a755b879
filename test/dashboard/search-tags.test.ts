import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { multiServiceWorkload } from "../support/multi-service-workload.ts";
import type { AnyValue, KeyValue, ResourceSpans, Span } from "../../shared/model/span.ts";
import { twoReaders, type Reader } from "../support/dashboard-api.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

async function get(path: string, secret?: string) {
  const res = await exports.default.fetch(`http://localhost${path}`, { headers: secret ? { "x-api-key": secret } : {} });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

const kv = (key: string, value: AnyValue): KeyValue => ({ key, value });
const str = (key: string, v: string) => kv(key, { stringValue: v });

interface SpanSpec {
  id: string;
  name: string;
  startMs: number;
  attrs?: KeyValue[];
  events?: Span["events"];
  links?: Span["links"];
}

function resourceSpans(traceId: string, resource: KeyValue[], specs: SpanSpec[]): ResourceSpans {
  return {
    resource: { attributes: resource, droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeSpans: [{
      scope: { name: "lib", version: "", attributes: [str("lib.flavour", "plain")], droppedAttributesCount: 0 },
      schemaUrl: "",
      spans: specs.map((s) => ({
        traceId, spanId: s.id, parentSpanId: "", name: s.name, traceState: "", flags: 1, kind: 2,
        startTimeUnixNano: `${s.startMs}000000`, endTimeUnixNano: `${s.startMs + 10}000000`,
        attributes: s.attrs ?? [], droppedAttributesCount: 0, events: s.events ?? [], droppedEventsCount: 0, links: s.links ?? [], droppedLinksCount: 0,
        status: { code: 0, message: "" },
      })),
    }],
  };
}

const id = (n: number) => `${"0".repeat(30)}${String(n).padStart(2, "0")}`;
const sid = (n: number) => `${"0".repeat(14)}${String(n).padStart(2, "0")}`;
const t0 = Date.now() - 20 * 60_000;
const hoursAgo = (h: number) => Date.now() - h * 3600_000;
const now = () => Math.floor(Date.now() / 1000);

let a: Reader;
let b: Reader;

beforeAll(async () => {
  [a, b] = await twoReaders();
  await storeAssembled(a.tenantId, [
    resourceSpans(id(1), [str("service.name", "web"), str("k8s.pod.name", "web-1")], [
      {
        id: sid(1), name: "GET /cart", startMs: t0,
        attrs: [str("http.method", "GET"), kv("http.status_code", { intValue: "200" }), kv("sample.ratio", { doubleValue: 0.25 }), kv("cache.hit", { boolValue: true })],
        events: [{ timeUnixNano: `${t0 + 1}000000`, name: "exception", attributes: [str("exception.type", "TimeoutError")], droppedAttributesCount: 0 }],
        links: [{ traceId: id(9), spanId: sid(9), traceState: "", attributes: [str("link.reason", "retry")], droppedAttributesCount: 0, flags: 0 }],
      },
    ]),
    resourceSpans(id(2), [str("service.name", "cart"), str("k8s.pod.name", "cart-7")], [
      { id: sid(2), name: "POST /checkout", startMs: t0 + 60_000, attrs: [str("http.method", "POST"), kv("http.status_code", { intValue: "500" }), str("cart.id", "c-42")] },
    ]),
  ]);
  // Two hours ago: outside the default window (the last hour).
  await storeAssembled(a.tenantId, [resourceSpans(id(3), [str("service.name", "legacy")], [{ id: sid(3), name: "old", startMs: hoursAgo(2), attrs: [str("legacy.flag", "on")] }])], hoursAgo(2));
  await storeAssembled(b.tenantId, [resourceSpans(id(4), [str("service.name", "billing"), str("b.only", "x")], [{ id: sid(4), name: "charge", startMs: t0, attrs: [str("card.brand", "visa")] }])]);
});

const v2Values = async (tag: string, secret: string, query = "") => {
  const r = await get(`/api/v2/search/tag/${encodeURIComponent(tag)}/values${query}`, secret);
  expect(r.status).toBe(200);
  return r.body.tagValues as { type: string; value: string }[];
};
const v2Scopes = async (secret: string, query = "") => {
  const r = await get(`/api/v2/search/tags${query}`, secret);
  expect(r.status).toBe(200);
  return Object.fromEntries((r.body.scopes as { name: string; tags: string[] }[]).map((s) => [s.name, s.tags]));
};

describe("tag names from the data", () => {
  it("v2 lists span, resource, event, link and instrumentation attribute names", async () => {
    const scopes = await v2Scopes(a.secret);
    expect(scopes.span).toEqual(["cache.hit", "cart.id", "http.method", "http.status_code", "sample.ratio"]);
    expect(scopes.resource).toEqual(["k8s.pod.name", "service.name"]);
    expect(scopes.event).toEqual(["exception.type"]);
    expect(scopes.link).toEqual(["link.reason"]);
    expect(scopes.instrumentation).toEqual(["lib.flavour"]);
    expect(scopes.intrinsic).toEqual(expect.arrayContaining(["name", "status", "kind", "duration"]));
    expect(await v2Scopes(a.secret, "?scope=span")).toEqual({ span: scopes.span });
  });

  it("v1 lists span and resource attribute names (and the legacy name and status)", async () => {
    const r = await get("/api/search/tags", a.secret);
    expect(r.body.tagNames).toEqual(["cache.hit", "cart.id", "http.method", "http.status_code", "k8s.pod.name", "name", "sample.ratio", "service.name", "status"]);
    expect(r.body.metrics.inspectedBytes).toMatch(/^[1-9]\d*$/);
    expect((await get("/api/search/tags?scope=resource", a.secret)).body.tagNames).toEqual(["k8s.pod.name", "service.name"]);
  });
});

describe("tag values from the data", () => {
  it("v2 types values as Tempo does", async () => {
    expect(await v2Values("span.http.method", a.secret)).toEqual([{ type: "string", value: "GET" }, { type: "string", value: "POST" }]);
    expect(await v2Values("span.http.status_code", a.secret)).toEqual([{ type: "int", value: "200" }, { type: "int", value: "500" }]);
    expect(await v2Values("span.sample.ratio", a.secret)).toEqual([{ type: "float", value: "0.25" }]);
    expect(await v2Values("span.cache.hit", a.secret)).toEqual([{ type: "bool", value: "true" }]);
    expect(await v2Values("resource.k8s.pod.name", a.secret)).toEqual([{ type: "string", value: "cart-7" }, { type: "string", value: "web-1" }]);
    expect(await v2Values(".k8s.pod.name", a.secret)).toEqual(await v2Values("resource.k8s.pod.name", a.secret));
    expect(await v2Values("span.k8s.pod.name", a.secret)).toEqual([]);
    expect(await v2Values("event.exception.type", a.secret)).toEqual([{ type: "string", value: "TimeoutError" }]);
    expect(await v2Values("link.link.reason", a.secret)).toEqual([{ type: "string", value: "retry" }]);
    expect(await v2Values("name", a.secret)).toEqual([{ type: "string", value: "GET /cart" }, { type: "string", value: "POST /checkout" }]);
    expect(await v2Values("event:name", a.secret)).toEqual([{ type: "string", value: "exception" }]);
    const r = await get("/api/v2/search/tag/span.http.method/values", a.secret);
    expect(r.body.metrics).toMatchObject({ inspectedBytes: expect.stringMatching(/^[1-9]\d*$/), totalJobs: 1, completedJobs: 1, totalBlocks: 1 });
    expect(r.body.metrics.truncated).toBeUndefined();
  });

  it("v1 answers the string values of a span or resource attribute", async () => {
    const v1 = async (tag: string) => (await get(`/api/search/tag/${tag}/values`, a.secret)).body.tagValues;
    expect(await v1("http.method")).toEqual(["GET", "POST"]);
    expect(await v1("k8s.pod.name")).toEqual(["cart-7", "web-1"]);
    expect(await v1("cart.id")).toEqual(["c-42"]);
    expect(await v1("http.status_code")).toEqual([]);
  });
});

describe("time range", () => {
  it("reads only blocks in the window: the last hour by default", async () => {
    expect((await v2Scopes(a.secret)).span).not.toContain("legacy.flag");
    expect(await v2Values("span.legacy.flag", a.secret)).toEqual([]);
    const start = now() - 3 * 3600;
    const end = now() - 3600;
    const old = await v2Scopes(a.secret, `?scope=span&start=${start}&end=${end}`);
    expect(old.span).toEqual(["legacy.flag"]);
    expect(await v2Values("span.legacy.flag", a.secret, `?start=${start}&end=${end}`)).toEqual([{ type: "string", value: "on" }]);
    expect((await get(`/api/search/tag/legacy.flag/values?start=${start}&end=${end}`, a.secret)).body.tagValues).toEqual(["on"]);
    expect(await v2Values("resource.service.name", a.secret, `?start=${start}&end=${end}`)).toEqual([{ type: "string", value: "legacy" }]);
  });
});

describe("q", () => {
  const q = (s: string) => `?q=${encodeURIComponent(s)}`;

  it("narrows values and names to spans matching a spanset filter", async () => {
    expect(await v2Values("span.http.method", a.secret, q(`{ resource.service.name = "cart" }`))).toEqual([{ type: "string", value: "POST" }]);
    expect(await v2Values("resource.service.name", a.secret, q(`{ span.http.method = "GET" }`))).toEqual([{ type: "string", value: "web" }]);
    expect(await v2Values("span.http.status_code", a.secret, q(`{ .http.method = "GET" || .cart.id = "c-42" }`))).toEqual([{ type: "int", value: "200" }, { type: "int", value: "500" }]);
    expect(await v2Values("name", a.secret, q(`{ span.http.status_code >= 500 }`))).toEqual([{ type: "string", value: "POST /checkout" }]);
    expect(await v2Values("span.http.method", a.secret, q(`{ resource.service.name = "nope" }`))).toEqual([]);
    const scopes = await v2Scopes(a.secret, `${q(`{ resource.service.name = "cart" }`)}&scope=span`);
    expect(scopes.span).toEqual(["cart.id", "http.method", "http.status_code"]);
  });

  it("drops incomplete matchers and ignores what it cannot use, as Tempo does", async () => {
    const all = [{ type: "string", value: "GET" }, { type: "string", value: "POST" }];
    expect(await v2Values("span.http.method", a.secret, q(`{ resource.service.name = "web" && span.http.method = }`))).toEqual([{ type: "string", value: "GET" }]);
    expect(await v2Values("span.http.method", a.secret, q(`{ span.http.method = }`))).toEqual(all);
    expect(await v2Values("span.http.method", a.secret, q(`{ resource.service.name = "web" } >> { .x = 1 }`))).toEqual(all);
    expect(await v2Values("span.http.method", a.secret, q(`{ nonsense ((`))).toEqual(all);
  });
});

describe("tenant isolation", () => {
  it("another tenant's key sees none of the first tenant's names or values", async () => {
    const scopes = await v2Scopes(b.secret);
    expect(scopes.span).toEqual(["card.brand"]);
    expect(scopes.resource).toEqual(["b.only", "service.name"]);
    expect(await v2Values("span.http.method", b.secret)).toEqual([]);
    expect(await v2Values("resource.k8s.pod.name", b.secret)).toEqual([]);
    expect(await v2Values(".service.name", b.secret)).toEqual([{ type: "string", value: "billing" }]);
    expect((await get("/api/search/tags", b.secret)).body.tagNames).not.toContain("http.method");
    expect((await get("/api/search/tag/http.method/values", b.secret)).body.tagValues).toEqual([]);
    expect((await v2Scopes(a.secret)).span).not.toContain("card.brand");
  });
});

describe("bad input", () => {
  it("answers 400 with a message naming the parameter", async () => {
    const cases: [string, string][] = [
      ["/api/v2/search/tags?scope=bogus", "scope"],
      ["/api/search/tags?scope=bogus", "scope"],
      [`/api/v2/search/tags?start=${now()}&end=${now() - 10}`, "end"],
      [`/api/v2/search/tag/span.x/values?start=${now() - 8 * 86400}&end=${now()}`, "start"],
      ["/api/search/tag/x/values?start=abc", "start"],
      ["/api/v2/search/tag/bogus/values", "tag"],
      ["/api/v2/search/tag/span.x/values?limit=0", "limit"],
      ["/api/v2/search/tags?limit=abc", "limit"],
    ];
    for (const [path, param] of cases) {
      const r = await get(path, a.secret);
      expect(r.status, path).toBe(400);
      expect(r.body.message, path).toContain(param);
    }
  });
});

describe("caps", () => {
  let c: { tenantId: string; secret: string };
  beforeAll(async () => {
    c = await tenantWithKey(["read"]);
    const spans = Array.from({ length: 1200 }, (_, i) => ({ id: `${"1".repeat(12)}${String(i).padStart(4, "0")}`, name: "op", startMs: t0 + i, attrs: [str("request.id", `req-${i}`)] }));
    await storeAssembled(c.tenantId, [resourceSpans(id(5), [str("service.name", "ids")], spans)]);
  });

  it("caps a high-cardinality attribute's values and says the answer is truncated", async () => {
    const r = await get("/api/v2/search/tag/span.request.id/values", c.secret);
    expect(r.body.tagValues).toHaveLength(1000);
    expect(r.body.metrics.truncated).toBe(true);
    const ten = await get("/api/v2/search/tag/span.request.id/values?limit=10", c.secret);
    expect(ten.body.tagValues).toHaveLength(10);
    expect((await get("/api/search/tag/request.id/values?limit=5", c.secret)).body.tagValues).toHaveLength(5);
  });
});

describe("a realistic tenant", () => {
  it("answers tags and values from assembled blocks (measured)", async () => {
    const t = await tenantWithKey(["read"]);
    const w = multiServiceWorkload({ traces: 400, seed: 11, startMs: Date.now() - 30 * 60_000 });
    for (let i = 0; i < 4; i++) await storeAssembled(t.tenantId, w.traces.slice(i * 100, (i + 1) * 100).flatMap((x) => x.resourceSpans));
    const t1 = performance.now();
    const names = await get("/api/v2/search/tags", t.secret);
    const t2 = performance.now();
    const values = await get(`/api/v2/search/tag/span.http.route/values?q=${encodeURIComponent(`{ resource.service.name = "frontend" }`)}`, t.secret);
    const t3 = performance.now();
    expect(names.body.scopes.find((s: { name: string }) => s.name === "span").tags.length).toBeGreaterThan(5);
    expect(values.status).toBe(200);
    console.log(`tags: ${w.spanCount} spans in 4 blocks; v2 tags ${names.body.metrics.inspectedBytes} B read, ${(t2 - t1).toFixed(0)} ms; values with q ${values.body.metrics.inspectedBytes} B read, ${(t3 - t2).toFixed(0)} ms, ${values.body.tagValues.length} values`);
  });
});
