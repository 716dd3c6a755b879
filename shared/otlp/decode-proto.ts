/**
 * @module
 * Decodes an OTLP/protobuf ExportTraceServiceRequest into the span model, by hand.
 *
 * Written against opentelemetry-proto's trace.proto, common.proto and resource.proto (with
 * Span.flags and Link.flags). One function per message walks its fields with a switch on the
 * whole tag, so a known field number with the wrong wire type falls through to the default branch
 * and is rejected there; truly unknown fields of any wire type, groups included, are skipped.
 * Fields of the schema that the model has no place for are skipped like unknown ones:
 * Resource.entity_refs (3), KeyValue.key_strindex (3) and AnyValue.string_value_strindex (8),
 * which the schema reserves for the profiles signal and tells other receivers to ignore.
 *
 * Semantics follow protobuf and match the protobufjs reference on everything an encoder produces:
 * a repeated singular field keeps the last value (message fields are replaced, not merged, as
 * protobufjs does); within AnyValue's oneof the last member wins; uint32 fields take the low 32
 * bits of the varint, enums are int32, bools are "any bit set".
 *
 * Why it is fast (figures in bench/decode.ts): one monomorphic cursor and no closures; whole
 * KeyValues with a scalar value, and strings of 4-64 bytes, come from intern caches keyed by their
 * bytes (most of a batch repeats); ids become hex and times decimal in one String.fromCharCode each,
 * with BigInt only when a time's high word changes. The result is built eagerly, as plain objects:
 * lazy attributes (own accessors, memoised) measured slower even for decoding alone, since V8 needs
 * a defineProperty per object, and ingest reads every attribute anyway (validation, storage).
 */
import type {
  AnyValue,
  InstrumentationScope,
  KeyValue,
  Resource,
  ResourceSpans,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanLink,
  SpanStatus,
  TraceBatch,
} from "../model/span.ts";
import {
  Cursor,
  failAt,
  readDouble,
  readFixed32,
  readFixed64,
  readLengthEnd,
  readTag,
  readUint32,
  readVarint64,
  skipField,
} from "./proto-wire.ts";
import { copyBytes, hashWindows, sameBytes } from "./proto-bytes.ts";
import { base64Of, decodeText, hexOf, int64Decimal, uint64Decimal } from "./proto-text.ts";

/** AnyValue arrays/kvlists nested deeper than this are rejected: hostile input must not blow the stack. */
export const MAX_ANY_VALUE_DEPTH = 32;

/** Decodes a whole request body. Throws DecodeError (with the byte offset) on malformed input. */
export function decodeTraceRequest(bytes: Uint8Array): TraceBatch {
  const c = new Cursor(bytes);
  traceIdMemo.len = -1;
  parentIdMemo.len = -1;
  const end = bytes.length;
  const resourceSpans: ResourceSpans[] = [];
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    if (tag === 10) resourceSpans.push(decodeResourceSpans(c, readLengthEnd(c, end)));
    else unknownField(c, tag, end, at, "ExportTraceServiceRequest", REQUEST_FIELDS);
  }
  return { resourceSpans };
}

// Field number -> expected wire type, per message: only consulted for tags the switch did not
// match, to tell a wrong wire type (rejected) from an unknown field (skipped).
type FieldTable = readonly (number | undefined)[];
function table(entries: Record<number, number>): FieldTable {
  const t: (number | undefined)[] = [];
  for (const [k, v] of Object.entries(entries)) t[Number(k)] = v;
  return t;
}
const REQUEST_FIELDS = table({ 1: 2 });
const RESOURCE_SPANS_FIELDS = table({ 1: 2, 2: 2, 3: 2 });
const RESOURCE_FIELDS = table({ 1: 2, 2: 0 });
const SCOPE_SPANS_FIELDS = table({ 1: 2, 2: 2, 3: 2 });
const SCOPE_FIELDS = table({ 1: 2, 2: 2, 3: 2, 4: 0 });
const SPAN_FIELDS = table({ 1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 0, 7: 1, 8: 1, 9: 2, 10: 0, 11: 2, 12: 0, 13: 2, 14: 0, 15: 2, 16: 5 });
const EVENT_FIELDS = table({ 1: 1, 2: 2, 3: 2, 4: 0 });
const LINK_FIELDS = table({ 1: 2, 2: 2, 3: 2, 4: 2, 5: 0, 6: 5 });
const STATUS_FIELDS = table({ 2: 2, 3: 0 });
const KEY_VALUE_FIELDS = table({ 1: 2, 2: 2 });
const ANY_VALUE_FIELDS = table({ 1: 2, 2: 0, 3: 0, 4: 1, 5: 2, 6: 2, 7: 2 });
const LIST_FIELDS = table({ 1: 2 });

function unknownField(c: Cursor, tag: number, end: number, at: number, message: string, fields: FieldTable): void {
  const field = tag >>> 3;
  const expected = fields[field];
  if (expected !== undefined) {
    failAt(at, `${message} field ${field} has wire type ${tag & 7}, expected ${expected}`);
  }
  skipField(c, tag, end, at);
}

function readString(c: Cursor, end: number): string {
  const fieldEnd = readLengthEnd(c, end);
  const start = c.pos;
  c.pos = fieldEnd;
  return decodeText(c.buf, c.view, start, fieldEnd);
}

function readId(c: Cursor, end: number): string {
  const fieldEnd = readLengthEnd(c, end);
  const start = c.pos;
  c.pos = fieldEnd;
  return hexOf(c.buf, start, fieldEnd);
}

// Spans of one trace usually sit together in a batch, and siblings share a parent: an id equal to
// the previous span's is taken from it instead of being formatted again.
function readRepeatedId(c: Cursor, end: number, memo: IdMemo): string {
  const fieldEnd = readLengthEnd(c, end);
  const start = c.pos;
  const n = fieldEnd - start;
  c.pos = fieldEnd;
  if (n === memo.len && sameBytes(c.view, start, c.view, memo.at, n)) return memo.text;
  const text = hexOf(c.buf, start, fieldEnd);
  memo.at = start;
  memo.len = n;
  memo.text = text;
  return text;
}

/** The last id read for one field, by position in the body being decoded. */
interface IdMemo {
  at: number;
  len: number;
  text: string;
}

function readTime(c: Cursor, end: number): string {
  readFixed64(c, end);
  return uint64Decimal(c.lo, c.hi);
}

const traceIdMemo: IdMemo = { at: 0, len: -1, text: "" };
const parentIdMemo: IdMemo = { at: 0, len: -1, text: "" };

function decodeResourceSpans(c: Cursor, end: number): ResourceSpans {
  let resource: Resource | undefined;
  const scopeSpans: ScopeSpans[] = [];
  let schemaUrl = "";
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    switch (tag) {
      case 10:
        resource = decodeResource(c, readLengthEnd(c, end));
        break;
      case 18:
        scopeSpans.push(decodeScopeSpans(c, readLengthEnd(c, end)));
        break;
      case 26:
        schemaUrl = readString(c, end);
        break;
      default:
        unknownField(c, tag, end, at, "ResourceSpans", RESOURCE_SPANS_FIELDS);
    }
  }
  return { resource: resource ?? { attributes: [], droppedAttributesCount: 0 }, scopeSpans, schemaUrl };
}

function decodeResource(c: Cursor, end: number): Resource {
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    if (tag === 10) attributes.push(decodeKeyValue(c, readLengthEnd(c, end), 0));
    else if (tag === 16) droppedAttributesCount = readUint32(c, end);
    else unknownField(c, tag, end, at, "Resource", RESOURCE_FIELDS);
  }
  return { attributes, droppedAttributesCount };
}

function decodeScopeSpans(c: Cursor, end: number): ScopeSpans {
  let scope: InstrumentationScope | undefined;
  const spans: Span[] = [];
  let schemaUrl = "";
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    switch (tag) {
      case 10:
        scope = decodeScope(c, readLengthEnd(c, end));
        break;
      case 18:
        spans.push(decodeSpan(c, readLengthEnd(c, end)));
        break;
      case 26:
        schemaUrl = readString(c, end);
        break;
      default:
        unknownField(c, tag, end, at, "ScopeSpans", SCOPE_SPANS_FIELDS);
    }
  }
  return { scope: scope ?? { name: "", version: "", attributes: [], droppedAttributesCount: 0 }, spans, schemaUrl };
}

function decodeScope(c: Cursor, end: number): InstrumentationScope {
  let name = "";
  let version = "";
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    switch (tag) {
      case 10:
        name = readString(c, end);
        break;
      case 18:
        version = readString(c, end);
        break;
      case 26:
        attributes.push(decodeKeyValue(c, readLengthEnd(c, end), 0));
        break;
      case 32:
        droppedAttributesCount = readUint32(c, end);
        break;
      default:
        unknownField(c, tag, end, at, "InstrumentationScope", SCOPE_FIELDS);
    }
  }
  return { name, version, attributes, droppedAttributesCount };
}

function decodeSpan(c: Cursor, end: number): Span {
  let traceId = "";
  let spanId = "";
  let traceState = "";
  let parentSpanId = "";
  let flags = 0;
  let name = "";
  let kind = 0;
  let startTimeUnixNano = "0";
  let endTimeUnixNano = "0";
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  const events: SpanEvent[] = [];
  let droppedEventsCount = 0;
  const links: SpanLink[] = [];
  let droppedLinksCount = 0;
  let status: SpanStatus | undefined;
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    switch (tag) {
      case 10:
        traceId = readRepeatedId(c, end, traceIdMemo);
        break;
      case 18:
        spanId = readId(c, end);
        break;
      case 26:
        traceState = readString(c, end);
        break;
      case 34:
        parentSpanId = readRepeatedId(c, end, parentIdMemo);
        break;
      case 42:
        name = readString(c, end);
        break;
      case 48:
        kind = readUint32(c, end) | 0;
        break;
      case 57:
        startTimeUnixNano = readTime(c, end);
        break;
      case 65:
        endTimeUnixNano = readTime(c, end);
        break;
      case 74:
        attributes.push(decodeKeyValue(c, readLengthEnd(c, end), 0));
        break;
      case 80:
        droppedAttributesCount = readUint32(c, end);
        break;
      case 90:
        events.push(decodeEvent(c, readLengthEnd(c, end)));
        break;
      case 96:
        droppedEventsCount = readUint32(c, end);
        break;
      case 106:
        links.push(decodeLink(c, readLengthEnd(c, end)));
        break;
      case 112:
        droppedLinksCount = readUint32(c, end);
        break;
      case 122:
        status = decodeStatus(c, readLengthEnd(c, end));
        break;
      case 133:
        flags = readFixed32(c, end);
        break;
      default:
        unknownField(c, tag, end, at, "Span", SPAN_FIELDS);
    }
  }
  return {
    traceId,
    spanId,
    traceState,
    parentSpanId,
    flags,
    name,
    kind,
    startTimeUnixNano,
    endTimeUnixNano,
    attributes,
    droppedAttributesCount,
    events,
    droppedEventsCount,
    links,
    droppedLinksCount,
    status: status ?? { code: 0, message: "" },
  };
}

function decodeEvent(c: Cursor, end: number): SpanEvent {
  let timeUnixNano = "0";
  let name = "";
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    switch (tag) {
      case 9:
        timeUnixNano = readTime(c, end);
        break;
      case 18:
        name = readString(c, end);
        break;
      case 26:
        attributes.push(decodeKeyValue(c, readLengthEnd(c, end), 0));
        break;
      case 32:
        droppedAttributesCount = readUint32(c, end);
        break;
      default:
        unknownField(c, tag, end, at, "Span.Event", EVENT_FIELDS);
    }
  }
  return { timeUnixNano, name, attributes, droppedAttributesCount };
}

function decodeLink(c: Cursor, end: number): SpanLink {
  let traceId = "";
  let spanId = "";
  let traceState = "";
  const attributes: KeyValue[] = [];
  let droppedAttributesCount = 0;
  let flags = 0;
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    switch (tag) {
      case 10:
        traceId = readId(c, end);
        break;
      case 18:
        spanId = readId(c, end);
        break;
      case 26:
        traceState = readString(c, end);
        break;
      case 34:
        attributes.push(decodeKeyValue(c, readLengthEnd(c, end), 0));
        break;
      case 40:
        droppedAttributesCount = readUint32(c, end);
        break;
      case 53:
        flags = readFixed32(c, end);
        break;
      default:
        unknownField(c, tag, end, at, "Span.Link", LINK_FIELDS);
    }
  }
  return { traceId, spanId, traceState, attributes, droppedAttributesCount, flags };
}

function decodeStatus(c: Cursor, end: number): SpanStatus {
  let code = 0;
  let message = "";
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    // Field 1 is reserved (the old deprecated code): skipped as unknown.
    if (tag === 18) message = readString(c, end);
    else if (tag === 24) code = readUint32(c, end) | 0;
    else unknownField(c, tag, end, at, "Status", STATUS_FIELDS);
  }
  return { code, message };
}

// KeyValue intern cache. Most attributes of a batch repeat byte for byte (keys with their
// values: "http.request.method"="GET", "db.system.name"="postgresql", "server.port"=5432), so a
// whole KeyValue message with a scalar value is cached by its bytes and, when seen again, costs one
// hash and one comparison instead of a parse and two string look-ups. Only the strings are shared:
// every hit still gets fresh KeyValue and AnyValue objects, so callers may mutate what they get.
const KV_MAX_BYTES = 128;
const KV_SLOTS = 2048;
const kvBytes = new Uint8Array(KV_SLOTS * KV_MAX_BYTES);
const kvBytesView = new DataView(kvBytes.buffer);
const kvLen = new Int32Array(KV_SLOTS).fill(-1);
const kvKind = new Uint8Array(KV_SLOTS);
const kvKey: string[] = new Array<string>(KV_SLOTS).fill("");
const kvValue: (string | number | boolean)[] = new Array<string | number | boolean>(KV_SLOTS).fill("");
const KIND_STRING = 1;
const KIND_INT = 2;
const KIND_BOOL = 3;
const KIND_DOUBLE = 4;

function decodeKeyValue(c: Cursor, end: number, depth: number): KeyValue {
  const start = c.pos;
  const n = end - start;
  let slot = -1;
  if (n >= 4 && n <= KV_MAX_BYTES) {
    slot = hashWindows(c.view, start, n) & (KV_SLOTS - 1);
    if (kvLen[slot] === n && sameBytes(c.view, start, kvBytesView, slot * KV_MAX_BYTES, n)) {
      c.pos = end;
      const v = kvValue[slot]!;
      switch (kvKind[slot]) {
        case KIND_STRING:
          return { key: kvKey[slot]!, value: { stringValue: v as string } };
        case KIND_INT:
          return { key: kvKey[slot]!, value: { intValue: v as string } };
        case KIND_BOOL:
          return { key: kvKey[slot]!, value: { boolValue: v as boolean } };
        default:
          return { key: kvKey[slot]!, value: { doubleValue: v as number } };
      }
    }
  }
  let key = "";
  let value: AnyValue | undefined;
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    if (tag === 10) key = readString(c, end);
    else if (tag === 18) value = decodeAnyValue(c, readLengthEnd(c, end), depth + 1);
    else unknownField(c, tag, end, at, "KeyValue", KEY_VALUE_FIELDS);
  }
  if (slot >= 0 && value !== undefined) {
    // Same bytes always decode to the same KeyValue, so any scalar result may be cached.
    let kind = 0;
    let v: string | number | boolean = "";
    if ("stringValue" in value) {
      kind = KIND_STRING;
      v = value.stringValue;
    } else if ("intValue" in value) {
      kind = KIND_INT;
      v = value.intValue;
    } else if ("boolValue" in value) {
      kind = KIND_BOOL;
      v = value.boolValue;
    } else if ("doubleValue" in value) {
      kind = KIND_DOUBLE;
      v = value.doubleValue;
    }
    if (kind !== 0) {
      copyBytes(c.buf, start, kvBytes, slot * KV_MAX_BYTES, n);
      kvLen[slot] = n;
      kvKind[slot] = kind;
      kvKey[slot] = key;
      kvValue[slot] = v;
    }
  }
  return { key, value: value ?? {} };
}

function decodeAnyValue(c: Cursor, end: number, depth: number): AnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) failAt(c.pos, `AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH}`);
  let value: AnyValue | undefined;
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    switch (tag) {
      case 10:
        value = { stringValue: readString(c, end) };
        break;
      case 16:
        readVarint64(c, end);
        value = { boolValue: (c.lo | c.hi) !== 0 };
        break;
      case 24:
        readVarint64(c, end);
        value = { intValue: int64Decimal(c.lo, c.hi) };
        break;
      case 33:
        value = { doubleValue: readDouble(c, end) };
        break;
      case 42:
        value = { arrayValue: { values: decodeArrayValue(c, readLengthEnd(c, end), depth) } };
        break;
      case 50:
        value = { kvlistValue: { values: decodeKeyValueList(c, readLengthEnd(c, end), depth) } };
        break;
      case 58: {
        const fieldEnd = readLengthEnd(c, end);
        value = { bytesValue: base64Of(c.buf, c.pos, fieldEnd) };
        c.pos = fieldEnd;
        break;
      }
      default:
        unknownField(c, tag, end, at, "AnyValue", ANY_VALUE_FIELDS);
    }
  }
  return value ?? {};
}

function decodeArrayValue(c: Cursor, end: number, depth: number): AnyValue[] {
  const values: AnyValue[] = [];
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    if (tag === 10) values.push(decodeAnyValue(c, readLengthEnd(c, end), depth + 1));
    else unknownField(c, tag, end, at, "ArrayValue", LIST_FIELDS);
  }
  return values;
}

function decodeKeyValueList(c: Cursor, end: number, depth: number): KeyValue[] {
  const values: KeyValue[] = [];
  while (c.pos < end) {
    const at = c.pos;
    const tag = readTag(c, end);
    if (tag === 10) values.push(decodeKeyValue(c, readLengthEnd(c, end), depth));
    else unknownField(c, tag, end, at, "KeyValueList", LIST_FIELDS);
  }
  return values;
}
