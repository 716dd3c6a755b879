/**
 * @module
 * Walks the blocks of a time range for the tag endpoints and feeds a `TagSink`
 * (`tag-catalog.ts`), the way Tempo answers tag names and values: by scanning the data, bounded.
 *
 * 1. The catalog rows overlapping the range, newest first (by end, then id); with a `q` filter
 *    that names services (`resource.service.name = "x"`), blocks lacking one are skipped unread.
 * 2. Per block: the tail (footer, and the dictionary and summary table when they fit in it), else
 *    the summary table. Rows outside the range, or that the filter's `mayMatch` rejects, stop
 *    there. A sink that needs no spans (root names) is fed from the rows alone.
 * 3. Otherwise segments are read newest first, each read and inflated once, the dictionary only
 *    when a segment is; the wanted traces are decoded, matched against the filter (the TraceQL
 *    engine, per span) and handed to the sink.
 *    Without a filter, blocks of up to 1 MiB are read whole in one request.
 * 4. Blocks are read several at once (block-scanner.ts) and fed to the sink in block order. It
 *    stops when the sink is done (its caps) or the blocks fed so far read `maxBytesRead` bytes
 *    (also checked before each read; reads already in flight finish, so a scan reads at most one
 *    segment per block in flight past it, and what those blocks hold is not fed). Either way the
 *    result says `truncated`.
 *
 * A block compacted away between the catalog read and its first range read is skipped, and the
 * catalog is read once more at the end for blocks not yet seen (the merged block).
 */
import type { TraceSummary } from "../block/summary-table.ts";
import type { RangeReader } from "../block/read-block.ts";
import { BlockGone, blockRangeReader } from "../storage/block-range-reader.ts";
import type { ResourceSpans, Span } from "../model/span.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { candidateRows, DEFAULT_SCAN_CONCURRENCY, newCounters, pruneBlocks, readSegments, scanInOrder, type ScanCounters, type ScanSettings } from "./block-scanner.ts";
import type { TraceMatcher } from "./matcher.ts";
import type { TagSink } from "./tag-catalog.ts";

/** What the scan needs of a catalog row. */
export interface TagScanBlock {
  id: string;
  bytes: number;
  endMs: number;
  services: readonly string[];
  attributeIndex?: Uint8Array | null;
}

export interface TagScanOptions extends ScanSettings {
  startMs: number;
  endMs: number;
  /** Stop reading storage past this many bytes. Default `DEFAULT_MAX_BYTES_READ`. */
  maxBytesRead?: number;
}

/**
 * Per request. Decoding every span runs at about 4.5 MB of block a second (a 1.37 MB block of 60k
 * spans in 0.3 s, Node 22), so this is about a second of CPU: autocomplete stays interactive.
 */
export const DEFAULT_MAX_BYTES_READ = 4 * 1024 * 1024;

export interface TagScanMetrics {
  /** Bytes of all range reads. */
  inspectedBytes: number;
  /** Blocks whose summary table was read. */
  inspectedBlocks: number;
  /** Summary rows in the range, of the blocks read. */
  inspectedTraces: number;
  /** Blocks finished, of the blocks in range after pruning. */
  completedJobs: number;
  totalJobs: number;
  /** Total size of the blocks in range. */
  totalBlockBytes: number;
  /** The scan stopped at a cap before reading every block in range. */
  truncated: boolean;
}

/** A q filter: a TraceQL matcher, with the services its matches must have when known. */
export type TagFilter = TraceMatcher & { readonly requiredServices?: readonly string[] };

class BudgetSpent extends Error {}

const NANOS_PER_MS = 1_000_000n;
/** Blocks up to this size are read whole when every span is wanted. */
const WHOLE_BLOCK_BYTES = 1024 * 1024;
const ALL_SPANS = Number.MAX_SAFE_INTEGER;

/**
 * Scans the blocks `list()` gives (the tenant's catalog rows in range) into `sink`. `filter`
 * must have been compiled with an unbounded `spss` so that every matching span is reported.
 */
export async function scanTags(list: () => Promise<TagScanBlock[]>, store: ObjectStore, tenantId: string, sink: TagSink, filter: TagFilter | undefined, options: TagScanOptions): Promise<TagScanMetrics> {
  const maxBytesRead = options.maxBytesRead ?? DEFAULT_MAX_BYTES_READ;
  const startNs = BigInt(options.startMs) * NANOS_PER_MS;
  const endNs = BigInt(options.endMs) * NANOS_PER_MS + (NANOS_PER_MS - 1n);
  const metrics: TagScanMetrics = { inspectedBytes: 0, inspectedBlocks: 0, inspectedTraces: 0, completedJobs: 0, totalJobs: 0, totalBlockBytes: 0, truncated: false };
  const counters = newCounters();
  const visited = new Set<string>();
  let budgetSpent = false;
  let takenBytes = 0;

  const order = (blocks: TagScanBlock[]) => pruneBlocks(blocks.filter((b) => !visited.has(b.id)), filter, options, counters);

  const run = async (blocks: TagScanBlock[]): Promise<boolean> => {
    let gone = false;
    metrics.totalJobs += blocks.length;
    for (const b of blocks) metrics.totalBlockBytes += b.bytes;
    await scanInOrder(
      blocks,
      options.concurrency ?? DEFAULT_SCAN_CONCURRENCY,
      async (block): Promise<{ fed: Fed[]; bytes: number } | "gone" | "budget"> => {
        visited.add(block.id);
        let bytes = 0;
        const readBlock = blockRangeReader(store, tenantId, block.id, (n) => {
          counters.inspectedBytes += n;
          bytes += n;
        });
        const read = (offset: number, length: number) => {
          if (counters.inspectedBytes >= maxBytesRead) throw new BudgetSpent();
          return readBlock(offset, length);
        };
        try {
          // A full scan of a small block reads nearly all of it anyway: one GET instead of one per segment.
          const whole = !filter && sink.needsSpans && block.bytes <= WHOLE_BLOCK_BYTES;
          return { fed: await scanBlock(read, block.bytes, { sink, filter, startNs, endNs, counters, useIndex: options.useIndex, tailBytes: whole ? block.bytes : options.tailBytes }), bytes };
        } catch (err) {
          if (err instanceof BudgetSpent) return "budget";
          if (err instanceof BlockGone) return "gone";
          throw err;
        }
      },
      (result) => {
        if (budgetSpent) return;
        // Blocks read at once with newer ones do not count once the newer ones spent the budget:
        // what is fed is what one block after another would have fed.
        if (takenBytes >= maxBytesRead) budgetSpent = true;
        else if (result === "gone") gone = true;
        else if (result === "budget") budgetSpent = true;
        else {
          takenBytes += result.bytes;
          // Fed in block order, so caps keep the newest values whatever order reads finished in.
          for (const f of result.fed) {
            if (sink.done) break;
            sink.add(f.row, f.trace, f.keep);
          }
          metrics.completedJobs++;
        }
      },
      () => !sink.done && !budgetSpent,
      { rampUp: true },
    );
    return gone;
  };

  if ((await run(order(await list()))) && !budgetSpent && !sink.done) await run(order(await list()));
  metrics.inspectedBytes = counters.inspectedBytes;
  metrics.inspectedBlocks = counters.inspectedBlocks;
  metrics.inspectedTraces = counters.inspectedTraces;
  if (sink.done || budgetSpent) metrics.truncated = true;
  return metrics;
}

/** What a block gives the sink: a row, its trace when decoded, and which spans matched. */
interface Fed {
  row: TraceSummary;
  trace: ResourceSpans[] | undefined;
  keep: ((span: Span) => boolean) | undefined;
}

interface BlockScan {
  sink: TagSink;
  filter: TagFilter | undefined;
  startNs: bigint;
  endNs: bigint;
  counters: ScanCounters;
  useIndex?: boolean;
  tailBytes?: number;
}

async function scanBlock(read: RangeReader, objectSize: number, scan: BlockScan): Promise<Fed[]> {
  const { sink, filter, counters } = scan;
  const c = await candidateRows(read, objectSize, { startNs: scan.startNs, endNs: scan.endNs, filter, useIndex: scan.useIndex, tailBytes: scan.tailBytes }, counters);
  // Without a filter, a sink of summary facts needs nothing more.
  if (!filter && !sink.needsSpans) return c.rows.map((row) => ({ row, trace: undefined, keep: undefined }));
  const out: Fed[] = [];
  await readSegments(
    c,
    c.rows,
    (row, trace) => {
      let keep: ((span: Span) => boolean) | undefined;
      if (filter) {
        const sets = filter.match(trace, row);
        if (!sets) return;
        // Spans are told apart by id, start and name: Zipkin's shared spans repeat an id.
        const matched = new Set<string>();
        for (const set of sets) for (const s of set.spans) matched.add(`${s.spanID}|${s.startTimeUnixNano}|${s.name}`);
        keep = (span) => matched.has(`${span.spanId}|${span.startTimeUnixNano}|${span.name}`);
      }
      out.push({ row, trace, keep });
    },
    counters,
    () => sink.done,
  );
  return out;
}

/** The `spss` a tag filter is compiled with: every matching span counts. */
export const TAG_FILTER_SPSS = ALL_SPANS;
