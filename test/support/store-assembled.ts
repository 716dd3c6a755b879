/**
 * Stores spans for a tenant exactly as ingest and the assembler would (ingest object in R2, then
 * one assembly step with its block, its catalog row and its metrics committed to the tenant's
 * object, whose open rows the query APIs read), for workerd tests of the read paths. Runs inside workerd with the test's real local bindings.
 */
import { env } from "cloudflare:workers";
import type { Scope } from "../../shared/auth/keys.ts";
import { createKey } from "../../shared/db/queries/keys.ts";
import { createTenant } from "../../shared/db/queries/tenants.ts";
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import { encodeIngestBatch } from "../../shared/ingest/batch-object.ts";
import { groupByTrace } from "../../shared/ingest/group-by-trace.ts";
import type { ResourceSpans } from "../../shared/model/span.ts";
import { ingestBatchKey } from "../../shared/storage/keys.ts";
import { assembleForTenant, assemblerDeps } from "../../workers/assembler/consume.ts";
import type { AssemblerEnv } from "../../workers/assembler/env.ts";

export async function storeAssembled(tenantId: string, resourceSpans: ResourceSpans[], receivedAtMs = Date.now()): Promise<void> {
  const batchId = crypto.randomUUID();
  const { bytes } = encodeIngestBatch({ tenantId, batchId, receivedAtMs, source: "otlp-json", traces: groupByTrace({ resourceSpans }) });
  const key = ingestBatchKey(tenantId, receivedAtMs, batchId);
  await env.SPANS.put(key, bytes);
  await assembleForTenant(await assemblerDeps(env as unknown as AssemblerEnv), tenantId, [{ key }], receivedAtMs);
}

/** A new tenant and a key with these scopes, straight through the query functions. */
export async function tenantWithKey(scopes: Scope[]): Promise<{ tenantId: string; secret: string }> {
  const db = d1(env.DB) as BatchingDb;
  const tenant = await createTenant(db, `t-${crypto.randomUUID()}`);
  const { secret } = await createKey(db, tenant.id, { name: "k", scopes });
  return { tenantId: tenant.id, secret };
}
