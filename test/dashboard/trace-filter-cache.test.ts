/**
 * Trace by id with the per-isolate filter cache on the real local D1 and R2 in workerd, with blocks
 * written by the real assembler and compaction (shared/storage/trace-filter-cache.test.ts covers
 * the cases one by one on libSQL): D1 hands blobs back its own way, and the catalog read's
 * compound statement (a null blob on one side) must come back as the same bytes.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import type { Span } from "../../shared/model/span.ts";
import { blockKey } from "../../shared/storage/keys.ts";
import { r2Store, type ObjectStore } from "../../shared/storage/object-store.ts";
import { TraceFilterCache } from "../../shared/storage/trace-filter-cache.ts";
import { findTrace, isolateFilterCache } from "../../shared/storage/trace-reader.ts";
import { compactTenant } from "../../workers/assembler/compact.ts";
import { testResourceSpans, testSpan } from "../support/spans.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

const db = () => d1(env.DB) as BatchingDb;
const hex = (n: number, len: number) => n.toString(16).padStart(len, "0");

/** The R2 store with the keys of its range reads recorded. */
function countingStore() {
  const base = r2Store(env.SPANS);
  const reads: string[] = [];
  const store: ObjectStore = { ...base, getRange: (key, offset, length) => (reads.push(key), base.getRange(key, offset, length)) };
  return { store, reads };
}

const spanIds = (rs: { scopeSpans: { spans: Span[] }[] }[] | undefined) => rs?.flatMap((r) => r.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId))).sort();

describe("trace by id with the filter cache (workerd, local D1 and R2)", () => {
  it("finds traces in blocks assembled after the cache was filled, reads none compaction removed, and answers as the uncached path", async () => {
    const { tenantId, secret } = await tenantWithKey(["read"]);
    const cache = new TraceFilterCache();
    const now = Date.now();
    const ids: string[] = [];
    const store = async (i: number, receivedAtMs: number) => {
      const traceId = hex(0xcace0000 + i, 32);
      ids.push(traceId);
      await storeAssembled(tenantId, [testResourceSpans("cart", [testSpan({ traceId, spanId: hex(i + 1, 16), name: `op${i}`, startMs: receivedAtMs - 1000 })])], receivedAtMs);
    };
    await store(0, now - 10 * 60_000);
    const first = await findTrace(db(), r2Store(env.SPANS), tenantId, ids[0]!, {}, cache);
    expect(first?.stats).toMatchObject({ blocksInRange: 1, filtersRead: 1 });

    // New blocks after the cache was filled, one of them received two hours ago (ending before the
    // cached one): all three rows come with the listing, in its one statement.
    await store(1, now - 9 * 60_000);
    await store(2, now - 8 * 60_000);
    await store(3, now - 2 * 3_600_000);
    const second = await findTrace(db(), r2Store(env.SPANS), tenantId, ids[1]!, {}, cache);
    expect(second?.stats).toMatchObject({ blocksInRange: 4, filtersRead: 3 });
    for (const id of ids) expect(await findTrace(db(), r2Store(env.SPANS), tenantId, id, {}, cache), id).toBeDefined();
    expect(cache.stats().byTenant[tenantId]).toMatchObject({ blocks: 4 });

    // Compaction merges the four level-0 blocks and deletes their objects.
    const compacted = await compactTenant(db(), r2Store(env.SPANS), tenantId, now + 10 * 60_000);
    expect(compacted.merged).toBe(4);
    const { store: counted, reads } = countingStore();
    for (const id of [...ids, hex(0xdead, 32)]) {
      const cached = await findTrace(db(), counted, tenantId, id, {}, cache);
      const uncached = await findTrace(db(), r2Store(env.SPANS), tenantId, id, {}, null);
      expect(cached?.resourceSpans, id).toEqual(uncached?.resourceSpans);
    }
    expect(new Set(reads)).toEqual(new Set([blockKey(tenantId, compacted.into[0]!)]));
    expect(cache.stats().byTenant[tenantId]).toMatchObject({ blocks: 1 });

    // The route uses the isolate's cache, and answers the same.
    isolateFilterCache.clear();
    for (let i = 0; i < 2; i++) {
      const res = await exports.default.fetch(`http://localhost/api/v2/traces/${ids[2]}`, { headers: { "x-api-key": secret } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { trace: { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] } };
      expect(spanIds(body.trace.resourceSpans)).toEqual([hex(3, 16)]);
      expect(isolateFilterCache.stats().byTenant[tenantId]).toMatchObject({ blocks: 1 });
    }
  });
});
