/**
 * Helpers for the end-to-end tests: the admin API, an exporter wrapper that records what the
 * OpenTelemetry SDK handed over and how the export ended, and a read-only view of the stack's
 * local R2 bucket.
 */
import type { Attributes, AttributeValue, HrTime } from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { Miniflare } from "miniflare";
import { join } from "node:path";
import type { IngestBatchObject } from "../../shared/ingest/batch-object.ts";
import type { AnyValue, InstrumentationScope, KeyValue, Resource, Span } from "../../shared/model/span.ts";

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
    const res = await fetch(`${dashboardUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
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
// Reading the stack's local R2

export interface StoredObject {
  key: string;
  customMetadata: Record<string, string>;
  batch: IngestBatchObject;
}

export interface StoredSpan {
  objectKey: string;
  batch: IngestBatchObject;
  resource: Resource;
  scope: InstrumentationScope;
  span: Span;
}

/**
 * Opens the R2 bucket that `wrangler dev --persist-to <stateDir>` writes, from this process.
 *
 * Why this way: wrangler has no local "list objects", and `wrangler r2 object get --local` costs a
 * process per object. Wrangler persists local resources under `<stateDir>/v3` (R2 in `v3/r2`: a
 * SQLite index per bucket in WAL mode plus blob files), and Miniflare with
 * `resourcePersistencePath` pointing at the same `v3` directory and a binding to the same bucket
 * name reads exactly that state through the real R2 API (list with prefix and cursor, get with
 * custom metadata). SQLite's WAL lets this reader run beside the ingest worker's workerd and see
 * every write it committed; ingest answers 2xx only after its put resolved, so once an export
 * callback reported success the object is visible here. The test only lists and reads.
 */
export async function openSpanStore(stateDir: string, bucketName = "edgetrace-spans") {
  const options = {
    workers: [
      {
        config: {
          name: "e2e-r2-reader",
          compatibilityDate: "2026-11-01",
          manifest: {
            mainModule: "reader.mjs",
            modules: { "reader.mjs": { type: "esm" as const, contents: "export default { fetch() { return new Response(null, { status: 204 }); } };" } },
          },
          env: { SPANS: { type: "r2" as const, name: bucketName } },
        },
        // No Cache API: the reader then opens nothing in the state directory but the R2 bucket.
        dev: { cacheAPI: false },
      },
    ],
    resourcePersistencePath: join(stateDir, "v3"),
    // A private reader: not advertised to (nor bound through) the dev registry wrangler uses.
    enableDevRegistry: false,
    logRequests: false,
  };
  // workerd answers a locked SQLite file with SQLITE_BUSY instead of waiting (that is what makes
  // concurrent stack starts fail, see global-setup.ts): should opening the bucket meet the
  // stack's workerd holding a lock, try again.
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

  async function listKeys(prefix?: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await spans.list({ prefix, cursor, limit: 1000 });
      keys.push(...page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return keys;
  }

  async function readText(key: string): Promise<{ text: string; customMetadata: Record<string, string> }> {
    const obj = await spans.get(key);
    if (!obj) throw new Error(`R2 object ${key} is listed but cannot be read`);
    return { text: await obj.text(), customMetadata: obj.customMetadata ?? {} };
  }

  return {
    listKeys,
    readText,
    /** Every ingest object under a prefix, parsed. */
    async readBatches(prefix: string): Promise<StoredObject[]> {
      const out: StoredObject[] = [];
      for (const key of await listKeys(prefix)) {
        const { text, customMetadata } = await readText(key);
        out.push({ key, customMetadata, batch: JSON.parse(text) as IngestBatchObject });
      }
      return out;
    },
    dispose: () => reader.dispose(),
  };
}

export type SpanStore = Awaited<ReturnType<typeof openSpanStore>>;

/** Flattens stored ingest objects to one entry per span, with its resource and scope. */
export function flattenStored(objects: StoredObject[]): StoredSpan[] {
  const out: StoredSpan[] = [];
  for (const { key, batch } of objects) {
    for (const trace of batch.traces) {
      for (const rs of trace.resourceSpans) {
        for (const ss of rs.scopeSpans) {
          for (const span of ss.spans) out.push({ objectKey: key, batch, resource: rs.resource, scope: ss.scope, span });
        }
      }
    }
  }
  return out;
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
