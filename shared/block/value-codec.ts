/**
 * @module
 * Attribute values, string references and the resource/scope entries, shared by the block
 * dictionary and the span segments.
 *
 * Strings are never written inline in a column: a column holds a reference into the block
 * dictionary (strings used by two or more segments) or the section's own string table. Numbers keep their exact model text: int64 strings in canonical form become
 * zigzag varints, base64 in canonical form becomes raw bytes, and any other spelling is kept as a
 * string (tags INT_TEXT, BYTES_TEXT), so decoding gives back exactly what was encoded.
 */
import type { AnyValue, InstrumentationScope, KeyValue, Resource } from "../model/span.ts";
import type { ByteReader, ByteWriter } from "./bytes.ts";
import { Col, type ColumnsReader, type ColumnsWriter } from "./columns.ts";
import { base64ToBytesOrUndefined, bytesToBase64 } from "./hex-base64.ts";

const Tag = {
  EMPTY: 0,
  STRING: 1,
  FALSE: 2,
  TRUE: 3,
  INT: 4,
  DOUBLE: 5,
  BYTES: 6,
  ARRAY: 7,
  KVLIST: 8,
  INT_TEXT: 9,
  BYTES_TEXT: 10,
} as const;

// ---- strings ------------------------------------------------------------------------------------

/**
 * Encoder side of string references for one section. A reference is `2i + 1` for entry i of the
 * block dictionary, `2i + 2` for a repeat of entry i of the section's own table, and 0 for "the
 * next new entry of the section's own table". The table is in order of first use, so the first use
 * of a one-off value (a URL with an id in it) costs a constant 0 that deflate all but erases,
 * instead of an ever-growing index.
 */
export class StringRefs {
  readonly #shared: ReadonlyMap<string, number> | undefined;
  readonly #local = new Map<string, number>();
  readonly local: string[] = [];
  /** Per attribute key, its recent values (see writeKeyValues). */
  readonly recent = new Map<string, string[]>();

  constructor(shared?: ReadonlyMap<string, number>) {
    this.#shared = shared;
  }

  ref(s: string): number {
    const i = this.#shared?.get(s);
    if (i !== undefined) return i * 2 + 1;
    const l = this.#local.get(s);
    if (l !== undefined) return l * 2 + 2;
    this.#local.set(s, this.local.length);
    this.local.push(s);
    return 0;
  }

  writeTable(w: ByteWriter): void {
    w.uvarint(this.local.length);
    for (const s of this.local) w.string(s);
  }
}

/**
 * Decoder side: resolves references against the dictionary's strings and the section's own. It
 * must see the references in the order they were made (the "next new" code counts).
 */
export class StringTable {
  readonly #shared: readonly string[];
  readonly #local: string[];
  #next = 0;
  /** Per attribute key, its recent values (see writeKeyValues). */
  readonly recent = new Map<string, AnyValue[]>();

  constructor(shared: readonly string[], local: string[]) {
    this.#shared = shared;
    this.#local = local;
  }

  static readLocal(r: ByteReader, shared: readonly string[]): StringTable {
    const n = r.uvarint();
    const local: string[] = [];
    for (let i = 0; i < n; i++) local.push(r.string());
    return new StringTable(shared, local);
  }

  get(ref: number): string {
    let s: string | undefined;
    if (ref === 0) {
      s = this.#local[this.#next];
      // A repeat may only name an entry already introduced, so the counter checks the stream too.
      if (s !== undefined) this.#next++;
    } else if (ref % 2 === 1) s = this.#shared[(ref - 1) / 2];
    else if ((ref - 2) / 2 < this.#next) s = this.#local[(ref - 2) / 2];
    if (s === undefined) throw new RangeError(`string reference ${ref} out of range`);
    return s;
  }

  read(r: ByteReader): string {
    return this.get(r.uvarint());
  }

  /** Throws unless every entry of the section's table was used (catches encoder/decoder drift). */
  assertConsumed(): void {
    if (this.#next !== this.#local.length) throw new Error(`${this.#local.length - this.#next} strings of the section were never referenced`);
  }
}

// ---- values -------------------------------------------------------------------------------------

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const CANONICAL_INT = /^(0|-?[1-9][0-9]*)$/;

function canonicalInt64(s: string): bigint | undefined {
  if (s.length > 20 || !CANONICAL_INT.test(s)) return undefined;
  const v = BigInt(s);
  return v >= INT64_MIN && v <= INT64_MAX ? v : undefined;
}

/** A value stored as text (a string, or an int or bytes value not in canonical form): its tag and a string reference. */
function writeTextValue(c: ColumnsWriter, refs: StringRefs, tag: number, text: string): void {
  c.cols[Col.VAL_TAG]!.byte(tag);
  c.cols[Col.VAL_STR]!.uvarint(refs.ref(text));
}

function readTextValue(c: ColumnsReader, strings: StringTable): string {
  return strings.read(c.cols[Col.VAL_STR]!);
}

export function writeValue(c: ColumnsWriter, refs: StringRefs, v: AnyValue): void {
  const tag = c.cols[Col.VAL_TAG]!;
  if ("stringValue" in v) {
    writeTextValue(c, refs, Tag.STRING, v.stringValue);
  } else if ("boolValue" in v) {
    tag.byte(v.boolValue ? Tag.TRUE : Tag.FALSE);
  } else if ("intValue" in v) {
    const n = canonicalInt64(v.intValue);
    if (n === undefined) {
      writeTextValue(c, refs, Tag.INT_TEXT, v.intValue);
    } else {
      tag.byte(Tag.INT);
      c.cols[Col.VAL_NUM]!.sbig(n);
    }
  } else if ("doubleValue" in v) {
    tag.byte(Tag.DOUBLE);
    c.cols[Col.VAL_NUM]!.f64(v.doubleValue);
  } else if ("bytesValue" in v) {
    const b = base64ToBytesOrUndefined(v.bytesValue);
    if (b === undefined) {
      writeTextValue(c, refs, Tag.BYTES_TEXT, v.bytesValue);
    } else {
      tag.byte(Tag.BYTES);
      c.cols[Col.VAL_BYTES]!.lenBytes(b);
    }
  } else if ("arrayValue" in v) {
    tag.byte(Tag.ARRAY);
    c.cols[Col.COUNTS]!.uvarint(v.arrayValue.values.length);
    for (const x of v.arrayValue.values) writeValue(c, refs, x);
  } else if ("kvlistValue" in v) {
    tag.byte(Tag.KVLIST);
    writeKeyValues(c, refs, v.kvlistValue.values);
  } else {
    tag.byte(Tag.EMPTY);
  }
}

export function readValue(c: ColumnsReader, strings: StringTable): AnyValue {
  return readTaggedValue(c, strings, c.cols[Col.VAL_TAG]!.byte());
}

function readTaggedValue(c: ColumnsReader, strings: StringTable, tag: number): AnyValue {
  switch (tag) {
    case Tag.EMPTY:
      return {};
    case Tag.STRING:
      return { stringValue: readTextValue(c, strings) };
    case Tag.FALSE:
      return { boolValue: false };
    case Tag.TRUE:
      return { boolValue: true };
    case Tag.INT:
      return { intValue: c.cols[Col.VAL_NUM]!.sbig().toString() };
    case Tag.INT_TEXT:
      return { intValue: readTextValue(c, strings) };
    case Tag.DOUBLE:
      return { doubleValue: c.cols[Col.VAL_NUM]!.f64() };
    case Tag.BYTES:
      return { bytesValue: bytesToBase64(c.cols[Col.VAL_BYTES]!.lenBytes()) };
    case Tag.BYTES_TEXT:
      return { bytesValue: readTextValue(c, strings) };
    case Tag.ARRAY: {
      const n = c.cols[Col.COUNTS]!.uvarint();
      const values: AnyValue[] = [];
      for (let i = 0; i < n; i++) values.push(readValue(c, strings));
      return { arrayValue: { values } };
    }
    case Tag.KVLIST:
      return { kvlistValue: { values: readKeyValues(c, strings) } };
    default:
      throw new Error(`unknown attribute value tag ${tag}`);
  }
}

/**
 * Attribute values are coded per key, move-to-front: a scalar value among the key's 16 most recent
 * ones in this section is the tag byte RECENT + its position. Most keys take a handful of values
 * (method, route, table, port, status code), which then cost one predictable byte.
 */
const RECENT = 32;
const RECENT_MAX = 16;

/** An identity for scalar values (undefined for arrays and kvlists, which are not cached). */
export function scalarKey(v: AnyValue): string | undefined {
  if ("stringValue" in v) return "s" + v.stringValue;
  if ("intValue" in v) return "i" + v.intValue;
  if ("boolValue" in v) return v.boolValue ? "T" : "F";
  if ("doubleValue" in v) return Object.is(v.doubleValue, -0) ? "d-0" : "d" + String(v.doubleValue);
  if ("bytesValue" in v) return "b" + v.bytesValue;
  if ("arrayValue" in v || "kvlistValue" in v) return undefined;
  return "e";
}

/** The value a scalarKey stands for. */
export function valueOfScalarKey(k: string): AnyValue {
  const rest = k.slice(1);
  switch (k[0]) {
    case "s":
      return { stringValue: rest };
    case "i":
      return { intValue: rest };
    case "T":
      return { boolValue: true };
    case "F":
      return { boolValue: false };
    case "d":
      return { doubleValue: rest === "-0" ? -0 : Number(rest) };
    case "b":
      return { bytesValue: rest };
    default:
      return {};
  }
}

function toFront<T>(list: T[], p: number): T {
  const x = list[p]!;
  list.copyWithin(1, 0, p);
  list[0] = x;
  return x;
}

function pushFront<T>(list: T[], x: T): void {
  list.unshift(x);
  if (list.length > RECENT_MAX) list.pop();
}

export function writeKeyValues(c: ColumnsWriter, refs: StringRefs, kvs: KeyValue[]): void {
  c.cols[Col.COUNTS]!.uvarint(kvs.length);
  const keys = c.cols[Col.ATTR_KEY]!;
  for (const kv of kvs) {
    keys.uvarint(refs.ref(kv.key));
    writeAttributeValue(c, refs, kv.key, kv.value);
  }
}

export function readKeyValues(c: ColumnsReader, strings: StringTable): KeyValue[] {
  const n = c.cols[Col.COUNTS]!.uvarint();
  const out: KeyValue[] = [];
  const keys = c.cols[Col.ATTR_KEY]!;
  for (let i = 0; i < n; i++) {
    const key = strings.read(keys);
    out.push({ key, value: readAttributeValue(c, strings, key) });
  }
  return out;
}

/** The value of attribute `key`, coded against the key's recent values (see RECENT). */
export function writeAttributeValue(c: ColumnsWriter, refs: StringRefs, key: string, value: AnyValue): void {
  const sk = scalarKey(value);
  if (sk === undefined) {
    writeValue(c, refs, value);
    return;
  }
  let recent = refs.recent.get(key);
  if (!recent) refs.recent.set(key, (recent = []));
  const p = recent.indexOf(sk);
  if (p >= 0) {
    c.cols[Col.VAL_TAG]!.byte(RECENT + p);
    toFront(recent, p);
  } else {
    writeValue(c, refs, value);
    pushFront(recent, sk);
  }
}

export function readAttributeValue(c: ColumnsReader, strings: StringTable, key: string): AnyValue {
  const tag = c.cols[Col.VAL_TAG]!.byte();
  let recent = strings.recent.get(key);
  if (!recent) strings.recent.set(key, (recent = []));
  if (tag >= RECENT && tag < RECENT + RECENT_MAX) {
    const cached = recent[tag - RECENT];
    if (cached === undefined) throw new RangeError(`recent-value reference ${tag - RECENT} out of range`);
    toFront(recent, tag - RECENT);
    return cloneValue(cached);
  }
  const value = readTaggedValue(c, strings, tag);
  // Scalars are what writeAttributeValue keeps (scalarKey defined), without making the key.
  if (!("arrayValue" in value || "kvlistValue" in value)) pushFront(recent, value);
  return value;
}

// ---- resource and scope entries -----------------------------------------------------------------

/** A resource with its ResourceSpans' schema URL: what a resource reference stands for. */
export interface ResourceEntry {
  resource: Resource;
  schemaUrl: string;
}

/** A scope with its ScopeSpans' schema URL. */
export interface ScopeEntry {
  scope: InstrumentationScope;
  schemaUrl: string;
}

export function writeResourceEntry(c: ColumnsWriter, refs: StringRefs, e: ResourceEntry): void {
  c.cols[Col.HEAD]!.uvarint(refs.ref(e.schemaUrl));
  c.cols[Col.COUNTS]!.uvarint(e.resource.droppedAttributesCount);
  writeKeyValues(c, refs, e.resource.attributes);
}

export function readResourceEntry(c: ColumnsReader, strings: StringTable): ResourceEntry {
  const schemaUrl = strings.read(c.cols[Col.HEAD]!);
  const droppedAttributesCount = c.cols[Col.COUNTS]!.uvarint();
  const attributes = readKeyValues(c, strings);
  return { resource: { attributes, droppedAttributesCount }, schemaUrl };
}

export function writeScopeEntry(c: ColumnsWriter, refs: StringRefs, e: ScopeEntry): void {
  const head = c.cols[Col.HEAD]!;
  head.uvarint(refs.ref(e.scope.name));
  head.uvarint(refs.ref(e.scope.version));
  head.uvarint(refs.ref(e.schemaUrl));
  c.cols[Col.COUNTS]!.uvarint(e.scope.droppedAttributesCount);
  writeKeyValues(c, refs, e.scope.attributes);
}

export function readScopeEntry(c: ColumnsReader, strings: StringTable): ScopeEntry {
  const head = c.cols[Col.HEAD]!;
  const name = strings.read(head);
  const version = strings.read(head);
  const schemaUrl = strings.read(head);
  const droppedAttributesCount = c.cols[Col.COUNTS]!.uvarint();
  const attributes = readKeyValues(c, strings);
  return { scope: { name, version, attributes, droppedAttributesCount }, schemaUrl };
}

/** Every string a list of attributes would reference (text forms of odd numbers excepted). */
export function collectKeyValueStrings(kvs: KeyValue[], add: (s: string) => void): void {
  for (const kv of kvs) {
    add(kv.key);
    const v = kv.value;
    if ("stringValue" in v) add(v.stringValue);
    else if ("kvlistValue" in v) collectKeyValueStrings(v.kvlistValue.values, add);
    else if ("arrayValue" in v) for (const x of v.arrayValue.values) collectKeyValueStrings([{ key: "", value: x }], add);
  }
}

// ---- copies ------------------------------------------------------------------------------------

/** A deep copy (decoded dictionary entries are shared by many traces; callers get their own). */
export function cloneValue(v: AnyValue): AnyValue {
  // Literals for the common scalars: a decoded value has its one key, and a spread copies slower.
  if ("stringValue" in v) return { stringValue: v.stringValue };
  if ("intValue" in v) return { intValue: v.intValue };
  if ("arrayValue" in v) return { arrayValue: { values: v.arrayValue.values.map(cloneValue) } };
  if ("kvlistValue" in v) return { kvlistValue: { values: cloneKeyValues(v.kvlistValue.values) } };
  return { ...v } as AnyValue;
}

export function cloneKeyValues(kvs: KeyValue[]): KeyValue[] {
  return kvs.map((kv) => ({ key: kv.key, value: cloneValue(kv.value) }));
}

// ---- identity -----------------------------------------------------------------------------------

/**
 * A string equal for two values exactly when they encode the same (doubles by bit pattern class:
 * -0 apart from 0, NaN equal to NaN), used to merge identical resources and scopes.
 */
export function valueKey(v: AnyValue): string {
  if ("stringValue" in v) return "s" + JSON.stringify(v.stringValue);
  if ("boolValue" in v) return v.boolValue ? "T" : "F";
  if ("intValue" in v) return "i" + JSON.stringify(v.intValue);
  if ("doubleValue" in v) return "d" + (Object.is(v.doubleValue, -0) ? "-0" : String(v.doubleValue));
  if ("bytesValue" in v) return "b" + JSON.stringify(v.bytesValue);
  if ("arrayValue" in v) return "a[" + v.arrayValue.values.map(valueKey).join(",") + "]";
  if ("kvlistValue" in v) return "k" + keyValuesKey(v.kvlistValue.values);
  return "e";
}

export function keyValuesKey(kvs: KeyValue[]): string {
  let s = "{";
  for (const kv of kvs) s += JSON.stringify(kv.key) + ":" + valueKey(kv.value) + ",";
  return s + "}";
}

export function resourceEntryKey(e: ResourceEntry): string {
  return `${JSON.stringify(e.schemaUrl)}|${e.resource.droppedAttributesCount}|${keyValuesKey(e.resource.attributes)}`;
}

export function scopeEntryKey(e: ScopeEntry): string {
  const s = e.scope;
  return `${JSON.stringify(e.schemaUrl)}|${JSON.stringify(s.name)}|${JSON.stringify(s.version)}|${s.droppedAttributesCount}|${keyValuesKey(s.attributes)}`;
}
