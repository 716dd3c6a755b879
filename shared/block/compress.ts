/**
 * @module
 * Compression of block sections with the Web `CompressionStream`, which Node 22 and workerd both
 * have. Each section says its codec and inflated length up front, so a reader can refuse a section
 * that inflates past what it claims (corruption, or a hostile object) and a section that does not
 * shrink is stored as is.
 */
import { readStreamAtMost } from "../encoding/read-stream.ts";
import { ByteReader, ByteWriter, crc32 } from "./bytes.ts";

export const Codec = { NONE: 0, DEFLATE_RAW: 1, GZIP: 2 } as const;
export type CodecId = (typeof Codec)[keyof typeof Codec];
export type CodecName = "none" | "deflate-raw" | "gzip";

const CODEC_OF: Record<CodecName, CodecId> = { none: Codec.NONE, "deflate-raw": Codec.DEFLATE_RAW, gzip: Codec.GZIP };

function through(data: Uint8Array, transform: CompressionStream | DecompressionStream, limit: number): Promise<Uint8Array> {
  const writer = transform.writable.getWriter();
  // Write and read concurrently: the transform's queues are bounded, so awaiting the write first
  // could wait forever on a large input.
  // The transform only reads the bytes; the cast drops the SharedArrayBuffer possibility from the type.
  const written = writer.write(data as Uint8Array<ArrayBuffer>).then(() => writer.close());
  const out = readStreamAtMost(transform.readable, limit, () => new RangeError(`section inflates past its stated ${limit} bytes`));
  return Promise.all([written, out]).then(([, bytes]) => bytes);
}

export async function compress(data: Uint8Array, codec: CodecName): Promise<Uint8Array> {
  if (codec === "none") return data;
  return through(data, new CompressionStream(codec), Number.MAX_SAFE_INTEGER);
}

export async function decompress(data: Uint8Array, codec: CodecId, inflatedLength: number): Promise<Uint8Array> {
  let out: Uint8Array;
  if (codec === Codec.NONE) out = data;
  else if (codec === Codec.DEFLATE_RAW) out = await through(data, new DecompressionStream("deflate-raw"), inflatedLength);
  else if (codec === Codec.GZIP) out = await through(data, new DecompressionStream("gzip"), inflatedLength);
  else throw new Error(`unknown section codec ${codec as number}`);
  if (out.length !== inflatedLength) throw new RangeError(`section inflated to ${out.length} bytes, expected ${inflatedLength}`);
  return out;
}

/**
 * Packs a section as `[codec u8][inflated length][stored tail length][CRC-32 u32][payload][tail]`:
 * the first `raw.length - storedTail` bytes compressed with `codec` (or stored as they are when
 * that does not make them smaller), the last `storedTail` bytes (random ids) stored as they are.
 * The CRC is of `raw`, so damage anywhere (or a codec bug) fails the read instead of decoding into
 * wrong ids or times; deflate-raw has no check of its own.
 */
export async function packSection(raw: Uint8Array, codec: CodecName, storedTail = 0): Promise<Uint8Array> {
  const head = raw.subarray(0, raw.length - storedTail);
  const tail = raw.subarray(raw.length - storedTail);
  let id: CodecId = CODEC_OF[codec];
  let payload = head;
  if (id !== Codec.NONE) {
    payload = await compress(head, codec);
    if (payload.length >= head.length) {
      id = Codec.NONE;
      payload = head;
    }
  }
  const w = new ByteWriter(payload.length + tail.length + 12);
  w.byte(id);
  w.uvarint(head.length);
  w.uvarint(tail.length);
  w.u32(crc32(raw));
  w.bytes(payload);
  w.bytes(tail);
  return w.finish();
}

/** Limit on a section's stated inflated size: far above any real block, low enough to refuse nonsense. */
const MAX_SECTION_BYTES = 1 << 30;

export async function unpackSection(packed: Uint8Array): Promise<Uint8Array> {
  const r = new ByteReader(packed);
  const codec = r.byte();
  const length = r.uvarint();
  const tailLength = r.uvarint();
  const crc = r.u32();
  if (length > MAX_SECTION_BYTES || tailLength > r.remaining) throw new RangeError(`section claims ${length} + ${tailLength} bytes`);
  const payload = r.bytes(r.remaining - tailLength);
  const tail = r.bytes(tailLength);
  const head = await decompress(payload, codec as CodecId, length);
  let out = head;
  if (tailLength > 0) {
    out = new Uint8Array(length + tailLength);
    out.set(head, 0);
    out.set(tail, length);
  }
  if (crc32(out) !== crc) throw new Error("block section checksum mismatch");
  return out;
}
