/**
 * @module
 * What a block, or one segment of it, holds, in a form a query can test without decoding spans:
 * which attribute names occur, which (name, value) pairs for names with few values, the numeric
 * range per name, the span names, kinds and status codes, and the span-duration range. A search
 * skips a block (catalog copy, in D1) or a segment (in the block's summary table) when the test
 * says "certainly not"; Bloom-filter false positives only cost a read, never a missed span.
 *
 * Sound by construction for every matcher that reads these facts:
 * - names and pairs cover span, resource and event attributes (Jaeger matches log fields too);
 * - a pair is stored in every string form a matcher compares by: the string itself, `true`/`false`,
 *   an int's decimal as sent and as `Number` prints it, a double as `String` prints it. A name
 *   with a bytes, array or map value, or with more than `maxValuesPerName` values, is marked
 *   "many" and its pairs are not stored (a pair test on it answers "maybe");
 * - numeric ranges take ints by `Number()` and doubles (NaN left out: it compares false), as the
 *   TraceQL engine reads them;
 * - durations are `spanDurationNanos` (summarize.ts), the one reading every matcher uses;
 * - string lists (version 2) hold, for names with few string values, every one of those values
 *   (`stringValue`s only: TraceQL compares strings, regexes included, with strings alone), so a
 *   regex can be tested on them; a name left out (too many values, or past `maxListBytes`) is
 *   "maybe".
 *
 * Bytes: `[2][flags: 1 = many span names, 2 = parent keys present, 4 = many parent span names]
 * [kinds bitmask][status bitmask][span count][min duration][max duration][numeric names: name,
 * min f64, max f64 ...][Bloom filter (trace-filter.ts) of the keys][string lists: count, then
 * per name: name, value count, values]`. Keys: `a\0name`, `v\0name\0value`, `m\0name` (many
 * values), `n\0span name`, and the same prefixed `p` for the spans that are some span's parent
 * (structural operators' parent side). Version 1 is the same without the string lists.
 */
import { ByteReader, ByteWriter } from "./bytes.ts";
import { spanDurationNanos } from "./summarize.ts";
import { buildFilter, filterMayContain } from "./trace-filter.ts";
import type { AnyValue, KeyValue, Resource, ResourceSpans, Span } from "../model/span.ts";

const VERSION = 2;
/** Version 1: no string lists (every list test answers "maybe"). Still read: catalogued blocks keep it. */
const VERSION_NO_LISTS = 1;
const BITS_PER_KEY = 10;
/** Distinct values kept per name while collecting; past it the name is "many" anyway. */
const COLLECT_CAP = 512;

export interface IndexCaps {
  /** A name with more distinct values than this stores no pairs. */
  maxValuesPerName: number;
  /** More distinct span names than this: span names are not stored. */
  maxSpanNames: number;
  /**
   * Bytes the string lists may take; the names with the smallest lists are listed first, the
   * rest not at all. Keeps the catalog column (D1) and the summary table's tail read small.
   */
  maxListBytes: number;
}

/** Segments are small: few values each. Blocks keep more, for the catalog copy. */
export const SEGMENT_INDEX_CAPS: IndexCaps = { maxValuesPerName: 32, maxSpanNames: 256, maxListBytes: 512 };
export const BLOCK_INDEX_CAPS: IndexCaps = { maxValuesPerName: 128, maxSpanNames: 1024, maxListBytes: 2048 };

const MANY = "many" as const;

/** The string forms a tag matcher may compare this value by; undefined: not enumerable. */
function valueForms(v: AnyValue): string[] | undefined {
  if ("stringValue" in v) return [v.stringValue];
  if ("boolValue" in v) return [v.boolValue ? "true" : "false"];
  if ("intValue" in v) {
    const asNumber = String(Number(v.intValue));
    return asNumber === v.intValue ? [v.intValue] : [v.intValue, asNumber];
  }
  if ("doubleValue" in v) return [String(v.doubleValue)];
  return undefined;
}

function numberOf(v: AnyValue): number | undefined {
  if ("intValue" in v) return Number(v.intValue);
  if ("doubleValue" in v) return v.doubleValue;
  return undefined;
}

/** Attribute values per name and span names of some spans, capped (see COLLECT_CAP). */
class NamesAndValues {
  readonly values = new Map<string, Set<string> | typeof MANY>();
  /** The `stringValue`s per name, apart (other types never match a string comparison); null: not kept. */
  readonly strings: Map<string, Set<string> | typeof MANY> | null;
  spanNames: Set<string> | typeof MANY = new Set();
  readonly #resources = new WeakSet<Resource>();

  constructor(keepStrings: boolean) {
    this.strings = keepStrings ? new Map() : null;
  }

  addSpan(span: Span, resource: Resource, onAttributes: (attrs: readonly KeyValue[]) => void = () => {}): void {
    if (!this.#resources.has(resource)) {
      this.#resources.add(resource);
      this.addAttributes(resource.attributes);
      onAttributes(resource.attributes);
    }
    this.addAttributes(span.attributes);
    onAttributes(span.attributes);
    for (const e of span.events) {
      this.addAttributes(e.attributes);
      onAttributes(e.attributes);
    }
    if (this.spanNames !== MANY) {
      this.spanNames.add(span.name);
      if (this.spanNames.size > COLLECT_CAP) this.spanNames = MANY;
    }
  }

  addAttributes(attrs: readonly KeyValue[]): void {
    for (const { key, value } of attrs) {
      if (this.strings) {
        const s = this.strings.get(key);
        if (s !== MANY) {
          const set = s ?? new Set<string>();
          if ("stringValue" in value) set.add(value.stringValue);
          this.strings.set(key, set.size > COLLECT_CAP ? MANY : set);
        }
      }
      const have = this.values.get(key);
      if (have === MANY) continue;
      const forms = valueForms(value);
      if (!forms) {
        this.values.set(key, MANY);
        continue;
      }
      const set = have ?? new Set<string>();
      for (const f of forms) set.add(f);
      this.values.set(key, set.size > COLLECT_CAP ? MANY : set);
    }
  }

  absorb(other: NamesAndValues): void {
    if (this.strings && other.strings) mergeCapped(this.strings, other.strings);
    for (const [key, vs] of other.values) {
      const have = this.values.get(key);
      if (have === MANY) continue;
      if (vs === MANY) {
        this.values.set(key, MANY);
        continue;
      }
      const set = have ?? new Set<string>();
      for (const v of vs) set.add(v);
      this.values.set(key, set.size > COLLECT_CAP ? MANY : set);
    }
    if (this.spanNames !== MANY) {
      if (other.spanNames === MANY) this.spanNames = MANY;
      else {
        for (const n of other.spanNames) this.spanNames.add(n);
        if (this.spanNames.size > COLLECT_CAP) this.spanNames = MANY;
      }
    }
  }

  /** Bloom keys under `prefix` (a name, its pairs or its "many" mark, span names); whether span names were too many. */
  keys(prefix: string, caps: IndexCaps, into: string[]): boolean {
    for (const [name, vs] of this.values) {
      into.push(`${prefix}a\0${name}`);
      if (vs === MANY || vs.size > caps.maxValuesPerName) into.push(`${prefix}m\0${name}`);
      else for (const v of vs) into.push(`${prefix}v\0${name}\0${v}`);
    }
    const many = this.spanNames === MANY || this.spanNames.size > caps.maxSpanNames;
    if (this.spanNames !== MANY && !many) for (const n of this.spanNames) into.push(`${prefix}n\0${n}`);
    return many;
  }
}

function mergeCapped(into: Map<string, Set<string> | typeof MANY>, from: Map<string, Set<string> | typeof MANY>): void {
  for (const [key, vs] of from) {
    const have = into.get(key);
    if (have === MANY) continue;
    if (vs === MANY) {
      into.set(key, MANY);
      continue;
    }
    const set = have ?? new Set<string>();
    for (const v of vs) set.add(v);
    into.set(key, set.size > COLLECT_CAP ? MANY : set);
  }
}

/**
 * The string lists that fit `caps`: names with at most `maxValuesPerName` string values (none is
 * fine: the name is there with other types only), smallest first until `maxListBytes` is spent.
 */
function stringLists(strings: Map<string, Set<string> | typeof MANY>, caps: IndexCaps): [string, string[]][] {
  const fits: { name: string; values: string[]; bytes: number }[] = [];
  for (const [name, vs] of strings) {
    if (vs === MANY || vs.size > caps.maxValuesPerName) continue;
    const values = [...vs].sort();
    let bytes = listedBytes(name) + varintBytes(values.length);
    for (const v of values) bytes += listedBytes(v);
    fits.push({ name, values, bytes });
  }
  fits.sort((a, b) => a.bytes - b.bytes || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: [string, string[]][] = [];
  let spent = 0;
  for (const f of fits) {
    if (spent + f.bytes > caps.maxListBytes) break;
    spent += f.bytes;
    out.push([f.name, f.values]);
  }
  return out;
}

const encoder = new TextEncoder();
const utf8Length = (s: string): number => encoder.encode(s).length;
const varintBytes = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4);
/** A length-prefixed string's bytes, as ByteWriter.string writes it. */
const listedBytes = (s: string): number => {
  const n = utf8Length(s);
  return varintBytes(n) + n;
};

/** The span ids some span of `trace` names as its parent: the spans a structural operator can take as parent or ancestor. */
export function parentIdsOf(trace: readonly { scopeSpans: readonly { spans: readonly Span[] }[] }[]): Set<string> {
  const ids = new Set<string>();
  for (const rs of trace) for (const ss of rs.scopeSpans) for (const span of ss.spans) if (span.parentSpanId !== "") ids.add(span.parentSpanId);
  return ids;
}

/** Collects the facts of some spans; `absorb` merges another builder (a segment into its block). */
export class AttributeIndexBuilder {
  readonly all = new NamesAndValues(true);
  /** The same of the spans that are some span's parent (structural operators need those); no string lists. */
  readonly parents = new NamesAndValues(false);
  readonly numeric = new Map<string, [number, number]>();
  kinds = 0;
  statuses = 0;
  spanCount = 0;
  minDuration: bigint | undefined;
  maxDuration: bigint | undefined;

  /**
   * `isParent`: some span of the trace names this span as its parent (parentIdsOf); by default a
   * span counts as one, which is always sound (`addTrace` tells them apart).
   */
  addSpan(span: Span, resource: Resource, isParent = true): void {
    this.spanCount++;
    this.all.addSpan(span, resource, (attrs) => this.#addNumbers(attrs));
    if (isParent) this.parents.addSpan(span, resource);
    if (span.kind >= 0 && span.kind < 8) this.kinds |= 1 << span.kind;
    else this.kinds |= 0x80;
    if (span.status.code >= 0 && span.status.code < 8) this.statuses |= 1 << span.status.code;
    else this.statuses |= 0x80;
    const d = spanDurationNanos(span);
    if (this.minDuration === undefined || d < this.minDuration) this.minDuration = d;
    if (this.maxDuration === undefined || d > this.maxDuration) this.maxDuration = d;
  }

  /** Every span of a trace (or trace fragment), with which of them are parents. */
  addTrace(trace: readonly ResourceSpans[]): void {
    const parents = parentIdsOf(trace);
    for (const rs of trace) for (const ss of rs.scopeSpans) for (const span of ss.spans) this.addSpan(span, rs.resource, parents.has(span.spanId));
  }

  #addNumbers(attrs: readonly KeyValue[]): void {
    for (const { key, value } of attrs) {
      const n = numberOf(value);
      if (n === undefined || Number.isNaN(n)) continue;
      const r = this.numeric.get(key);
      if (!r) this.numeric.set(key, [n, n]);
      else {
        if (n < r[0]) r[0] = n;
        if (n > r[1]) r[1] = n;
      }
    }
  }

  absorb(other: AttributeIndexBuilder): void {
    this.spanCount += other.spanCount;
    this.all.absorb(other.all);
    this.parents.absorb(other.parents);
    for (const [key, [lo, hi]] of other.numeric) {
      const r = this.numeric.get(key);
      if (!r) this.numeric.set(key, [lo, hi]);
      else {
        if (lo < r[0]) r[0] = lo;
        if (hi > r[1]) r[1] = hi;
      }
    }
    this.kinds |= other.kinds;
    this.statuses |= other.statuses;
    if (other.minDuration !== undefined && (this.minDuration === undefined || other.minDuration < this.minDuration)) this.minDuration = other.minDuration;
    if (other.maxDuration !== undefined && (this.maxDuration === undefined || other.maxDuration > this.maxDuration)) this.maxDuration = other.maxDuration;
  }

  encode(caps: IndexCaps): Uint8Array {
    const keys: string[] = [];
    const manyNames = this.all.keys("", caps, keys);
    const manyParentNames = this.parents.keys("p", caps, keys);
    const w = new ByteWriter(64 + keys.length * 2);
    w.byte(VERSION);
    // Bit 2: parent keys are present (indexes written before them answer "maybe" to parent tests).
    w.byte((manyNames ? 1 : 0) | 2 | (manyParentNames ? 4 : 0));
    w.byte(this.kinds);
    w.byte(this.statuses);
    w.uvarint(this.spanCount);
    w.ubig(this.minDuration ?? 0n);
    w.ubig(this.maxDuration ?? 0n);
    w.uvarint(this.numeric.size);
    for (const [name, [lo, hi]] of this.numeric) {
      w.string(name);
      w.f64(lo);
      w.f64(hi);
    }
    const bloom = buildFilter(keys, keys.length, BITS_PER_KEY);
    w.uvarint(bloom.length);
    w.bytes(bloom);
    const lists = stringLists(this.all.strings!, caps);
    w.uvarint(lists.length);
    for (const [name, values] of lists) {
      w.string(name);
      w.uvarint(values.length);
      for (const v of values) w.string(v);
    }
    return w.finish();
  }
}

/** A decoded index: what `indexMayMatch` tests. */
export interface AttributeIndex {
  manySpanNames: boolean;
  /** Parent keys are present (`p` + key): written from their introduction on. */
  hasParentKeys: boolean;
  manyParentSpanNames: boolean;
  kinds: number;
  statuses: number;
  spanCount: number;
  minDuration: bigint;
  maxDuration: bigint;
  numeric: Map<string, [number, number]>;
  bloom: Uint8Array;
  /** Every string value of the names listed; a name not here may have any (version 1: none listed). */
  readonly stringValues: Map<string, string[]>;
}

export function decodeAttributeIndex(bytes: Uint8Array): AttributeIndex {
  const r = new ByteReader(bytes);
  const version = r.byte();
  if (version !== VERSION && version !== VERSION_NO_LISTS) throw new Error(`unknown attribute index version ${version}`);
  const flags = r.byte();
  const manySpanNames = (flags & 1) !== 0;
  const hasParentKeys = (flags & 2) !== 0;
  const manyParentSpanNames = (flags & 4) !== 0;
  const kinds = r.byte();
  const statuses = r.byte();
  const spanCount = r.uvarint();
  const minDuration = r.ubig();
  const maxDuration = r.ubig();
  const numeric = new Map<string, [number, number]>();
  for (let i = r.uvarint(); i > 0; i--) {
    const name = r.string();
    numeric.set(name, [r.f64(), r.f64()]);
  }
  const bloom = r.bytes(r.uvarint());
  // Decoded on first use: most conditions never read them, and they are most of a decode's time.
  const lists = version === VERSION_NO_LISTS ? undefined : r.bytes(r.remaining);
  let stringValues: Map<string, string[]> | undefined;
  return {
    manySpanNames, hasParentKeys, manyParentSpanNames, kinds, statuses, spanCount, minDuration, maxDuration, numeric, bloom,
    get stringValues() {
      return (stringValues ??= decodeStringLists(lists));
    },
  };
}

function decodeStringLists(bytes: Uint8Array | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!bytes) return out;
  const r = new ByteReader(bytes);
  for (let i = r.uvarint(); i > 0; i--) {
    const name = r.string();
    const values: string[] = [];
    for (let j = r.uvarint(); j > 0; j--) values.push(r.string());
    out.set(name, values);
  }
  return out;
}

// ---- what a query can ask of an index ---------------------------------------------------------

export type NumericOp = "=" | ">" | ">=" | "<" | "<=";

/**
 * A necessary condition for a span (or, under `and`, spans) of a matching trace to be in the
 * indexed spans. `all` is "no condition known". Built by each query language's compiler.
 */
export type IndexCondition =
  | { kind: "all" }
  | { kind: "none" }
  | { kind: "and"; of: IndexCondition[] }
  | { kind: "or"; of: IndexCondition[] }
  /** Some span, resource or event attribute has this name. */
  | { kind: "attr"; name: string }
  /** Some attribute `name` has this value (in any of its string forms). */
  | { kind: "pair"; name: string; value: string }
  /**
   * Some attribute `name` has a string value (`stringValue`) for which `test` holds: TraceQL's
   * `=~`, `!~` and `!=` with a string. `label` only names the test (`=~ "re"`) in messages.
   */
  | { kind: "stringMatch"; name: string; label: string; test: (value: string) => boolean }
  /** Some numeric attribute `name` compares true with `value`. */
  | { kind: "numeric"; name: string; op: NumericOp; value: number }
  | { kind: "spanName"; value: string }
  | { kind: "spanKind"; value: number }
  | { kind: "status"; value: number }
  | { kind: "duration"; op: NumericOp; nanos: bigint }
  /** Some span that is another span's parent meets `of` (the left side of `>`, `>>`; the right of `<`, `<<`). */
  | { kind: "parent"; of: IndexCondition };

export const ALL: IndexCondition = { kind: "all" };

/** `and`, dropping `all` and collapsing to `none`. */
export function allOf(conds: IndexCondition[]): IndexCondition {
  const of = conds.flatMap((c) => (c.kind === "all" ? [] : c.kind === "and" ? c.of : [c]));
  if (of.some((c) => c.kind === "none")) return { kind: "none" };
  return of.length === 0 ? ALL : of.length === 1 ? of[0]! : { kind: "and", of };
}

/** `or`: `all` when any side is unknown. */
export function anyOf(conds: IndexCondition[]): IndexCondition {
  if (conds.some((c) => c.kind === "all")) return ALL;
  const of = conds.flatMap((c) => (c.kind === "none" ? [] : c.kind === "or" ? c.of : [c]));
  return of.length === 0 ? { kind: "none" } : of.length === 1 ? of[0]! : { kind: "or", of };
}

const has = (ix: AttributeIndex, key: string) => filterMayContain(ix.bloom, key);

/** Whether some value in [lo, hi] compares true with v (numbers or, for durations, bigints). */
function compareRange<N extends number | bigint>(op: NumericOp, lo: N, hi: N, v: N): boolean {
  switch (op) {
    case "=":
      return lo <= v && v <= hi;
    case ">":
      return hi > v;
    case ">=":
      return hi >= v;
    case "<":
      return lo < v;
    case "<=":
      return lo <= v;
  }
}

/** False only when no span indexed in `ix` can meet `c`. */
export function indexMayMatch(ix: AttributeIndex, c: IndexCondition): boolean {
  // Nothing known rules nothing out, not even a segment of traces without spans (a search with no
  // condition lists those too).
  if (c.kind === "all") return true;
  if (ix.spanCount === 0) return false;
  switch (c.kind) {
    case "none":
      return false;
    case "and":
      return c.of.every((x) => indexMayMatch(ix, x));
    case "or":
      return c.of.some((x) => indexMayMatch(ix, x));
    case "attr":
      return has(ix, `a\0${c.name}`);
    case "pair":
      return has(ix, `a\0${c.name}`) && (has(ix, `m\0${c.name}`) || has(ix, `v\0${c.name}\0${c.value}`));
    case "stringMatch": {
      if (!has(ix, `a\0${c.name}`)) return false;
      const values = ix.stringValues.get(c.name);
      return values === undefined || values.some((v) => c.test(v));
    }
    case "numeric": {
      const r = ix.numeric.get(c.name);
      return r !== undefined && compareRange(c.op, r[0], r[1], c.value);
    }
    case "spanName":
      return ix.manySpanNames || has(ix, `n\0${c.value}`);
    case "spanKind":
      return c.value >= 0 && c.value < 7 ? (ix.kinds & ((1 << c.value) | 0x80)) !== 0 : true;
    case "status":
      return c.value >= 0 && c.value < 7 ? (ix.statuses & ((1 << c.value) | 0x80)) !== 0 : true;
    case "duration":
      return compareRange(c.op, ix.minDuration, ix.maxDuration, c.nanos);
    case "parent":
      return indexMayMatch(ix, c.of) && (!ix.hasParentKeys || parentMayMatch(ix, c.of));
  }
}

/**
 * `c` on the parent keys: names, pairs and span names of parent spans. Facts kept only for all spans
 * (numbers, durations, kinds, statuses) were tested on all spans already: "maybe" here.
 */
function parentMayMatch(ix: AttributeIndex, c: IndexCondition): boolean {
  switch (c.kind) {
    case "and":
      return c.of.every((x) => parentMayMatch(ix, x));
    case "or":
      return c.of.some((x) => parentMayMatch(ix, x));
    case "none":
      return false;
    case "attr":
      return has(ix, `pa\0${c.name}`);
    case "pair":
      return has(ix, `pa\0${c.name}`) && (has(ix, `pm\0${c.name}`) || has(ix, `pv\0${c.name}\0${c.value}`));
    case "stringMatch":
      // Values are listed for all spans only (tested there already): a parent needs the name.
      return has(ix, `pa\0${c.name}`);
    case "spanName":
      return ix.manyParentSpanNames || has(ix, `pn\0${c.value}`);
    case "parent":
      return parentMayMatch(ix, c.of);
    default:
      return true;
  }
}

/** The test on encoded bytes; missing bytes (blocks written before indexes) always "maybe". */
export function encodedIndexMayMatch(bytes: Uint8Array | null | undefined, c: IndexCondition): boolean {
  if (!bytes || c.kind === "all") return true;
  return indexMayMatch(decodeAttributeIndex(bytes), c);
}
