/**
 * @module
 * The fixed 64-byte footer at the end of every block object. A reader's first range read is
 * `bytes=-64` (R2 suffix range); the footer says where the dictionary, the summary table and the
 * trace-id filter are, so the second read fetches exactly those sections.
 *
 * Little-endian layout:
 *   0  magic "ETBK"        4  version u16        6  footer size u16 (64)
 *   8  dictionary offset u64   16 summaries offset u64   24 filter offset u64
 *   32 dictionary length u32   36 summaries length u32   40 filter length u32
 *   44 trace count u32         48 span count u32         52 CRC-32 of the filter
 *   56 CRC-32 of bytes 0..55   60 magic "ETBK"
 * (The other sections carry their own CRC; the filter is raw bits, so its CRC lives here.)
 * Segments occupy [0, dictionary offset); the sections follow in that order, then the footer.
 */
import { ByteReader, ByteWriter, crc32 } from "./bytes.ts";

export { crc32 } from "./bytes.ts";

/**
 * Bumped on any change a reader of the previous version would misread. 2: the summary table also
 * holds each segment's attribute index. Readers read 1 and 2.
 */
export const BLOCK_FORMAT_VERSION = 2;
export const FOOTER_SIZE = 64;
const MAGIC = 0x4b425445; // "ETBK" little-endian

export interface Range {
  offset: number;
  length: number;
}

export interface BlockFooter {
  version: number;
  segments: Range;
  dictionary: Range;
  summaries: Range;
  filter: Range;
  traceCount: number;
  spanCount: number;
  /** CRC-32 of the filter section (checkFilter). */
  filterCrc: number;
  /** Size of the whole block object. */
  objectSize: number;
}

export function encodeFooter(f: Omit<BlockFooter, "version" | "segments" | "objectSize">): Uint8Array {
  const w = new ByteWriter(FOOTER_SIZE);
  w.u32(MAGIC);
  w.byte(BLOCK_FORMAT_VERSION & 0xff);
  w.byte(BLOCK_FORMAT_VERSION >> 8);
  w.byte(FOOTER_SIZE);
  w.byte(0);
  w.u64(f.dictionary.offset);
  w.u64(f.summaries.offset);
  w.u64(f.filter.offset);
  w.u32(f.dictionary.length);
  w.u32(f.summaries.length);
  w.u32(f.filter.length);
  w.u32(f.traceCount);
  w.u32(f.spanCount);
  w.u32(f.filterCrc);
  w.u32(crc32(w.view()));
  w.u32(MAGIC);
  return w.finish();
}

/**
 * Reads the footer from the last bytes of a block (pass at least the last FOOTER_SIZE bytes; more
 * is fine). Throws on a non-block object, a damaged footer or an unknown format version.
 */
export function readFooter(tail: Uint8Array): BlockFooter {
  if (tail.length < FOOTER_SIZE) throw new RangeError(`block footer needs ${FOOTER_SIZE} bytes, got ${tail.length}`);
  const bytes = tail.subarray(tail.length - FOOTER_SIZE);
  const r = new ByteReader(bytes);
  if (r.u32() !== MAGIC || new ByteReader(bytes, 60).u32() !== MAGIC) throw new Error("not an edgetrace block (bad footer magic)");
  const version = r.byte() | (r.byte() << 8);
  // The version is checked before the CRC so that a newer layout is reported as such.
  if (version < 1 || version > BLOCK_FORMAT_VERSION) throw new Error(`unknown block format version ${version} (this reader knows 1 to ${BLOCK_FORMAT_VERSION})`);
  const footerSize = r.byte() | (r.byte() << 8);
  if (footerSize !== FOOTER_SIZE) throw new Error(`unexpected block footer size ${footerSize}`);
  if (crc32(bytes.subarray(0, 56)) !== new ByteReader(bytes, 56).u32()) throw new Error("block footer checksum mismatch");
  const dictionaryOffset = r.u64();
  const summariesOffset = r.u64();
  const filterOffset = r.u64();
  const dictionary = { offset: dictionaryOffset, length: r.u32() };
  const summaries = { offset: summariesOffset, length: r.u32() };
  const filter = { offset: filterOffset, length: r.u32() };
  const traceCount = r.u32();
  const spanCount = r.u32();
  const filterCrc = r.u32();
  if (dictionary.offset + dictionary.length !== summaries.offset || summaries.offset + summaries.length !== filter.offset) {
    throw new Error("block footer sections are not contiguous");
  }
  return {
    version,
    segments: { offset: 0, length: dictionary.offset },
    dictionary,
    summaries,
    filter,
    traceCount,
    spanCount,
    filterCrc,
    objectSize: filter.offset + filter.length + FOOTER_SIZE,
  };
}

/** The filter bytes read at `footer.filter`, checked against the footer's CRC. */
export function checkFilter(footer: BlockFooter, filter: Uint8Array): Uint8Array {
  if (filter.length !== footer.filter.length || crc32(filter) !== footer.filterCrc) throw new Error("block filter checksum mismatch");
  return filter;
}
