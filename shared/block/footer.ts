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
 *   44 trace count u32         48 span count u64
 *   56 CRC-32 of bytes 0..55   60 magic "ETBK"
 * Segments occupy [0, dictionary offset); the sections follow in that order, then the footer.
 */
import { ByteReader, ByteWriter } from "./bytes.ts";

/** Bumped on any change a reader of the previous version would misread. */
export const BLOCK_FORMAT_VERSION = 1;
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
  /** Size of the whole block object. */
  objectSize: number;
}

let crcTable: Uint32Array | undefined;

export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
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
  w.u64(f.spanCount);
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
  if (version !== BLOCK_FORMAT_VERSION) throw new Error(`unknown block format version ${version} (this reader knows ${BLOCK_FORMAT_VERSION})`);
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
  const spanCount = r.u64();
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
    objectSize: filter.offset + filter.length + FOOTER_SIZE,
  };
}
