/**
 * @module
 * Growable byte writer and bounds-checked reader for the block format: LEB128 varints (numbers up
 * to 2^53 and 64-bit bigints), zigzag for signed values, little-endian fixed-width numbers, UTF-8.
 * Every read past the end throws, so a truncated or corrupt block fails loudly instead of decoding
 * garbage.
 */

const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the string, not a byte-order mark to strip.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const TWO_32 = 0x1_0000_0000;
// Ten LEB128 bytes: enough for the zigzag of a difference of two u64 times (65 bits).
const BIG_MAX = (1n << 70n) - 1n;

export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  length = 0;

  constructor(initial = 256) {
    this.#buf = new Uint8Array(initial);
    this.#view = new DataView(this.#buf.buffer);
  }

  #ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.#ensure(1);
    this.#buf[this.length++] = b;
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  uvarint(n: number): void {
    if (!(n >= 0 && Number.isSafeInteger(n))) throw new RangeError(`uvarint out of range: ${n}`);
    this.#ensure(8);
    while (n >= 0x80) {
      this.#buf[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[this.length++] = n;
  }

  /** Zigzag LEB128 of an integer of magnitude below 2^52 (small magnitudes of either sign stay short). */
  svarint(n: number): void {
    if (!Number.isSafeInteger(n)) throw new RangeError(`svarint out of range: ${n}`);
    this.uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  /** Unsigned LEB128 of a bigint in [0, 2^70). */
  ubig(v: bigint): void {
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) {
      if (v < 0n) throw new RangeError(`ubig out of range: ${v}`);
      this.uvarint(Number(v));
      return;
    }
    if (v > BIG_MAX) throw new RangeError(`ubig out of range: ${v}`);
    this.#ensure(10);
    while (v >= 0x80n) {
      this.#buf[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.length++] = Number(v);
  }

  /** Zigzag LEB128 of a bigint of magnitude below 2^69. */
  sbig(v: bigint): void {
    this.ubig(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }

  f64(d: number): void {
    this.#ensure(8);
    this.#view.setFloat64(this.length, d, true);
    this.length += 8;
  }

  u32(n: number): void {
    // DataView would wrap silently.
    if (!(Number.isInteger(n) && n >= 0 && n <= 0xffffffff)) throw new RangeError(`u32 out of range: ${n}`);
    this.#ensure(4);
    this.#view.setUint32(this.length, n, true);
    this.length += 4;
  }

  /** A safe integer as 8 little-endian bytes. */
  u64(n: number): void {
    if (!(n >= 0 && Number.isSafeInteger(n))) throw new RangeError(`u64 out of range: ${n}`);
    this.u32(n % TWO_32);
    this.u32(Math.floor(n / TWO_32));
  }

  bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
  }

  /** Length-prefixed bytes. */
  lenBytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.bytes(b);
  }

  /** Length-prefixed UTF-8. */
  string(s: string): void {
    this.lenBytes(encoder.encode(s));
  }

  /** A view of what was written (valid until the next write). */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }
}

export class ByteReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  pos = 0;
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError(`block data truncated: need ${n} bytes at ${this.pos}, have ${this.end - this.pos}`);
  }

  byte(): number {
    this.#need(1);
    return this.#buf[this.pos++]!;
  }

  uvarint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (i >= 7) throw new RangeError(`varint too long for a number at ${this.pos}`);
    }
    if (!Number.isSafeInteger(n)) throw new RangeError(`varint out of range at ${this.pos}`);
    return n;
  }

  svarint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  ubig(): bigint {
    // Fast path: up to 7 bytes (49 bits) in plain number arithmetic.
    let n = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return BigInt(n);
      scale *= 0x80;
    }
    this.pos = start;
    let v = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      const b = this.byte();
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
      if (i >= 9) throw new RangeError(`varint too long at ${this.pos}`);
    }
    if (v > BIG_MAX) throw new RangeError(`varint over 70 bits at ${this.pos}`);
    return v;
  }

  sbig(): bigint {
    const z = this.ubig();
    return (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n);
  }

  f64(): number {
    this.#need(8);
    const d = this.#view.getFloat64(this.pos, true);
    this.pos += 8;
    return d;
  }

  u32(): number {
    this.#need(4);
    const n = this.#view.getUint32(this.pos, true);
    this.pos += 4;
    return n;
  }

  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    const n = hi * TWO_32 + lo;
    if (!Number.isSafeInteger(n)) throw new RangeError(`u64 over 2^53 at ${this.pos - 8}`);
    return n;
  }

  /** A view (not a copy) of the next n bytes. */
  bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.#buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  lenBytes(): Uint8Array {
    return this.bytes(this.uvarint());
  }

  /** The next n bytes as lowercase hex (`flatHex`). */
  hex(n: number): string {
    return flatHex(this.bytes(n));
  }

  string(): string {
    return decoder.decode(this.lenBytes());
  }
}

const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
/** Bytes per String.fromCharCode call (ids are 8 or 16; a damaged block may say more). */
const HEX_CHUNK = 64;

/**
 * Lowercase hex made in one piece per 64 bytes: a string grown by `+=` is a rope, which every Map
 * lookup or comparison of an id flattens again.
 */
export function flatHex(b: Uint8Array): string {
  let s = "";
  for (let start = 0; start < b.length; start += HEX_CHUNK) {
    const end = Math.min(b.length, start + HEX_CHUNK);
    const codes = new Array<number>(2 * (end - start));
    for (let i = start, k = 0; i < end; i++, k += 2) {
      codes[k] = HEX_CODES[b[i]! >> 4]!;
      codes[k + 1] = HEX_CODES[b[i]! & 15]!;
    }
    s += String.fromCharCode(...codes);
  }
  return s;
}

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

let crcTables: Uint32Array[] | undefined;

/** Table k: the CRC of a byte followed by k zero bytes (slice-by-4, four bytes a step). */
function makeCrcTables(): Uint32Array[] {
  const t = [0, 1, 2, 3].map(() => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let k = 1; k < 4; k++) for (let n = 0; n < 256; n++) t[k]![n] = (t[k - 1]![n]! >>> 8) ^ t[0]![t[k - 1]![n]! & 0xff]!;
  return t;
}

/** CRC-32 (IEEE, as in gzip and zip). */
export function crc32(data: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3] = (crcTables ??= makeCrcTables()) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc;
  let i = 0;
  for (const end = data.length - 3; i < end; i += 4) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c = t3[c & 0xff]! ^ t2[(c >>> 8) & 0xff]! ^ t1[(c >>> 16) & 0xff]! ^ t0[c >>> 24]!;
  }
  for (; i < data.length; i++) c = t0[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
