/**
 * @module
 * Search over the block catalog with any `TraceMatcher` (TraceQL or Tempo's legacy tags).
 *
 * 1. The tenant's catalog rows in the time range, newest first (by end); when the matcher names
 *    services a trace must have (`requiredServices`), blocks whose services list lacks one are
 *    skipped without a read.
 * 2. Per block, range reads only: the tail (footer, and the dictionary and summary table when they
 *    fit in it), else the summary table. Rows outside the time range or failing `mayMatch` stop
 *    there; `summaryOnly` matchers never decode spans.
 * 3. The remaining rows are decoded per segment (each segment read and inflated once, the
 *    dictionary read only then) and passed to `match`.
 * 4. Blocks are read until `limit` matches are found and no unread block can hold a newer trace
 *    (a block's end bounds its traces' starts), so the answer is the `limit` newest matching
 *    traces by start, newest first, ties by trace id: the same query gives the same answer.
 *
 * A trace whose spans are in several blocks (late spans, not yet compacted) is reported once: the
 * first matching fragment found, the one in the newest block. Each fragment is matched alone, so
 * a condition spread over fragments (one tag in each) is not seen.
 */
import type { TraceSummary } from "../block/summary-table.ts";
import { openBlock, segmentsNewestFirst } from "./segments.ts";
import { BlockGone, blockRangeReader, type ReadRange } from "../storage/block-range-reader.ts";
import { decodeSegmentTraces } from "../block/read-block.ts";
import type { Db } from "../db/client.ts";
import { listBlocks } from "../db/queries/blocks.ts";
import type { Block } from "../db/schema.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { Condition, SpansetExpr } from "../traceql/ast.ts";
import type { SpansetMatch, TraceMatcher } from "./matcher.ts";

export interface SearchOptions {
  startMs: number;
  endMs: number;
  limit: number;
  /** Spans per spanset (the matcher applies it; kept here for callers that build one). */
  spss?: number;
  /** Bytes of a block's tail fetched by its first read. Default 64 KiB. */
  tailBytes?: number;
}

export interface SearchTrace {
  traceID: string;
  rootServiceName: string;
  rootTraceName: string;
  startTimeUnixNano: string;
  durationMs: number;
  /** Spans and error spans per service, as Tempo's TraceSearchMetadata.serviceStats. */
  serviceStats: Record<string, { spanCount: number; errorCount?: number }>;
  spanSets: SpansetMatch[];
  /** The first spanset, as Tempo still sends it for older clients. */
  spanSet?: SpansetMatch;
}

export interface SearchMetrics {
  /** Summary rows in the time range of the blocks read. */
  inspectedTraces: number;
  /** Bytes of all range reads. */
  inspectedBytes: number;
  /** Blocks whose summary table was read. */
  inspectedBlocks: number;
  /** Blocks read, of the blocks in range after pruning (Tempo's jobs). */
  completedJobs: number;
  totalJobs: number;
}

export interface SearchResult {
  traces: SearchTrace[];
  metrics: SearchMetrics;
}

/** A matcher may name services every match has (legacy `service.name=`, TraceQL `resource.service.name = "x"`). */
type PruningMatcher = TraceMatcher & { readonly requiredServices?: readonly string[] };


interface Found {
  summary: TraceSummary;
  spanSets: SpansetMatch[];
}

const NANOS_PER_MS = 1_000_000n;

export async function searchTraces(db: Db, store: ObjectStore, tenantId: string, matcher: TraceMatcher, options: SearchOptions): Promise<SearchResult> {
  try {
    return await searchOnce(db, store, tenantId, matcher, options);
  } catch (err) {
    // Compaction may have swapped blocks between the catalog read and the R2 reads: look again.
    if (err instanceof BlockGone) return searchOnce(db, store, tenantId, matcher, options);
    throw err;
  }
}

async function searchOnce(db: Db, store: ObjectStore, tenantId: string, matcher: TraceMatcher, options: SearchOptions): Promise<SearchResult> {
  const { startMs, endMs, limit } = options;
  const startNs = BigInt(startMs) * NANOS_PER_MS;
  const endNs = BigInt(endMs) * NANOS_PER_MS + (NANOS_PER_MS - 1n);
  const required = (matcher as PruningMatcher).requiredServices ?? [];
  const all = await listBlocks(db, tenantId, { startMs, endMs });
  // Same end: a fixed order by id, so that ties do not depend on the database's mood.
  all.sort((a, b) => b.endMs - a.endMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const blocks = all.filter((b) => required.every((s) => b.services.includes(s)));
  const metrics: SearchMetrics = { inspectedTraces: 0, inspectedBytes: 0, inspectedBlocks: 0, completedJobs: 0, totalJobs: blocks.length };
  const found = new Map<string, Found>();

  const reader = (b: Block) => blockRangeReader(store, tenantId, b.id, (n) => (metrics.inspectedBytes += n));

  // The start of the limit-th newest match so far: nothing older can enter the answer.
  const cutoff = (): bigint | undefined => (found.size >= limit ? BigInt(newest(found)[limit - 1]!.summary.startTimeUnixNano) : undefined);
  const scan: BlockScan = {
    matcher,
    startNs,
    endNs,
    metrics,
    tailBytes: options.tailBytes,
    seen: (id) => found.has(id),
    add: (m) => {
      if (!found.has(m.summary.traceId)) found.set(m.summary.traceId, m);
    },
    cutoff,
  };
  for (const block of blocks) {
    // Every trace of this and older blocks starts at or before the block's end.
    const c = cutoff();
    if (c !== undefined && BigInt(block.endMs) * NANOS_PER_MS + (NANOS_PER_MS - 1n) < c) break;
    await searchBlock(reader(block), block.bytes, scan);
    metrics.completedJobs++;
  }

  const traces = newest(found)
    .slice(0, limit)
    .map(({ summary, spanSets }): SearchTrace => ({
      traceID: summary.traceId,
      rootServiceName: summary.rootServiceName || "<root span not yet received>",
      rootTraceName: summary.rootSpanName,
      startTimeUnixNano: summary.startTimeUnixNano,
      durationMs: Number(BigInt(summary.durationNanos) / NANOS_PER_MS),
      // Tempo omits a zero errorCount (proto3 JSON); so do we.
      serviceStats: Object.fromEntries(summary.services.map((c) => [c.serviceName, c.errorCount ? { spanCount: c.spanCount, errorCount: c.errorCount } : { spanCount: c.spanCount }])),
      spanSets,
      ...(spanSets[0] ? { spanSet: spanSets[0] } : {}),
    }));
  return { traces, metrics };
}

function newest(found: Map<string, Found>): Found[] {
  return [...found.values()].sort((a, b) => {
    const sa = BigInt(a.summary.startTimeUnixNano);
    const sb = BigInt(b.summary.startTimeUnixNano);
    if (sa !== sb) return sa > sb ? -1 : 1;
    return a.summary.traceId < b.summary.traceId ? -1 : a.summary.traceId > b.summary.traceId ? 1 : 0;
  });
}

type Read = ReadRange;

interface BlockScan {
  matcher: TraceMatcher;
  startNs: bigint;
  endNs: bigint;
  metrics: SearchMetrics;
  tailBytes?: number;
  /** Already found in a newer block. */
  seen(traceId: string): boolean;
  add(found: Found): void;
  cutoff(): bigint | undefined;
}

async function searchBlock(read: Read, objectSize: number, scan: BlockScan): Promise<void> {
  const { matcher, startNs, endNs, metrics } = scan;
  const block = await openBlock(read, objectSize, scan.tailBytes);
  metrics.inspectedBlocks++;

  const toDecode: TraceSummary[] = [];
  for (const row of block.traces) {
    const s = BigInt(row.startTimeUnixNano);
    const e = BigInt(row.endTimeUnixNano);
    if (s > endNs || e < startNs) continue;
    metrics.inspectedTraces++;
    if (scan.seen(row.traceId) || !matcher.mayMatch(row)) continue;
    if (matcher.summaryOnly) scan.add({ summary: row, spanSets: [] });
    else toDecode.push(row);
  }
  if (!toDecode.length) return;

  // Rows sharing a segment: one read and one inflate per segment; segments with the newest
  // traces first, so that once `limit` newer matches are known the rest is not read.
  const segments = segmentsNewestFirst(toDecode);

  for (const { offset, rows, latest: segLatest } of segments) {
    const c = scan.cutoff();
    if (c !== undefined && segLatest < c) break;
    const traces = await decodeSegmentTraces(await block.range({ offset, length: rows[0]!.segmentLength }), await block.dictionary(), rows);
    rows.forEach((row, i) => {
      const spanSets = matcher.match(traces[i]!, row);
      if (spanSets) scan.add({ summary: row, spanSets });
    });
  }
}

/**
 * Root span names of the traces in the range, from the summary tables of the newest `maxBlocks`
 * blocks (range reads only, no span decoding), sorted, at most `maxValues`.
 */
export async function rootSpanNames(db: Db, store: ObjectStore, tenantId: string, range: { startMs: number; endMs: number }, options: { maxBlocks?: number; maxValues?: number; tailBytes?: number } = {}): Promise<string[]> {
  const blocks = await listBlocks(db, tenantId, { ...range, limit: options.maxBlocks ?? 100 });
  const startNs = BigInt(range.startMs) * NANOS_PER_MS;
  const endNs = BigInt(range.endMs) * NANOS_PER_MS + (NANOS_PER_MS - 1n);
  const names = new Set<string>();
  for (const b of blocks) {
    const read = blockRangeReader(store, tenantId, b.id);
    let rows: TraceSummary[];
    try {
      rows = (await openBlock(read, b.bytes, options.tailBytes)).traces;
    } catch (err) {
      // A block compacted away meanwhile: its traces are in the merged block, listed or not.
      if (err instanceof BlockGone) continue;
      throw err;
    }
    for (const row of rows) {
      if (BigInt(row.startTimeUnixNano) > endNs || BigInt(row.endTimeUnixNano) < startNs) continue;
      if (row.rootSpanName) names.add(row.rootSpanName);
    }
  }
  return [...names].sort().slice(0, options.maxValues ?? 1000);
}

/**
 * Services every match of a TraceQL query must have, for pruning blocks by their catalog services
 * list: `resource.service.name = "x"` (either side), through `&&` (union of both sides), `||`
 * (intersection), structural operators (both sides must match in the trace: union) and the source
 * of a pipeline. Anything else (negation, unscoped `.service.name`, which may be a span attribute,
 * pipeline stages) requires nothing.
 */
export function traceqlRequiredServices(query: SpansetExpr): string[] {
  return [...spansetServices(query)].sort();
}

function union(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a, ...b]);
}

function intersection(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a].filter((x) => b.has(x)));
}

function spansetServices(e: SpansetExpr): Set<string> {
  switch (e.kind) {
    case "selector":
      return e.cond ? conditionServices(e.cond) : new Set();
    case "pipeline":
      return spansetServices(e.source);
    case "spansetOp":
      return e.op === "||" ? intersection(spansetServices(e.left), spansetServices(e.right)) : union(spansetServices(e.left), spansetServices(e.right));
  }
}

function conditionServices(c: Condition): Set<string> {
  if (c.kind === "logical") return c.op === "&&" ? union(conditionServices(c.left), conditionServices(c.right)) : intersection(conditionServices(c.left), conditionServices(c.right));
  if (c.kind !== "comparison" || c.op !== "=") return new Set();
  const isService = (f: Condition) => f.kind === "attribute" && f.scope === "resource" && f.name === "service.name";
  const stringOf = (l: Condition) => (l.kind === "literal" && l.value.type === "string" ? l.value.value : undefined);
  const value = isService(c.left) ? stringOf(c.right) : isService(c.right) ? stringOf(c.left) : undefined;
  return value === undefined ? new Set() : new Set([value]);
}
