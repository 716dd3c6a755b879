/**
 * Trace by id with the per-isolate filter cache (trace-filter-cache.ts) over a real catalog: an
 * in-memory libSQL database migrated like D1, blocks encoded by the real encoder into an in-memory
 * store. Each test has its own cache, so they do not share the isolate's.
 */
import { createClient, type Client } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { testResourceSpans, testSpan } from "../../test/support/spans.ts";
import { catalogRow } from "../assembly/catalog-row.ts";
import { mergeTraceFragments } from "../block/combine.ts";
import { encodeBlock } from "../block/encode-block.ts";
import { libsql, migrateLibsql, type LibsqlDb } from "../db/libsql.ts";
import { deleteBlocks, listBlocks, recordBlock, replaceBlocks } from "../db/queries/blocks.ts";
import { createTenant } from "../db/queries/tenants.ts";
import type { ResourceSpans } from "../model/span.ts";
import { blockKey } from "./keys.ts";
import type { ObjectStore } from "./object-store.ts";
import { ENTRY_OVERHEAD_BYTES, TraceFilterCache } from "./trace-filter-cache.ts";
import { findTrace } from "./trace-reader.ts";

// The by-id query goes through this module's export, so a test can act between the two queries.
let beforeById: (() => Promise<void>) | undefined;
vi.mock("../db/queries/blocks.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../db/queries/blocks.ts")>();
  return {
    ...real,
    blockFiltersById: async (...args: Parameters<typeof real.blockFiltersById>) => {
      const hook = beforeById;
      beforeById = undefined;
      await hook?.();
      return real.blockFiltersById(...args);
    },
  };
});

type Trace = { traceId: string; resourceSpans: ResourceSpans[] };

const T0 = Date.UTC(2026, 10, 1);
const MIN = 60_000;

let client: Client;
let db: LibsqlDb;
/** Statements sent to the database (each `execute`/`batch` on the client). */
let statements = 0;

beforeAll(async () => {
  client = createClient({ url: ":memory:" });
  const counted = new Proxy(client, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (prop === "execute" || prop === "batch") statements++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  db = libsql(counted);
  await migrateLibsql(db);
});
afterAll(() => client.close());

/** An in-memory store that records the keys of its range reads. */
function memoryStore() {
  const objects = new Map<string, Uint8Array>();
  const reads: string[] = [];
  let onRead: ((key: string) => Promise<void>) | undefined;
  const store = {
    async getRange(key: string, offset: number, length: number) {
      reads.push(key);
      await onRead?.(key);
      return objects.get(key)?.subarray(offset, offset + length);
    },
  } as unknown as ObjectStore;
  return { objects, reads, store, onRead: (f: typeof onRead) => (onRead = f) };
}

let traceSeq = 0;
/** A trace of `spans` spans (span ids unique over the run) starting at `startMs`. */
function trace(startMs: number, spans = 2, traceId = (++traceSeq).toString(16).padStart(32, "0")): Trace {
  const ss = Array.from({ length: spans }, (_, i) => testSpan({ traceId, spanId: (++traceSeq).toString(16).padStart(16, "0"), parentSpanId: "", name: `op${i}`, startMs: startMs + i }));
  return { traceId, resourceSpans: [testResourceSpans("svc", ss)] };
}

/** A tenant's catalog and store, written through the real encoder and catalog queries. */
async function world(name: string) {
  const tenantId = (await createTenant(db, name)).id;
  const mem = memoryStore();
  const contents = new Map<string, Trace[]>();
  let blockSeq = 0;
  const w = {
    tenantId,
    ...mem,
    contents,
    async add(traces: Trace[], createdAtMs: number, level = 0, id = `${name}-b${++blockSeq}`) {
      const encoded = await encodeBlock(traces, { tenantId, blockId: id, createdAtMs });
      mem.objects.set(blockKey(tenantId, id), encoded.bytes);
      await recordBlock(db, tenantId, catalogRow(encoded, level, createdAtMs), [], []);
      contents.set(id, traces);
      return id;
    },
    /** Compaction's swap: the merged block in, the inputs out of the catalog; their objects stay unless `deleteObjects`. */
    async compact(ids: string[], createdAtMs: number, deleteObjects = false) {
      const traces = mergeTraceFragments(ids.flatMap((id) => contents.get(id)!));
      const id = `${name}-c${++blockSeq}`;
      const encoded = await encodeBlock(traces, { tenantId, blockId: id, createdAtMs });
      mem.objects.set(blockKey(tenantId, id), encoded.bytes);
      await replaceBlocks(db, tenantId, catalogRow(encoded, 1, createdAtMs), ids);
      contents.set(id, traces);
      for (const old of ids) {
        contents.delete(old);
        if (deleteObjects) mem.objects.delete(blockKey(tenantId, old));
      }
      return id;
    },
    async expire(ids: string[]) {
      await deleteBlocks(db, tenantId, ids);
      for (const id of ids) {
        contents.delete(id);
        mem.objects.delete(blockKey(tenantId, id));
      }
    },
    find(traceId: string, cache: TraceFilterCache | null, range: { startMs?: number; endMs?: number } = {}) {
      return findTrace(db, mem.store, tenantId, traceId, range, cache);
    },
  };
  return w;
}

const spanIds = (rs: ResourceSpans[] | undefined) => rs?.flatMap((r) => r.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId))).sort();

describe("trace by id with the filter cache", () => {
  it("finds traces in blocks added after the cache was filled, in any order, in one statement", async () => {
    const w = await world("added");
    const cache = new TraceFilterCache();
    const old = Array.from({ length: 4 }, (_, i) => trace(T0 + i * MIN));
    for (const [i, t] of old.entries()) await w.add([t], T0 + (i + 1) * MIN);
    expect((await w.find(old[0]!.traceId, cache))!.stats).toMatchObject({ blocksInRange: 4, filtersRead: 4 });
    expect(cache.stats().byTenant[w.tenantId]!.blocks).toBe(4);

    // Warm: nothing new, one statement, no row read.
    statements = 0;
    expect((await w.find(old[1]!.traceId, cache))!.stats).toMatchObject({ blocksInRange: 4, filtersRead: 0 });
    expect(statements).toBe(1);

    // A block newer than all, then one older than all (a consumer's backlog, catalogued late): each
    // read in the same statement that lists the catalog.
    for (const [n, t] of [[5, trace(T0 + 10 * MIN)], [6, trace(T0 - 60 * MIN)]] as const) {
      await w.add([t], T0 - 3_600 * MIN);
      statements = 0;
      expect((await w.find(t.traceId, cache))!.stats).toMatchObject({ blocksInRange: n, filtersRead: 1 });
      expect(statements).toBe(1);
    }
    statements = 0;
    expect((await w.find(old[3]!.traceId, cache))!.stats).toMatchObject({ blocksInRange: 6, filtersRead: 0 });
    expect(statements).toBe(1);
    expect(cache.stats().byTenant[w.tenantId]!.blocks).toBe(6);
  });

  it("with more cached blocks than the ids it sends, reads the older uncached ones by id", async () => {
    const w = await world("many");
    const cache = new TraceFilterCache({ maxKnownIds: 2 });
    const ts = Array.from({ length: 4 }, (_, i) => trace(T0 + i * MIN));
    for (const t of ts) await w.add([t], T0);
    expect(await w.find(ts[0]!.traceId, cache)).toBeDefined();
    expect(cache.known(w.tenantId).ids).toHaveLength(2);
    statements = 0;
    expect((await w.find(ts[0]!.traceId, cache))!.stats.filtersRead).toBe(0); // the two oldest come from the cache too
    expect(statements).toBe(1);
    const late = trace(T0 - 60 * MIN);
    await w.add([late], T0);
    statements = 0;
    expect((await w.find(late.traceId, cache))!.stats).toMatchObject({ blocksInRange: 5, filtersRead: 1 });
    expect(statements).toBe(2);
  });

  it("does not read blocks that compaction removed from the catalog, even while their objects remain", async () => {
    const w = await world("compacted");
    const cache = new TraceFilterCache();
    const ts = Array.from({ length: 4 }, (_, i) => trace(T0 + i * MIN));
    const ids = [];
    for (const [i, t] of ts.entries()) ids.push(await w.add([t], T0 + i * MIN));
    for (const t of ts) expect(await w.find(t.traceId, cache)).toBeDefined();
    expect(cache.stats().byTenant[w.tenantId]!.blocks).toBe(4);

    const merged = await w.compact(ids.slice(0, 3), T0 + 5 * MIN);
    w.reads.length = 0;
    for (const t of ts) expect(spanIds((await w.find(t.traceId, cache))?.resourceSpans)).toEqual(spanIds(t.resourceSpans));
    expect(new Set(w.reads)).toEqual(new Set([blockKey(w.tenantId, merged), blockKey(w.tenantId, ids[3]!)]));
    // The full listing dropped the inputs from the cache.
    expect(cache.known(w.tenantId).ids.sort()).toEqual([merged, ids[3]!].sort());

    // Retention: the block leaves the catalog and the store; the trace is gone, no read is tried.
    await w.expire([ids[3]!]);
    w.reads.length = 0;
    expect(await w.find(ts[3]!.traceId, cache)).toBeUndefined();
    expect(w.reads).toEqual([]);
  });

  it("a block id that leaves the catalog and comes back with other content between two lookups is read afresh", async () => {
    const w = await world("reused");
    const cache = new TraceFilterCache();
    const [t1, t2] = [trace(T0), trace(T0 + MIN)];
    const id = await w.add([t1], T0);
    expect(await w.find(t1.traceId, cache)).toBeDefined();
    await w.expire([id]);
    await w.add([t1, t2], T0 + MIN, 0, id);
    expect(spanIds((await w.find(t2.traceId, cache))?.resourceSpans)).toEqual(spanIds(t2.resourceSpans));
  });

  it("a block gone from R2 after the listing drops from the cache and the lookup runs again", async () => {
    const w = await world("gone");
    const cache = new TraceFilterCache();
    const ts = [trace(T0), trace(T0 + MIN)];
    const ids = [await w.add([ts[0]!], T0), await w.add([ts[1]!], T0 + MIN)];
    expect(await w.find(ts[0]!.traceId, cache)).toBeDefined();
    // Compaction swaps the blocks and deletes the inputs' objects between our listing and our read.
    let merged = "";
    w.onRead(async (key) => {
      if (key !== blockKey(w.tenantId, ids[0]!) || merged) return;
      merged = await w.compact(ids, T0 + 2 * MIN, true);
    });
    const dropped = vi.spyOn(cache, "drop");
    const found = await w.find(ts[0]!.traceId, cache);
    expect(spanIds(found?.resourceSpans)).toEqual(spanIds(ts[0]!.resourceSpans));
    expect(dropped).toHaveBeenCalledWith(w.tenantId, ids[0]);
    expect(w.reads.at(-1)).toBe(blockKey(w.tenantId, merged));
    expect(Object.keys(cache.stats().byTenant)).toEqual([w.tenantId]);
    expect(cache.stats().byTenant[w.tenantId]!.blocks).toBe(1);
  });

  it("a block that leaves the catalog between the listing and the read by id: the catalog is read again whole", async () => {
    const w = await world("moved");
    const cache = new TraceFilterCache({ maxKnownIds: 1 });
    const ts = [trace(T0), trace(T0 + MIN), trace(T0 - 60 * MIN), trace(T0 - 59 * MIN)];
    const a = await w.add([ts[0]!], T0);
    await w.add([ts[1]!], T0);
    expect(await w.find(ts[0]!.traceId, cache)).toBeDefined();
    // Two blocks older than the one id sent (so read by id), compacted away right after the listing.
    const b = await w.add([ts[2]!], T0);
    const c = await w.add([ts[3]!], T0);
    beforeById = async () => void (await w.compact([b, c], T0 + 3 * MIN));
    statements = 0;
    const found = await w.find(ts[2]!.traceId, cache);
    expect(spanIds(found?.resourceSpans)).toEqual(spanIds(ts[2]!.resourceSpans));
    expect(found!.stats.blocksInRange).toBe(3); // the first two and the merged block
    expect(statements).toBe(1 + 1 + 1 + 1); // listing, compaction's batch, by id, listing again
    expect(w.reads).not.toContain(blockKey(w.tenantId, b));
    expect(w.contents.has(a)).toBe(true);
  });

  it("orders blocks that end at the same millisecond as the uncached path does", async () => {
    const w = await world("ties");
    const cache = new TraceFilterCache();
    const t = trace(T0, 1);
    // Three fragments of one trace, each block ending at T0 + 25; ids out of insertion order.
    for (const id of ["ties-m", "ties-z", "ties-a"]) await w.add([trace(T0, 1, t.traceId)], T0, 0, id);
    const want = await w.find(t.traceId, null);
    expect(want!.stats.blocksRead).toBe(3);
    for (let i = 0; i < 2; i++) expect((await w.find(t.traceId, cache))?.resourceSpans).toEqual(want!.resourceSpans);
  });

  it("keeps tenants apart: tenant A's cached filters never answer for tenant B", async () => {
    const a = await world("tenant-a");
    const b = await world("tenant-b");
    const cache = new TraceFilterCache();
    const ta = trace(T0);
    const tb = trace(T0);
    await a.add([ta], T0);
    const bId = await b.add([tb], T0);
    expect(await a.find(ta.traceId, cache)).toBeDefined();
    // B's lookup reads its own filters from D1 and finds none of A's traces.
    expect(await b.find(ta.traceId, cache)).toBeUndefined();
    expect(cache.stats().byTenant).toEqual({ [a.tenantId]: expect.objectContaining({ blocks: 1 }), [b.tenantId]: expect.objectContaining({ blocks: 1 }) });

    // Poison A's cache with B's block id and a filter that matches every trace: A's lookup still
    // never reads B's block (A's listing never holds it), and B's lookup, with B's own entry
    // dropped, reads B's row from D1 rather than take A's.
    const bEnd = (await listBlocks(db, b.tenantId)).find((r) => r.id === bId)!.endMs;
    const bRow = cache.get(b.tenantId, bId, bEnd)!;
    expect(bRow).toBeDefined();
    cache.put(a.tenantId, { ...bRow, traceFilter: Uint8Array.from([1, 1, ...new Array(64).fill(255)]) });
    expect(cache.get(b.tenantId, bId, bEnd)!.traceFilter).not.toEqual(cache.get(a.tenantId, bId, bEnd)!.traceFilter);
    b.reads.length = 0;
    a.reads.length = 0;
    expect(await a.find(tb.traceId, cache)).toBeUndefined();
    expect(a.reads).toEqual([]);
    expect(spanIds((await b.find(tb.traceId, cache))?.resourceSpans)).toEqual(spanIds(tb.resourceSpans));
    expect(b.reads.every((k) => k === blockKey(b.tenantId, bId))).toBe(true);
    cache.put(a.tenantId, { ...bRow, traceFilter: Uint8Array.from([1, 1, ...new Array(64).fill(0)]) });
    cache.drop(b.tenantId, bId);
    expect(cache.get(b.tenantId, bId, bEnd)).toBeUndefined();
    const again = await b.find(tb.traceId, cache);
    expect(again!.stats.filtersRead).toBe(1);
    expect(spanIds(again?.resourceSpans)).toEqual(spanIds(tb.resourceSpans));
  });

  it("stays within its byte cap: least recently used tenants go first, and a tenant over the cap alone reads the overflow from D1", async () => {
    const ws = [await world("lru-1"), await world("lru-2"), await world("lru-3")];
    const ts: Trace[][] = [];
    for (const w of ws) {
      ts.push([]);
      for (let i = 0; i < 5; i++) {
        const t = trace(T0 + i * MIN);
        ts.at(-1)!.push(t);
        await w.add([t], T0 + i * MIN);
      }
    }
    const probe = new TraceFilterCache();
    await ws[0]!.find(ts[0]![0]!.traceId, probe);
    const perBlock = probe.stats().bytes / 5;
    expect(perBlock).toBeGreaterThan(ENTRY_OVERHEAD_BYTES);
    const cache = new TraceFilterCache({ maxBytes: perBlock * 12 }); // two tenants' 5 blocks fit, not three
    await ws[0]!.find(ts[0]![0]!.traceId, cache);
    await ws[1]!.find(ts[1]![0]!.traceId, cache);
    await ws[0]!.find(ts[0]![1]!.traceId, cache); // tenant 1 used last: tenant 2 is the least recent
    await ws[2]!.find(ts[2]![0]!.traceId, cache);
    expect(Object.keys(cache.stats().byTenant).sort()).toEqual([ws[0]!.tenantId, ws[2]!.tenantId].sort());
    expect(cache.stats().bytes).toBeLessThanOrEqual(cache.maxBytes);

    const small = new TraceFilterCache({ maxBytes: perBlock * 3 });
    const w = ws[0]!;
    for (const t of ts[0]!) {
      const found = await w.find(t.traceId, small);
      expect(spanIds(found?.resourceSpans)).toEqual(spanIds(t.resourceSpans));
      expect(small.stats().bytes).toBeLessThanOrEqual(small.maxBytes);
    }
    // It keeps the newest three; the two oldest are read from D1 every time.
    expect((await w.find(ts[0]![4]!.traceId, small))!.stats.filtersRead).toBe(2);
    expect(small.stats().blocks).toBe(3);
  });

  it("answers as the uncached path does over random additions, late fragments, compactions and expiries, with and without ranges", async () => {
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
    const w = await world("random");
    const caches = [new TraceFilterCache(), new TraceFilterCache({ maxBytes: 4096 }), new TraceFilterCache({ maxKnownIds: 3 })];
    const known: Trace[] = [];
    let compared = 0;
    let foundCount = 0;
    for (let step = 0; step < 60; step++) {
      const now = T0 + step * MIN;
      const r = rand();
      const live = [...w.contents.keys()];
      if (r < 0.55 || live.length < 4) {
        // A block of new traces and late fragments of known ones; created up to 40 min out of order.
        const traces: Trace[] = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => trace(now - Math.floor(rand() * 30) * MIN));
        if (known.length && rand() < 0.5) traces.push(trace(now, 1, known[Math.floor(rand() * known.length)]!.traceId));
        known.push(...traces);
        await w.add(traces, now - Math.floor(rand() * 40) * MIN);
      } else if (r < 0.85) {
        const inputs = live.sort(() => rand() - 0.5).slice(0, 2 + Math.floor(rand() * 3));
        await w.compact(inputs, now, rand() < 0.5);
      } else {
        await w.expire([live[Math.floor(rand() * live.length)]!]);
      }
      for (let q = 0; q < 4; q++) {
        const traceId = rand() < 0.15 ? trace(0).traceId : known[Math.floor(rand() * known.length)]!.traceId;
        const from = T0 + Math.floor((rand() - 0.5) * 80) * MIN;
        const range = rand() < 0.5 ? {} : { startMs: from, endMs: from + 30 * MIN };
        const want = await w.find(traceId, null, range);
        for (const cache of caches) {
          const got = await w.find(traceId, cache, range);
          expect(got?.resourceSpans).toEqual(want?.resourceSpans);
          expect(got?.stats.blocksInRange).toEqual(want?.stats.blocksInRange);
          compared++;
        }
        if (want) foundCount++;
      }
    }
    expect(compared).toBe(60 * 4 * caches.length);
    expect(foundCount).toBeGreaterThan(60); // most lookups find something: the comparison is not vacuous
    expect(caches[1]!.stats().bytes).toBeLessThanOrEqual(4096);
  });
});
