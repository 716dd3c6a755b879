/**
 * @module
 * Reading a block, one step per range read: `readFooter` on the object's tail, then
 * `decodeDictionary` and `decodeSummaries` on the sections it points at, then `decodeTraceSegment`
 * on the one segment a summary row points at. `readTrace` strings the steps together over any
 * range-read function (R2 in the workers, a byte array in tests); nothing here knows about R2.
 */
import type { ResourceSpans } from "../model/span.ts";
import { unpackSection } from "./compress.ts";
import { decodeDictionary, type BlockDictionary } from "./dictionary.ts";
import { checkFilter, FOOTER_SIZE, readFooter, type BlockFooter } from "./footer.ts";
import { decodeSummaries, type SummaryTable, type TraceSummary } from "./summary-table.ts";
import { filterMayContain } from "./trace-filter.ts";
import { decodeSegment } from "./trace-segment.ts";

export { checkFilter, readFooter, FOOTER_SIZE, type BlockFooter } from "./footer.ts";
export { decodeDictionary, type BlockDictionary } from "./dictionary.ts";
export { decodeSummaries, type SummaryTable, type TraceSummary } from "./summary-table.ts";
export { filterMayContain } from "./trace-filter.ts";

/**
 * Decodes one trace from the bytes of its segment (the summary row's
 * [segmentOffset, segmentOffset + segmentLength) range). Spans come back grouped by resource and
 * scope, identical resources/scopes merged, spans within a scope sorted by start time.
 */
export async function decodeTraceSegment(segment: Uint8Array, dictionary: BlockDictionary, trace: TraceSummary): Promise<ResourceSpans[]> {
  const raw = await unpackSection(segment);
  const decoded = decodeSegment(raw, dictionary, (i) => (i === trace.segmentIndex ? trace : undefined));
  const found = decoded[trace.segmentIndex];
  if (!found) throw new Error(`segment has no trace at index ${trace.segmentIndex}`);
  return found;
}

/**
 * Decodes several traces of one segment at once (rows that share a segmentOffset): the segment is
 * inflated once, and only the wanted traces are materialised. Results align with `rows`.
 */
export async function decodeSegmentTraces(segment: Uint8Array, dictionary: BlockDictionary, rows: readonly TraceSummary[]): Promise<ResourceSpans[][]> {
  const raw = await unpackSection(segment);
  const wanted = new Map(rows.map((r) => [r.segmentIndex, r]));
  const decoded = decodeSegment(raw, dictionary, (i) => wanted.get(i));
  return rows.map((row) => {
    const trace = decoded[row.segmentIndex];
    if (!trace) throw new Error(`segment at ${row.segmentOffset} has no trace at index ${row.segmentIndex}`);
    return trace;
  });
}

export interface DecodedTrace {
  summary: TraceSummary;
  resourceSpans: ResourceSpans[];
}

/** Every trace of a whole block object, in block order (compaction, tests, debugging). */
export async function decodeBlock(bytes: Uint8Array): Promise<{ footer: BlockFooter; table: SummaryTable; traces: DecodedTrace[] }> {
  const footer = readFooter(bytes);
  if (footer.objectSize !== bytes.length) throw new Error(`block is ${bytes.length} bytes, its footer says ${footer.objectSize}`);
  const slice = (r: { offset: number; length: number }) => bytes.subarray(r.offset, r.offset + r.length);
  const [dictionary, table] = await Promise.all([decodeDictionary(slice(footer.dictionary)), decodeSummaries(slice(footer.summaries))]);
  checkFilter(footer, slice(footer.filter));
  if (table.traces.length !== footer.traceCount) throw new Error(`summary table has ${table.traces.length} rows, the footer says ${footer.traceCount}`);
  const traces: DecodedTrace[] = [];
  let i = 0;
  while (i < table.traces.length) {
    const first = table.traces[i]!;
    let j = i + 1;
    while (j < table.traces.length && table.traces[j]!.segmentIndex !== 0) j++;
    const rows = table.traces.slice(i, j);
    const raw = await unpackSection(bytes.subarray(first.segmentOffset, first.segmentOffset + first.segmentLength));
    const decoded = decodeSegment(raw, dictionary, (k) => rows[k]);
    if (decoded.length !== rows.length) throw new Error(`segment at ${first.segmentOffset} holds ${decoded.length} traces, the summaries say ${rows.length}`);
    rows.forEach((summary, k) => traces.push({ summary, resourceSpans: decoded[k]! }));
    i = j;
  }
  return { footer, table, traces };
}

/** Reads `length` bytes at `offset` of the block object (an R2 range get, in the workers). */
export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>;

export interface ReadTraceOptions {
  /**
   * Bytes of the object's tail fetched by the first read. When the dictionary and summary table fit
   * in it too (small blocks), the trace costs two reads instead of three. Default 64 KiB.
   */
  tailBytes?: number;
  /** The block's filter from the catalog: a "no" answers without any read. */
  filter?: Uint8Array;
}

/** One trace by id from a block: two or three range reads, or none when the filter says no. */
export async function readTrace(read: RangeReader, objectSize: number, traceId: string, options: ReadTraceOptions = {}): Promise<{ summary: TraceSummary; resourceSpans: ResourceSpans[] } | undefined> {
  if (options.filter && !filterMayContain(options.filter, traceId)) return undefined;
  const tailLength = Math.min(objectSize, Math.max(FOOTER_SIZE, options.tailBytes ?? 64 * 1024));
  const tailOffset = objectSize - tailLength;
  const tail = await read(tailOffset, tailLength);
  const footer = readFooter(tail);
  if (footer.objectSize !== objectSize) throw new Error(`block is ${objectSize} bytes, its footer says ${footer.objectSize}`);
  const indexOffset = footer.dictionary.offset;
  const indexLength = footer.dictionary.length + footer.summaries.length;
  const index = indexOffset >= tailOffset ? tail.subarray(indexOffset - tailOffset, indexOffset - tailOffset + indexLength) : await read(indexOffset, indexLength);
  // The dictionary is decoded only once the summary table says the trace is here: a filter false
  // positive then costs the summary decode alone.
  const table = await decodeSummaries(index.subarray(footer.dictionary.length));
  const summary = table.traces.find((t) => t.traceId === traceId);
  if (!summary) return undefined;
  const [dictionary, segment] = await Promise.all([decodeDictionary(index.subarray(0, footer.dictionary.length)), read(summary.segmentOffset, summary.segmentLength)]);
  return { summary, resourceSpans: await decodeTraceSegment(segment, dictionary, summary) };
}
