import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import pkg from "../../package.json" with { type: "json" };
import type { ResourceSpans } from "../../shared/model/span.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

async function get(path: string, secret?: string) {
  const res = await exports.default.fetch(`http://localhost${path}`, { headers: secret ? { "x-api-key": secret } : {} });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

function trace(traceId: string, service: string, spanId: string, name: string, startMs: number): ResourceSpans {
  return {
    resource: { attributes: [{ key: "service.name", value: { stringValue: service } }], droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeSpans: [{
      scope: { name: "test", version: "", attributes: [], droppedAttributesCount: 0 },
      schemaUrl: "",
      spans: [{
        traceId, spanId, parentSpanId: "", name, traceState: "", flags: 1, kind: 2,
        startTimeUnixNano: `${startMs}000000`, endTimeUnixNano: `${startMs + 10}000000`,
        attributes: [], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
        status: { code: 0, message: "" },
      }],
    }],
  };
}

const id = (n: number) => `${"0".repeat(31)}${n}`;
const t0 = Date.now() - 20 * 60_000;

let a: { tenantId: string; secret: string };
let b: { tenantId: string; secret: string };
let writeOnly: { tenantId: string; secret: string };

beforeAll(async () => {
  a = await tenantWithKey(["read"]);
  b = await tenantWithKey(["read"]);
  writeOnly = await tenantWithKey(["ingest"]);
  await storeAssembled(a.tenantId, [trace(id(1), "web", "c100000000000001", "GET /", t0), trace(id(2), "cart", "c200000000000001", "POST /checkout", t0 + 60_000)]);
  await storeAssembled(b.tenantId, [trace(id(3), "billing", "d300000000000001", "charge", t0)]);
});

describe("Tempo search v2: /api/v2/search/tags", () => {
  it("lists every scope by default, in Tempo's shape", async () => {
    const r = await get("/api/v2/search/tags", a.secret);
    expect(r.status).toBe(200);
    expect(r.body.scopes.map((s: { name: string }) => s.name)).toEqual(["span", "resource", "event", "link", "instrumentation", "intrinsic"]);
    expect(r.body.scopes[0]).toEqual({ name: "span", tags: [] });
    expect(r.body.scopes[1]).toEqual({ name: "resource", tags: ["service.name"] });
    expect(r.body.scopes[5].tags).toEqual(expect.arrayContaining(["name", "status", "kind", "duration", "rootServiceName", "rootName"]));
    expect(r.body.metrics).toMatchObject({ inspectedBytes: expect.stringMatching(/^[1-9]\d*$/), totalJobs: 1, completedJobs: 1 });
    expect((await get("/api/v2/search/tags?scope=all", a.secret)).body.scopes).toEqual(r.body.scopes);
  });

  it("narrows to one scope and accepts q, start and end", async () => {
    const now = Math.floor(Date.now() / 1000);
    const r = await get(`/api/v2/search/tags?scope=resource&q=${encodeURIComponent("{}")}&start=${now - 3600}&end=${now}`, a.secret);
    expect(r.body.scopes).toEqual([{ name: "resource", tags: ["service.name"] }]);
    expect((await get("/api/v2/search/tags?scope=intrinsic", a.secret)).body.scopes).toHaveLength(1);
  });

  it("rejects an unknown scope or a bad window", async () => {
    const r = await get("/api/v2/search/tags?scope=bogus", a.secret);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain("scope");
    expect((await get("/api/v2/search/tags?start=20&end=10", a.secret)).status).toBe(400);
  });
});

describe("Tempo search v2: /api/v2/search/tag/{tag}/values", () => {
  const values = async (tag: string, secret: string) => {
    const r = await get(`/api/v2/search/tag/${encodeURIComponent(tag)}/values?q=${encodeURIComponent("{}")}`, secret);
    expect(r.status).toBe(200);
    return r.body.tagValues;
  };

  it("types service names and span names as strings, per tenant", async () => {
    expect(await values("resource.service.name", a.secret)).toEqual([{ type: "string", value: "cart" }, { type: "string", value: "web" }]);
    expect(await values(".service.name", a.secret)).toEqual([{ type: "string", value: "cart" }, { type: "string", value: "web" }]);
    expect(await values("resource.service.name", b.secret)).toEqual([{ type: "string", value: "billing" }]);
    expect(await values("name", a.secret)).toEqual([{ type: "string", value: "GET /" }, { type: "string", value: "POST /checkout" }]);
    expect(await values("rootName", b.secret)).toEqual([{ type: "string", value: "charge" }]);
  });

  it("types status and kind as keywords", async () => {
    expect(await values("status", a.secret)).toEqual(["error", "ok", "unset"].map((value) => ({ type: "keyword", value })));
    const kinds = await values("kind", a.secret);
    expect(kinds.every((v: { type: string }) => v.type === "keyword")).toBe(true);
    expect(kinds.map((v: { value: string }) => v.value)).toEqual(expect.arrayContaining(["server", "client", "internal", "producer", "consumer", "unspecified"]));
    expect(await values("span:kind", a.secret)).toEqual(kinds);
  });

  it("answers an empty list for tags not in the data, and nothing outside the window", async () => {
    expect(await values("span.http.method", a.secret)).toEqual([]);
    expect(await values("rootServiceName", a.secret)).toEqual([{ type: "string", value: "cart" }, { type: "string", value: "web" }]);
    const old = Math.floor(Date.now() / 1000) - 30 * 24 * 3600;
    const r = await get(`/api/v2/search/tag/resource.service.name/values?start=${old}&end=${old + 60}`, a.secret);
    expect(r.body.tagValues).toEqual([]);
  });
});

describe("Tempo build info: /api/status/buildinfo", () => {
  it("answers Tempo's shape with the package version", async () => {
    const r = await get("/api/status/buildinfo", a.secret);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ version: pkg.version, revision: "", branch: "", buildUser: "", buildDate: "", goVersion: "" });
  });
});

describe("auth", () => {
  it("needs a key with the read scope on every v2 route", async () => {
    for (const path of ["/api/v2/search/tags", "/api/v2/search/tag/status/values", "/api/status/buildinfo"]) {
      expect((await get(path)).status).toBe(401);
      expect((await get(path, writeOnly.secret)).status).toBe(403);
    }
  });
});
