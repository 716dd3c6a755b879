/**
 * @module
 * Turning protobuf bytes into the model's strings, cheaply: UTF-8 text, ids as lowercase hex,
 * bytes as base64 and 64-bit integers as decimal.
 *
 * Why not just TextDecoder: each call costs ~100 ns of fixed overhead, and an OTLP batch is
 * mostly short strings that repeat (attribute keys, span names, "GET", "postgresql"). Strings of 4
 * to 64 bytes are therefore looked up in a small intern cache keyed by their bytes; on a miss ASCII
 * is built in JS and the rest goes to TextDecoder, as do longer strings. Invalid UTF-8 is replaced
 * with U+FFFD (the WHATWG decoder, which is also what protobufjs gives in Node, where it reads
 * strings with Buffer), and a leading BOM is kept, as protobufjs keeps it.
 */

import { copyBytes, hashWindows, sameBytes } from "./proto-bytes.ts";

const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const fromCharCode = String.fromCharCode;

/** Strings of 4 to this many bytes may be interned. */
const MAX_INTERNED = 64;
const CACHE_SIZE = 4096;
// Slot i holds a string and, at i * MAX_INTERNED in the arena, the bytes it was decoded from.
const cacheStr: string[] = new Array<string>(CACHE_SIZE).fill("");
const cacheLen = new Int32Array(CACHE_SIZE).fill(-1);
const arena = new Uint8Array(CACHE_SIZE * MAX_INTERNED);
const arenaView = new DataView(arena.buffer);
// Reused argument list for String.fromCharCode when building a short ASCII string.
const codes: number[] = [];

/** Decodes the UTF-8 bytes b[start, end) to a string; `v` is a DataView over the same bytes as `b`. */
export function decodeText(b: Uint8Array, v: DataView, start: number, end: number): string {
  const n = end - start;
  if (n < 4) {
    if (n === 0) return "";
    // 1-3 bytes: String.fromCharCode is cheaper than any look-up.
    const b0 = b[start]!;
    if (n === 1) return b0 < 0x80 ? fromCharCode(b0) : utf8.decode(b.subarray(start, end));
    const b1 = b[start + 1]!;
    if (n === 2) return (b0 | b1) < 0x80 ? fromCharCode(b0, b1) : utf8.decode(b.subarray(start, end));
    const b2 = b[start + 2]!;
    return (b0 | b1 | b2) < 0x80 ? fromCharCode(b0, b1, b2) : utf8.decode(b.subarray(start, end));
  }
  if (n > MAX_INTERNED) return utf8.decode(b.subarray(start, end));
  const slot = hashWindows(v, start, n) & (CACHE_SIZE - 1);
  if (cacheLen[slot] === n && sameBytes(v, start, arenaView, slot * MAX_INTERNED, n)) return cacheStr[slot]!;
  codes.length = n;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const byte = b[start + i]!;
    if (byte >= 0x80) {
      ascii = false;
      break;
    }
    codes[i] = byte;
  }
  // ASCII is built here; anything else is the WHATWG decoder's job. Both are cached by their bytes.
  const s = ascii ? fromCharCode(...codes) : utf8.decode(b.subarray(start, end));
  cacheStr[slot] = s;
  cacheLen[slot] = n;
  copyBytes(b, start, arena, slot * MAX_INTERNED, n);
  return s;
}

// Char codes of the two hex digits of every byte value.
const HEX_HI = new Uint8Array(256);
const HEX_LO = new Uint8Array(256);
const HEX_PAIR: string[] = [];
for (let i = 0; i < 256; i++) {
  const pair = i.toString(16).padStart(2, "0");
  HEX_PAIR.push(pair);
  HEX_HI[i] = pair.charCodeAt(0);
  HEX_LO[i] = pair.charCodeAt(1);
}

/** 8 bytes (a span id) as 16 lowercase hex digits, in one allocation. */
function hex8(b: Uint8Array, p: number): string {
  const b0 = b[p]!, b1 = b[p + 1]!, b2 = b[p + 2]!, b3 = b[p + 3]!;
  const b4 = b[p + 4]!, b5 = b[p + 5]!, b6 = b[p + 6]!, b7 = b[p + 7]!;
  const H = HEX_HI, L = HEX_LO;
  return fromCharCode(
    H[b0]!, L[b0]!, H[b1]!, L[b1]!, H[b2]!, L[b2]!, H[b3]!, L[b3]!,
    H[b4]!, L[b4]!, H[b5]!, L[b5]!, H[b6]!, L[b6]!, H[b7]!, L[b7]!,
  );
}

/** 16 bytes (a trace id) as 32 lowercase hex digits, in one allocation. */
function hex16(b: Uint8Array, p: number): string {
  const b0 = b[p]!, b1 = b[p + 1]!, b2 = b[p + 2]!, b3 = b[p + 3]!;
  const b4 = b[p + 4]!, b5 = b[p + 5]!, b6 = b[p + 6]!, b7 = b[p + 7]!;
  const b8 = b[p + 8]!, b9 = b[p + 9]!, b10 = b[p + 10]!, b11 = b[p + 11]!;
  const b12 = b[p + 12]!, b13 = b[p + 13]!, b14 = b[p + 14]!, b15 = b[p + 15]!;
  const H = HEX_HI, L = HEX_LO;
  return fromCharCode(
    H[b0]!, L[b0]!, H[b1]!, L[b1]!, H[b2]!, L[b2]!, H[b3]!, L[b3]!,
    H[b4]!, L[b4]!, H[b5]!, L[b5]!, H[b6]!, L[b6]!, H[b7]!, L[b7]!,
    H[b8]!, L[b8]!, H[b9]!, L[b9]!, H[b10]!, L[b10]!, H[b11]!, L[b11]!,
    H[b12]!, L[b12]!, H[b13]!, L[b13]!, H[b14]!, L[b14]!, H[b15]!, L[b15]!,
  );
}

/** Bytes b[start, end) as lowercase hex: ids keep whatever length arrived. */
export function hexOf(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 8) return hex8(b, start);
  if (n === 16) return hex16(b, start);
  let s = "";
  for (let i = start; i < end; i++) s += HEX_PAIR[b[i]!]!;
  return s;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_CODES = new Uint8Array(64);
for (let i = 0; i < 64; i++) B64_CODES[i] = B64.charCodeAt(i);

/** Bytes b[start, end) as standard padded base64 (what protobufjs' toObject gives for bytes). */
export function base64Of(b: Uint8Array, start: number, end: number): string {
  const out: number[] = [];
  let i = start;
  for (; i + 3 <= end; i += 3) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out.push(B64_CODES[v >>> 18]!, B64_CODES[(v >>> 12) & 63]!, B64_CODES[(v >>> 6) & 63]!, B64_CODES[v & 63]!);
  }
  const rest = end - i;
  if (rest === 1) {
    const v = b[i]! << 16;
    out.push(B64_CODES[v >>> 18]!, B64_CODES[(v >>> 12) & 63]!, 61, 61);
  } else if (rest === 2) {
    const v = (b[i]! << 16) | (b[i + 1]! << 8);
    out.push(B64_CODES[v >>> 18]!, B64_CODES[(v >>> 12) & 63]!, B64_CODES[(v >>> 6) & 63]!, 61);
  }
  // Chunked: a call takes a limited number of arguments.
  let s = "";
  for (let k = 0; k < out.length; k += 8192) s += fromCharCode(...out.slice(k, k + 8192));
  return s;
}

// hi * 2^32 split as q * 1e9 + r, for the last hi seen: timestamps in one batch share their high
// word, so the BigInt division runs about once per 4.3 seconds of span time.
let lastHi = -1;
let lastQ = 0;
let lastR = 0;
// The seconds (q) of the last time converted, as text and as char codes: consecutive spans mostly
// share them.
let lastSeconds = -1;
let lastSecondsText = "";
const secondsCodes = new Uint8Array(10);
// Char codes of the tens and ones digit of 0..99.
const TENS = new Uint8Array(100);
const ONES = new Uint8Array(100);
for (let i = 0; i < 100; i++) {
  TENS[i] = 48 + Math.floor(i / 10);
  ONES[i] = 48 + (i % 10);
}

/** The unsigned 64-bit integer hi * 2^32 + lo in decimal. */
export function uint64Decimal(lo: number, hi: number): string {
  // Below 2^53 a double holds it exactly.
  if (hi <= 0x1fffff) return String(hi * 4294967296 + lo);
  if (hi !== lastHi) {
    const big = BigInt(hi) << 32n;
    lastQ = Number(big / 1000000000n);
    lastR = Number(big % 1000000000n);
    lastHi = hi;
  }
  // lastR + lo < 1e9 + 2^32: exact. q < 1.9e10: exact.
  let r = lastR + lo;
  let q = lastQ;
  if (r >= 1e9) {
    const carry = Math.floor(r / 1e9);
    q += carry;
    r -= carry * 1e9;
  }
  if (q !== lastSeconds) {
    lastSeconds = q;
    lastSecondsText = String(q);
    for (let i = 0; i < 10 && i < lastSecondsText.length; i++) secondsCodes[i] = lastSecondsText.charCodeAt(i);
  }
  // Times between 2001 and 2286 have ten digits of seconds: all 19 digits in one allocation.
  if (lastSecondsText.length !== 10) {
    const nanos = String(r | 0);
    return lastSecondsText + "000000000".slice(nanos.length) + nanos;
  }
  const ri = r | 0;
  const d0 = (ri / 100000000) | 0;
  const r8 = ri - d0 * 100000000;
  const p1 = (r8 / 1000000) | 0;
  const r6 = r8 - p1 * 1000000;
  const p2 = (r6 / 10000) | 0;
  const r4 = r6 - p2 * 10000;
  const p3 = (r4 / 100) | 0;
  const p4 = r4 - p3 * 100;
  const S = secondsCodes;
  return fromCharCode(
    S[0]!, S[1]!, S[2]!, S[3]!, S[4]!, S[5]!, S[6]!, S[7]!, S[8]!, S[9]!,
    48 + d0, TENS[p1]!, ONES[p1]!, TENS[p2]!, ONES[p2]!, TENS[p3]!, ONES[p3]!, TENS[p4]!, ONES[p4]!,
  );
}

/** The two's-complement signed 64-bit integer hi:lo in decimal. */
export function int64Decimal(lo: number, hi: number): string {
  if (hi < 0x80000000) return hi === 0 ? String(lo) : uint64Decimal(lo, hi);
  // Negate: -v = ~v + 1.
  const nlo = (~lo + 1) >>> 0;
  const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
  return "-" + uint64Decimal(nlo, nhi);
}
