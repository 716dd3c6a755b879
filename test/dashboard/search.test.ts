import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { testTrace, type ServiceSpanSpec } from "../support/spans.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

/** Stores traces as one ingest batch, assembled into one block, for one tenant. */
async function storeBatch(tenantId: string, traces: { id: string; spans: ServiceSpanSpec[] }[]) {
  await storeAssembled(tenantId, traces.flatMap((t) => testTrace(t.id, t.spans)));
}


async function get(path: string, secret?: string) {
  const res = await exports.default.fetch(`http://localhost${path}`, { headers: secret ? { "x-api-key": secret } : {} });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

const id = (n: number) => `${"0".repeat(31)}${n}`;
const t0 = Date.now() - 30 * 60_000;
const at = (i: number) => t0 + i * 60_000;

// Six traces of tenant A over web and cart; trace i starts at t0 + i minutes.
const TRACES = [
  { id: id(1), spans: [{ service: "web", spanId: "a100000000000001", name: "GET /cart", startMs: at(1), durationMs: 50, attributes: { "http.status_code": 200 } }, { service: "cart", spanId: "a100000000000002", parentSpanId: "a100000000000001", name: "SELECT cart", startMs: at(1) + 5, durationMs: 20 }] },
  { id: id(2), spans: [{ service: "cart", spanId: "a200000000000001", name: "POST /checkout", startMs: at(2), durationMs: 300, error: true, attributes: { "http.status_code": 500 } }] },
  { id: id(3), spans: [{ service: "web", spanId: "a300000000000001", name: "GET /", startMs: at(3), durationMs: 20 }] },
  { id: id(4), spans: [{ service: "cart", spanId: "a400000000000001", name: "GET /cart", startMs: at(4), durationMs: 150, attributes: { region: "eu west" } }] },
  { id: id(5), spans: [{ service: "web", spanId: "a500000000000001", name: "GET /checkout", startMs: at(5), durationMs: 800 }, { service: "cart", spanId: "a500000000000002", parentSpanId: "a500000000000001", name: "charge", startMs: at(5) + 10, durationMs: 700, error: true }] },
  { id: id(6), spans: [{ service: "cart", spanId: "a600000000000001", name: "GET /cart", startMs: at(6), durationMs: 120 }] },
] satisfies { id: string; spans: ServiceSpanSpec[] }[];

let a: { tenantId: string; secret: string };
let b: { tenantId: string; secret: string };

beforeAll(async () => {
  a = await tenantWithKey(["read"]);
  b = await tenantWithKey(["read"]);
  // Traces 1-3 in one block, 4, 5 and 6 each in their own.
  await storeBatch(a.tenantId, TRACES.slice(0, 3));
  for (const t of TRACES.slice(3)) await storeBatch(a.tenantId, [t]);
  await storeBatch(b.tenantId, [{ id: id(7), spans: [{ service: "cart", spanId: "b700000000000001", name: "GET /cart", startMs: at(7), durationMs: 500 }] }]);
});

const ids = (body: { traces: { traceID: string }[] }) => body.traces.map((t) => t.traceID);

describe("Tempo search: /api/search with tags", () => {
  it("finds by service, newest first, in Tempo's shape", async () => {
    const r = await get(`/api/search?tags=${encodeURIComponent("service.name=cart")}`, a.secret);
    expect(r.status).toBe(200);
    expect(ids(r.body)).toEqual([id(6), id(5), id(4), id(2), id(1)]);
    expect(r.body.traces[1]).toEqual({ traceID: id(5), rootServiceName: "web", rootTraceName: "GET /checkout", startTimeUnixNano: `${at(5)}000000`, durationMs: 800, serviceStats: { cart: { spanCount: 1, errorCount: 1 }, web: { spanCount: 1 } }, spanSets: [] });
    expect(Number(r.body.metrics.inspectedBytes)).toBeGreaterThan(0);
    expect(r.body.metrics).toMatchObject({ inspectedTraces: 6, inspectedBlocks: 4, completedJobs: 4, totalJobs: 4 });
    // The same query gives the same answer.
    expect((await get(`/api/search?tags=${encodeURIComponent("service.name=cart")}`, a.secret)).body).toEqual(r.body);
  });

  it("prunes blocks by the catalog's services list", async () => {
    const r = await get(`/api/search?tags=${encodeURIComponent("service.name=web")}`, a.secret);
    expect(ids(r.body)).toEqual([id(5), id(3), id(1)]);
    expect(r.body.metrics.totalJobs).toBe(2);
  });

  it("filters by trace duration", async () => {
    const min = await get(`/api/search?tags=service.name%3Dcart&minDuration=100ms`, a.secret);
    expect(ids(min.body)).toEqual([id(6), id(5), id(4), id(2)]);
    const max = await get(`/api/search?maxDuration=0.1s`, a.secret);
    expect(ids(max.body)).toEqual([id(3), id(1)]);
    const both = await get(`/api/search?minDuration=130ms&maxDuration=400ms`, a.secret);
    expect(ids(both.body)).toEqual([id(4), id(2)]);
  });

  it("matches errors, span names and attributes, with the matching spans", async () => {
    expect(ids((await get(`/api/search?tags=status%3Derror`, a.secret)).body)).toEqual([id(5), id(2)]);
    expect(ids((await get(`/api/search?tags=error%3Dtrue`, a.secret)).body)).toEqual([id(5), id(2)]);
    const code = await get(`/api/search?tags=${encodeURIComponent("http.status_code=500")}`, a.secret);
    expect(ids(code.body)).toEqual([id(2)]);
    const set = { spans: [{ spanID: "a200000000000001", name: "POST /checkout", startTimeUnixNano: `${at(2)}000000`, durationNanos: "300000000", attributes: [{ key: "http.status_code", value: { intValue: "500" } }, { key: "service.name", value: { stringValue: "cart" } }] }], matched: 1 };
    expect(code.body.traces[0].spanSets).toEqual([set]);
    expect(code.body.traces[0].spanSet).toEqual(set);
    const named = await get(`/api/search?tags=${encodeURIComponent('name="GET /cart" service.name=cart')}`, a.secret);
    expect(ids(named.body)).toEqual([id(6), id(4), id(1)]);
    expect(ids((await get(`/api/search?tags=${encodeURIComponent('region="eu west"')}`, a.secret)).body)).toEqual([id(4)]);
    expect(ids((await get(`/api/search?tags=${encodeURIComponent("region=us")}`, a.secret)).body)).toEqual([]);
  });

  it("stops at the limit with the newest traces", async () => {
    expect(ids((await get(`/api/search?tags=service.name%3Dcart&limit=2`, a.secret)).body)).toEqual([id(6), id(5)]);
    expect(ids((await get(`/api/search?limit=1`, a.secret)).body)).toEqual([id(6)]);
    const named = await get(`/api/search?tags=${encodeURIComponent('name="GET /cart"')}&limit=2`, a.secret);
    expect(ids(named.body)).toEqual([id(6), id(4)]);
  });

  it("narrows by start/end", async () => {
    const s = Math.floor(at(3) / 1000);
    const r = await get(`/api/search?start=${s - 1}&end=${s + 90}`, a.secret);
    expect(ids(r.body)).toEqual([id(4), id(3)]);
    expect((await get(`/api/search?start=${s - 7200}&end=${s - 3600}`, a.secret)).body.traces).toEqual([]);
  });

  it("shows a tenant only its own traces", async () => {
    const r = await get(`/api/search?tags=service.name%3Dcart`, b.secret);
    expect(ids(r.body)).toEqual([id(7)]);
    expect(ids((await get(`/api/search`, a.secret)).body)).not.toContain(id(7));
    expect((await get(`/api/search/tag/name/values`, b.secret)).body).toEqual({ tagValues: ["GET /cart"] });
  });

  it("answers 400 for bad parameters and 401/403 without a read key", async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const q of ["limit=0", "limit=1001", "limit=abc", "spss=0", `start=${now}&end=${now - 1}`, `start=${now - 8 * 86400}&end=${now}`, "start=abc", "tags=novalue", "tags=status%3Dbroken", "minDuration=fast", "maxDuration=-1s", "minDuration=2s&maxDuration=1s"]) {
      const r = await get(`/api/search?${q}`, a.secret);
      expect(r.status, q).toBe(400);
      expect(r.body.message, q).toBeTypeOf("string");
    }
    expect((await get(`/api/search`)).status).toBe(401);
    const ingestOnly = await tenantWithKey(["ingest"]);
    expect((await get(`/api/search`, ingestOnly.secret)).status).toBe(403);
    expect((await get(`/api/search/tags`, ingestOnly.secret)).status).toBe(403);
  });
});

describe("Tempo search: /api/search with TraceQL", () => {
  const q = (query: string, extra = "") => get(`/api/search?q=${encodeURIComponent(query)}${extra}`, a.secret);

  it("finds by resource and duration, newest first, with spansets", async () => {
    const r = await q(`{ resource.service.name = "cart" && duration > 100ms }`);
    expect(r.status).toBe(200);
    expect(ids(r.body)).toEqual([id(6), id(5), id(4), id(2)]);
    const five = r.body.traces[1];
    expect(five.spanSets[0].spans.map((s: { spanID: string }) => s.spanID)).toEqual(["a500000000000002"]);
    expect(five.spanSet).toEqual(five.spanSets[0]);
    expect(Number(r.body.metrics.inspectedBytes)).toBeGreaterThan(0);
    expect(ids((await q(`{ resource.service.name = "cart" && duration > 100ms }`, "&limit=2")).body)).toEqual([id(6), id(5)]);
    expect(ids((await q(`{ status = error }`)).body)).toEqual([id(5), id(2)]);
    // Blocks without web (the blocks of traces 4 and 6) are skipped by the catalog's services list.
    const web = await q(`{ resource.service.name = "web" }`);
    expect(ids(web.body)).toEqual([id(5), id(3), id(1)]);
    expect(web.body.metrics.totalJobs).toBe(2);
    expect(ids((await q(`{ span.http.status_code = 500 }`)).body)).toEqual([id(2)]);
    // Tenant B's cart trace lasts 500 ms: not in A's answer, the only one in B's.
    const other = await get(`/api/search?q=${encodeURIComponent(`{ resource.service.name = "cart" && duration > 100ms }`)}`, b.secret);
    expect(ids(other.body)).toEqual([id(7)]);
  });

  it("runs pipelines that start with a scalar filter or select(), and wrapped pipelines compared", async () => {
    // Traces 1 and 5 have two spans, one in web and one in cart.
    expect(ids((await q(`count() = 2 | { resource.service.name = "cart" }`)).body)).toEqual([id(5), id(1)]);
    const compared = await q(`({ resource.service.name = "web" } | count()) = ({ resource.service.name = "cart" } | count())`);
    expect(ids(compared.body)).toEqual([id(5), id(1)]);
    // A scalar filter keeps its input whole: both spans of the trace.
    expect(compared.body.traces[0].spanSets[0].matched).toBe(2);
    const selected = await q(`select(span.region)`);
    expect(ids(selected.body)).toEqual([id(6), id(5), id(4), id(3), id(2), id(1)]);
    const four = selected.body.traces.find((t: { traceID: string }) => t.traceID === id(4));
    expect(four.spanSets[0].spans[0].attributes).toEqual([{ key: "region", value: { stringValue: "eu west" } }]);
  });

  it("accepts with() hints and says they are not honoured", async () => {
    const res = await exports.default.fetch(`http://localhost/api/search?q=${encodeURIComponent(`{ resource.service.name = "web" } with(sample=true)`)}`, { headers: { "x-api-key": a.secret } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { traces: { traceID: string }[]; warnings: string[] };
    expect(ids(body)).toEqual([id(5), id(3), id(1)]);
    expect(body.warnings).toEqual(["query hint sample=true is not honoured: search reads every matching trace"]);
    expect(res.headers.get("edgetrace-search-warning")).toBe(body.warnings[0]);
    expect((await q(`{ resource.service.name = "web" }`)).body.warnings).toBeUndefined();
  });

  it("answers 400 with the message and position for a bad query", async () => {
    const r = await q(`{ resource.service.name = }`);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("invalid_traceql");
    expect(r.body.message).toMatch(/1:\d+/);
    expect(r.body.position).toMatchObject({ line: 1 });
    expect(r.body.position.column).toBeGreaterThan(1);
    expect((await get(`/api/search?q=${encodeURIComponent("{}")}&tags=service.name%3Dcart`, a.secret)).status).toBe(400);
  });
});

describe("Tempo search: tags and tag values", () => {
  it("lists the covered tags and their values in the range", async () => {
    expect((await get(`/api/search/tags`, a.secret)).body.tagNames).toEqual(["http.status_code", "name", "region", "service.name", "status"]);
    const values = async (tag: string, query = "") => (await get(`/api/search/tag/${tag}/values${query}`, a.secret)).body.tagValues;
    expect(await values("service.name")).toEqual(["cart", "web"]);
    expect(await values("name")).toEqual(["GET /", "GET /cart", "GET /checkout", "POST /checkout"]);
    expect(await values("status")).toEqual(["error", "ok", "unset"]);
    expect(await values("http.method")).toEqual([]);
    expect(await values("region")).toEqual(["eu west"]);
    // v1 answers string values only, as Tempo's v1 endpoint does.
    expect(await values("http.status_code")).toEqual([]);
    const old = Math.floor(Date.now() / 1000) - 5 * 86400;
    expect(await values("service.name", `?start=${old}&end=${old + 60}`)).toEqual([]);
    expect(await values("region", `?start=${old}&end=${old + 60}`)).toEqual([]);
    expect((await get(`/api/search/tag/name/values?start=abc`, a.secret)).status).toBe(400);
  });
});
