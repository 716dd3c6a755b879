/**
 * Ingests a request body as the ingest worker does (prepareBatch: decode, validate, group, the R2
 * object), then runs one assembly step as the assembler would, for workerd tests that read the
 * result back through the query APIs. Unlike store-assembled.ts, the body goes through the real
 * decoders, so a test sees what a client's bytes become.
 */
import { env } from "cloudflare:workers";
import { prepareBatch, type IngestSource } from "../../shared/ingest/prepare.ts";
import { ingestBatchKey } from "../../shared/storage/keys.ts";
import { assembleForTenant, assemblerDeps } from "../../workers/assembler/consume.ts";
import type { AssemblerEnv } from "../../workers/assembler/env.ts";

/** Generous tenant limits: these tests are about fidelity, not bounds. */
const LIMITS = { maxAttributeValueBytes: 65_536, retentionDays: 30 };

export async function ingestBody(tenantId: string, source: IngestSource, body: unknown, receivedAtMs = Date.now()): Promise<{ acceptedSpans: number; rejectedSpans: number }> {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  const batchId = crypto.randomUUID();
  const options = { tenantId, batchId, receivedAtMs, ...LIMITS };
  const prepared = prepareBatch(bytes, source, options);
  if (!prepared.body) throw new Error(`nothing accepted: ${prepared.errors.join("; ")}`);
  const key = ingestBatchKey(tenantId, receivedAtMs, batchId);
  await env.SPANS.put(key, prepared.body);
  await assembleForTenant(await assemblerDeps(env as unknown as AssemblerEnv), tenantId, [{ key }], receivedAtMs);
  return { acceptedSpans: prepared.acceptedSpans, rejectedSpans: prepared.rejectedSpans };
}
