/**
 * The trace-by-id benchmark's worker (bench/trace-by-id.ts bundles it with wrangler and runs it in
 * Miniflare with local D1 and R2): loads blocks as the assembler and compaction leave them (R2
 * object + catalog row through recordBlock) and runs the real findTrace.
 *
 * On deployed Workers time only advances across I/O (Spectre mitigation), so `ms` around findTrace
 * could miss the CPU after its last read; bench/trace-by-id.ts times each request from Node instead
 * and reports this figure next to it (GET /fence shows whether the local workerd's clock moved
 * during a busy loop; in the runs so far it did). /breakdown splits one lookup into D1, filter test, R2 and decode
 * by ending every step with a zero-length timer (a "fence", which lets the clock catch up) and
 * subtracting the fence's own cost.
 *
 * The lookups use the isolate's filter cache (shared/storage/trace-filter-cache.ts), as the
 * dashboard does; `cache: false` runs the uncached path (every filter from D1), `cold: true` empties
 * the cache first. The breakdown times the catalog step both ways: with the cache as it stands, and
 * the uncached query.
 *
 * `.mts` keeps this file out of tsconfig.node.json; check it with `npx tsc -p bench/trace-by-id`.
 *
 * Routes: POST /setup, POST /put (x-tenant, x-row; body = block bytes), GET /noop, GET /cache (the
 * isolate's filter cache: tenants, blocks, bytes), POST /find,
 * POST /breakdown, GET /fence, POST /search (the real searchTraces with a TraceQL query or legacy
 * tags, matcher built as the dashboard's /api/search route builds it).
 */
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import { listBlockFilters, recordBlock, type NewBlock } from "../../shared/db/queries/blocks.ts";
import { createTenant } from "../../shared/db/queries/tenants.ts";
import { decodeDictionary, decodeSummaries, decodeTraceSegment, filterMayContain, FOOTER_SIZE, readFooter } from "../../shared/block/read-block.ts";
import { blockKey } from "../../shared/storage/keys.ts";
import { r2Store, type ObjectStore } from "../../shared/storage/object-store.ts";
import { catalogFilters, findTrace, isolateFilterCache } from "../../shared/storage/trace-reader.ts";
import type { TraceMatcher } from "../../shared/search/matcher.ts";
import { searchTraces, traceqlRequiredServices } from "../../shared/search/search-blocks.ts";
import { tagsMatcher } from "../../shared/search/tags-matcher.ts";
import { compileQuery, parseTraceQL } from "../../shared/traceql/index.ts";

interface Env {
  DB: D1Database;
  SPANS: R2Bucket;
}

export interface FindRequest {
  tenantId: string;
  traceId: string;
  startMs?: number;
  endMs?: number;
  /** false: the uncached path. */
  cache?: boolean;
  /** Empty the isolate's cache first. */
  cold?: boolean;
}

const fence = () => new Promise((r) => setTimeout(r, 0));

function b64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The R2 store with its range reads counted: how many, of how many distinct blocks, how many bytes. */
function countingStore(base: ObjectStore) {
  const keys = new Set<string>();
  const c = { reads: 0, bytes: 0, keys };
  const store: ObjectStore = {
    ...base,
    async getRange(key, offset, length) {
      c.reads++;
      keys.add(key);
      const b = await base.getRange(key, offset, length);
      c.bytes += b?.byteLength ?? 0;
      return b;
    },
  };
  return { store, c };
}

function rangeOf(q: FindRequest) {
  return q.startMs === undefined ? {} : { startMs: q.startMs, endMs: q.endMs };
}

async function find(q: FindRequest, env: Env) {
  const { store, c } = countingStore(r2Store(env.SPANS));
  if (q.cold) isolateFilterCache.clear();
  const t0 = Date.now();
  const found = await findTrace(d1(env.DB), store, q.tenantId, q.traceId, rangeOf(q), q.cache === false ? null : isolateFilterCache);
  const ms = Date.now() - t0;
  let spans = 0;
  for (const rs of found?.resourceSpans ?? []) for (const ss of rs.scopeSpans) for (const s of ss.spans) if (s.traceId === q.traceId) spans++;
  return { found: !!found, spans, blocksInRange: found?.stats.blocksInRange, filtersRead: found?.stats.filtersRead, blocksRead: c.keys.size, r2Reads: c.reads, r2Bytes: c.bytes, ms };
}

/** The steps of findTrace + readTrace one at a time (blocks one after another), each timed. */
async function breakdown(q: FindRequest, env: Env) {
  const r2 = r2Store(env.SPANS);
  const t = { d1Uncached: 0, d1: 0, filter: 0, r2: 0, decodeIndex: 0, decodeSegment: 0, fence: 0 };
  let last = Date.now();
  await fence();
  t.fence = Date.now() - last;
  const lap = async (k: keyof typeof t) => {
    await fence();
    const now = Date.now();
    t[k] += now - last - t.fence;
    last = now;
  };
  last = Date.now();
  await listBlockFilters(d1(env.DB), q.tenantId, rangeOf(q));
  await lap("d1Uncached");
  const { blocks: rows, filtersRead } = await catalogFilters(d1(env.DB), q.tenantId, rangeOf(q), isolateFilterCache);
  await lap("d1");
  const hits = rows.filter((b) => filterMayContain(b.traceFilter, q.traceId));
  await lap("filter");
  let found = false;
  let indexBytes = 0;
  let summaryRows = 0;
  for (const b of hits) {
    const key = blockKey(q.tenantId, b.id);
    const read = async (offset: number, length: number) => (await r2.getRange(key, offset, length))!;
    const tailLength = Math.min(b.bytes, Math.max(FOOTER_SIZE, 64 * 1024));
    const tailOffset = b.bytes - tailLength;
    const tail = await read(tailOffset, tailLength);
    const footer = readFooter(tail);
    const indexOffset = footer.dictionary.offset;
    const indexLength = footer.dictionary.length + footer.summaries.length;
    const index = indexOffset >= tailOffset ? tail.subarray(indexOffset - tailOffset, indexOffset - tailOffset + indexLength) : await read(indexOffset, indexLength);
    await lap("r2");
    indexBytes += indexLength;
    const [dictionary, table] = await Promise.all([decodeDictionary(index.subarray(0, footer.dictionary.length)), decodeSummaries(index.subarray(footer.dictionary.length))]);
    summaryRows += table.traces.length;
    const summary = table.traces.find((x) => x.traceId === q.traceId);
    await lap("decodeIndex");
    if (!summary) continue;
    const segment = await read(summary.segmentOffset, summary.segmentLength);
    await lap("r2");
    await decodeTraceSegment(segment, dictionary, summary);
    await lap("decodeSegment");
    found = true;
  }
  return { ...t, found, catalogRows: rows.length, filtersRead, blocksRead: hits.length, indexBytes, summaryRows };
}

export interface SearchRequest {
  tenantId: string;
  /** TraceQL, or legacy logfmt tags. */
  q?: string;
  tags?: string;
  startMs: number;
  endMs: number;
  limit: number;
}

/** searchTraces as GET /api/search runs it (TraceQL gets requiredServices for block pruning). */
async function search(q: SearchRequest, env: Env) {
  const spss = 3;
  let matcher: TraceMatcher;
  if (q.q !== undefined) {
    const ast = parseTraceQL(q.q);
    matcher = Object.assign(compileQuery(ast, { spss }), { requiredServices: traceqlRequiredServices(ast) });
  } else matcher = tagsMatcher({ tags: q.tags }, { spss });
  const t0 = Date.now();
  const r = await searchTraces(d1(env.DB), r2Store(env.SPANS), q.tenantId, matcher, { startMs: q.startMs, endMs: q.endMs, limit: q.limit, spss });
  return { traces: r.traces.length, traceIds: r.traces.map((t) => t.traceID), metrics: r.metrics, ms: Date.now() - t0 };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/noop") return Response.json({});
    if (url.pathname === "/cache") return Response.json(isolateFilterCache.stats());
    if (url.pathname === "/find") return Response.json(await find((await request.json()) as FindRequest, env));
    if (url.pathname === "/search") return Response.json(await search((await request.json()) as SearchRequest, env));
    if (url.pathname === "/breakdown") return Response.json(await breakdown((await request.json()) as FindRequest, env));
    if (url.pathname === "/put") {
      const tenantId = request.headers.get("x-tenant")!;
      const row = JSON.parse(request.headers.get("x-row")!) as Record<string, unknown>;
      const block = { ...row, traceFilter: b64(row.traceFilter as string), attributeIndex: row.attributeIndex ? b64(row.attributeIndex as string) : null, createdAt: new Date(row.createdAt as number) } as unknown as NewBlock;
      await env.SPANS.put(blockKey(tenantId, block.id), await request.arrayBuffer());
      await recordBlock(d1(env.DB) as BatchingDb, tenantId, block, [], []);
      return Response.json({});
    }
    if (url.pathname === "/setup") {
      const db = d1(env.DB);
      const a = await createTenant(db, "trace-by-id-bench");
      const b = await createTenant(db, "trace-by-id-other");
      return Response.json({ tenantA: a.id, tenantB: b.id });
    }
    if (url.pathname === "/fence") {
      // Does a zero-length timer let Date.now() catch up with CPU time spent since the last I/O?
      const t0 = Date.now();
      let x = 0;
      const end = performance.now();
      for (let i = 0; i < 3e7; i++) x += Math.sqrt(i);
      const before = Date.now();
      await fence();
      return Response.json({ beforeFence: before - t0, afterFence: Date.now() - t0, perfMoved: performance.now() - end, x });
    }
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
