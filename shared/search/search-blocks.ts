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
 *    With `order: "duration"` or `"errors"` the answer is the `limit` longest (most error spans)
 *    matches of the whole range instead: every block's summary table is read (a top-k over the
 *    range), and a segment is decoded only while its best row could still enter the top `limit`.
 *
 * A trace whose spans are in several blocks (late spans, not yet compacted) is matched per
 * fragment, so a condition spread over fragments (one tag in each) is not seen, and ranked by its
 * best fragment; the traces returned are then described from all of their fragments
 * (`whole-traces.ts`): root, duration, counts, per-service stats and spansets of the whole trace.
 */
import type { TraceFacts } from "../block/summarize.ts";
import type { TraceSummary } from "../block/summary-table.ts";
import type { Db } from "../db/client.ts";
import { BlockGone } from "../storage/block-range-reader.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { Condition, SpansetExpr } from "../traceql/ast.ts";
import { blocksToScan, candidateRows, DEFAULT_SCAN_CONCURRENCY, newCounters, readSegments, retryIfBlockGone, scanInOrder, scanReader, type ScanBlock, type ScanCounters, type ScanFilter, type ScanSettings } from "./block-scanner.ts";
import type { SpansetMatch, TraceMatcher } from "./matcher.ts";
import { describeWholeTraces } from "./whole-traces.ts";

export interface SearchOptions extends ScanSettings {
  startMs: number;
  endMs: number;
  limit: number;
  /** Spans per spanset (the matcher applies it; kept here for callers that build one). */
  spss?: number;
  /** What "first" means: newest start (default), longest duration, most error spans. */
  order?: SearchOrder;
}

export const SEARCH_ORDERS = ["start", "duration", "errors"] as const;
export type SearchOrder = (typeof SEARCH_ORDERS)[number];

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
  /** Blocks the catalog ruled out unread (services, attribute index). */
  skippedBlocks: number;
  /** Segments their attribute index ruled out. */
  skippedSegments: number;
  /** R2 range reads. */
  reads: number;
}

export interface SearchResult {
  traces: SearchTrace[];
  metrics: SearchMetrics;
}

/** A matcher may name services every match has (legacy `service.name=`, TraceQL `resource.service.name = "x"`). */
type PruningMatcher = TraceMatcher & { readonly requiredServices?: readonly string[] };

/** A match: the summary row of the trace fragment that matched, and its spansets. Plain data. */
export interface Found {
  summary: TraceSummary;
  spanSets: SpansetMatch[];
}

/** What one job of a fanned-out search answers (searchBlockList on its blocks). */
export interface SearchJobResult {
  /** Its matches, newest first, at most the job's limit. */
  hits: Found[];
  /** True when it left blocks or segments unread because it had `limit` newer matches. */
  stoppedEarly: boolean;
  counters: ScanCounters;
  completed: number;
}

/** A search split into jobs by block range, each run as its own Worker invocation. */
export interface SearchFanOut {
  /** Blocks per job, at least (more when the blocks would need more than `maxJobs` jobs). */
  blocksPerJob: number;
  /** Jobs per search at most (Cloudflare allows 32 Worker invocations per request). */
  maxJobs: number;
  /** Jobs in flight at once. */
  jobsAtOnce: number;
  /** Runs `searchBlockList` over `blocks` in another invocation. */
  run(job: { blocks: ScanBlock[]; limit: number; cutoffNs: string | undefined; order: SearchOrder }): Promise<SearchJobResult>;
}

const NANOS_PER_MS = 1_000_000n;

export async function searchTraces(db: Db, store: ObjectStore, tenantId: string, matcher: TraceMatcher, options: SearchOptions & { fanOut?: SearchFanOut }): Promise<SearchResult> {
  return retryIfBlockGone(() => searchOnce(db, store, tenantId, matcher, options));
}

const blockEndNs = (b: ScanBlock) => BigInt(b.endMs) * NANOS_PER_MS + (NANOS_PER_MS - 1n);

async function searchOnce(db: Db, store: ObjectStore, tenantId: string, matcher: TraceMatcher, options: SearchOptions & { fanOut?: SearchFanOut }): Promise<SearchResult> {
  const { startMs, endMs, limit } = options;
  const order = options.order ?? "start";
  const counters = newCounters();
  const blocks = await blocksToScan(db, tenantId, { startMs, endMs }, scanFilterOf(matcher), options, counters);
  const fanOut = options.fanOut;
  let found: Found[];
  let completed: number;
  if (fanOut && blocks.length > fanOut.blocksPerJob) {
    ({ found, completed } = await searchInJobs(blocks, limit, order, fanOut, counters));
  } else {
    const r = await searchBlockList(store, tenantId, matcher, blocks, options);
    addCounters(counters, r.counters);
    found = r.hits;
    completed = r.completed;
  }
  // Each hit describes the fragment that matched; describe the ones returned whole.
  const whole = ranked(await describeWholeTraces(db, store, tenantId, matcher, found.slice(0, limit), { startMs }, counters, options), order);
  const metrics: SearchMetrics = {
    inspectedTraces: counters.inspectedTraces,
    inspectedBytes: counters.inspectedBytes,
    inspectedBlocks: counters.inspectedBlocks,
    completedJobs: completed,
    totalJobs: blocks.length,
    skippedBlocks: counters.skippedBlocks,
    skippedSegments: counters.skippedSegments,
    reads: counters.reads,
  };
  const traces = whole.map(({ summary, spanSets }): SearchTrace => ({
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

function scanFilterOf(matcher: TraceMatcher): ScanFilter {
  return { requiredServices: (matcher as PruningMatcher).requiredServices, indexCondition: matcher.indexCondition, mayMatch: (s) => matcher.mayMatch(s) };
}

function addCounters(into: ScanCounters, from: ScanCounters): void {
  for (const k of Object.keys(into) as (keyof ScanCounters)[]) into[k] += from[k];
}

/**
 * The search over jobs of consecutive blocks (newest first), merged in job order the way blocks
 * are merged within a job: a job starts only while its newest block can still hold a trace newer
 * than the limit-th match of the jobs taken before it, and is told that bound.
 */
async function searchInJobs(blocks: ScanBlock[], limit: number, order: SearchOrder, fanOut: SearchFanOut, counters: ScanCounters): Promise<{ found: Found[]; completed: number }> {
  const jobs: ScanBlock[][] = [];
  const size = Math.max(fanOut.blocksPerJob, Math.ceil(blocks.length / fanOut.maxJobs));
  for (let i = 0; i < blocks.length; i += size) jobs.push(blocks.slice(i, i + size));
  const found = new Map<string, Found>();
  let cutoff: bigint | undefined;
  let completed = 0;
  await scanInOrder(
    jobs,
    fanOut.jobsAtOnce,
    (job) => fanOut.run({ blocks: job, limit, cutoffNs: cutoff?.toString(), order }),
    async (result, job) => {
      let r = result;
      // As within a job: a trace taken from a newer job does not count here; if this job
      // stopped early counting it, run it again asking for that many more.
      const dups = r.hits.filter((h) => found.has(h.summary.traceId)).length;
      // (A top-k by duration or errors needs no rerun: each job's hits are distinct traces.)
      if (order === "start" && r.stoppedEarly && dups > 0) {
        addCounters(counters, r.counters);
        r = await fanOut.run({ blocks: job, limit: limit + dups, cutoffNs: cutoff?.toString(), order });
      }
      addCounters(counters, r.counters);
      completed += r.completed;
      keepBest(found, r.hits, order);
      if (order !== "start") return;
      const ordered = newest(found);
      cutoff = ordered.length >= limit ? BigInt(ordered[limit - 1]!.summary.startTimeUnixNano) : undefined;
    },
    (job) => cutoff === undefined || blockEndNs(job[0]!) >= cutoff,
    { rampUp: order === "start" },
  );
  return { found: ranked([...found.values()], order), completed };
}

/**
 * Search over the given blocks (newest first, as `blocksToScan` orders them): the `limit` newest
 * matches, newest first. What one invocation runs, alone or as a job of a fanned-out search.
 * `cutoffNs`: a start no match can be older than to count (a bound from newer blocks).
 */
export async function searchBlockList(store: ObjectStore, tenantId: string, matcher: TraceMatcher, blocks: readonly ScanBlock[], options: SearchOptions & { cutoffNs?: string }): Promise<SearchJobResult> {
  if (options.order && options.order !== "start") return topOfBlockList(store, tenantId, matcher, blocks, { ...options, order: options.order });
  const { limit } = options;
  const startNs = BigInt(options.startMs) * NANOS_PER_MS;
  const endNs = BigInt(options.endMs) * NANOS_PER_MS + (NANOS_PER_MS - 1n);
  const filter = scanFilterOf(matcher);
  const counters = newCounters();
  const found = new Map<string, Found>();
  const given = options.cutoffNs !== undefined ? BigInt(options.cutoffNs) : undefined;
  // Matches of the blocks taken so far (a prefix of the newest-first order): the start of the
  // limit-th newest is a bound no trace of a later block can beat once the block ends before it.
  let cutoff: bigint | undefined = given;
  let stoppedEarly = false;
  const updateCutoff = () => {
    const own = found.size >= limit ? BigInt(newest(found)[limit - 1]!.summary.startTimeUnixNano) : undefined;
    cutoff = own === undefined ? given : given === undefined || own > given ? own : given;
  };

  // One block: its matches, newest segments first. With `localStop`, segments are left unread
  // once `limit` matches of this block alone are newer than them.
  const readBlock = async (block: ScanBlock, localStop: boolean): Promise<{ hits: Found[]; stoppedEarly: boolean }> => {
    const c = await candidateRows(scanReader(store, tenantId, block, counters), block.bytes, { startNs, endNs, filter, useIndex: options.useIndex, tailBytes: options.tailBytes }, counters);
    const hits: Found[] = [];
    if (matcher.summaryOnly) {
      for (const row of c.rows) hits.push({ summary: row, spanSets: [] });
      return { hits, stoppedEarly: false };
    }
    const local: bigint[] = [];
    let early = false;
    await readSegments(
      c,
      c.rows.filter((r) => !found.has(r.traceId)),
      (row, trace) => {
        const spanSets = matcher.match(trace, row);
        if (!spanSets) return;
        hits.push({ summary: row, spanSets });
        local.push(BigInt(row.startTimeUnixNano));
      },
      counters,
      (latest) => {
        if (cutoff !== undefined && latest < cutoff) return (early = true);
        if (!localStop || local.length < limit) return false;
        const sorted = [...local].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
        return (early = latest < sorted[limit - 1]!);
      },
    );
    return { hits, stoppedEarly: early };
  };

  const completed = await scanInOrder(
    blocks,
    options.concurrency ?? DEFAULT_SCAN_CONCURRENCY,
    (block) => readBlock(block, true),
    async (result, block) => {
      let { hits } = result;
      // A trace already taken from a newer block (read at the same time as this one) does not
      // count here; if this block stopped early counting it, read it again without stopping.
      if (result.stoppedEarly && hits.some((h) => found.has(h.summary.traceId))) hits = (await readBlock(block, false)).hits;
      if (result.stoppedEarly) stoppedEarly = true;
      // The fragment in the newest block wins: blocks are taken newest first.
      for (const h of hits) if (!found.has(h.summary.traceId)) found.set(h.summary.traceId, h);
      updateCutoff();
    },
    (block) => {
      const go = cutoff === undefined || blockEndNs(block) >= cutoff;
      if (!go) stoppedEarly = true;
      return go;
    },
    { rampUp: true },
  );
  return { hits: newest(found).slice(0, limit), stoppedEarly: stoppedEarly || found.size > limit, counters, completed };
}

function newest(found: Map<string, Found>): Found[] {
  return ranked([...found.values()], "start");
}

const byNewest = (a: TraceFacts, b: TraceFacts): number => {
  const sa = BigInt(a.startTimeUnixNano);
  const sb = BigInt(b.startTimeUnixNano);
  if (sa !== sb) return sa > sb ? -1 : 1;
  return a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0;
};

/** Negative when `a` comes first in `order`; ties newest first, then by trace id. */
export function compareSummaries(order: SearchOrder, a: TraceFacts, b: TraceFacts): number {
  if (order === "duration") {
    const da = BigInt(a.durationNanos);
    const db = BigInt(b.durationNanos);
    if (da !== db) return da > db ? -1 : 1;
  } else if (order === "errors" && a.errorCount !== b.errorCount) {
    return b.errorCount - a.errorCount;
  }
  return byNewest(a, b);
}

function ranked(found: Iterable<Found>, order: SearchOrder): Found[] {
  return [...found].sort((a, b) => compareSummaries(order, a.summary, b.summary));
}

/** Adds hits to `found`, one per trace: the first seen when by start (newest block first), else the better-ranked fragment. */
function keepBest(found: Map<string, Found>, hits: readonly Found[], order: SearchOrder): void {
  for (const h of hits) {
    const had = found.get(h.summary.traceId);
    if (!had || (order !== "start" && compareSummaries(order, h.summary, had.summary) < 0)) found.set(h.summary.traceId, h);
  }
}

/**
 * The `limit` first matches of `blocks` by duration or error count: every block's summary rows in
 * the range, and segments decoded best row first while that row could still enter the top
 * `limit` (the `limit`-th match so far is the bound; a row ranked after it cannot displace it).
 */
async function topOfBlockList(store: ObjectStore, tenantId: string, matcher: TraceMatcher, blocks: readonly ScanBlock[], options: SearchOptions & { order: Exclude<SearchOrder, "start"> }): Promise<SearchJobResult> {
  const { limit, order } = options;
  const startNs = BigInt(options.startMs) * NANOS_PER_MS;
  const endNs = BigInt(options.endMs) * NANOS_PER_MS + (NANOS_PER_MS - 1n);
  const filter = scanFilterOf(matcher);
  const counters = newCounters();
  const found = new Map<string, Found>();
  let stoppedEarly = false;
  const bound = (): TraceFacts | undefined => (found.size >= limit ? ranked(found.values(), order)[limit - 1]!.summary : undefined);

  const readBlock = async (block: ScanBlock): Promise<Found[]> => {
    const c = await candidateRows(scanReader(store, tenantId, block, counters), block.bytes, { startNs, endNs, filter, useIndex: options.useIndex, tailBytes: options.tailBytes }, counters);
    if (matcher.summaryOnly) return c.rows.map((row) => ({ summary: row, spanSets: [] }));
    // Segments by their best row, best first.
    const bySegment = new Map<number, TraceSummary[]>();
    for (const row of [...c.rows].sort((a, b) => compareSummaries(order, a, b))) (bySegment.get(row.segmentOffset) ?? bySegment.set(row.segmentOffset, []).get(row.segmentOffset)!).push(row);
    const hits: Found[] = [];
    const local: TraceFacts[] = [];
    for (const rows of bySegment.values()) {
      // The bound of the blocks taken so far, or of this block's own matches, whichever is stricter.
      const taken = bound();
      const own = local.length >= limit ? local.sort((a, b) => compareSummaries(order, a, b))[limit - 1] : undefined;
      if ((taken && compareSummaries(order, rows[0]!, taken) > 0) || (own && compareSummaries(order, rows[0]!, own) > 0)) {
        stoppedEarly = true;
        break;
      }
      await readSegments(
        c,
        rows,
        (row, trace) => {
          const spanSets = matcher.match(trace, row);
          if (!spanSets) return;
          hits.push({ summary: row, spanSets });
          local.push(row);
        },
        counters,
      );
    }
    return hits;
  };

  const completed = await scanInOrder(
    blocks,
    options.concurrency ?? DEFAULT_SCAN_CONCURRENCY,
    readBlock,
    (hits) => keepBest(found, hits, order),
  );
  const all = ranked(found.values(), order);
  return { hits: all.slice(0, limit), stoppedEarly: stoppedEarly || all.length > limit, counters, completed };
}

/**
 * Root span names of the traces in the range, from the summary tables of the newest `maxBlocks`
 * blocks (range reads only, no span decoding), sorted, at most `maxValues`.
 */
export async function rootSpanNames(db: Db, store: ObjectStore, tenantId: string, range: { startMs: number; endMs: number }, options: { maxBlocks?: number; maxValues?: number } & ScanSettings = {}): Promise<string[]> {
  const counters = newCounters();
  const blocks = (await blocksToScan(db, tenantId, range, undefined, options, counters)).slice(0, options.maxBlocks ?? 100);
  const startNs = BigInt(range.startMs) * NANOS_PER_MS;
  const endNs = BigInt(range.endMs) * NANOS_PER_MS + (NANOS_PER_MS - 1n);
  const names = new Set<string>();
  await scanInOrder(
    blocks,
    options.concurrency ?? DEFAULT_SCAN_CONCURRENCY,
    async (b) => {
      try {
        return (await candidateRows(scanReader(store, tenantId, b, counters), b.bytes, { startNs, endNs, tailBytes: options.tailBytes }, counters)).rows;
      } catch (err) {
        // A block compacted away meanwhile: its traces are in the merged block, listed or not.
        if (err instanceof BlockGone) return [];
        throw err;
      }
    },
    (rows) => {
      for (const row of rows) if (row.rootSpanName) names.add(row.rootSpanName);
    },
  );
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
      // A negated structural operator (`!>`) can match with no span of its left side.
      if (e.op.startsWith("!")) return spansetServices(e.right);
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
