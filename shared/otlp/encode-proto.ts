/**
 * @module
 * Encodes the span model as OTLP/protobuf resource spans, by hand: the bytes of an
 * ExportTraceServiceRequest, which are also the bytes of Tempo's `tempopb.Trace` (its field 1 is
 * the same `repeated ResourceSpans`).
 *
 * Written against opentelemetry-proto's trace.proto, common.proto and resource.proto (with
 * Span.flags and Link.flags, fixed32). Canonical proto3: fields in number order, zero scalars,
 * empty strings and ids, and empty resource / scope / status omitted; AnyValue's oneof member is
 * always written (its presence is the value), and a KeyValue always carries its value message.
 * Model conventions are undone on the way: hex ids become bytes, decimal 64-bit times and ints
 * become fixed64 / varints, base64 becomes bytes.
 *
 * Two passes over the tree: the first computes every message's length (and every string's UTF-8
 * length) into one array in pre-order, the second writes into a buffer of the exact final size,
 * reading those lengths back in the same order. No copies, no intermediate objects.
 */
import type { AnyValue, KeyValue, ResourceSpans, Span, SpanEvent, SpanLink } from "../model/span.ts";

// Lengths recorded by the sizing pass, consumed in the same order by the writing pass.
let sizes: number[] = [];
let si = 0;
let buf = new Uint8Array(0);
let view = new DataView(buf.buffer);
let pos = 0;

const utf8 = new TextEncoder();

/** The resource spans as protobuf (ExportTraceServiceRequest / tempopb.Trace). */
export function encodeTraceProto(resourceSpans: ResourceSpans[]): Uint8Array<ArrayBuffer> {
  sizes = [];
  let total = 0;
  for (let i = 0; i < resourceSpans.length; i++) total += msgField(sizeResourceSpans(resourceSpans[i]!));
  const out = new Uint8Array(total);
  buf = out;
  view = new DataView(out.buffer);
  pos = 0;
  si = 0;
  for (let i = 0; i < resourceSpans.length; i++) {
    buf[pos++] = 0x0a;
    writeResourceSpans(resourceSpans[i]!);
  }
  if (pos !== total || si !== sizes.length) throw new Error(`encodeTraceProto: wrote ${pos} of ${total} bytes`);
  // Drop the references so a large trace is not kept alive by module state.
  sizes = [];
  buf = new Uint8Array(0);
  view = new DataView(buf.buffer);
  return out;
}

// ---- sizes ---------------------------------------------------------------------------------------

function varintLen(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function varint64Len(lo: number, hi: number): number {
  if (hi === 0) return varintLen(lo);
  // Five bytes carry 35 bits, the low word and three bits of the high one; then one per seven.
  let n = 5;
  let rest = hi >>> 3;
  while (rest !== 0) {
    n++;
    rest >>>= 7;
  }
  return n;
}

/** Tag (one byte) + length prefix + body of a length-delimited field. */
function msgField(n: number): number {
  return 1 + varintLen(n) + n;
}

/** A uint32 field, omitted at zero. */
function uint32Field(v: number): number {
  v >>>= 0;
  return v === 0 ? 0 : 1 + varintLen(v);
}

/** An int32 enum field, omitted at zero; negatives take ten bytes. */
function enumField(v: number): number {
  v |= 0;
  return v === 0 ? 0 : v < 0 ? 11 : 1 + varintLen(v);
}

function utf8Len(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two UTF-16 units, four bytes.
      len += 2;
      i++;
    } else len += 2; // three bytes (lone surrogates become U+FFFD, also three)
  }
  return len;
}

/** A string field, omitted when empty; records the UTF-8 length. */
function strField(s: string): number {
  if (s === "") return 0;
  const n = utf8Len(s);
  sizes.push(n);
  return 1 + varintLen(n) + n;
}

/** A string that is written even when empty (a oneof member). */
function strAlways(s: string): number {
  const n = s === "" ? 0 : utf8Len(s);
  sizes.push(n);
  return 1 + varintLen(n) + n;
}

function hexLen(h: string): number {
  return h.length >>> 1;
}

/** A bytes field from hex, omitted when empty. */
function idField(h: string): number {
  const n = hexLen(h);
  return n === 0 ? 0 : 1 + varintLen(n) + n;
}

function base64Len(s: string): number {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) === 61) n--;
  return Math.floor((n * 3) / 4);
}

function isZeroTime(s: string): boolean {
  return s === "0" || s === "";
}

function sizeKeyValues(list: KeyValue[]): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) n += msgField(sizeKeyValue(list[i]!));
  return n;
}

function sizeKeyValue(kv: KeyValue): number {
  const slot = sizes.length;
  sizes.push(0);
  const n = strField(kv.key) + msgField(sizeAnyValue(kv.value));
  sizes[slot] = n;
  return n;
}

// The union's members, read without `in` checks.
interface LooseValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values: AnyValue[] };
  kvlistValue?: { values: KeyValue[] };
}

function sizeAnyValue(value: AnyValue): number {
  const slot = sizes.length;
  sizes.push(0);
  const v = value as LooseValue;
  let n: number;
  if (v.stringValue !== undefined) n = strAlways(v.stringValue);
  else if (v.boolValue !== undefined) n = 2;
  else if (v.intValue !== undefined) {
    parseDecimal64(v.intValue);
    n = 1 + varint64Len(plo, phi);
  } else if (v.doubleValue !== undefined) n = 9;
  else if (v.bytesValue !== undefined) {
    const b = base64Len(v.bytesValue);
    n = 1 + varintLen(b) + b;
  } else if (v.arrayValue !== undefined) {
    const inner = sizes.length;
    sizes.push(0);
    const values = v.arrayValue.values;
    let m = 0;
    for (let i = 0; i < values.length; i++) m += msgField(sizeAnyValue(values[i]!));
    sizes[inner] = m;
    n = msgField(m);
  } else if (v.kvlistValue !== undefined) {
    const inner = sizes.length;
    sizes.push(0);
    const m = sizeKeyValues(v.kvlistValue.values);
    sizes[inner] = m;
    n = msgField(m);
  } else n = 0;
  sizes[slot] = n;
  return n;
}

function sizeResourceSpans(rs: ResourceSpans): number {
  const slot = sizes.length;
  sizes.push(0);
  let n = 0;
  const r = rs.resource;
  if (r.attributes.length !== 0 || r.droppedAttributesCount !== 0) {
    const rslot = sizes.length;
    sizes.push(0);
    const m = sizeKeyValues(r.attributes) + uint32Field(r.droppedAttributesCount);
    sizes[rslot] = m;
    n += msgField(m);
  }
  const scopeSpans = rs.scopeSpans;
  for (let i = 0; i < scopeSpans.length; i++) {
    const ss = scopeSpans[i]!;
    const sslot = sizes.length;
    sizes.push(0);
    let m = 0;
    const s = ss.scope;
    if (s.name !== "" || s.version !== "" || s.attributes.length !== 0 || s.droppedAttributesCount !== 0) {
      const cslot = sizes.length;
      sizes.push(0);
      const k = strField(s.name) + strField(s.version) + sizeKeyValues(s.attributes) + uint32Field(s.droppedAttributesCount);
      sizes[cslot] = k;
      m += msgField(k);
    }
    const spans = ss.spans;
    for (let j = 0; j < spans.length; j++) m += msgField(sizeSpan(spans[j]!));
    m += strField(ss.schemaUrl);
    sizes[sslot] = m;
    n += msgField(m);
  }
  n += strField(rs.schemaUrl);
  sizes[slot] = n;
  return n;
}

function sizeSpan(s: Span): number {
  const slot = sizes.length;
  sizes.push(0);
  let n =
    idField(s.traceId) +
    idField(s.spanId) +
    strField(s.traceState) +
    idField(s.parentSpanId) +
    strField(s.name) +
    enumField(s.kind) +
    (isZeroTime(s.startTimeUnixNano) ? 0 : 9) +
    (isZeroTime(s.endTimeUnixNano) ? 0 : 9) +
    sizeKeyValues(s.attributes) +
    uint32Field(s.droppedAttributesCount);
  const events = s.events;
  for (let i = 0; i < events.length; i++) n += msgField(sizeEvent(events[i]!));
  n += uint32Field(s.droppedEventsCount);
  const links = s.links;
  for (let i = 0; i < links.length; i++) n += msgField(sizeLink(links[i]!));
  n += uint32Field(s.droppedLinksCount);
  const st = s.status;
  if ((st.code | 0) !== 0 || st.message !== "") {
    const stslot = sizes.length;
    sizes.push(0);
    const m = strField(st.message) + enumField(st.code);
    sizes[stslot] = m;
    n += msgField(m);
  }
  // Field 16: a two-byte tag.
  if (s.flags >>> 0 !== 0) n += 6;
  sizes[slot] = n;
  return n;
}

function sizeEvent(e: SpanEvent): number {
  const slot = sizes.length;
  sizes.push(0);
  const n =
    (isZeroTime(e.timeUnixNano) ? 0 : 9) + strField(e.name) + sizeKeyValues(e.attributes) + uint32Field(e.droppedAttributesCount);
  sizes[slot] = n;
  return n;
}

function sizeLink(l: SpanLink): number {
  const slot = sizes.length;
  sizes.push(0);
  const n =
    idField(l.traceId) +
    idField(l.spanId) +
    strField(l.traceState) +
    sizeKeyValues(l.attributes) +
    uint32Field(l.droppedAttributesCount) +
    (l.flags >>> 0 !== 0 ? 5 : 0);
  sizes[slot] = n;
  return n;
}

// ---- numbers from decimal text -------------------------------------------------------------------

// The last parse: low and high 32-bit words (unsigned).
let plo = 0;
let phi = 0;

const TWO32 = 4294967296;

/**
 * Parses a decimal (u)int64 into plo/phi, two's complement for negatives, wrapping modulo 2^64.
 * Exact without BigInt: the digits are split as H * 1e9 + L and multiplied in 16-bit pieces.
 */
function parseDecimal64(s: string): void {
  const len = s.length;
  let i = 0;
  let neg = false;
  if (len > 0 && s.charCodeAt(0) === 45) {
    neg = true;
    i = 1;
  } else if (len > 0 && s.charCodeAt(0) === 43) i = 1;
  const digits = len - i;
  let lo: number;
  let hi: number;
  if (digits <= 15) {
    let v = 0;
    for (; i < len; i++) v = v * 10 + (s.charCodeAt(i) - 48);
    lo = v % TWO32;
    hi = Math.floor(v / TWO32);
  } else {
    // H: all but the last nine digits (at most twelve of them for 21 digits: still exact).
    let h = 0;
    const split = len - 9;
    for (; i < split; i++) h = h * 10 + (s.charCodeAt(i) - 48);
    let l = 0;
    for (; i < len; i++) l = l * 10 + (s.charCodeAt(i) - 48);
    // Wrap H modulo 2^64 / 2^?: keep it below 2^35 so the pieces stay exact (2^64 / 1e9 < 2^35).
    h = h % 34359738368;
    const hq = Math.floor(h / 65536);
    const hr = h - hq * 65536;
    const a = hq * 1e9; // < 2^50
    const b = hr * 1e9 + l; // < 2^46
    const aLo = (a % 65536) * 65536;
    const aHi = Math.floor(a / 65536);
    const bLo = b % TWO32;
    const bHi = Math.floor(b / TWO32);
    lo = aLo + bLo;
    let carry = 0;
    if (lo >= TWO32) {
      lo -= TWO32;
      carry = 1;
    }
    hi = (aHi + bHi + carry) % TWO32;
  }
  if (neg && (lo !== 0 || hi !== 0)) {
    // -v = ~v + 1
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  plo = lo >>> 0;
  phi = hi >>> 0;
}

// ---- writing -------------------------------------------------------------------------------------

function writeVarint(v: number): void {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
}

function writeVarint64(lo: number, hi: number): void {
  if (hi === 0) {
    writeVarint(lo);
    return;
  }
  while (hi !== 0 || lo > 0x7f) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
}

function writeUint32Field(tag: number, v: number): void {
  v >>>= 0;
  if (v === 0) return;
  buf[pos++] = tag;
  writeVarint(v);
}

function writeEnumField(tag: number, v: number): void {
  v |= 0;
  if (v === 0) return;
  buf[pos++] = tag;
  if (v < 0) writeVarint64(v >>> 0, 0xffffffff);
  else writeVarint(v);
}

function writeFixed32(v: number): void {
  view.setUint32(pos, v >>> 0, true);
  pos += 4;
}

function writeTime(tag: number, s: string): void {
  if (isZeroTime(s)) return;
  buf[pos++] = tag;
  parseDecimal64(s);
  view.setUint32(pos, plo, true);
  view.setUint32(pos + 4, phi, true);
  pos += 8;
}

/** Writes s as UTF-8 after its length prefix, the length taken from the sizing pass. */
function writeStrBody(s: string): void {
  const n = sizes[si++]!;
  writeVarint(n);
  if (n === s.length) {
    // ASCII only.
    for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
    pos += n;
    return;
  }
  const r = utf8.encodeInto(s, buf.subarray(pos, pos + n));
  pos += r.written;
}

function writeStrField(tag: number, s: string): void {
  if (s === "") return;
  buf[pos++] = tag;
  writeStrBody(s);
}

// Hex digit values by char code (upper and lower case); other characters read as 0.
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i;
  NIBBLE[97 + i] = 10 + i;
}

function writeIdField(tag: number, h: string): void {
  const n = h.length >>> 1;
  if (n === 0) return;
  buf[pos++] = tag;
  writeVarint(n);
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    buf[pos + i] = (NIBBLE[h.charCodeAt(j) & 0x7f]! << 4) | NIBBLE[h.charCodeAt(j + 1) & 0x7f]!;
  }
  pos += n;
}

// Base64 digit values (standard and URL-safe alphabets).
const B64 = new Uint8Array(128);
{
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < 64; i++) B64[abc.charCodeAt(i)] = i;
  B64[45] = 62; // -
  B64[95] = 63; // _
}

function writeBase64Body(s: string): void {
  const n = base64Len(s);
  writeVarint(n);
  const end = pos + n;
  let bits = 0;
  let acc = 0;
  for (let i = 0; pos < end; i++) {
    acc = (acc << 6) | B64[s.charCodeAt(i) & 0x7f]!;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      buf[pos++] = (acc >>> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
}

function writeKeyValues(tag: number, list: KeyValue[]): void {
  for (let i = 0; i < list.length; i++) {
    buf[pos++] = tag;
    writeKeyValue(list[i]!);
  }
}

function writeKeyValue(kv: KeyValue): void {
  writeVarint(sizes[si++]!);
  writeStrField(0x0a, kv.key);
  buf[pos++] = 0x12;
  writeAnyValue(kv.value);
}

function writeAnyValue(value: AnyValue): void {
  writeVarint(sizes[si++]!);
  const v = value as LooseValue;
  if (v.stringValue !== undefined) {
    buf[pos++] = 0x0a;
    writeStrBody(v.stringValue);
  } else if (v.boolValue !== undefined) {
    buf[pos++] = 0x10;
    buf[pos++] = v.boolValue ? 1 : 0;
  } else if (v.intValue !== undefined) {
    buf[pos++] = 0x18;
    parseDecimal64(v.intValue);
    writeVarint64(plo, phi);
  } else if (v.doubleValue !== undefined) {
    buf[pos++] = 0x21;
    view.setFloat64(pos, v.doubleValue, true);
    pos += 8;
  } else if (v.bytesValue !== undefined) {
    buf[pos++] = 0x3a;
    writeBase64Body(v.bytesValue);
  } else if (v.arrayValue !== undefined) {
    buf[pos++] = 0x2a;
    writeVarint(sizes[si++]!);
    const values = v.arrayValue.values;
    for (let i = 0; i < values.length; i++) {
      buf[pos++] = 0x0a;
      writeAnyValue(values[i]!);
    }
  } else if (v.kvlistValue !== undefined) {
    buf[pos++] = 0x32;
    writeVarint(sizes[si++]!);
    writeKeyValues(0x0a, v.kvlistValue.values);
  }
}

function writeResourceSpans(rs: ResourceSpans): void {
  writeVarint(sizes[si++]!);
  const r = rs.resource;
  if (r.attributes.length !== 0 || r.droppedAttributesCount !== 0) {
    buf[pos++] = 0x0a;
    writeVarint(sizes[si++]!);
    writeKeyValues(0x0a, r.attributes);
    writeUint32Field(0x10, r.droppedAttributesCount);
  }
  const scopeSpans = rs.scopeSpans;
  for (let i = 0; i < scopeSpans.length; i++) {
    const ss = scopeSpans[i]!;
    buf[pos++] = 0x12;
    writeVarint(sizes[si++]!);
    const s = ss.scope;
    if (s.name !== "" || s.version !== "" || s.attributes.length !== 0 || s.droppedAttributesCount !== 0) {
      buf[pos++] = 0x0a;
      writeVarint(sizes[si++]!);
      writeStrField(0x0a, s.name);
      writeStrField(0x12, s.version);
      writeKeyValues(0x1a, s.attributes);
      writeUint32Field(0x20, s.droppedAttributesCount);
    }
    const spans = ss.spans;
    for (let j = 0; j < spans.length; j++) {
      buf[pos++] = 0x12;
      writeSpan(spans[j]!);
    }
    writeStrField(0x1a, ss.schemaUrl);
  }
  writeStrField(0x1a, rs.schemaUrl);
}

function writeSpan(s: Span): void {
  writeVarint(sizes[si++]!);
  writeIdField(0x0a, s.traceId);
  writeIdField(0x12, s.spanId);
  writeStrField(0x1a, s.traceState);
  writeIdField(0x22, s.parentSpanId);
  writeStrField(0x2a, s.name);
  writeEnumField(0x30, s.kind);
  writeTime(0x39, s.startTimeUnixNano);
  writeTime(0x41, s.endTimeUnixNano);
  writeKeyValues(0x4a, s.attributes);
  writeUint32Field(0x50, s.droppedAttributesCount);
  const events = s.events;
  for (let i = 0; i < events.length; i++) {
    buf[pos++] = 0x5a;
    writeEvent(events[i]!);
  }
  writeUint32Field(0x60, s.droppedEventsCount);
  const links = s.links;
  for (let i = 0; i < links.length; i++) {
    buf[pos++] = 0x6a;
    writeLink(links[i]!);
  }
  writeUint32Field(0x70, s.droppedLinksCount);
  const st = s.status;
  if ((st.code | 0) !== 0 || st.message !== "") {
    buf[pos++] = 0x7a;
    writeVarint(sizes[si++]!);
    writeStrField(0x12, st.message);
    writeEnumField(0x18, st.code);
  }
  if (s.flags >>> 0 !== 0) {
    // (16 << 3) | 5 = 133, as a varint.
    buf[pos++] = 0x85;
    buf[pos++] = 0x01;
    writeFixed32(s.flags);
  }
}

function writeEvent(e: SpanEvent): void {
  writeVarint(sizes[si++]!);
  writeTime(0x09, e.timeUnixNano);
  writeStrField(0x12, e.name);
  writeKeyValues(0x1a, e.attributes);
  writeUint32Field(0x20, e.droppedAttributesCount);
}

function writeLink(l: SpanLink): void {
  writeVarint(sizes[si++]!);
  writeIdField(0x0a, l.traceId);
  writeIdField(0x12, l.spanId);
  writeStrField(0x1a, l.traceState);
  writeKeyValues(0x22, l.attributes);
  writeUint32Field(0x28, l.droppedAttributesCount);
  if (l.flags >>> 0 !== 0) {
    buf[pos++] = 0x35;
    writeFixed32(l.flags);
  }
}
