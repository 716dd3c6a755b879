/**
 * Helpers for the end-to-end tests: the admin API, an exporter wrapper that records what the
 * OpenTelemetry SDK handed over and how the export ended, and a read-only view of the stack's
 * local R2 bucket and D1 database.
 */
import type { Attributes, AttributeValue, HrTime } from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { Miniflare } from "miniflare";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Db } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import type { AnyValue, InstrumentationScope, KeyValue, Resource, ResourceSpans, Span } from "../../shared/model/span.ts";
import { r2Store, type ObjectStore } from "../../shared/storage/object-store.ts";
import { retrying503 } from "../support/retry-503.ts";

// ---------------------------------------------------------------------------------------------
// Admin API

export interface CreatedKey {
  id: string;
  tenantId: string;
  secret: string;
  scopes: string[];
}

export function adminClient(dashboardUrl: string, adminToken: string) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const res = await retrying503(() =>
      fetch(`${dashboardUrl}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T };
  }
  return {
    async createTenant(name: string): Promise<{ id: string; name: string }> {
      const res = await call<{ id: string; name: string }>("POST", "/tenants", { name });
      if (res.status !== 201) throw new Error(`POST /tenants answered ${res.status}: ${JSON.stringify(res.json)}`);
      return res.json;
    },
    async createKey(tenantId: string, name: string, scopes: string[]): Promise<CreatedKey> {
      const res = await call<CreatedKey>("POST", `/tenants/${tenantId}/keys`, { name, scopes });
      if (res.status !== 201) throw new Error(`POST /tenants/${tenantId}/keys answered ${res.status}: ${JSON.stringify(res.json)}`);
      return res.json;
    },
    async setLimits(tenantId: string, limits: { ingestBytesPerSecond?: number; ingestBurstBytes?: number; retentionDays?: number }): Promise<void> {
      const res = await call("PATCH", `/tenants/${tenantId}`, limits);
      if (res.status !== 200) throw new Error(`PATCH /tenants/${tenantId} answered ${res.status}: ${JSON.stringify(res.json)}`);
    },
    async revokeKey(tenantId: string, keyId: string): Promise<number> {
      return (await call("DELETE", `/tenants/${tenantId}/keys/${keyId}`)).status;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Recording exporter

export interface RecordedExport {
  spans: ReadableSpan[];
  result: ExportResult;
}

/**
 * Delegates to a real exporter and keeps each call's spans with the result the exporter
 * reported, because span processors only log a failed export and the test must see it.
 */
export class RecordingExporter implements SpanExporter {
  readonly exports: RecordedExport[] = [];
  private readonly inner: SpanExporter;
  constructor(inner: SpanExporter) {
    this.inner = inner;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      this.exports.push({ spans: [...spans], result });
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  get spans(): ReadableSpan[] {
    return this.exports.flatMap((e) => e.spans);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the stack's local R2 and D1

export interface FoundSpan {
  traceId: string;
  resource: Resource;
  scope: InstrumentationScope;
  span: Span;
}

/**
 * The D1 database id and R2 bucket name the stack runs with, from the wrangler configs `npm start`
 * uses (in `stackDir`, the sources the stack runs from). Local D1 state is keyed by the database id (wrangler hands Miniflare `{ id: database_id }`,
 * and Miniflare names the SQLite file `v3/d1/miniflare-D1DatabaseObject/<hash of the id>.sqlite`),
 * so the reader must use exactly that id; the three configs must agree or the workers would not
 * share their state either.
 */
export function stackStorageConfig(stackDir: string): { d1DatabaseId: string; bucketName: string } {
  const ids = new Set<string>();
  const buckets = new Set<string>();
  for (const file of ["wrangler.toml", "workers/ingest/wrangler.toml", "workers/assembler/wrangler.toml"]) {
    const text = readFileSync(join(stackDir, file), "utf8");
    const id = /^\s*database_id\s*=\s*"([^"]+)"/m.exec(text)?.[1];
    const bucket = /^\s*bucket_name\s*=\s*"([^"]+)"/m.exec(text)?.[1];
    if (!id || !bucket) throw new Error(`${file}: no d1 database_id or r2 bucket_name`);
    ids.add(id);
    buckets.add(bucket);
  }
  if (ids.size !== 1 || buckets.size !== 1) throw new Error(`the wrangler configs disagree on D1 (${[...ids].join(", ")}) or R2 (${[...buckets].join(", ")})`);
  return { d1DatabaseId: [...ids][0]!, bucketName: [...buckets][0]! };
}

/**
 * The local D1 databases under a state directory: Miniflare keeps each in
 * `v3/d1/miniflare-D1DatabaseObject/<64 hex digits>.sqlite` (beside a `metadata.sqlite`).
 */
export function localD1Files(stateDir: string): string[] {
  const dir = join(stateDir, "v3", "d1", "miniflare-D1DatabaseObject");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f))
    .sort();
}

/** SQLite busy/locked answers from workerd (it does not wait for a lock), worth another try: the workers' own test. */
export { isTransientStorageError } from "../../shared/http/errors.ts";
import { isTransientStorageError } from "../../shared/http/errors.ts";

/** Runs `fn`, again after a short pause when it met a locked SQLite file. */
export async function retryTransient<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isTransientStorageError(err)) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

/**
 * Opens the R2 bucket and the D1 database that `wrangler dev --persist-to <stateDir>` uses, from
 * this process: `store` and the catalog `Db` are what the workers themselves hand to the shared
 * storage code (`r2Store` over the bucket, drizzle over the D1 binding), so `findTrace` runs here
 * exactly as in a worker.
 *
 * Why this way: wrangler has no local "list objects", and `wrangler r2 object get --local` costs a
 * process per object. Wrangler persists local resources under `<stateDir>/v3` (R2 in `v3/r2`: a
 * SQLite index per bucket plus blob files; D1 in `v3/d1`: one SQLite file per database id), and
 * Miniflare with `resourcePersistencePath` pointing at the same `v3` directory and bindings to the
 * same bucket name and database id reads exactly that state through the real R2 and D1 APIs.
 * SQLite's WAL lets this reader run beside the stack's workerd and see every write it committed.
 * The test only lists and reads; it never writes.
 *
 * D1 is opened separately, by `openCatalog`, and should only be used while the stack leaves D1
 * alone: Miniflare runs every D1 query, reads included, in a storage transaction that also takes a
 * commit bookmark, and workerd does not wait for a SQLite lock but fails at once with SQLITE_BUSY.
 * A query here at the moment the assembler records a block makes *the assembler's* query fail
 * ("Failed to get session commit token: ... SQLITE_BUSY"), and its queue batch is retried 10 s
 * later. R2 lists and gets are plain reads in Miniflare's bucket object (no transaction), which
 * WAL lets run beside the stack's writes.
 */
export async function openStackStorage(stateDir: string, stackDir: string) {
  const { d1DatabaseId, bucketName } = stackStorageConfig(stackDir);
  const options = {
    workers: [
      {
        config: {
          name: "e2e-storage-reader",
          compatibilityDate: "2026-11-01",
          manifest: {
            mainModule: "reader.mjs",
            modules: { "reader.mjs": { type: "esm" as const, contents: "export default { fetch() { return new Response(null, { status: 204 }); } };" } },
          },
          env: {
            SPANS: { type: "r2" as const, name: bucketName },
            DB: { type: "d1" as const, id: d1DatabaseId },
          },
        },
        // No Cache API: the reader then opens nothing in the state directory but the bucket and
        // (once asked to) the database.
        dev: { cacheAPI: false },
      },
    ],
    resourcePersistencePath: join(stateDir, "v3"),
    // A private reader: not advertised to (nor bound through) the dev registry wrangler uses.
    enableDevRegistry: false,
    logRequests: false,
  };
  // workerd answers a locked SQLite file with SQLITE_BUSY instead of waiting (that is what makes
  // concurrent stack starts fail, see global-setup.ts): should opening the bucket meet the stack's
  // workerd holding a lock, try again.
  let mf: Miniflare | undefined;
  let bucket: Awaited<ReturnType<Miniflare["getR2Bucket"]>> | undefined;
  for (let attempt = 1; !bucket; attempt++) {
    try {
      mf = new Miniflare(options);
      bucket = await mf.getR2Bucket("SPANS");
      await bucket.list({ limit: 1 });
    } catch (err) {
      bucket = undefined;
      await mf?.dispose().catch(() => {});
      if (attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
  const reader = mf!;
  const spans = bucket;
  // The cast bridges Miniflare's copy of the Workers types to the one the shared code names.
  const store: ObjectStore = r2Store(spans as unknown as Parameters<typeof r2Store>[0]);
  let catalog: Db | undefined;

  async function listKeys(prefix?: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await retryTransient(() => spans.list({ prefix, cursor, limit: 1000 }));
      keys.push(...page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return keys;
  }

  return {
    store,
    listKeys,
    /** An object's bytes, or undefined when it went away since it was listed (the assembler deletes). */
    readBytes: (key: string): Promise<Uint8Array | undefined> => retryTransient(() => store.get(key)),
    /**
     * The stack's D1 database as a `Db` (see above for when to use it). The first call checks it is
     * the stack's own: a database id the stack does not use would silently get a new, empty SQLite
     * file beside the stack's, so the files are counted before and after the first query.
     */
    async openCatalog(): Promise<Db> {
      if (catalog) return catalog;
      const before = localD1Files(stateDir);
      if (before.length !== 1) throw new Error(`expected the stack's one local D1 database, found ${JSON.stringify(before)}`);
      const database = await reader.getD1Database("DB");
      await retryTransient(() => database.prepare("SELECT count(*) AS n FROM tenants").first());
      const after = localD1Files(stateDir);
      if (after.join() !== before.join()) throw new Error(`D1 ${d1DatabaseId} is not the stack's database: opening it created ${JSON.stringify(after.filter((f) => !before.includes(f)))}`);
      catalog = d1(database as unknown as Parameters<typeof d1>[0]);
      return catalog;
    },
    dispose: () => reader.dispose(),
  };
}

export type StackStorage = Awaited<ReturnType<typeof openStackStorage>>;

/** Flattens a trace (or any resource spans) to one entry per span, with its resource and scope. */
export function flattenResourceSpans(resourceSpans: ResourceSpans[]): FoundSpan[] {
  const out: FoundSpan[] = [];
  for (const rs of resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) out.push({ traceId: span.traceId, resource: rs.resource, scope: ss.scope, span });
    }
  }
  return out;
}

/**
 * Polls trace by id (`get` of `/api/traces/{id}`, Tempo JSON) once a second until every trace
 * answers whole (`isWhole` of its spans), or throws after `deadlineMs` naming those still missing.
 */
export async function waitUntilTracesWhole(get: (path: string) => Promise<Response>, traceIds: Iterable<string>, isWhole: (traceId: string, spans: FoundSpan[]) => boolean, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  const pending = new Set(traceIds);
  for (;;) {
    for (const id of [...pending]) {
      const res = await get(`/api/traces/${id}`);
      if (res.status !== 200) {
        await res.body?.cancel();
        continue;
      }
      const { batches } = (await res.json()) as { batches: ResourceSpans[] };
      if (isWhole(id, flattenResourceSpans(batches))) pending.delete(id);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) throw new Error(`after ${deadlineMs / 1000} s, ${pending.size} trace(s) do not answer whole from /api/traces/{id}: ${[...pending].join(", ")}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---------------------------------------------------------------------------------------------
// SDK values in the stored model's conventions (OTLP/JSON: decimal strings for 64-bit numbers)

export function hrTimeToNanos(t: HrTime): string {
  return (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
}

/** How the OTLP exporters encode an SDK attribute value (integers as intValue, other numbers as doubles). */
export function toAnyValue(v: AttributeValue | null | undefined): AnyValue {
  if (Array.isArray(v)) return { arrayValue: { values: (v as unknown[]).map((x) => toAnyValue(x as AttributeValue)) } };
  switch (typeof v) {
    case "string":
      return { stringValue: v };
    case "boolean":
      return { boolValue: v };
    case "number":
      return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
    default:
      return {};
  }
}

export function toKeyValues(attrs: Attributes): KeyValue[] {
  return Object.entries(attrs).map(([key, value]) => ({ key, value: toAnyValue(value) }));
}

/** Attributes as a plain key -> AnyValue record, for order-insensitive comparison. */
export function attrRecord(kvs: KeyValue[]): Record<string, AnyValue> {
  const out: Record<string, AnyValue> = {};
  for (const kv of kvs) out[kv.key] = kv.value;
  return out;
}

export function stringAttr(kvs: KeyValue[], key: string): string | undefined {
  const v = kvs.find((kv) => kv.key === key)?.value;
  return v && "stringValue" in v ? v.stringValue : undefined;
}
