/**
 * @module
 * The two protobuf bodies the OTLP/HTTP receiver answers with, written by hand (a few bytes each,
 * not worth a runtime):
 * - ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1 } where
 *   ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
 * - google.rpc.Status { int32 code = 1; string message = 2; } for error responses, as OTLP/HTTP
 *   specifies for protobuf-encoded failures (details, field 3, is never sent).
 * Zero values are omitted, as proto3 encoders do.
 */

const utf8 = new TextEncoder();

/**
 * A full success is the empty message. With `partial`, partial_success is present even when both
 * of its fields are zero, since its presence is what tells the client the request was partial.
 */
export function encodeTraceResponseProto(partial?: { rejectedSpans: number; errorMessage: string }): Uint8Array {
  if (!partial) return new Uint8Array(0);
  const inner: number[] = [];
  if (partial.rejectedSpans !== 0) {
    inner.push(0x08);
    writeInt64(inner, partial.rejectedSpans);
  }
  writeString(inner, 0x12, partial.errorMessage);
  const out: number[] = [0x0a];
  writeVarint(out, inner.length, 0);
  for (const b of inner) out.push(b);
  return Uint8Array.from(out);
}

/** A google.rpc.Status body. */
export function encodeStatusProto(code: number, message: string): Uint8Array {
  const out: number[] = [];
  if (code !== 0) {
    out.push(0x08);
    // int32: negative values are sign-extended to ten bytes, as protobuf specifies.
    writeInt64(out, code | 0);
  }
  writeString(out, 0x12, message);
  return Uint8Array.from(out);
}

function writeString(out: number[], tag: number, s: string): void {
  if (s === "") return;
  const bytes = utf8.encode(s);
  out.push(tag);
  writeVarint(out, bytes.length, 0);
  for (const b of bytes) out.push(b);
}

/** A safe integer as an int64 varint (two's complement for negatives). */
function writeInt64(out: number[], n: number): void {
  if (!Number.isSafeInteger(n)) throw new RangeError(`not a safe integer: ${n}`);
  const big = BigInt.asUintN(64, BigInt(n));
  writeVarint(out, Number(big & 0xffffffffn), Number(big >> 32n));
}

/** The unsigned 64-bit value hi * 2^32 + lo as a varint. */
function writeVarint(out: number[], lo: number, hi: number): void {
  lo >>>= 0;
  hi >>>= 0;
  while (hi !== 0 || lo > 0x7f) {
    out.push((lo & 0x7f) | 0x80);
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  out.push(lo);
}
