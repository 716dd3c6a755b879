/**
 * @module
 * The durability step. The ingest object travels inside the queue message when it fits (see
 * shared/ingest/batch-object.ts for why), else it is written to R2 first and the message points at
 * it. A 2xx is only sent after the message is accepted; when it is not, an R2 object written for
 * it is removed again, so a failed request leaves nothing half-written behind (the client retries
 * the whole request on 503).
 *
 * Where the queue is not durable (`wrangler dev` keeps local queue messages in memory; `npm start`
 * sets QUEUES_IN_MEMORY), every object is written to R2 before the 2xx, marked so, and a restart
 * loses only messages: the assembler's sweep takes such objects after a minute (sweepIngest).
 */
import { ApiError } from "../../shared/http/errors.ts";
import { inlinePayload, QUEUE_IN_MEMORY, QUEUE_METADATA, type IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import type { PreparedBatch } from "../../shared/ingest/prepare.ts";
import { ingestBatchKey } from "../../shared/storage/keys.ts";
import { ingestQueue, type IngestEnv } from "./env.ts";

const RETRY_AFTER_SECONDS = 5;

export async function storeBatch(
  env: Pick<IngestEnv, "SPANS" | "INGEST_QUEUE" | "QUEUES_IN_MEMORY">,
  tenantId: string,
  batchId: string,
  receivedAtMs: number,
  prepared: PreparedBatch & { body: Uint8Array },
): Promise<{ key: string; inline: boolean }> {
  const key = ingestBatchKey(tenantId, receivedAtMs, batchId);
  const stored = prepared.body;
  const queueInMemory = env.QUEUES_IN_MEMORY === "1";
  const inline = queueInMemory ? undefined : await inlinePayload(stored);
  if (!inline) {
    try {
      await env.SPANS.put(key, stored, {
        httpMetadata: { contentType: "application/octet-stream" },
        customMetadata: { spans: String(prepared.acceptedSpans), traces: String(prepared.traceCount), ...(queueInMemory && { [QUEUE_METADATA]: QUEUE_IN_MEMORY }) },
      });
    } catch (err) {
      console.error("ingest: R2 put failed", key, err);
      throw new ApiError(503, "storage_unavailable", "Span storage is unavailable; retry later", RETRY_AFTER_SECONDS);
    }
  }
  const message: IngestBatchMessage = {
    v: 2,
    tenantId,
    key,
    batchId,
    receivedAtMs,
    spanCount: prepared.acceptedSpans,
    traceCount: prepared.traceCount,
    bytes: stored.byteLength,
    minStartUnixNano: prepared.minStartUnixNano,
    maxEndUnixNano: prepared.maxEndUnixNano,
    ...(inline && { inline }),
    ...(prepared.rejectedSpans > 0 && { rejectedSpans: prepared.rejectedSpans }),
  };
  try {
    // v8 (structured clone) keeps the inline payload binary; JSON would need base64 (+33%).
    await ingestQueue(env, tenantId).send(message, { contentType: "v8" });
  } catch (err) {
    console.error("ingest: queue send failed", key, err);
    if (!inline) await env.SPANS.delete(key).catch((e: unknown) => console.error("ingest: cleanup of", key, "failed", e));
    throw new ApiError(503, "queue_unavailable", "The ingest queue is unavailable; retry later", RETRY_AFTER_SECONDS);
  }
  return { key, inline: inline !== undefined };
}

/**
 * Tells the assembler how many spans a request had refused when none was accepted (nothing is
 * stored), so that the tenant's usage shows them. Best effort: the client gets its 400 either way.
 */
export async function reportRejected(env: Pick<IngestEnv, "INGEST_QUEUE">, tenantId: string, batchId: string, receivedAtMs: number, rejectedSpans: number): Promise<void> {
  const message: IngestBatchMessage = {
    v: 2,
    tenantId,
    key: ingestBatchKey(tenantId, receivedAtMs, batchId),
    batchId,
    receivedAtMs,
    spanCount: 0,
    traceCount: 0,
    bytes: 0,
    minStartUnixNano: "0",
    maxEndUnixNano: "0",
    rejectedSpans,
  };
  await ingestQueue(env, tenantId).send(message, { contentType: "v8" }).catch((err: unknown) => console.error("ingest: could not report rejected spans", err));
}
