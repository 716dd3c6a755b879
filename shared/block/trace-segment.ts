/**
 * @module
 * The span payload of one segment (one trace, or a few consecutive small traces) in columns.
 *
 * Per trace: its (resource, scope) containers, identical ones merged, in order of first
 * appearance; then its spans sorted by start time (stable), each naming its container by index.
 * Per span: id as raw bytes; parent as a back-reference to a span of the same trace (an index
 * delta, usually 1-2 bytes) or, when the parent is not in the trace, its id; start as the delta from
 * the previous span's start (the first from the trace start in the summary); end as the duration;
 * names, keys, string values, trace states and status messages as string references; event times
 * relative to their span's start. Trace id and trace start are not repeated here: the reader
 * always has the trace's summary row, which holds them.
 *
 * Exactness fallbacks, decided per trace: if any id is not lowercase even-length hex, every id of
 * the trace is stored as text; if any time is not a canonical u64, every time is stored as text and
 * spans keep their input order.
 */
import type { ResourceSpans, ScopeSpans, Span, SpanEvent, SpanLink } from "../model/span.ts";
import { Col, ColumnsReader, ColumnsWriter } from "./columns.ts";
import { bytesToHex, hexToBytesOrUndefined } from "./hex-base64.ts";
import { parseU64 } from "./summarize.ts";
import {
  readKeyValues,
  readResourceEntry,
  readScopeEntry,
  resourceEntryKey,
  scopeEntryKey,
  StringRefs,
  StringTable,
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
  /** Spans in storage order, with the flat index of their container. */
  spans: Span[];
  containerOf: number[];
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
  if (textTimes) return { traceId, resources, spans, containerOf: containerOfInput, starts: undefined, textIds, textTimes };
  const startsInput = spans.map((s) => BigInt(s.startTimeUnixNano));
  const order = spans.map((_, i) => i);
  // Array.prototype.sort is stable: equal starts keep their input order.
  order.sort((a, b) => (startsInput[a]! < startsInput[b]! ? -1 : startsInput[a]! > startsInput[b]! ? 1 : 0));
  return {
    traceId,
    resources,
    spans: order.map((i) => spans[i]!),
    containerOf: order.map((i) => containerOfInput[i]!),
    starts: order.map((i) => startsInput[i]!),
    textIds,
    textTimes,
  };
}

/** What a segment's references to resources and scopes resolve against. */
export interface SharedEntries {
  strings: ReadonlyMap<string, number> | undefined;
  resources: ReadonlyMap<string, number>;
  scopes: ReadonlyMap<string, number>;
}

export interface EncodedSegment {
  raw: Uint8Array;
  /** Bytes at the end of `raw` (the id column) that are not worth compressing. */
  tailLength: number;
  refs: StringRefs;
}

/**
 * Encodes consecutive traces into one segment (uncompressed). Resources and scopes found in
 * `shared` are referenced, the others written into the segment. With `record`, string uses are
 * counted on the returned refs (the dictionary is built from a recording pass).
 */
export function encodeSegment(traces: PreparedTrace[], shared: SharedEntries, record = false): EncodedSegment {
  const c = new ColumnsWriter();
  const refs = new StringRefs(shared.strings, record);
  const head = c.cols[Col.HEAD]!;

  // Local resources and scopes first: the reader needs them before the traces that use them.
  const localResources = new Map<string, number>();
  const localScopes = new Map<string, number>();
  const resourceEntries: ResourceEntry[] = [];
  const scopeEntries: ScopeEntry[] = [];
  for (const t of traces) {
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
  head.uvarint(traces.length);
  for (const e of resourceEntries) writeResourceEntry(c, refs, e);
  for (const e of scopeEntries) writeScopeEntry(c, refs, e);

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
    encodeSpans(c, refs, t);
  }

  refs.writeTable(c.cols[Col.STRINGS]!);
  const { bytes, tailLength } = c.finish();
  return { raw: bytes, tailLength, refs };
}

function encodeSpans(c: ColumnsWriter, refs: StringRefs, t: PreparedTrace): void {
  const col = c.cols;
  const container = col[Col.CONTAINER]!;
  const idLen = col[Col.ID_LEN]!;
  const id = col[Col.ID]!;
  const parent = col[Col.PARENT]!;
  const traceState = col[Col.TRACE_STATE]!;
  const name = col[Col.NAME]!;
  const kind = col[Col.KIND]!;
  const flags = col[Col.FLAGS]!;
  const start = c.planed(Col.START);
  const duration = c.planed(Col.DURATION);
  const counts = col[Col.COUNTS]!;
  const status = col[Col.STATUS]!;
  const eventTime = col[Col.EVENT_TIME]!;
  const link = col[Col.LINK]!;

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
    traceState.uvarint(refs.ref(s.traceState));
    name.uvarint(refs.ref(s.name));
    kind.svarint(s.kind);
    flags.uvarint(s.flags);
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
    writeKeyValues(c, refs, s.attributes);
    counts.uvarint(s.droppedAttributesCount);
    status.svarint(s.status.code);
    status.uvarint(refs.ref(s.status.message));

    counts.uvarint(s.events.length);
    for (const e of s.events) {
      if (t.starts) eventTime.sbig(BigInt(e.timeUnixNano) - spanStart);
      else eventTime.uvarint(refs.ref(e.timeUnixNano));
      name.uvarint(refs.ref(e.name));
      writeKeyValues(c, refs, e.attributes);
      counts.uvarint(e.droppedAttributesCount);
    }
    counts.uvarint(s.droppedEventsCount);

    counts.uvarint(s.links.length);
    for (const l of s.links) {
      writeId(l.traceId);
      writeId(l.spanId);
      traceState.uvarint(refs.ref(l.traceState));
      link.uvarint(l.flags);
      writeKeyValues(c, refs, l.attributes);
      counts.uvarint(l.droppedAttributesCount);
    }
    counts.uvarint(s.droppedLinksCount);
  }
}

/** The decoded block dictionary that segment references resolve against. */
export interface DictionaryEntries {
  strings: readonly string[];
  resources: readonly ResourceEntry[];
  scopes: readonly ScopeEntry[];
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
  const nTraces = head.uvarint();
  const localResources: ResourceEntry[] = [];
  const localScopes: ScopeEntry[] = [];
  for (let i = 0; i < nResources; i++) localResources.push(readResourceEntry(c, strings));
  for (let i = 0; i < nScopes; i++) localScopes.push(readScopeEntry(c, strings));
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
      const re = pick(head.uvarint(), dict.resources, localResources, "resource");
      const rs: ResourceSpans = { resource: structuredClone(re.resource), scopeSpans: [], schemaUrl: re.schemaUrl };
      const ns = head.uvarint();
      for (let s = 0; s < ns; s++) {
        const se = pick(head.uvarint(), dict.scopes, localScopes, "scope");
        const ss: ScopeSpans = { scope: structuredClone(se.scope), spans: [], schemaUrl: se.schemaUrl };
        rs.scopeSpans.push(ss);
        containers.push(ss);
      }
      resourceSpans.push(rs);
    }
    const nSpans = head.uvarint();
    decodeSpans(c, strings, mode, key ?? { traceId: "", startTimeUnixNano: "0" }, nSpans, containers);
    out.push(key ? resourceSpans : undefined);
  }
  c.assertConsumed();
  strings.assertConsumed();
  return out;
}

function decodeSpans(c: ColumnsReader, strings: StringTable, mode: number, key: SegmentTraceKey, n: number, containers: ScopeSpans[]): void {
  const col = c.cols;
  const container = col[Col.CONTAINER]!;
  const idLen = col[Col.ID_LEN]!;
  const id = col[Col.ID]!;
  const parent = col[Col.PARENT]!;
  const traceState = col[Col.TRACE_STATE]!;
  const name = col[Col.NAME]!;
  const kind = col[Col.KIND]!;
  const flags = col[Col.FLAGS]!;
  const start = c.planed(Col.START);
  const duration = c.planed(Col.DURATION);
  const counts = col[Col.COUNTS]!;
  const status = col[Col.STATUS]!;
  const eventTime = col[Col.EVENT_TIME]!;
  const link = col[Col.LINK]!;
  const textIds = (mode & TEXT_IDS) !== 0;
  const textTimes = (mode & TEXT_TIMES) !== 0;
  const readId = textIds ? () => strings.read(id) : () => bytesToHex(id.bytes(idLen.uvarint()));

  const spanIds: string[] = [];
  const spans: Span[] = [];
  const forward: [child: number, parent: number][] = [];
  let prevStart = textTimes ? 0n : BigInt(key.startTimeUnixNano);
  for (let i = 0; i < n; i++) {
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
    const spanTraceState = strings.read(traceState);
    const spanName = strings.read(name);
    const spanKind = kind.svarint();
    const spanFlags = flags.uvarint();
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
    const attributes = readKeyValues(c, strings);
    const droppedAttributesCount = counts.uvarint();
    const code = status.svarint();
    const message = strings.read(status);

    const events: SpanEvent[] = [];
    const nEvents = counts.uvarint();
    for (let e = 0; e < nEvents; e++) {
      const timeUnixNano = textTimes ? strings.read(eventTime) : (spanStart + eventTime.sbig()).toString();
      const eventName = strings.read(name);
      const eventAttributes = readKeyValues(c, strings);
      events.push({ timeUnixNano, name: eventName, attributes: eventAttributes, droppedAttributesCount: counts.uvarint() });
    }
    const droppedEventsCount = counts.uvarint();

    const links: SpanLink[] = [];
    const nLinks = counts.uvarint();
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
    const droppedLinksCount = counts.uvarint();

    const span: Span = {
      traceId: key.traceId,
      spanId,
      traceState: spanTraceState,
      parentSpanId,
      flags: spanFlags,
      name: spanName,
      kind: spanKind,
      startTimeUnixNano: startTime,
      endTimeUnixNano: endTime,
      attributes,
      droppedAttributesCount,
      events,
      droppedEventsCount,
      links,
      droppedLinksCount,
      status: { code, message },
    };
    spans.push(span);
    into.spans.push(span);
  }
  for (const [child, parentIndex] of forward) spans[child]!.parentSpanId = spanIds[parentIndex]!;
}
