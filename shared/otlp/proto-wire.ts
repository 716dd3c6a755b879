/**
 * @module
 * Protobuf wire-format primitives for the hand-written OTLP decoder: a cursor over the body,
 * varints, lengths, fixed-width reads and skipping of unknown fields. Every read is bounded by the
 * end of the enclosing message and fails with a DecodeError that names the byte offset, so no
 * malformed input can read past the body, loop forever or throw anything but DecodeError.
 */
import { DecodeError } from "../model/span.ts";

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** Unknown groups nested deeper than this are rejected rather than skipped. */
const MAX_GROUP_DEPTH = 32;

/** Read position in a body; `lo`/`hi` receive the halves of the last 64-bit varint read. */
export class Cursor {
  buf: Uint8Array;
  view: DataView;
  pos: number;
  lo: number;
  hi: number;
  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
    this.lo = 0;
    this.hi = 0;
  }
}

export function failAt(offset: number, message: string): never {
  throw new DecodeError(message, `byte ${offset}`);
}

function truncated(offset: number): never {
  failAt(offset, "truncated protobuf: the message ends inside a field");
}

/**
 * Reads a varint of up to 10 bytes into c.lo/c.hi (unsigned halves). More than 10 bytes, or a 10th
 * byte carrying bits above 2^64, is an overflow.
 */
export function readVarint64(c: Cursor, end: number): void {
  const b = c.buf;
  const start = c.pos;
  let p = start;
  let lo = 0;
  let hi: number;
  let byte: number;
  for (let shift = 0; shift < 28; shift += 7) {
    if (p >= end) truncated(p);
    byte = b[p++]!;
    lo |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      c.pos = p;
      c.lo = lo >>> 0;
      c.hi = 0;
      return;
    }
  }
  // 5th byte: 4 bits to lo, 3 to hi.
  if (p >= end) truncated(p);
  byte = b[p++]!;
  lo |= (byte & 0x0f) << 28;
  hi = (byte & 0x7f) >> 4;
  if (byte >= 0x80) {
    let shift = 3;
    for (;;) {
      if (p >= end) truncated(p);
      byte = b[p++]!;
      if (shift === 31) {
        // 10th byte: only bit 63 is left.
        if (byte > 1) failAt(start, "varint overflow: more than 64 bits");
        hi |= byte << 31;
        break;
      }
      hi |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
      shift += 7;
    }
  }
  c.pos = p;
  c.lo = lo >>> 0;
  c.hi = hi >>> 0;
}

/** A varint as its low 32 bits, unsigned (uint32 fields, like every protobuf runtime does). */
export function readUint32(c: Cursor, end: number): number {
  const p = c.pos;
  if (p < end) {
    const byte = c.buf[p]!;
    if (byte < 0x80) {
      c.pos = p + 1;
      return byte;
    }
  }
  readVarint64(c, end);
  return c.lo;
}

/** A field tag. Tags are at most 32 bits and field number 0 does not exist. */
export function readTag(c: Cursor, end: number): number {
  const p = c.pos;
  const byte = c.buf[p]!;
  // Callers only ask while c.pos < end, so the first byte is in bounds.
  if (byte < 0x80 && byte >= 8) {
    c.pos = p + 1;
    return byte;
  }
  readVarint64(c, end);
  if (c.hi !== 0) failAt(p, "invalid tag: more than 32 bits");
  if (c.lo >>> 3 === 0) failAt(p, "invalid tag: field number 0");
  return c.lo;
}

/** The length prefix of a length-delimited field; returns the field's end offset. */
export function readLengthEnd(c: Cursor, end: number): number {
  const start = c.pos;
  let len: number;
  const byte = start < end ? c.buf[start]! : 0x80;
  if (byte < 0x80) {
    c.pos = start + 1;
    len = byte;
  } else {
    readVarint64(c, end);
    if (c.hi !== 0) failAt(start, "length-delimited field longer than the body");
    len = c.lo;
  }
  const fieldEnd = c.pos + len;
  if (fieldEnd > end) failAt(start, `length ${len} runs past the end of the enclosing message`);
  return fieldEnd;
}

/** A fixed32 at c.pos, little-endian, unsigned. */
export function readFixed32(c: Cursor, end: number): number {
  const p = c.pos;
  if (p + 4 > end) truncated(p);
  c.pos = p + 4;
  const b = c.buf;
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** A fixed64 at c.pos into c.lo/c.hi. */
export function readFixed64(c: Cursor, end: number): void {
  const p = c.pos;
  if (p + 8 > end) truncated(p);
  c.pos = p + 8;
  const b = c.buf;
  c.lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  c.hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
}

export function readDouble(c: Cursor, end: number): number {
  const p = c.pos;
  if (p + 8 > end) truncated(p);
  c.pos = p + 8;
  return c.view.getFloat64(p, true);
}

/**
 * Skips the value of a field the decoder does not know, whatever its wire type. Groups (wire
 * types 3/4, deprecated but legal) are skipped up to the end-group tag with the same field number.
 * `tagStart` is where the tag began, for error offsets.
 */
export function skipField(c: Cursor, tag: number, end: number, tagStart: number, depth = 0): void {
  switch (tag & 7) {
    case WIRE_VARINT:
      readVarint64(c, end);
      return;
    case WIRE_FIXED64:
      if (c.pos + 8 > end) truncated(c.pos);
      c.pos += 8;
      return;
    case WIRE_LEN:
      c.pos = readLengthEnd(c, end);
      return;
    case WIRE_FIXED32:
      if (c.pos + 4 > end) truncated(c.pos);
      c.pos += 4;
      return;
    case WIRE_START_GROUP: {
      if (depth >= MAX_GROUP_DEPTH) failAt(tagStart, `groups nested deeper than ${MAX_GROUP_DEPTH}`);
      const field = tag >>> 3;
      for (;;) {
        if (c.pos >= end) failAt(tagStart, `group (field ${field}) has no end-group tag`);
        const innerStart = c.pos;
        const inner = readTag(c, end);
        if ((inner & 7) === WIRE_END_GROUP) {
          if (inner >>> 3 !== field) failAt(innerStart, `end-group tag for field ${inner >>> 3} closes group ${field}`);
          return;
        }
        skipField(c, inner, end, innerStart, depth + 1);
      }
    }
    case WIRE_END_GROUP:
      return failAt(tagStart, `end-group tag (field ${tag >>> 3}) without a matching start-group`);
    default:
      return failAt(tagStart, `invalid wire type ${tag & 7} (field ${tag >>> 3})`);
  }
}
