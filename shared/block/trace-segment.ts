/**
 * @module
 * The span payload of one segment (one trace, or a few consecutive small traces) in columns.
 *
 * Per trace: its (resource, scope) containers, identical ones merged, in order of first
 * appearance; then its spans sorted by start time (stable), each naming its container by index.
 * Per span: a reference to its shape (name, kind, flags, attribute keys...: span-shape.ts); id as
 * raw bytes; parent as a back-reference to a span of the same trace (an index delta, usually 1-2
 * bytes) or, when the parent is not in the trace, its id; start as the delta from the previous
 * span's start (the first from the trace start in the summary); end as the duration; attribute
 * values coded per key (value-codec.ts); event times relative to their span's start. Trace id and trace start are not repeated here: the reader
 * always has the trace's summary row, which holds them.
 *
 * Exactness fallbacks, decided per trace: if any id is not lowercase even-length hex, every id of
 * the trace is stored as text; if any time is not a canonical u64, every time is stored as text and
 * spans keep their input order.
 */
import type { ResourceSpans, ScopeSpans, Span, SpanEvent, SpanLink } from "../model/span.ts";
import type { ByteReader, ByteWriter } from "./bytes.ts";
import { Col, ColumnsReader, ColumnsWriter, type Columns, type PlanedReader, type PlanedWriter } from "./columns.ts";
import { hexToBytesOrUndefined } from "./hex-base64.ts";
import { Has, readShapeEntry, shapeKey, shapeOf, writeShapeEntry, type ShapeEntry } from "./span-shape.ts";
import { parseU64 } from "./summarize.ts";
import {
  cloneKeyValues,
  cloneValue,
  collectKeyValueStrings,
  readAttributeValue,
  readKeyValues,
  readResourceEntry,
  readScopeEntry,
  resourceEntryKey,
  scopeEntryKey,
  StringRefs,
  StringTable,
  writeAttributeValue,
  writeKeyValues,
  writeResourceEntry,
  writeScopeEntry,
  type ResourceEntry,
  type ScopeEntry,
} from "./value-codec.ts";

const TEXT_IDS = 1;
const TEXT_TIMES = 2;

export interface PreparedContainer {
  resource: ResourceEntry;
  resourceKey: string;
  scopes: { entry: ScopeEntry; key: string }[];
}

/** A trace made ready for encoding: containers merged, spans in storage order. */
export interface PreparedTrace {
  traceId: string;
  resources: PreparedContainer[];
  /** Spans in storage order, with the flat index of their container and their shape. */
  spans: Span[];
  containerOf: number[];
  shapeKeys: string[];
  shapes: Map<string, ShapeEntry>;
  /** Parsed starts in storage order, when times are canonical. */
  starts: bigint[] | undefined;
  textIds: boolean;
  textTimes: boolean;
}

// Resource and scope keys are costly to compute and the same objects recur across traces (ingest
// grouping shares them), so they are cached per object.
const resourceKeys = new WeakMap<object, Map<string, string>>();
function cachedKey<T extends object>(obj: T, schemaUrl: string, make: () => string): string {
  let bySchema = resourceKeys.get(obj);
  if (!bySchema) resourceKeys.set(obj, (bySchema = new Map()));
  let k = bySchema.get(schemaUrl);
  if (k === undefined) bySchema.set(schemaUrl, (k = make()));
  return k;
}

function isHexId(id: string): boolean {
  return hexToBytesOrUndefined(id) !== undefined;
}

export function prepareTrace(traceId: string, resourceSpans: ResourceSpans[]): PreparedTrace {
  const resources: PreparedContainer[] = [];
  const resourceIndex = new Map<string, number>();
  const spans: Span[] = [];
  const pairs: number[] = []; // resource index, scope index per span
  let textIds = false;
  let textTimes = false;
  for (const rs of resourceSpans) {
    const rEntry = { resource: rs.resource, schemaUrl: rs.schemaUrl };
    const rKey = cachedKey(rs.resource, rs.schemaUrl, () => resourceEntryKey(rEntry));
    let ri = resourceIndex.get(rKey);
    if (ri === undefined) {
      ri = resources.length;
      resourceIndex.set(rKey, ri);
      resources.push({ resource: rEntry, resourceKey: rKey, scopes: [] });
    }
    const container = resources[ri]!;
    for (const ss of rs.scopeSpans) {
      const sEntry = { scope: ss.scope, schemaUrl: ss.schemaUrl };
      const sKey = cachedKey(ss.scope, ss.schemaUrl, () => scopeEntryKey(sEntry));
      let si = container.scopes.findIndex((s) => s.key === sKey);
      if (si < 0) {
        si = container.scopes.length;
        container.scopes.push({ entry: sEntry, key: sKey });
      }
      for (const span of ss.spans) {
        if (span.traceId !== traceId) throw new Error(`span ${span.spanId} has trace id ${span.traceId}, not ${traceId}`);
        spans.push(span);
        pairs.push(ri, si);
        if (!textIds && !(isHexId(span.spanId) && isHexId(span.parentSpanId) && span.links.every((l) => isHexId(l.traceId) && isHexId(l.spanId)))) {
          textIds = true;
        }
        if (!textTimes && !(parseU64(span.startTimeUnixNano) !== undefined && parseU64(span.endTimeUnixNano) !== undefined && span.events.every((e) => parseU64(e.timeUnixNano) !== undefined))) {
          textTimes = true;
        }
      }
    }
  }
  const firstContainer: number[] = [];
  let flat = 0;
  for (const r of resources) {
    firstContainer.push(flat);
    flat += r.scopes.length;
  }
  const containerOfInput = spans.map((_, i) => firstContainer[pairs[2 * i]!]! + pairs[2 * i + 1]!);
  const shapes = new Map<string, ShapeEntry>();
  const shapeKeysInput = spans.map((span) => {
    const shape = shapeOf(span);
    const key = shapeKey(shape);
    if (!shapes.has(key)) shapes.set(key, shape);
    return key;
  });
  if (textTimes) {
    return { traceId, resources, spans, containerOf: containerOfInput, shapeKeys: shapeKeysInput, shapes, starts: undefined, textIds, textTimes };
  }
  const startsInput = spans.map((s) => BigInt(s.startTimeUnixNano));
  const order = spans.map((_, i) => i);
  // Array.prototype.sort is stable: equal starts keep their input order.
  order.sort((a, b) => (startsInput[a]! < startsInput[b]! ? -1 : startsInput[a]! > startsInput[b]! ? 1 : 0));
  return {
    traceId,
    resources,
    spans: order.map((i) => spans[i]!),
    containerOf: order.map((i) => containerOfInput[i]!),
    shapeKeys: order.map((i) => shapeKeysInput[i]!),
    shapes,
    starts: order.map((i) => startsInput[i]!),
    textIds,
    textTimes,
  };
}

/** What a segment's references to the block dictionary resolve against. */
export interface SharedEntries {
  strings: ReadonlyMap<string, number> | undefined;
  resources: ReadonlyMap<string, number>;
  scopes: ReadonlyMap<string, number>;
  shapes: ReadonlyMap<string, number>;
}

export interface EncodedSegment {
  raw: Uint8Array;
  /** Bytes at the end of `raw` (the id column) that are not worth compressing. */
  tailLength: number;
}

/**
 * Calls `add` for every string the traces' segment would reference, once per use: what the block
 * dictionary is chosen from. (Text forms of odd numbers, ids and times are left out: they are rare,
 * and a string missed here is simply stored in the segment.)
 */
export function collectStrings(traces: PreparedTrace[], add: (s: string) => void): void {
  for (const t of traces) {
    for (const r of t.resources) {
      add(r.resource.schemaUrl);
      collectKeyValueStrings(r.resource.resource.attributes, add);
      for (const { entry } of r.scopes) {
        add(entry.scope.name);
        add(entry.scope.version);
        add(entry.schemaUrl);
        collectKeyValueStrings(entry.scope.attributes, add);
      }
    }
    for (const s of t.spans) {
      add(s.traceState);
      add(s.name);
      collectKeyValueStrings(s.attributes, add);
      add(s.status.message);
      for (const e of s.events) {
        add(e.name);
        collectKeyValueStrings(e.attributes, add);
      }
      for (const l of s.links) {
        add(l.traceState);
        collectKeyValueStrings(l.attributes, add);
      }
    }
  }
}

/**
 * Encodes consecutive traces into one segment (uncompressed). Strings, resources and scopes found
 * in `shared` are referenced, the others written into the segment.
 */
export function encodeSegment(traces: PreparedTrace[], shared: SharedEntries): EncodedSegment {
  const c = new ColumnsWriter();
  const refs = new StringRefs(shared.strings);
  const head = c.cols[Col.HEAD]!;

  // Local resources and scopes first: the reader needs them before the traces that use them.
  const localResources = new Map<string, number>();
  const localScopes = new Map<string, number>();
  const localShapes = new Map<string, number>();
  const resourceEntries: ResourceEntry[] = [];
  const scopeEntries: ScopeEntry[] = [];
  const shapeEntries: ShapeEntry[] = [];
  for (const t of traces) {
    for (const [key, shape] of t.shapes) {
      if (!shared.shapes.has(key) && !localShapes.has(key)) {
        localShapes.set(key, shapeEntries.length);
        shapeEntries.push(shape);
      }
    }
    for (const r of t.resources) {
      if (!shared.resources.has(r.resourceKey) && !localResources.has(r.resourceKey)) {
        localResources.set(r.resourceKey, resourceEntries.length);
        resourceEntries.push(r.resource);
      }
      for (const s of r.scopes) {
        if (!shared.scopes.has(s.key) && !localScopes.has(s.key)) {
          localScopes.set(s.key, scopeEntries.length);
          scopeEntries.push(s.entry);
        }
      }
    }
  }
  head.uvarint(resourceEntries.length);
  head.uvarint(scopeEntries.length);
  head.uvarint(shapeEntries.length);
  head.uvarint(traces.length);
  writeEntries(c, refs, resourceEntries, scopeEntries, shapeEntries);
  const spanCols = spanColumns(c);
  const shapeRef = (key: string) => {
    const si = shared.shapes.get(key);
    return si !== undefined ? si * 2 : localShapes.get(key)! * 2 + 1;
  };

  for (const t of traces) {
    head.uvarint((t.textIds ? TEXT_IDS : 0) | (t.textTimes ? TEXT_TIMES : 0));
    head.uvarint(t.resources.length);
    for (const r of t.resources) {
      const sharedIndex = shared.resources.get(r.resourceKey);
      head.uvarint(sharedIndex !== undefined ? sharedIndex * 2 : localResources.get(r.resourceKey)! * 2 + 1);
      head.uvarint(r.scopes.length);
      for (const s of r.scopes) {
        const si = shared.scopes.get(s.key);
        head.uvarint(si !== undefined ? si * 2 : localScopes.get(s.key)! * 2 + 1);
      }
    }
    head.uvarint(t.spans.length);
    encodeSpans(c, spanCols, refs, t, shapeRef);
  }

  refs.writeTable(c.cols[Col.STRINGS]!);
  const { bytes, tailLength } = c.finish();
  return { raw: bytes, tailLength };
}

/** The columns a span's fields go to, named once for the encoder and the decoder (one per segment). */
function spanColumns<B, P>(c: Columns<B, P>) {
  const col = c.cols;
  return {
    shape: col[Col.SHAPE]!,
    container: col[Col.CONTAINER]!,
    idLen: col[Col.ID_LEN]!,
    id: col[Col.ID]!,
    parent: col[Col.PARENT]!,
    traceState: col[Col.TRACE_STATE]!,
    name: col[Col.NAME]!,
    start: c.planed(Col.START),
    duration: c.planed(Col.DURATION),
    counts: col[Col.COUNTS]!,
    status: col[Col.STATUS]!,
    eventTime: col[Col.EVENT_TIME]!,
    link: col[Col.LINK]!,
  };
}
type SpanColumns<B, P> = ReturnType<typeof spanColumns<B, P>>;

function encodeSpans(c: ColumnsWriter, cols: SpanColumns<ByteWriter, PlanedWriter>, refs: StringRefs, t: PreparedTrace, shapeRef: (key: string) => number): void {
  const { shape, container, idLen, id, parent, traceState, name, start, duration, counts, status, eventTime, link } = cols;

  const writeId = t.textIds
    ? (s: string) => id.uvarint(refs.ref(s))
    : (s: string) => {
        const b = hexToBytesOrUndefined(s)!;
        idLen.uvarint(b.length);
        id.bytes(b);
      };

  const firstIndex = new Map<string, number>();
  t.spans.forEach((s, i) => {
    if (!firstIndex.has(s.spanId)) firstIndex.set(s.spanId, i);
  });

  let prevStart = t.starts?.[0] ?? 0n;
  for (let i = 0; i < t.spans.length; i++) {
    const s = t.spans[i]!;
    const key = t.shapeKeys[i]!;
    const { has, fixed } = t.shapes.get(key)!;
    shape.uvarint(shapeRef(key));
    container.uvarint(t.containerOf[i]!);
    writeId(s.spanId);
    if (s.parentSpanId === "") {
      parent.uvarint(0);
    } else {
      const p = firstIndex.get(s.parentSpanId);
      if (p === undefined) {
        parent.uvarint(1);
        writeId(s.parentSpanId);
      } else {
        const d = i - p;
        parent.uvarint(2 + (d >= 0 ? 2 * d : -2 * d - 1));
      }
    }
    let spanStart = 0n;
    if (t.starts) {
      spanStart = t.starts[i]!;
      start.add(spanStart - prevStart);
      prevStart = spanStart;
      duration.addSigned(BigInt(s.endTimeUnixNano) - spanStart);
    } else {
      start.add(BigInt(refs.ref(s.startTimeUnixNano)));
      duration.add(BigInt(refs.ref(s.endTimeUnixNano)));
    }
    // The keys are in the shape; only the values it does not fix are written.
    s.attributes.forEach((kv, j) => {
      if (fixed[j] === undefined) writeAttributeValue(c, refs, kv.key, kv.value);
    });
    if (has & Has.STATUS_MESSAGE) status.uvarint(refs.ref(s.status.message));
    if (has & Has.DROPPED_ATTRIBUTES) counts.uvarint(s.droppedAttributesCount);
    if (has & Has.EVENTS) {
      counts.uvarint(s.events.length);
      for (const e of s.events) {
        if (t.starts) eventTime.sbig(BigInt(e.timeUnixNano) - spanStart);
        else eventTime.uvarint(refs.ref(e.timeUnixNano));
        name.uvarint(refs.ref(e.name));
        writeKeyValues(c, refs, e.attributes);
        counts.uvarint(e.droppedAttributesCount);
      }
    }
    if (has & Has.DROPPED_EVENTS) counts.uvarint(s.droppedEventsCount);
    if (has & Has.LINKS) {
      counts.uvarint(s.links.length);
      for (const l of s.links) {
        writeId(l.traceId);
        writeId(l.spanId);
        traceState.uvarint(refs.ref(l.traceState));
        link.uvarint(l.flags);
        writeKeyValues(c, refs, l.attributes);
        counts.uvarint(l.droppedAttributesCount);
      }
    }
    if (has & Has.DROPPED_LINKS) counts.uvarint(s.droppedLinksCount);
  }
}

/** Writes the resource, scope and shape entries that a dictionary or a segment lists after their counts. */
export function writeEntries(c: ColumnsWriter, refs: StringRefs, resources: readonly ResourceEntry[], scopes: readonly ScopeEntry[], shapes: readonly ShapeEntry[]): void {
  for (const e of resources) writeResourceEntry(c, refs, e);
  for (const e of scopes) writeScopeEntry(c, refs, e);
  for (const e of shapes) writeShapeEntry(c, refs, e);
}

/** Reads the entries `writeEntries` wrote, given their counts. */
export function readEntries(c: ColumnsReader, strings: StringTable, nResources: number, nScopes: number, nShapes: number): { resources: ResourceEntry[]; scopes: ScopeEntry[]; shapes: ShapeEntry[] } {
  const resources: ResourceEntry[] = [];
  const scopes: ScopeEntry[] = [];
  const shapes: ShapeEntry[] = [];
  for (let i = 0; i < nResources; i++) resources.push(readResourceEntry(c, strings));
  for (let i = 0; i < nScopes; i++) scopes.push(readScopeEntry(c, strings));
  for (let i = 0; i < nShapes; i++) shapes.push(readShapeEntry(c, strings));
  return { resources, scopes, shapes };
}

/** The decoded block dictionary that segment references resolve against. */
export interface DictionaryEntries {
  strings: readonly string[];
  resources: readonly ResourceEntry[];
  scopes: readonly ScopeEntry[];
  shapes: readonly ShapeEntry[];
}

/** What the reader knows of each trace from its summary row. */
export interface SegmentTraceKey {
  traceId: string;
  startTimeUnixNano: string;
}

/**
 * Decodes the traces of an (uncompressed) segment. `keyOf(i)` gives trace i's id and start from
 * its summary row, or undefined for a trace the caller does not want (parsed, then dropped).
 */
export function decodeSegment(raw: Uint8Array, dict: DictionaryEntries, keyOf: (index: number) => SegmentTraceKey | undefined): (ResourceSpans[] | undefined)[] {
  const c = new ColumnsReader(raw);
  const strings = StringTable.readLocal(c.cols[Col.STRINGS]!, dict.strings);
  const head = c.cols[Col.HEAD]!;
  const nResources = head.uvarint();
  const nScopes = head.uvarint();
  const nShapes = head.uvarint();
  const nTraces = head.uvarint();
  const local = readEntries(c, strings, nResources, nScopes, nShapes);
  const spanCols = spanColumns(c);
  const pick = <T>(ref: number, shared: readonly T[], local: T[], what: string): T => {
    const e = ref % 2 === 0 ? shared[ref / 2] : local[(ref - 1) / 2];
    if (e === undefined) throw new RangeError(`${what} reference ${ref} out of range`);
    return e;
  };

  const out: (ResourceSpans[] | undefined)[] = [];
  for (let t = 0; t < nTraces; t++) {
    const key = keyOf(t);
    const mode = head.uvarint();
    const containers: ScopeSpans[] = [];
    const resourceSpans: ResourceSpans[] = [];
    const nr = head.uvarint();
    for (let r = 0; r < nr; r++) {
      const re = pick(head.uvarint(), dict.resources, local.resources, "resource");
      const rs: ResourceSpans = {
        resource: { attributes: cloneKeyValues(re.resource.attributes), droppedAttributesCount: re.resource.droppedAttributesCount },
        scopeSpans: [],
        schemaUrl: re.schemaUrl,
      };
      const ns = head.uvarint();
      for (let s = 0; s < ns; s++) {
        const se = pick(head.uvarint(), dict.scopes, local.scopes, "scope");
        const ss: ScopeSpans = { scope: { ...se.scope, attributes: cloneKeyValues(se.scope.attributes) }, spans: [], schemaUrl: se.schemaUrl };
        rs.scopeSpans.push(ss);
        containers.push(ss);
      }
      resourceSpans.push(rs);
    }
    const nSpans = head.uvarint();
    const shapeOfRef = (ref: number) => pick(ref, dict.shapes, local.shapes, "shape");
    decodeSpans(c, spanCols, strings, mode, key ?? { traceId: "", startTimeUnixNano: "0" }, nSpans, containers, shapeOfRef);
    out.push(key ? resourceSpans : undefined);
  }
  c.assertConsumed();
  strings.assertConsumed();
  return out;
}

function decodeSpans(
  c: ColumnsReader,
  cols: SpanColumns<ByteReader, PlanedReader>,
  strings: StringTable,
  mode: number,
  key: SegmentTraceKey,
  n: number,
  containers: ScopeSpans[],
  shapeOfRef: (ref: number) => ShapeEntry,
): void {
  const { shape: shapeCol, container, idLen, id, parent, traceState, name, start, duration, counts, status, eventTime, link } = cols;
  const textIds = (mode & TEXT_IDS) !== 0;
  const textTimes = (mode & TEXT_TIMES) !== 0;
  const readId = textIds ? () => strings.read(id) : () => id.hex(idLen.uvarint());

  const spanIds: string[] = [];
  const spans: Span[] = [];
  const forward: [child: number, parent: number][] = [];
  let prevStart = textTimes ? 0n : BigInt(key.startTimeUnixNano);
  for (let i = 0; i < n; i++) {
    const shape = shapeOfRef(shapeCol.uvarint());
    const has = shape.has;
    const into = containers[container.uvarint()];
    if (!into) throw new RangeError("span container reference out of range");
    const spanId = readId();
    spanIds.push(spanId);
    const p = parent.uvarint();
    let parentSpanId = "";
    if (p === 1) parentSpanId = readId();
    else if (p >= 2) {
      const z = p - 2;
      const target = i - (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
      if (!(target >= 0 && target < n)) throw new RangeError("parent reference out of range");
      // A parent that starts later than its child comes later in the segment: fill in at the end.
      if (target < i) parentSpanId = spanIds[target]!;
      else forward.push([i, target]);
    }
    let startTime: string;
    let endTime: string;
    let spanStart = 0n;
    if (textTimes) {
      startTime = strings.get(Number(start.next()));
      endTime = strings.get(Number(duration.next()));
    } else {
      spanStart = prevStart + start.next();
      prevStart = spanStart;
      startTime = spanStart.toString();
      endTime = (spanStart + duration.nextSigned()).toString();
    }
    const attributes = shape.keys.map((k, j) => {
      const f = shape.fixed[j];
      return { key: k, value: f === undefined ? readAttributeValue(c, strings, k) : cloneValue(f) };
    });
    const message = has & Has.STATUS_MESSAGE ? strings.read(status) : "";
    const droppedAttributesCount = has & Has.DROPPED_ATTRIBUTES ? counts.uvarint() : 0;

    const events: SpanEvent[] = [];
    const nEvents = has & Has.EVENTS ? counts.uvarint() : 0;
    for (let e = 0; e < nEvents; e++) {
      const timeUnixNano = textTimes ? strings.read(eventTime) : (spanStart + eventTime.sbig()).toString();
      const eventName = strings.read(name);
      const eventAttributes = readKeyValues(c, strings);
      events.push({ timeUnixNano, name: eventName, attributes: eventAttributes, droppedAttributesCount: counts.uvarint() });
    }
    const droppedEventsCount = has & Has.DROPPED_EVENTS ? counts.uvarint() : 0;

    const links: SpanLink[] = [];
    const nLinks = has & Has.LINKS ? counts.uvarint() : 0;
    for (let l = 0; l < nLinks; l++) {
      const linkTraceId = readId();
      const linkSpanId = readId();
      const linkTraceState = strings.read(traceState);
      const linkFlags = link.uvarint();
      const linkAttributes = readKeyValues(c, strings);
      links.push({
        traceId: linkTraceId,
        spanId: linkSpanId,
        traceState: linkTraceState,
        attributes: linkAttributes,
        droppedAttributesCount: counts.uvarint(),
        flags: linkFlags,
      });
    }
    const droppedLinksCount = has & Has.DROPPED_LINKS ? counts.uvarint() : 0;

    const span: Span = {
      traceId: key.traceId,
      spanId,
      traceState: shape.traceState,
      parentSpanId,
      flags: shape.flags,
      name: shape.name,
      kind: shape.kind,
      startTimeUnixNano: startTime,
      endTimeUnixNano: endTime,
      attributes,
      droppedAttributesCount,
      events,
      droppedEventsCount,
      links,
      droppedLinksCount,
      status: { code: shape.statusCode, message },
    };
    spans.push(span);
    into.spans.push(span);
  }
  for (const [child, parentIndex] of forward) spans[child]!.parentSpanId = spanIds[parentIndex]!;
}
