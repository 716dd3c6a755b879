import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import type { Scope } from "../../shared/auth/keys.ts";
import { d1 } from "../../shared/db/d1.ts";
import { createKey } from "../../shared/db/queries/keys.ts";
import { createTenant } from "../../shared/db/queries/tenants.ts";
import { decodeIngestBatch, inflateInline, type IngestBatchMessage, type IngestBatchObject } from "../../shared/ingest/batch-object.ts";
import { tenantPrefix } from "../../shared/storage/keys.ts";
import { app } from "../../workers/ingest/app.ts";
import type { IngestEnv } from "../../workers/ingest/env.ts";
import "./provided-context.ts";

export async function tenantWithKey(scopes: Scope[] = ["ingest"]) {
  const db = d1(env.DB);
  const tenant = await createTenant(db, `tenant-${crypto.randomUUID()}`);
  const { key, secret } = await createKey(db, tenant.id, { name: "test", scopes });
  return { tenantId: tenant.id, keyId: key.id, secret };
}

/**
 * Every message the queue accepted in this test file. The local queue has no consumer in the
 * ingest project, so this is how a test reads the ingest objects that travel inline.
 */
const accepted: IngestBatchMessage[] = [];

/** The queue binding, recording what it accepts (what it refuses throws, as the binding does). */
function recording(queue: Queue<IngestBatchMessage>): Queue<IngestBatchMessage> {
  return {
    send: async (m: IngestBatchMessage, o?: QueueSendOptions) => {
      await queue.send(m, o);
      accepted.push(m);
    },
    sendBatch: () => Promise.reject(new Error("ingest sends one message per request")),
    metrics: () => queue.metrics(),
  } as unknown as Queue<IngestBatchMessage>;
}

export const QUEUE_BINDINGS = ["INGEST_QUEUE", "INGEST_QUEUE_1", "INGEST_QUEUE_2", "INGEST_QUEUE_3"] as const;

/**
 * The real worker app with the real local bindings, optionally with a binding swapped for a fault.
 * An INGEST_QUEUE given here (a spy, a failing queue) stands for every queue shard: which shard a
 * tenant's messages take is tested on its own ("sends each tenant's messages to its own queue").
 */
export async function post(path: string, body: BodyInit | null, headers: Record<string, string>, bindings: Partial<IngestEnv> = {}, shards: "same" | "own" = "same") {
  const ctx = createExecutionContext();
  const workerEnv = { ...(env as unknown as IngestEnv), ...bindings };
  for (const name of QUEUE_BINDINGS) {
    const queue = (shards === "same" ? bindings.INGEST_QUEUE : undefined) ?? workerEnv[name];
    workerEnv[name] = recording(queue as unknown as Queue<IngestBatchMessage>) as unknown as IngestEnv["INGEST_QUEUE"];
  }
  const res = await app.fetch(new Request(`http://ingest.local${path}`, { method: "POST", body, headers }), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** The tenant's ingest objects in R2 (requests too large to inline). */
export async function storedObjects(tenantId: string): Promise<IngestBatchObject[]> {
  const listed = await env.SPANS.list({ prefix: tenantPrefix(tenantId) });
  const out: IngestBatchObject[] = [];
  for (const o of listed.objects) out.push(decodeIngestBatch(new Uint8Array(await (await env.SPANS.get(o.key))!.arrayBuffer())));
  return out;
}

/** Everything durably accepted for the tenant: ingest objects in R2 and inline in accepted messages. */
export async function storedBatches(tenantId: string): Promise<IngestBatchObject[]> {
  const out = await storedObjects(tenantId);
  for (const m of accepted) if (m.tenantId === tenantId && m.inline) out.push(decodeIngestBatch(await inflateInline(m.inline, m.bytes)));
  return out;
}

export async function storedSpanIds(tenantId: string): Promise<string[]> {
  const ids: string[] = [];
  for (const b of await storedBatches(tenantId)) for (const t of b.traces) for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) ids.push(s.spanId);
  return ids.sort();
}

/** Records messages while passing them to the real local queue. */
export function spyQueue() {
  const sent: IngestBatchMessage[] = [];
  const real = env.INGEST_QUEUE as unknown as Queue<IngestBatchMessage>;
  const queue = {
    send: async (m: IngestBatchMessage, o?: QueueSendOptions) => {
      await real.send(m, o);
      sent.push(m);
    },
    sendBatch: (ms: Iterable<MessageSendRequest<IngestBatchMessage>>, o?: QueueSendBatchOptions) => real.sendBatch(ms, o),
    metrics: () => real.metrics(),
  } as unknown as Queue<IngestBatchMessage>;
  return { queue, sent };
}

export function fixture(name: string): Uint8Array {
  const b64 = inject("otlpFixtures")[name];
  if (!b64) throw new Error(`no fixture ${name}`);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

export async function compress(data: Uint8Array, format: "gzip" | "deflate"): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export const PROTO = "application/x-protobuf";
export const JSON_TYPE = "application/json";
