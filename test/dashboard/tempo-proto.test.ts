import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import { createKey } from "../../shared/db/queries/keys.ts";
import { createTenant } from "../../shared/db/queries/tenants.ts";
import type { Span, TraceBatch } from "../../shared/model/span.ts";
import { decodeTraceRequest } from "../../shared/otlp/decode-proto.ts";
import { prefersProtobuf } from "../../workers/dashboard/routes/tempo.ts";
import { storeAssembled } from "../support/store-assembled.ts";

const db = () => d1(env.DB) as BatchingDb;

const traceId = "7a3c9e1f00b24d6e8f1a2b3c4d5e6f70";

function span(spanId: string, parentSpanId: string, name: string, startMs: number): Span {
  return {
    traceId, spanId, parentSpanId, name, traceState: "rojo=00f067aa0ba902b7", flags: 0x301, kind: 3,
    startTimeUnixNano: `${startMs}123456`, endTimeUnixNano: `${startMs + 25}000001`,
    attributes: [
      { key: "http.route", value: { stringValue: "/cart/ü" } },
      { key: "http.status_code", value: { intValue: "503" } },
      { key: "retry", value: { boolValue: true } },
      { key: "ratio", value: { doubleValue: 0.25 } },
      { key: "blob", value: { bytesValue: "AAEC/w==" } },
      { key: "tags", value: { arrayValue: { values: [{ stringValue: "a" }, { intValue: "-9223372036854775808" }, {}] } } },
      { key: "nested", value: { kvlistValue: { values: [{ key: "k", value: { stringValue: "v" } }] } } },
    ],
    droppedAttributesCount: 2,
    events: [{ timeUnixNano: `${startMs + 1}000000`, name: "exception", attributes: [{ key: "exception.type", value: { stringValue: "Timeout" } }], droppedAttributesCount: 0 }],
    droppedEventsCount: 1,
    links: [{ traceId: "0102030405060708090a0b0c0d0e0f10", spanId: "1112131415161718", traceState: "", attributes: [], droppedAttributesCount: 0, flags: 1 }],
    droppedLinksCount: 0,
    status: { code: 2, message: "upstream timed out" },
  };
}

async function storeTrace(tenantId: string, spans: Span[]) {
  const batch: TraceBatch = {
    resourceSpans: [{
      resource: { attributes: [{ key: "service.name", value: { stringValue: "cart" } }], droppedAttributesCount: 0 },
      schemaUrl: "https://opentelemetry.io/schemas/1.24.0",
      scopeSpans: [{ scope: { name: "test", version: "1.0.0", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }],
    }],
  };
  await storeAssembled(tenantId, batch.resourceSpans);
}

function fetchTrace(path: string, headers: Record<string, string>) {
  return exports.default.fetch(`http://localhost${path}`, { headers });
}

describe("Tempo API: trace by id as protobuf", () => {
  it("answers Accept: application/protobuf with tempopb.Trace bytes equal to the JSON batches", async () => {
    const tenant = await createTenant(db(), `t-${crypto.randomUUID()}`);
    const { secret } = await createKey(db(), tenant.id, { name: "k", scopes: ["read"] });
    const t0 = Date.now() - 60_000;
    await storeTrace(tenant.id, [span("00f067aa0ba902b7", "", "GET /cart", t0), span("00f067aa0ba902b8", "00f067aa0ba902b7", "SELECT cart", t0 + 5)]);
    const auth = { "x-api-key": secret };

    const json = await fetchTrace(`/api/traces/${traceId}`, auth);
    expect(json.status).toBe(200);
    expect(json.headers.get("content-type")).toMatch(/^application\/json/);
    const { batches } = (await json.json()) as { batches: TraceBatch["resourceSpans"] };
    expect(batches.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans))).toHaveLength(2);

    for (const accept of ["application/protobuf", "application/x-protobuf", "application/json;q=0.5, application/protobuf"]) {
      const res = await fetchTrace(`/api/traces/${traceId}`, { ...auth, accept });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/protobuf");
      expect(res.headers.get("vary")).toMatch(/accept/i);
      const decoded = decodeTraceRequest(new Uint8Array(await res.arrayBuffer()));
      expect(decoded.resourceSpans).toEqual(batches);
    }

    // JSON listed first, or no protobuf at all: JSON as before; v2 is always JSON.
    for (const accept of ["application/json, application/protobuf", "*/*", "application/protobuf;q=0, application/json"]) {
      const res = await fetchTrace(`/api/traces/${traceId}`, { ...auth, accept });
      expect(((await res.json()) as { batches: unknown }).batches).toEqual(batches);
    }
    const v2 = await fetchTrace(`/api/v2/traces/${traceId}`, { ...auth, accept: "application/protobuf" });
    expect(((await v2.json()) as { trace: { resourceSpans: unknown } }).trace.resourceSpans).toEqual(batches);

    // Errors keep their usual shape.
    const missing = await fetchTrace(`/api/traces/${"1".repeat(32)}`, { ...auth, accept: "application/protobuf" });
    expect(missing.status).toBe(404);
  });

  it("negotiates by quality, then by order", () => {
    expect(prefersProtobuf(undefined)).toBe(false);
    expect(prefersProtobuf("")).toBe(false);
    expect(prefersProtobuf("application/protobuf")).toBe(true);
    expect(prefersProtobuf("Application/X-Protobuf; charset=binary")).toBe(true);
    expect(prefersProtobuf("application/protobuf, application/json")).toBe(true);
    expect(prefersProtobuf("application/json, application/protobuf")).toBe(false);
    expect(prefersProtobuf("application/json;q=0.9, application/protobuf")).toBe(true);
    expect(prefersProtobuf("application/protobuf;q=0.1, application/json")).toBe(false);
    expect(prefersProtobuf("application/protobuf;q=0")).toBe(false);
    expect(prefersProtobuf("*/*")).toBe(false);
    expect(prefersProtobuf("text/html, */*;q=0.8")).toBe(false);
  });
});
