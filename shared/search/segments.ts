/**
 * @module
 * Reading a block for a scan: its tail and summary table in one range read (`openBlock`), and the
 * summary rows grouped by the segment that holds their traces, so each segment is read and
 * inflated once however many of its traces a scan wants.
 */
import { decodeDictionary, type BlockDictionary } from "../block/dictionary.ts";
import { FOOTER_SIZE, readFooter } from "../block/footer.ts";
import { decodeSummaries, type TraceSummary } from "../block/summary-table.ts";
import type { RangeReader } from "../block/read-block.ts";

export interface SegmentRows {
  offset: number;
  rows: TraceSummary[];
  /** The newest trace start in the segment (unix nanoseconds). */
  latest: bigint;
}

function groupBySegment(rows: Iterable<TraceSummary>): Map<number, TraceSummary[]> {
  const bySegment = new Map<number, TraceSummary[]>();
  for (const row of rows) {
    const list = bySegment.get(row.segmentOffset);
    if (list) list.push(row);
    else bySegment.set(row.segmentOffset, [row]);
  }
  return bySegment;
}

/** Segments with the newest traces first (ties by offset), for scans that stop at a limit. */
export function segmentsNewestFirst(rows: Iterable<TraceSummary>): SegmentRows[] {
  const latest = (list: TraceSummary[]) => list.reduce((m, r) => (BigInt(r.startTimeUnixNano) > m ? BigInt(r.startTimeUnixNano) : m), 0n);
  return [...groupBySegment(rows)]
    .map(([offset, list]) => ({ offset, rows: list, latest: latest(list) }))
    .sort((a, b) => (a.latest !== b.latest ? (a.latest > b.latest ? -1 : 1) : a.offset - b.offset));
}


export interface OpenedBlock {
  traces: TraceSummary[];
  /** Each segment's attribute index by offset (none in version-1 blocks). */
  segmentIndexes: Map<number, Uint8Array>;
  /** A range of the block, from the tail already read as far as it lies there, the rest read now. */
  range(r: { offset: number; length: number }): Promise<Uint8Array>;
  /** The block dictionary, read and decoded on first use. */
  dictionary(): Promise<BlockDictionary>;
}

/**
 * Reads a block's tail (one range read of `tailBytes`, default 64 KB: footer, summary table and
 * dictionary usually fit), checks the footer against the object's size, and decodes the summary
 * table. What search, tag scans and TraceQL metrics all start with.
 */
export async function openBlock(read: RangeReader, objectSize: number, tailBytes = 64 * 1024): Promise<OpenedBlock> {
  const tailLength = Math.min(objectSize, Math.max(FOOTER_SIZE, tailBytes));
  const tailOffset = objectSize - tailLength;
  const tail = await read(tailOffset, tailLength);
  const footer = readFooter(tail);
  if (footer.objectSize !== objectSize) throw new Error(`block is ${objectSize} bytes, its footer says ${footer.objectSize}`);
  const range = async (r: { offset: number; length: number }) => {
    if (r.offset >= tailOffset) return tail.subarray(r.offset - tailOffset, r.offset - tailOffset + r.length);
    if (r.offset + r.length <= tailOffset) return read(r.offset, r.length);
    // A range running into the tail (a run of segments up to the block's end): read only what lies before it.
    const head = await read(r.offset, tailOffset - r.offset);
    const out = new Uint8Array(r.length);
    out.set(head);
    out.set(tail.subarray(0, r.offset + r.length - tailOffset), head.length);
    return out;
  };
  const table = await decodeSummaries(await range(footer.summaries));
  let dictionary: Promise<BlockDictionary> | undefined;
  return { traces: table.traces, segmentIndexes: table.segmentIndexes, range, dictionary: () => (dictionary ??= range(footer.dictionary).then(decodeDictionary)) };
}
