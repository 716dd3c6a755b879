/**
 * @module
 * The summary table: one row per trace (its search facts and where its span payload is), kept
 * apart from the payload so a search reads and inflates only this section. Rows are in block
 * order, which is trace start order; trace starts are delta-coded against the previous row, trace
 * ids are raw bytes, names are references into the table's own string list.
 *
 * The section also carries the block's identity (format version, tenant, block id, creation
 * time), so a block read under the wrong tenant prefix can be noticed.
 */
import { Col, ColumnsReader, ColumnsWriter, type Columns } from "./columns.ts";
import { unpackSection } from "./compress.ts";
import { BLOCK_FORMAT_VERSION } from "./footer.ts";
import { bytesToHex, hexToBytesOrUndefined } from "./hex-base64.ts";
import type { ServiceCount, TraceFacts } from "./summarize.ts";
import { StringRefs, StringTable } from "./value-codec.ts";

export interface TraceSummary extends TraceFacts {
  /** Byte range of the trace's segment within the block object. */
  segmentOffset: number;
  segmentLength: number;
  /** Which trace of that segment this is (segments may hold a few small traces). */
  segmentIndex: number;
}

export interface BlockIdentity {
  formatVersion: number;
  tenantId: string;
  blockId: string;
  createdAtMs: number;
}

export interface SummaryTable {
  block: BlockIdentity;
  traces: TraceSummary[];
  /**
   * Each segment's attribute index (attribute-index.ts) by segment offset; empty for version-1
   * blocks, written before indexes.
   */
  segmentIndexes: Map<number, Uint8Array>;
}

/** The columns a summary row's fields go to, named once for the encoder and the decoder. */
function summaryColumns<B, P>(c: Columns<B, P>) {
  return {
    idLen: c.cols[Col.ID_LEN]!,
    id: c.cols[Col.ID]!,
    start: c.planed(Col.START),
    duration: c.planed(Col.DURATION),
    name: c.cols[Col.NAME]!,
    counts: c.cols[Col.COUNTS]!,
    services: c.cols[Col.ATTR_KEY]!,
    segment: c.cols[Col.CONTAINER]!,
  };
}

/** `segmentIndexes`: one per segment, in order (version 2; kept after the rows in the head column). */
export function encodeSummariesRaw(block: BlockIdentity, rows: TraceSummary[], segmentIndexes: readonly Uint8Array[] = []): { bytes: Uint8Array; tailLength: number } {
  const c = new ColumnsWriter();
  const refs = new StringRefs();
  const head = c.cols[Col.HEAD]!;
  head.uvarint(block.formatVersion);
  head.string(block.tenantId);
  head.string(block.blockId);
  head.uvarint(block.createdAtMs);
  head.uvarint(rows.length);
  // Starts are deltas from the previous row; the first from this base, so the column stays narrow.
  const base = rows.length ? BigInt(rows[0]!.startTimeUnixNano) : 0n;
  head.ubig(base);
  const { idLen, id, start, duration, name, counts, services, segment } = summaryColumns(c);
  let prevStart = base;
  let nextOffset = 0;
  for (const row of rows) {
    const b = hexToBytesOrUndefined(row.traceId);
    if (b) {
      idLen.uvarint(b.length * 2);
      id.bytes(b);
    } else {
      idLen.uvarint(refs.ref(row.traceId) * 2 + 1);
    }
    const s = BigInt(row.startTimeUnixNano);
    start.addSigned(s - prevStart);
    prevStart = s;
    duration.addSigned(BigInt(row.endTimeUnixNano) - s);
    name.uvarint(refs.ref(row.rootServiceName));
    name.uvarint(refs.ref(row.rootSpanName));
    counts.uvarint(row.spanCount);
    counts.uvarint(row.errorCount);
    counts.uvarint(row.services.length);
    for (const sc of row.services) {
      services.uvarint(refs.ref(sc.serviceName));
      counts.uvarint(sc.spanCount);
      counts.uvarint(sc.errorCount);
    }
    segment.uvarint(row.segmentIndex);
    if (row.segmentIndex === 0) {
      if (row.segmentOffset !== nextOffset) throw new Error("segments must be contiguous and in row order");
      segment.uvarint(row.segmentLength);
      nextOffset += row.segmentLength;
    }
  }
  if (block.formatVersion >= 2) {
    head.uvarint(segmentIndexes.length);
    for (const ix of segmentIndexes) {
      head.uvarint(ix.length);
      head.bytes(ix);
    }
  }
  refs.writeTable(c.cols[Col.STRINGS]!);
  return c.finish();
}

/** Decodes the summary section (the bytes at the footer's `summaries` range). */
export async function decodeSummaries(section: Uint8Array): Promise<SummaryTable> {
  const c = new ColumnsReader(await unpackSection(section));
  const head = c.cols[Col.HEAD]!;
  const formatVersion = head.uvarint();
  if (formatVersion < 1 || formatVersion > BLOCK_FORMAT_VERSION) throw new Error(`unknown block format version ${formatVersion} (this reader knows 1 to ${BLOCK_FORMAT_VERSION})`);
  const block: BlockIdentity = { formatVersion, tenantId: head.string(), blockId: head.string(), createdAtMs: head.uvarint() };
  const n = head.uvarint();
  const base = head.ubig();
  const strings = StringTable.readLocal(c.cols[Col.STRINGS]!, []);
  const { idLen, id, start, duration, name, counts, services: servicesCol, segment } = summaryColumns(c);
  const traces: TraceSummary[] = [];
  let prevStart = base;
  let offset = 0;
  let length = 0;
  for (let i = 0; i < n; i++) {
    const tag = idLen.uvarint();
    const traceId = tag % 2 === 0 ? bytesToHex(id.bytes(tag / 2)) : strings.get((tag - 1) / 2);
    const s = prevStart + start.nextSigned();
    prevStart = s;
    const e = s + duration.nextSigned();
    const rootServiceName = strings.read(name);
    const rootSpanName = strings.read(name);
    const spanCount = counts.uvarint();
    const errorCount = counts.uvarint();
    const ns = counts.uvarint();
    const services: ServiceCount[] = [];
    for (let k = 0; k < ns; k++) services.push({ serviceName: strings.read(servicesCol), spanCount: counts.uvarint(), errorCount: counts.uvarint() });
    const segmentIndex = segment.uvarint();
    if (segmentIndex === 0) {
      offset += length;
      length = segment.uvarint();
    } else if (i === 0) {
      throw new Error("first summary row must start a segment");
    }
    traces.push({
      traceId,
      startTimeUnixNano: s.toString(),
      endTimeUnixNano: e.toString(),
      durationNanos: (e > s ? e - s : 0n).toString(),
      rootServiceName,
      rootSpanName,
      spanCount,
      errorCount,
      services,
      segmentOffset: offset,
      segmentLength: length,
      segmentIndex,
    });
  }
  const segmentIndexes = new Map<number, Uint8Array>();
  if (formatVersion >= 2) {
    const offsets = [...new Set(traces.map((t) => t.segmentOffset))];
    const count = head.uvarint();
    if (count !== offsets.length) throw new Error(`summary table has ${offsets.length} segments and ${count} segment indexes`);
    for (const offset of offsets) segmentIndexes.set(offset, head.bytes(head.uvarint()));
  }
  c.assertConsumed();
  strings.assertConsumed();
  return { block, traces, segmentIndexes };
}
