/**
 * Search answers describe whole traces, not the fragment of one block: a trace whose spans were
 * assembled into two blocks (its services exported apart) is found through either fragment and
 * answered with the whole trace's root, times, counts, per-service stats and spansets, by Tempo's
 * /api/search (as Grafana reads it), Jaeger's and Zipkin's searches. And `order` ranks the whole
 * window, not the newest page.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { dashboardGet } from "../support/dashboard-api.ts";
import { testTrace, type ServiceSpanSpec } from "../support/spans.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

const id = (n: number) => `${"e".repeat(30)}${String(n).padStart(2, "0")}`;
const t0 = Date.now() - 40 * 60_000;
const SPLIT = id(1);
const splitStart = t0 + 10 * 60_000;

// The trace's first export: web-frontend's root (2.6 s) and one failed call.
const FRONT: ServiceSpanSpec[] = [
  { service: "web-frontend", spanId: "f000000000000001", name: "GET /checkout", startMs: splitStart, durationMs: 2600 },
  { service: "web-frontend", spanId: "f000000000000002", parentSpanId: "f000000000000001", name: "GET /session", startMs: splitStart + 10, durationMs: 30, error: true },
];
// Its second export, assembled into another block: checkout-service under the root, two errors.
const CHECKOUT: ServiceSpanSpec[] = [
  { service: "checkout-service", spanId: "c000000000000001", parentSpanId: "f000000000000001", name: "POST /orders", startMs: splitStart + 40, durationMs: 2560, attributes: { "http.status_code": 500 } },
  { service: "checkout-service", spanId: "c000000000000002", parentSpanId: "c000000000000001", name: "charge", startMs: splitStart + 50, durationMs: 900, error: true },
  { service: "checkout-service", spanId: "c000000000000003", parentSpanId: "c000000000000001", name: "reserve", startMs: splitStart + 960, durationMs: 100, error: true },
];

let a: { tenantId: string; secret: string };
const get = async (path: string) => (await dashboardGet(path, a.secret)).body as Record<string, unknown> & { traces: Record<string, unknown>[] };
const ids = (body: { traces: { traceID?: unknown }[] }) => body.traces.map((t) => t.traceID);

beforeAll(async () => {
  a = await tenantWithKey(["read"]);
  // An old slow trace (5 s, one error) and newer quick ones, each in its own block.
  await storeAssembled(a.tenantId, testTrace(id(2), [{ service: "batch", spanId: "b000000000000001", name: "nightly", startMs: t0, durationMs: 5000, error: true }]));
  for (let i = 0; i < 4; i++) {
    await storeAssembled(a.tenantId, testTrace(id(10 + i), [{ service: "web-frontend", spanId: `a00000000000000${i}`, name: "GET /", startMs: t0 + (20 + i) * 60_000, durationMs: 10 + i }]));
  }
  // The split trace: two exports, two assemblies, two blocks.
  await storeAssembled(a.tenantId, testTrace(SPLIT, FRONT));
  await storeAssembled(a.tenantId, testTrace(SPLIT, CHECKOUT));
});

const WHOLE = {
  traceID: SPLIT,
  rootServiceName: "web-frontend",
  rootTraceName: "GET /checkout",
  startTimeUnixNano: `${splitStart}000000`,
  durationMs: 2600,
  serviceStats: { "checkout-service": { spanCount: 3, errorCount: 2 }, "web-frontend": { spanCount: 2, errorCount: 1 } },
};

describe("search describes the whole trace, whichever fragment matched", () => {
  it("Tempo's /api/search: found through the fragment without the root", async () => {
    const r = await get(`/api/search?q=${encodeURIComponent('{ resource.service.name = "checkout-service" }')}&limit=5`);
    expect(ids(r)).toEqual([SPLIT]);
    expect(r.traces[0]).toMatchObject(WHOLE);
    const sets = r.traces[0]!.spanSets as { matched: number; spans: { spanID: string }[] }[];
    expect(sets).toHaveLength(1);
    expect(sets[0]!.matched).toBe(3);
    expect(r.traces[0]!.spanSet).toEqual(sets[0]);
  });

  it("Tempo's /api/search: found through the root's fragment", async () => {
    const r = await get(`/api/search?q=${encodeURIComponent('{ name = "GET /checkout" }')}`);
    expect(ids(r)).toEqual([SPLIT]);
    expect(r.traces[0]).toMatchObject(WHOLE);
  });

  it("spansets and their matched counts are the whole trace's", async () => {
    // Error spans: one in the first fragment, two in the second.
    const r = await get(`/api/search?q=${encodeURIComponent("{ status = error }")}&start=${Math.floor(splitStart / 1000) - 60}&end=${Math.ceil(splitStart / 1000) + 60}&spss=10`);
    expect(ids(r)).toEqual([SPLIT]);
    expect(r.traces[0]).toMatchObject(WHOLE);
    const set = (r.traces[0]!.spanSets as { matched: number; spans: { spanID: string }[] }[])[0]!;
    expect(set.matched).toBe(3);
    expect(set.spans.map((s) => s.spanID).sort()).toEqual(["c000000000000002", "c000000000000003", "f000000000000002"]);
  });

  it("legacy tags searches too", async () => {
    const r = await get(`/api/search?tags=${encodeURIComponent("service.name=checkout-service")}`);
    expect(ids(r)).toEqual([SPLIT]);
    expect(r.traces[0]).toMatchObject(WHOLE);
  });

  it("Jaeger's and Zipkin's searches answer the whole trace", async () => {
    const j = (await dashboardGet(`/jaeger/api/traces?service=checkout-service`, a.secret)).body as { data: { traceID: string; spans: { spanID: string }[]; processes: Record<string, { serviceName: string }> }[] };
    expect(j.data.map((t) => t.traceID)).toEqual([SPLIT]);
    expect(j.data[0]!.spans).toHaveLength(5);
    expect(Object.values(j.data[0]!.processes).map((p) => p.serviceName).sort()).toEqual(["checkout-service", "web-frontend"]);
    const z = (await dashboardGet(`/zipkin/api/v2/traces?serviceName=checkout-service`, a.secret, "content-type")).body as { traceId: string; parentId?: string; localEndpoint: { serviceName: string } }[][];
    expect(z).toHaveLength(1);
    expect(z[0]!).toHaveLength(5);
    expect(z[0]!.filter((s) => !s.parentId).map((s) => s.localEndpoint.serviceName)).toEqual(["web-frontend"]);
  });
});

describe("search order ranks the whole window", () => {
  it("by default, the newest traces", async () => {
    expect(ids(await get(`/api/search?limit=3`))).toEqual([id(13), id(12), id(11)]);
  });

  it("order=duration: the longest traces in the window, however old", async () => {
    const r = await get(`/api/search?limit=3&order=duration`);
    expect(ids(r)).toEqual([id(2), SPLIT, id(13)]);
    // Ranked by the whole trace's duration (2.6 s), not a fragment's.
    expect(r.traces[1]).toMatchObject(WHOLE);
    // Every block's summary was read: the whole window was ranked.
    expect(r.metrics).toMatchObject({ completedJobs: 7, totalJobs: 7 });
  });

  it("order=duration with a span-level query", async () => {
    const r = await get(`/api/search?limit=2&order=duration&q=${encodeURIComponent('{ resource.service.name = "web-frontend" }')}`);
    expect(ids(r)).toEqual([SPLIT, id(13)]);
  });

  it("order=errors: most error spans first, ties newest first", async () => {
    const r = await get(`/api/search?limit=2&order=errors`);
    expect(ids(r)).toEqual([SPLIT, id(2)]);
  });

  it("a bad order is a 400 naming it", async () => {
    const r = await dashboardGet(`/api/search?order=slowest`, a.secret);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain("order");
  });
});
