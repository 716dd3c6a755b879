import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Span, TraceBatch } from "../../shared/model/span.ts";
import { testSpan } from "../support/spans.ts";
import { twoReaders } from "../support/dashboard-api.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

function span(traceId: string, spanId: string, parentSpanId: string, name: string, startMs: number): Span {
  return testSpan({ traceId, spanId, parentSpanId, name, startMs, attributes: { "http.route": "/cart" } });
}

/** Stores a trace as ingest and the assembler would, for one tenant. */
async function storeTrace(tenantId: string, spans: Span[]) {
  const batch: TraceBatch = {
    resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "cart" } }], droppedAttributesCount: 0 }, schemaUrl: "", scopeSpans: [{ scope: { name: "test", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }] }],
  };
  await storeAssembled(tenantId, batch.resourceSpans);
}

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(`http://localhost${path}`, { headers });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

describe("Tempo API: trace by id", () => {
  it("returns the tenant's trace in Tempo's shapes, and 404 for any other tenant", async () => {
    const [a, b] = await twoReaders();
    const traceId = "0000000000000000" + "4bf92f3577b34da6";
    const t0 = Date.now() - 60_000;
    await storeTrace(a.tenantId, [span(traceId, "00f067aa0ba902b7", "", "GET /cart", t0), span(traceId, "00f067aa0ba902b8", "00f067aa0ba902b7", "SELECT cart", t0 + 5)]);

    const v1 = await get(`/api/traces/${traceId}`, { authorization: `Bearer ${a.secret}` });
    expect(v1.status).toBe(200);
    const spans = v1.body.batches.flatMap((rs: { scopeSpans: { spans: Span[] }[] }) => rs.scopeSpans.flatMap((ss) => ss.spans));
    expect(spans.map((s: Span) => s.name).sort()).toEqual(["GET /cart", "SELECT cart"]);
    expect(v1.body.batches[0].resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "cart" } });

    // Basic auth with the key as password, as Grafana datasources send it; a 64-bit id is padded.
    const v2 = await get(`/api/v2/traces/4BF92F3577B34DA6`, { authorization: `Basic ${btoa(`tenant:${a.secret}`)}` });
    expect(v2.status).toBe(200);
    expect(v2.body.trace.resourceSpans).toEqual(v1.body.batches);

    const other = await get(`/api/traces/${traceId}`, { "x-api-key": b.secret });
    expect(other.status).toBe(404);
    const missing = await get(`/api/traces/${"1".repeat(32)}`, { "x-api-key": a.secret });
    expect(other.body).toEqual({ ...missing.body, message: missing.body.message.replace("1".repeat(32), traceId) });
  });

  it("narrows by start/end (epoch seconds)", async () => {
    const a = await tenantWithKey(["read"]);
    const traceId = "5b8efff798038103d269b633813fc60c";
    const t0 = Date.now() - 3_600_000;
    await storeTrace(a.tenantId, [span(traceId, "eee19b7ec3c1b174", "", "root", t0)]);
    const s = Math.floor(t0 / 1000);
    expect((await get(`/api/traces/${traceId}?start=${s - 60}&end=${s + 60}`, { "x-api-key": a.secret })).status).toBe(200);
    expect((await get(`/api/traces/${traceId}?start=${s + 600}&end=${s + 1200}`, { "x-api-key": a.secret })).status).toBe(404);
    expect((await get(`/api/traces/${traceId}?start=abc`, { "x-api-key": a.secret })).status).toBe(400);
  });

  it("needs a key with the read scope, and a proper id", async () => {
    const ingestOnly = await tenantWithKey(["ingest"]);
    const reader = await tenantWithKey(["read"]);
    expect((await get(`/api/traces/${"a".repeat(32)}`)).status).toBe(401);
    expect((await get(`/api/traces/${"a".repeat(32)}`, { "x-api-key": "et_nope" })).status).toBe(401);
    expect((await get(`/api/traces/${"a".repeat(32)}`, { "x-api-key": ingestOnly.secret })).status).toBe(403);
    expect((await get(`/api/traces/not-hex`, { "x-api-key": reader.secret })).status).toBe(400);
    expect((await get(`/api/traces/${"0".repeat(32)}`, { "x-api-key": reader.secret })).status).toBe(400);
    expect((await get(`/api/echo`, { "x-api-key": reader.secret })).body).toBe("echo");
  });
});
