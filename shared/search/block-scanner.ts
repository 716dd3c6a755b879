/**
 * @module
 * The one block scanner behind Tempo, Jaeger and Zipkin search, tag scans and TraceQL metrics:
 *
 * 1. `blocksToScan`: the tenant's catalog rows overlapping the range, newest first (by end, then
 *    id, so ties do not depend on the database), without the blocks a query rules out from the
 *    catalog alone: a service every match has that the block lacks, or an attribute index
 *    (shared/block/attribute-index.ts) that cannot hold a match. Those cost no R2 read.
 * 2. `scanInOrder`: reads blocks with up to `concurrency` in flight (Cloudflare lets one
 *    invocation wait on six connections at once), hands each block's result to `take` in block
 *    order whatever order the reads finish in, and before starting a block asks `proceed`, which
 *    sees only results already taken (a prefix of the order): so a scan that stops at a limit
 *    gives the same answer as reading one block after another, and stops as early.
 * 3. `candidateRows`: one block's summary rows in the range that the summary (`mayMatch`) and the
 *    segment's attribute index allow; `readSegments` decodes those rows' segments, each read and
 *    inflated once, newest first, until told to stop.
 *
 * `retryIfBlockGone` runs a whole scan again when compaction swapped a listed block away between
 * the catalog read and the R2 read (its traces are in the merged block, which the new list has).
 */
import { encodedIndexMayMatch, decodeAttributeIndex, indexMayMatch, type IndexCondition } from "../block/attribute-index.ts";
import { decodeSegmentTraces } from "../block/read-block.ts";
import type { TraceFacts } from "../block/summarize.ts";
import type { TraceSummary } from "../block/summary-table.ts";
import type { Db } from "../db/client.ts";
import { listScanBlocks, type ScanBlock } from "../db/queries/block-scan.ts";
import type { ResourceSpans } from "../model/span.ts";
import type { RangeReader } from "../block/read-block.ts";
import { BlockGone, blockRangeReader } from "../storage/block-range-reader.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { openBlock, segmentsNewestFirst, type OpenedBlock } from "./segments.ts";

export type { ScanBlock } from "../db/queries/block-scan.ts";

/** Blocks read at once by one invocation: Cloudflare's six simultaneous connections per invocation. */
export const DEFAULT_SCAN_CONCURRENCY = 6;

export interface ScanSettings {
  /** Blocks read at once. Default `DEFAULT_SCAN_CONCURRENCY`. */
  concurrency?: number;
  /** Use attribute indexes to skip blocks and segments. Default true (false: for comparisons). */
  useIndex?: boolean;
  /** Bytes of a block's tail fetched by its first read. Default 64 KiB. */
  tailBytes?: number;
}

/** What a query tells the scanner beyond its time range. */
export interface ScanFilter {
  /** Services every match has (blocks lacking one are skipped). */
  readonly requiredServices?: readonly string[];
  /** What a block's or segment's attribute index must allow. */
  readonly indexCondition?: IndexCondition;
  /** A test on the summary row; false skips the trace. */
  mayMatch?(summary: TraceFacts): boolean;
}

/** Counters every scan keeps (all optional in answers). */
export interface ScanCounters {
  /** Blocks in range before pruning. */
  listedBlocks: number;
  /** Blocks ruled out by the catalog (services, attribute index): never read. */
  skippedBlocks: number;
  /** Blocks whose summary table was read. */
  inspectedBlocks: number;
  /** Summary rows in the time range, of the blocks read. */
  inspectedTraces: number;
  /** Segments ruled out by their attribute index. */
  skippedSegments: number;
  /** Segments read and decoded. */
  readSegments: number;
  /** Range reads, and their bytes. */
  reads: number;
  inspectedBytes: number;
}

export function newCounters(): ScanCounters {
  return { listedBlocks: 0, skippedBlocks: 0, inspectedBlocks: 0, inspectedTraces: 0, skippedSegments: 0, readSegments: 0, reads: 0, inspectedBytes: 0 };
}

const byEndThenId = (a: Pick<ScanBlock, "id" | "endMs">, b: Pick<ScanBlock, "id" | "endMs">) => b.endMs - a.endMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Catalog rows to read, newest first, without those the filter rules out unread. */
export async function blocksToScan(db: Db, tenantId: string, range: { startMs: number; endMs: number }, filter: ScanFilter | undefined, settings: ScanSettings, counters: ScanCounters): Promise<ScanBlock[]> {
  return pruneBlocks(await listScanBlocks(db, tenantId, range), filter, settings, counters);
}

/** What pruning needs of a catalog row. */
type PrunableBlock = Pick<ScanBlock, "id" | "endMs"> & { services: readonly string[]; attributeIndex?: Uint8Array | null };

/** Catalog rows newest first (by end, then id), without those the filter rules out unread (services, attribute index). */
export function pruneBlocks<B extends PrunableBlock>(blocks: readonly B[], filter: ScanFilter | undefined, settings: ScanSettings, counters: ScanCounters): B[] {
  const all = [...blocks].sort(byEndThenId);
  counters.listedBlocks += all.length;
  const required = filter?.requiredServices ?? [];
  const cond = settings.useIndex === false ? undefined : filter?.indexCondition;
  const kept = all.filter((b) => required.every((s) => b.services.includes(s)) && (!cond || encodedIndexMayMatch(b.attributeIndex, cond)));
  counters.skippedBlocks += all.length - kept.length;
  return kept;
}

/** Reads of one block, counted. */
export function scanReader(store: ObjectStore, tenantId: string, block: ScanBlock, counters: ScanCounters): RangeReader {
  return blockRangeReader(store, tenantId, block.id, (n) => {
    counters.reads++;
    counters.inspectedBytes += n;
  });
}

/**
 * Runs `read` on `blocks` with up to `concurrency` at once; `take` gets the results in block
 * order. Before each block starts, `proceed(block)` may stop the scan (that block and all later
 * ones are not read); it sees only what `take` has been given. With `rampUp`, one block is read
 * first and the width doubles with each block taken, up to `concurrency`. Resolves to the number of blocks
 * whose results were taken. A failed read fails the scan once the reads in flight have settled.
 */
export async function scanInOrder<B, T>(
  blocks: readonly B[],
  concurrency: number,
  read: (block: B) => Promise<T>,
  take: (result: T, block: B) => void | Promise<void>,
  proceed: (block: B) => boolean = () => true,
  options: { rampUp?: boolean } = {},
): Promise<number> {
  const max = Math.max(1, Math.floor(concurrency));
  // A scan that may stop early starts with one block and doubles the width with every block
  // taken: a search the newest block answers reads one block, a needle soon reads `max` at once.
  let width = options.rampUp ? 1 : max;
  const pending = new Map<number, Promise<{ ok: true; value: T } | { ok: false; error: unknown }>>();
  let next = 0;
  let stopped = false;
  let taken = 0;
  const start = () => {
    while (!stopped && next < blocks.length && pending.size < width) {
      const b = blocks[next]!;
      if (!proceed(b)) {
        stopped = true;
        break;
      }
      pending.set(
        next,
        read(b).then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
      );
      next++;
    }
  };
  start();
  let failure: { error: unknown } | undefined;
  for (let i = 0; i < next; i++) {
    const r = await pending.get(i)!;
    pending.delete(i);
    if (failure) continue;
    if (!r.ok) {
      failure = { error: r.error };
      stopped = true;
      continue;
    }
    try {
      await take(r.value, blocks[i]!);
    } catch (error) {
      failure = { error };
      stopped = true;
      continue;
    }
    taken++;
    width = Math.min(max, width * 2);
    start();
  }
  if (failure) throw failure.error;
  return taken;
}

export interface CandidateOptions {
  startNs: bigint;
  endNs: bigint;
  filter?: ScanFilter;
  useIndex?: boolean;
  tailBytes?: number;
}

export interface BlockCandidates {
  block: OpenedBlock;
  /** Summary rows in the range that the filter allows (summary and segment index), block order. */
  rows: TraceSummary[];
}

/** Opens a block and picks the summary rows a scan must look at. */
export async function candidateRows(read: RangeReader, objectSize: number, options: CandidateOptions, counters: ScanCounters): Promise<BlockCandidates> {
  const block = await openBlock(read, objectSize, options.tailBytes);
  counters.inspectedBlocks++;
  const cond = options.useIndex === false ? undefined : options.filter?.indexCondition;
  const segmentAllows = new Map<number, boolean>();
  const allows = (offset: number): boolean => {
    let ok = segmentAllows.get(offset);
    if (ok === undefined) {
      const ix = block.segmentIndexes.get(offset);
      ok = !cond || !ix || indexMayMatch(decodeAttributeIndex(ix), cond);
      segmentAllows.set(offset, ok);
      if (!ok) counters.skippedSegments++;
    }
    return ok;
  };
  const rows: TraceSummary[] = [];
  for (const row of block.traces) {
    if (BigInt(row.startTimeUnixNano) > options.endNs || BigInt(row.endTimeUnixNano) < options.startNs) continue;
    counters.inspectedTraces++;
    if (options.filter?.mayMatch && !options.filter.mayMatch(row)) continue;
    if (!allows(row.segmentOffset)) continue;
    rows.push(row);
  }
  return { block, rows };
}

/**
 * Decodes the segments holding `rows`, segments with the newest traces first, and calls `each`
 * per row with its trace. `stopBefore(latest)` is asked before each segment (its newest trace
 * start): true ends the walk. Without `stopBefore` every segment is needed, so they are fetched
 * up front in one read per run of nearby segments (`segmentRuns`) instead of one round trip each.
 */
export async function readSegments(c: BlockCandidates, rows: readonly TraceSummary[], each: (row: TraceSummary, trace: ResourceSpans[]) => void | boolean, counters: ScanCounters, stopBefore?: (latest: bigint) => boolean): Promise<void> {
  const segments = segmentsNewestFirst(rows);
  const runs = stopBefore ? [] : await Promise.all(segmentRuns(segments.map((s) => ({ offset: s.offset, length: s.rows[0]!.segmentLength }))).map(async (r) => ({ ...r, bytes: await c.block.range(r) })));
  const fetched = (offset: number, length: number) => {
    const run = runs.find((r) => offset >= r.offset && offset + length <= r.offset + r.length);
    return run && run.bytes.subarray(offset - run.offset, offset - run.offset + length);
  };
  for (const { offset, rows: list, latest } of segments) {
    if (stopBefore?.(latest)) return;
    const length = list[0]!.segmentLength;
    const bytes = fetched(offset, length) ?? (await c.block.range({ offset, length }));
    const traces = await decodeSegmentTraces(bytes, await c.block.dictionary(), list);
    counters.readSegments++;
    for (let i = 0; i < list.length; i++) if (each(list[i]!, traces[i]!) === false) return;
  }
}

/** Segments further apart than this are read apart (what lies between them is not worth fetching). */
const RUN_GAP_BYTES = 64 * 1024;

/** Byte ranges covering `segments`, nearby ones merged (a block's segments lie back to back). */
export function segmentRuns(segments: readonly { offset: number; length: number }[]): { offset: number; length: number }[] {
  const runs: { offset: number; length: number }[] = [];
  for (const s of [...segments].sort((a, b) => a.offset - b.offset)) {
    const last = runs[runs.length - 1];
    if (last && s.offset - (last.offset + last.length) <= RUN_GAP_BYTES) last.length = Math.max(last.length, s.offset + s.length - last.offset);
    else runs.push({ offset: s.offset, length: s.length });
  }
  return runs;
}

/** Runs `scan` again, once, when a listed block was gone from R2 (compaction swapped it). */
export async function retryIfBlockGone<T>(scan: () => Promise<T>): Promise<T> {
  try {
    return await scan();
  } catch (err) {
    if (err instanceof BlockGone) return scan();
    throw err;
  }
}
