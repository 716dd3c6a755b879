/**
 * @module
 * The raw object interface the storage code is written against, and its R2 implementation (the
 * only place that touches an R2 binding's API). Keys always come from keys.ts.
 */
export interface ObjectStore {
  put(key: string, body: Uint8Array | string): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined>;
  delete(keys: string | string[]): Promise<void>;
  /** Every object under `prefix`; with `{ metadata: true }` also its custom metadata. */
  list(prefix: string, options?: { metadata?: boolean }): Promise<{ key: string; size: number; uploadedMs: number; metadata?: Record<string, string> }[]>;
  /** The next level of "folders" under `prefix` (keys split at "/"), each ending in "/". */
  listPrefixes(prefix: string): Promise<string[]>;
}

/** The subset of R2Bucket used here, so this module needs no Workers types. */
interface R2Like {
  put(key: string, body: Uint8Array | string): Promise<unknown>;
  get(key: string, options?: { range?: { offset: number; length: number } }): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  delete(keys: string | string[]): Promise<void>;
  list(options: { prefix: string; cursor?: string; delimiter?: string; include?: "customMetadata"[] }): Promise<{ objects: { key: string; size: number; uploaded: Date; customMetadata?: Record<string, string> }[]; truncated: boolean; cursor?: string; delimitedPrefixes: string[] }>;
}

export function r2Store(bucket: R2Like): ObjectStore {
  return {
    async put(key, body) {
      await bucket.put(key, body);
    },
    async get(key) {
      const o = await bucket.get(key);
      return o ? new Uint8Array(await o.arrayBuffer()) : undefined;
    },
    async getRange(key, offset, length) {
      const o = await bucket.get(key, { range: { offset, length } });
      return o ? new Uint8Array(await o.arrayBuffer()) : undefined;
    },
    async delete(keys) {
      // R2 deletes up to 1000 keys per call.
      const all = Array.isArray(keys) ? keys : [keys];
      for (let i = 0; i < all.length; i += 1000) await bucket.delete(all.slice(i, i + 1000));
    },
    async list(prefix, options = {}) {
      const out: { key: string; size: number; uploadedMs: number; metadata?: Record<string, string> }[] = [];
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix, cursor, ...(options.metadata && { include: ["customMetadata" as const] }) });
        for (const o of page.objects) out.push({ key: o.key, size: o.size, uploadedMs: o.uploaded.getTime(), ...(options.metadata && { metadata: o.customMetadata ?? {} }) });
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return out;
    },
    async listPrefixes(prefix) {
      const out: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix, cursor, delimiter: "/" });
        out.push(...page.delimitedPrefixes);
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return out;
    },
  };
}
