import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { app } from "../../workers/ingest/app.ts";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { d1 } from "../../shared/db/d1.ts";
import { revokeKey } from "../../shared/db/queries/keys.ts";
import { countSpans } from "../../shared/model/span.ts";
import "./provided-context.ts";
import { INLINE_MAX_BYTES, QUEUE_IN_MEMORY, QUEUE_METADATA } from "../../shared/ingest/batch-object.ts";
import { compress, fixture, JSON_TYPE, post, PROTO, QUEUE_BINDINGS, spyQueue, storedBatches, storedObjects, storedSpanIds, tenantWithKey } from "./helpers.ts";
import { queueShard } from "../../shared/ingest/queue-shard.ts";
import type { IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import { ingestQueues } from "../../workers/ingest/env.ts";
import { LEASE_MS, LeaseLimiter } from "../../shared/ingest/rate-limit.ts";
import { tenantObject, type TenantObjectNamespace } from "../../shared/tenant-object/api.ts";

const validBatch = () => inject("otlpFixtureBatches").valid!;

/** The valid batch with 8 KB of random hex on every span: too large to travel inline. */
function largeBatchJson(): string {
  const batch = structuredClone(validBatch());
  const hex = () => Array.from(crypto.getRandomValues(new Uint8Array(4096)), (b) => b.toString(16).padStart(2, "0")).join("");
  for (const rs of batch.resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) sp.attributes.push({ key: "payload", value: { stringValue: hex() } });
  return JSON.stringify(batch);
}
const allSpanIds = () => validBatch().resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId))).sort();

describe("OTLP ingest: accepted requests are durably stored, grouped by trace", () => {
  it("stores protobuf spans under the key's tenant and announces them on the queue", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const { queue, sent } = spyQueue();
    const res = await post("/v1/traces", fixture("valid"), { "content-type": PROTO, authorization: `Bearer ${secret}` }, { INGEST_QUEUE: queue });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(PROTO);
    // An ExportTraceServiceResponse without partial_success encodes to zero bytes.
    expect((await res.arrayBuffer()).byteLength).toBe(0);

    expect(await storedSpanIds(tenantId)).toEqual(allSpanIds());
    const [batch] = await storedBatches(tenantId);
    expect(batch!.tenantId).toBe(tenantId);
    for (const t of batch!.traces) {
      for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) expect(s.traceId).toBe(t.traceId);
    }
    expect(new Set(batch!.traces.map((t) => t.traceId)).size).toBe(batch!.traces.length);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ tenantId, spanCount: countSpans(validBatch()), traceCount: batch!.traces.length });
    expect(sent[0]!.key.startsWith(`t/${tenantId}/ingest/`)).toBe(true);
    // Small enough to travel inside the message: no R2 write.
    expect(sent[0]!.inline!.byteLength).toBeLessThanOrEqual(INLINE_MAX_BYTES);
    expect(await storedObjects(tenantId)).toEqual([]);
  });

  it("writes a request too large for a queue message to R2, and the message points at it", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const { queue, sent } = spyQueue();
    const res = await post("/v1/traces", largeBatchJson(), { "content-type": JSON_TYPE, "x-api-key": secret }, { INGEST_QUEUE: queue });
    expect(res.status).toBe(200);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.inline).toBeUndefined();
    const objects = await storedObjects(tenantId);
    expect(objects.map((o) => o.spanCount)).toEqual([countSpans(validBatch())]);
    expect(sent[0]!.key).toMatch(new RegExp(`^t/${tenantId}/ingest/.*${objects[0]!.batchId}\\.etb$`));
  });

  it("writes every request to R2, marked, where queue messages live in memory (QUEUES_IN_MEMORY, npm start)", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const { queue, sent } = spyQueue();
    const res = await post("/v1/traces", fixture("valid"), { "content-type": PROTO, authorization: `Bearer ${secret}` }, { INGEST_QUEUE: queue, QUEUES_IN_MEMORY: "1" });
    expect(res.status).toBe(200);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.inline).toBeUndefined();
    const listed = await env.SPANS.list({ prefix: `t/${tenantId}/ingest/`, include: ["customMetadata"] });
    expect(listed.objects.map((o) => o.key)).toEqual([sent[0]!.key]);
    expect(listed.objects[0]!.customMetadata?.[QUEUE_METADATA]).toBe(QUEUE_IN_MEMORY);
    expect(await storedSpanIds(tenantId)).toEqual(allSpanIds());
  });

  it("accepts OTLP/JSON, gzip and deflate, and the x-api-key header", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const json = new TextEncoder().encode(JSON.stringify(validBatch()));
    const plain = await post("/v1/traces", json, { "content-type": JSON_TYPE, "x-api-key": secret });
    expect(plain.status).toBe(200);
    expect(await plain.json()).toEqual({});
    const gz = await post("/v1/traces", await compress(fixture("valid"), "gzip"), { "content-type": PROTO, "content-encoding": "gzip", "x-api-key": secret });
    expect(gz.status).toBe(200);
    const df = await post("/v1/traces", await compress(json, "deflate"), { "content-type": JSON_TYPE, "content-encoding": "deflate", "x-api-key": secret });
    expect(df.status).toBe(200);
    expect((await storedBatches(tenantId)).map((b) => b.spanCount)).toEqual([64, 64, 64]);
  });

  it("keeps the valid spans and reports the rest as partial success", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const res = await post("/v1/traces", fixture("partial"), { "content-type": PROTO, "x-api-key": secret });
    expect(res.status).toBe(200);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body.byteLength).toBeGreaterThan(0);
    expect(new TextDecoder().decode(body)).toMatch(/traceId/);
    expect((await storedSpanIds(tenantId)).length).toBe(62);

    const partial = structuredClone(validBatch());
    partial.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.traceId = "abcd";
    const jsonRes = await post("/v1/traces", JSON.stringify(partial), { "content-type": JSON_TYPE, "x-api-key": secret });
    expect(jsonRes.status).toBe(200);
    const jsonBody = (await jsonRes.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    expect(jsonBody.partialSuccess.rejectedSpans).toBe("1");
    expect(jsonBody.partialSuccess.errorMessage).toMatch(/traceId/);
  });

  it("tells the assembler how many spans were refused, for the tenant's usage figures", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const { queue, sent } = spyQueue();
    expect((await post("/v1/traces", fixture("partial"), { "content-type": PROTO, "x-api-key": secret }, { INGEST_QUEUE: queue })).status).toBe(200);
    expect(sent[0]).toMatchObject({ spanCount: 62, rejectedSpans: 2 });
    const refused = structuredClone(validBatch());
    for (const rs of refused.resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) sp.traceId = "abcd";
    const res = await post("/v1/traces", JSON.stringify(refused), { "content-type": JSON_TYPE, "x-api-key": secret }, { INGEST_QUEUE: queue });
    expect(res.status).toBe(400);
    // A usage-only message: no spans, no object.
    expect(sent[1]).toMatchObject({ tenantId, spanCount: 0, rejectedSpans: 64 });
    expect(sent[1]!.inline).toBeUndefined();
    expect(await storedObjects(tenantId)).toEqual([]);
  });

  it("answers an empty protobuf request (a valid, empty ExportTraceServiceRequest) with 200 and stores nothing", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const res = await post("/v1/traces", new Uint8Array(0), { "content-type": PROTO, "x-api-key": secret });
    expect(res.status).toBe(200);
    expect(await storedBatches(tenantId)).toEqual([]);
  });

  it("answers CORS preflights for browser exporters", async () => {
    const res = await post("/v1/traces", null, {}, {});
    expect(res.status).toBe(401);
    const { app } = await import("../../workers/ingest/app.ts");
    const pre = await app.fetch(
      new Request("http://ingest.local/v1/traces", { method: "OPTIONS", headers: { origin: "https://shop.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-api-key" } }),
      env,
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-headers")).toMatch(/x-api-key/);
  });
});

describe("ingest bad-input suite: each gets its 4xx and stores nothing", () => {
  const cases: { name: string; status: number; body: () => Promise<BodyInit> | BodyInit; headers?: Record<string, string>; message: RegExp }[] = [
    { name: "truncated protobuf", status: 400, body: () => fixture("truncated"), message: /truncated|end of|beyond|past/i },
    { name: "wrong wire type", status: 400, body: () => fixture("wrongWireType"), message: /wire type/i },
    { name: "ids of the wrong length in every span", status: 400, body: () => fixture("allBad"), message: /spanId/ },
    { name: "deeply nested attribute values", status: 400, body: () => fixture("deep"), message: /deep|nest/i },
    { name: "empty JSON body", status: 400, body: () => "", headers: { "content-type": JSON_TYPE }, message: /empty/ },
    { name: "invalid JSON", status: 400, body: () => "{\"resourceSpans\": [", headers: { "content-type": JSON_TYPE }, message: /invalid JSON/ },
    { name: "JSON of the wrong shape", status: 400, body: () => JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 5 }] }] }] }), headers: { "content-type": JSON_TYPE }, message: /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]/ },
    { name: "wrong content type", status: 415, body: () => "hello", headers: { "content-type": "text/plain" }, message: /Content-Type/ },
    { name: "unknown content encoding", status: 415, body: () => fixture("valid"), headers: { "content-type": PROTO, "content-encoding": "br" }, message: /Content-Encoding/ },
    { name: "corrupt gzip", status: 400, body: () => fixture("valid"), headers: { "content-type": PROTO, "content-encoding": "gzip" }, message: /gzip/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { tenantId, secret } = await tenantWithKey();
      const { queue, sent } = spyQueue();
      const res = await post("/v1/traces", await c.body(), { "content-type": PROTO, "x-api-key": secret, ...c.headers }, { INGEST_QUEUE: queue });
      expect(res.status).toBe(c.status);
      const isProto = (c.headers?.["content-type"] ?? PROTO) === PROTO;
      const text = isProto ? new TextDecoder().decode(await res.arrayBuffer()) : ((await res.json()) as { message: string }).message;
      expect(text).toMatch(c.message);
      expect(await storedBatches(tenantId)).toEqual([]);
      // At most a usage-only message (spans refused by validation are counted for the tenant).
      expect(sent.filter((m) => m.spanCount > 0 || m.inline || m.bytes > 0)).toEqual([]);
    });
  }

  it("a gzip bomb is cut off while inflating with 413", async () => {
    const { tenantId, secret } = await tenantWithKey();
    await env.DB.prepare("UPDATE tenants SET max_request_bytes = ? WHERE id = ?").bind(1024 * 1024, tenantId).run();
    const bomb = await compress(new Uint8Array(32 * 1024 * 1024), "gzip");
    expect(bomb.byteLength).toBeLessThan(64 * 1024);
    const res = await post("/v1/traces", bomb, { "content-type": PROTO, "content-encoding": "gzip", "x-api-key": secret });
    expect(res.status).toBe(413);
    expect(await storedBatches(tenantId)).toEqual([]);
  });

  it("a huge attribute value is truncated to the tenant's limit, not rejected", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const batch = structuredClone(validBatch());
    batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.push({ key: "huge", value: { stringValue: "x".repeat(200_000) } });
    const res = await post("/v1/traces", JSON.stringify(batch), { "content-type": JSON_TYPE, "x-api-key": secret });
    expect(res.status).toBe(200);
    const [stored] = await storedBatches(tenantId);
    const huge = stored!.traces.flatMap((t) => t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.flatMap((s) => s.attributes)))).find((a) => a.key === "huge");
    expect((huge!.value as { stringValue: string }).stringValue.length).toBeLessThanOrEqual(64 * 1024);
  });
});

describe("ingest auth", () => {
  it("401 without a key and with an unknown key, as JSON", async () => {
    for (const headers of [{}, { "x-api-key": "et_unknown" }, { authorization: "Bearer et_unknown2" }] as Record<string, string>[]) {
      const res = await post("/v1/traces", fixture("valid"), { "content-type": JSON_TYPE, ...headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 16 });
    }
  });

  it("403 for a key without the ingest scope", async () => {
    const { tenantId, secret } = await tenantWithKey(["read"]);
    const res = await post("/api/v2/spans", "[]", { "content-type": JSON_TYPE, "x-api-key": secret });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toMatch(/ingest/);
    expect(await storedBatches(tenantId)).toEqual([]);
  });

  it("401 for a revoked key", async () => {
    const { tenantId, keyId, secret } = await tenantWithKey();
    expect(await revokeKey(d1(env.DB), tenantId, keyId)).toBe(true);
    const res = await post("/v1/traces", fixture("valid"), { "content-type": PROTO, "x-api-key": secret });
    expect(res.status).toBe(401);
    expect(await storedBatches(tenantId)).toEqual([]);
  });

  it("a key writes only to its own tenant", async () => {
    const a = await tenantWithKey();
    const b = await tenantWithKey();
    expect((await post("/v1/traces", fixture("valid"), { "content-type": PROTO, "x-api-key": b.secret })).status).toBe(200);
    expect(await storedBatches(a.tenantId)).toEqual([]);
    expect(await storedSpanIds(b.tenantId)).toEqual(allSpanIds());
  });

  it("records the key's last use", async () => {
    const { keyId, secret } = await tenantWithKey();
    await post("/v1/traces", new Uint8Array(0), { "content-type": PROTO, "x-api-key": secret });
    const row = await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?").bind(keyId).first<{ last_used_at: number | null }>();
    expect(row?.last_used_at).toBeGreaterThan(0);
  });
});

describe("ingest limits and failures", () => {
  it("429 with Retry-After once a tenant's rate is spent", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const size = fixture("valid").byteLength;
    await env.DB.prepare("UPDATE tenants SET ingest_bytes_per_second = ?, ingest_burst_bytes = ? WHERE id = ?").bind(Math.ceil(size / 10), Math.ceil(size * 1.5), tenantId).run();
    expect((await post("/v1/traces", fixture("valid"), { "content-type": PROTO, "x-api-key": secret })).status).toBe(200);
    const limited = await post("/v1/traces", fixture("valid"), { "content-type": PROTO, "x-api-key": secret });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await storedBatches(tenantId)).toHaveLength(1);
  });

  it("holds one limit across ingest isolates: two isolates' limiters take leases from the tenant's object", async () => {
    // Two LeaseLimiters are what two isolates hold; the tenant object (a real Durable Object here)
    // is the one bucket behind them. Offered: as fast as the two can go, far above the rate.
    const tenantId = `rl-${crypto.randomUUID()}`;
    const stub = tenantObject(env.TENANTS as unknown as TenantObjectNamespace, tenantId);
    const ask = (r: Parameters<typeof stub.takeLease>[1]) => stub.takeLease(tenantId, r);
    const isolates = [new LeaseLimiter(), new LeaseLimiter()];
    const limits = { ratePerSecond: 200_000, burst: 100_000 };
    const cost = 2_000;
    let admitted = 0;
    let requests = 0;
    const started = Date.now();
    while (Date.now() - started < 3000) {
      const results = await Promise.all(isolates.map((l) => l.take(tenantId, cost, limits, ask)));
      requests += results.length;
      admitted += results.filter((r) => r.ok).length * cost;
    }
    const seconds = (Date.now() - started) / 1000;
    // At most burst + rate x (T + one lease), whatever the two isolates do (shared/ingest/rate-limit.ts).
    expect(admitted).toBeLessThanOrEqual(limits.burst + limits.ratePerSecond * (seconds + LEASE_MS / 1000));
    expect(admitted).toBeLessThan(requests * cost);
    expect(isolates.every((l) => l.stats.local + l.stats.objectCalls > 0 && l.stats.fallback === 0)).toBe(true);
    // Two limiters with buckets of their own would each have admitted about that much.
    expect(admitted).toBeLessThan(2 * (limits.burst + limits.ratePerSecond * seconds) * 0.75);
  });

  it("sends each tenant's messages to its own queue shard", async () => {
    const shardsSeen = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const { tenantId, secret } = await tenantWithKey();
      const spies = QUEUE_BINDINGS.map(() => spyQueue());
      const bindings = Object.fromEntries(QUEUE_BINDINGS.map((name, s) => [name, spies[s]!.queue]));
      expect((await post("/v1/traces", fixture("valid"), { "content-type": PROTO, "x-api-key": secret }, bindings, "own")).status).toBe(200);
      const shard = queueShard(tenantId, QUEUE_BINDINGS.length);
      shardsSeen.add(shard);
      expect(spies.map((s) => s.sent.length)).toEqual(QUEUE_BINDINGS.map((_, s) => (s === shard ? 1 : 0)));
    }
    expect(shardsSeen.size).toBeGreaterThan(1);
  });

  it("takes as many queue shards as are bound, and refuses a gap in their numbering", () => {
    const q = (n: number) => ({ n }) as unknown as Queue<IngestBatchMessage>;
    expect(ingestQueues({ INGEST_QUEUE: q(0), INGEST_QUEUE_2: q(2), INGEST_QUEUE_1: q(1), OTHER: 1 }).map((x) => (x as unknown as { n: number }).n)).toEqual([0, 1, 2]);
    expect(ingestQueues({ INGEST_QUEUE: q(0), INGEST_QUEUE_1: q(1), INGEST_QUEUE_2: q(2), INGEST_QUEUE_3: q(3), INGEST_QUEUE_4: q(4) })).toHaveLength(5);
    expect(() => ingestQueues({ INGEST_QUEUE: q(0), INGEST_QUEUE_2: q(2) })).toThrow(/without gaps/);
    expect(() => ingestQueues({})).toThrow(/without gaps/);
  });

  it("503 with Retry-After when R2 fails for a large request, and nothing is queued", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const { queue, sent } = spyQueue();
    // A fault that cannot be produced for real in workerd: R2 refusing a write.
    const failingR2 = { put: async () => { throw new Error("R2 unavailable"); } } as unknown as R2Bucket;
    const res = await post("/v1/traces", largeBatchJson(), { "content-type": JSON_TYPE, "x-api-key": secret }, { SPANS: failingR2, INGEST_QUEUE: queue });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(sent).toEqual([]);
    expect(await storedBatches(tenantId)).toEqual([]);
    // A request that travels inline does not need R2.
    const small = await post("/v1/traces", fixture("valid"), { "content-type": PROTO, "x-api-key": secret }, { SPANS: failingR2, INGEST_QUEUE: queue });
    expect(small.status).toBe(200);
    expect(await storedSpanIds(tenantId)).toEqual(allSpanIds());
  });

  it("503 when the queue fails, and an R2 object written for a large request is removed again", async () => {
    const { tenantId, secret } = await tenantWithKey();
    const failingQueue = { send: async () => { throw new Error("queue unavailable"); } } as unknown as Queue;
    const res = await post("/v1/traces", fixture("valid"), { "content-type": JSON_TYPE, "x-api-key": secret }, { INGEST_QUEUE: failingQueue as never });
    // JSON content type with a protobuf body is a 400; send real JSON instead.
    expect(res.status).toBe(400);
    for (const body of [JSON.stringify(validBatch()), largeBatchJson()]) {
      const res2 = await post("/v1/traces", body, { "content-type": JSON_TYPE, "x-api-key": secret }, { INGEST_QUEUE: failingQueue as never });
      expect(res2.status).toBe(503);
      expect(res2.headers.get("retry-after")).toBe("5");
      expect(await storedBatches(tenantId)).toEqual([]);
    }
  });
});

describe("response headers", () => {
  it("sends nosniff on every answer (2xx, 401, 404, preflight) and HSTS only over https", async () => {
    const { secret } = await tenantWithKey();
    const ok = await post("/v1/traces", fixture("valid"), { "content-type": PROTO, "x-api-key": secret });
    const unauthorised = await post("/v1/traces", fixture("valid"), { "content-type": PROTO });
    const missing = await post("/v2/nothing", "", {});
    const preflight = await app.fetch(new Request("http://ingest.local/v1/traces", { method: "OPTIONS", headers: { origin: "http://page.example", "access-control-request-method": "POST" } }), env, createExecutionContext());
    for (const [name, res, status] of [["accepted", ok, 200], ["no key", unauthorised, 401], ["no route", missing, 404], ["preflight", preflight, 204]] as const) {
      expect(res.status, name).toBe(status);
      expect(res.headers.get("x-content-type-options"), name).toBe("nosniff");
      expect(res.headers.get("strict-transport-security"), name).toBeNull();
    }
    const overHttps = await app.fetch(new Request("https://ingest.example/v1/traces", { method: "POST", body: fixture("valid"), headers: { "content-type": PROTO } }), env, createExecutionContext());
    expect(overHttps.status).toBe(401);
    expect(overHttps.headers.get("strict-transport-security")).toBe("max-age=31536000");
  });
});
