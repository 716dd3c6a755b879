/**
 * @module
 * Builds one immutable block object from many traces of one tenant.
 *
 *   [segment 0][segment 1]...[dictionary][summary table][trace-id filter][footer, 64 bytes]
 *
 * A trace by id: range-read the footer, then the dictionary + summary table (adjacent, one read),
 * then the one segment the trace's summary row points at. A search reads the footer and the summary
 * table only. The filter is also returned separately for the D1 block catalog.
 *
 * Encoding chosen by measurement (`npx node bench/block-size.ts`), in stored bytes per span, on the
 * multi-service workload (94k spans, 3000 traces of 10-200 spans; OTLP protobuf input 321.6 B/span,
 * gzip of each request's JSON 56.6), each step measured as it was added:
 *   gzip(JSON) per trace, row layout ............................ 127.1
 *   columns + deflate per trace, no block dictionary ............. 103.3  (resources in every segment)
 *   + block dictionary (strings, resources, scopes) ............... 36.8
 *   + per-key recent-value coding of attribute values ............. 36.2
 *   + span shapes in the dictionary ............................... 31.4
 *   + values fixed per shape kept in the shape .................... 26.6
 *   + CRC-32 per section .......................................... 26.7  (12.0x smaller than OTLP)
 *   same, gzip instead of deflate-raw ............................. 27.3  (18-byte frame per segment)
 *   segments of >= 64 / 256 / 1024 spans ............ 24.1 / 22.5 / 21.4  (13.3x / 14.3x / 15.0x)
 *   256, without compression ...................................... 32.3
 * Default: columns, block dictionary with shapes, deflate-raw, segments of >= 256 spans: 22.5 B/span,
 * 14.3x under OTLP protobuf and 2.5x under gzip of the same JSON. A segment is then ~6 KB: a trace
 * read fetches a few KB more than its own spans, at the same R2 latency.
 * The 4-span traces of `realisticTraceBatch` (214.5 B/span as OTLP, one resource per 512 spans) come
 * to 26.1 (8.2x): at four spans a trace, the 16-byte trace id in the summary table, 8-byte span ids
 * and random nanosecond times (~6 B/span) are a floor of ~18 B/span that no layout removes.
 */
import type { ResourceSpans, Span } from "../model/span.ts";
import type { CodecName } from "./compress.ts";
import { packSection } from "./compress.ts";
import { encodeDictionaryRaw, type BlockDictionary } from "./dictionary.ts";
import { crc32 } from "./bytes.ts";
import { BLOCK_FORMAT_VERSION, encodeFooter, FOOTER_SIZE } from "./footer.ts";
import { AttributeIndexBuilder, BLOCK_INDEX_CAPS, SEGMENT_INDEX_CAPS } from "./attribute-index.ts";
import { summarizeTrace, type TraceFacts } from "./summarize.ts";
import { encodeSummariesRaw, type TraceSummary } from "./summary-table.ts";
import { buildFilter } from "./trace-filter.ts";
import { collectStrings, encodeSegment, prepareTrace, type PreparedTrace, type SharedEntries } from "./trace-segment.ts";
import { findFixedValues, type ShapeEntry } from "./span-shape.ts";
import type { ResourceEntry, ScopeEntry } from "./value-codec.ts";

/** One whole trace (an ingest `TraceGroup` fits). Every span's traceId must equal `traceId`. */
export interface TraceInput {
  traceId: string;
  resourceSpans: ResourceSpans[];
}

export interface BlockMetaInput {
  tenantId: string;
  blockId: string;
  createdAtMs: number;
}

/** What the block catalog needs to know about a block without reading it. */
export interface BlockMeta extends BlockMetaInput {
  formatVersion: number;
  traceCount: number;
  spanCount: number;
  errorCount: number;
  /** Earliest trace start and latest trace end in the block, decimal unix nanoseconds. */
  minStartUnixNano: string;
  maxEndUnixNano: string;
  /** Every service.name in the block, sorted. */
  services: string[];
  /** Size of the block object. */
  sizeBytes: number;
  /** The block's attribute index (attribute-index.ts), for the catalog: lets a search skip the block unread. */
  attributeIndex: Uint8Array;
}

export interface EncodeOptions {
  /** Compression of every section. Default "deflate-raw" (gzip adds an 18-byte frame per segment). */
  codec?: CodecName;
  /** A segment takes consecutive traces until it holds at least this many spans. Default 256. */
  segmentSpans?: number;
  /** Share strings, resources and scopes used by several segments. Default true. */
  sharedDictionary?: boolean;
  filterBitsPerTrace?: number;
}

export interface BlockStats {
  segmentCount: number;
  /** Stored bytes per part of the object. */
  bytes: { segments: number; dictionary: number; summaries: number; filter: number; footer: number; total: number };
  /** The same parts before compression. */
  rawBytes: { segments: number; dictionary: number; summaries: number };
  dictionary: { strings: number; resources: number; scopes: number; shapes: number };
}

export interface EncodedBlock {
  bytes: Uint8Array;
  meta: BlockMeta;
  summaries: TraceSummary[];
  filter: Uint8Array;
  stats: BlockStats;
}

export const DEFAULT_SEGMENT_SPANS = 256;

/**
 * Blocks use 16 bits per trace in their filter (2 bytes, ~0.05% false positives) rather than the
 * filter's 10 (0.8%): with a week of blocks, trace by id without a time range read ~8.5 needless
 * blocks per lookup at 10 bits (BENCHMARKS.md, trace by id).
 */
export const BLOCK_FILTER_BITS_PER_TRACE = 16;

interface Item {
  facts: TraceFacts;
  index: AttributeIndexBuilder;
  prepared: PreparedTrace;
  start: bigint;
}

function compareItems(a: Item, b: Item): number {
  if (a.start !== b.start) return a.start < b.start ? -1 : 1;
  return a.facts.traceId < b.facts.traceId ? -1 : a.facts.traceId > b.facts.traceId ? 1 : 0;
}

/** Groups consecutive traces into segments of at least `target` spans (a big trace stands alone). */
function groupSegments(items: Item[], target: number): Item[][] {
  const groups: Item[][] = [];
  let current: Item[] = [];
  let spans = 0;
  for (const it of items) {
    current.push(it);
    spans += it.facts.spanCount;
    if (spans >= target) {
      groups.push(current);
      current = [];
      spans = 0;
    }
  }
  if (current.length) groups.push(current);
  return groups;
}

interface Uses {
  segments: number;
  total: number;
  /** The last segment counted, so each segment counts once. */
  last: number;
}

function byUsesDesc<K>(uses: Map<K, Uses>): K[] {
  return [...uses].filter(([, u]) => u.segments >= 2).sort((a, b) => b[1].total - a[1].total).map(([k]) => k);
}

/** Decides what the dictionary holds: whatever two or more segments use. */
function buildDictionary(groups: Item[][], shapeEntries: ReadonlyMap<string, ShapeEntry>): { dict: BlockDictionary; shared: SharedEntries } {
  const stringUses = new Map<string, Uses>();
  const resourceUses = new Map<string, Uses>();
  const scopeUses = new Map<string, Uses>();
  const shapeUses = new Map<string, Uses>();
  const resourceEntries = new Map<string, ResourceEntry>();
  const scopeEntries = new Map<string, ScopeEntry>();
  let segment = 0;
  const bump = <K>(m: Map<K, Uses>, k: K) => {
    const u = m.get(k);
    if (!u) m.set(k, { segments: 1, total: 1, last: segment });
    else {
      u.total++;
      if (u.last !== segment) {
        u.last = segment;
        u.segments++;
      }
    }
  };
  const bumpString = (s: string) => bump(stringUses, s);
  for (const g of groups) {
    segment++;
    const traces = g.map((it) => it.prepared);
    collectStrings(traces, bumpString);
    for (const t of traces) {
      for (const k of t.shapeKeys) bump(shapeUses, k);
      for (const r of t.resources) {
        bump(resourceUses, r.resourceKey);
        resourceEntries.set(r.resourceKey, r.resource);
        for (const s of r.scopes) {
          bump(scopeUses, s.key);
          scopeEntries.set(s.key, s.entry);
        }
      }
    }
  }
  const strings = byUsesDesc(stringUses);
  const resourceKeys = byUsesDesc(resourceUses);
  const scopeKeys = byUsesDesc(scopeUses);
  const shapeKeys = byUsesDesc(shapeUses);
  return {
    dict: {
      strings,
      resources: resourceKeys.map((k) => resourceEntries.get(k)!),
      scopes: scopeKeys.map((k) => scopeEntries.get(k)!),
      shapes: shapeKeys.map((k) => shapeEntries.get(k)!),
    },
    shared: {
      strings: new Map(strings.map((s, i) => [s, i])),
      resources: new Map(resourceKeys.map((k, i) => [k, i])),
      scopes: new Map(scopeKeys.map((k, i) => [k, i])),
      shapes: new Map(shapeKeys.map((k, i) => [k, i])),
    },
  };
}

function* spansWithShapes(items: Item[]): Iterable<[string, Span]> {
  for (const it of items) {
    const p = it.prepared;
    for (let i = 0; i < p.spans.length; i++) yield [p.shapeKeys[i]!, p.spans[i]!];
  }
}

/** Runs `f` over `items` with at most `width` in flight, keeping order. */
async function mapLimited<T, U>(items: T[], width: number, f: (t: T) => Promise<U>): Promise<U[]> {
  const out: U[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

export async function encodeBlock(traces: TraceInput[], meta: BlockMetaInput, options: EncodeOptions = {}): Promise<EncodedBlock> {
  const codec = options.codec ?? "deflate-raw";
  const segmentSpans = options.segmentSpans ?? DEFAULT_SEGMENT_SPANS;

  const seen = new Set<string>();
  const items: Item[] = traces.map((t) => {
    if (seen.has(t.traceId)) throw new Error(`trace ${t.traceId} given twice; combine its parts first (combineTraces)`);
    seen.add(t.traceId);
    const facts = summarizeTrace(t.traceId, t.resourceSpans);
    const index = new AttributeIndexBuilder();
    index.addTrace(t.resourceSpans);
    return { facts, index, prepared: prepareTrace(t.traceId, t.resourceSpans), start: BigInt(facts.startTimeUnixNano) };
  });
  items.sort(compareItems);
  const groups = groupSegments(items, segmentSpans);

  // One entry per shape for the whole block, with the values fixed across the block.
  const shapes = new Map<string, ShapeEntry>();
  for (const it of items) for (const [k, shape] of it.prepared.shapes) if (!shapes.has(k)) shapes.set(k, shape);
  findFixedValues(shapes, spansWithShapes(items));
  for (const it of items) for (const k of it.prepared.shapes.keys()) it.prepared.shapes.set(k, shapes.get(k)!);

  const { dict, shared } =
    options.sharedDictionary === false || groups.length < 2
      ? { dict: { strings: [], resources: [], scopes: [], shapes: [] }, shared: { strings: undefined, resources: new Map(), scopes: new Map(), shapes: new Map() } }
      : buildDictionary(groups, shapes);

  let rawSegments = 0;
  const segments = await mapLimited(groups, 16, (g) => {
    const { raw, tailLength } = encodeSegment(
      g.map((it) => it.prepared),
      shared,
    );
    rawSegments += raw.length;
    return packSection(raw, codec, tailLength);
  });

  const summaries: TraceSummary[] = [];
  let offset = 0;
  groups.forEach((g, gi) => {
    const length = segments[gi]!.length;
    g.forEach((it, i) => summaries.push({ ...it.facts, segmentOffset: offset, segmentLength: length, segmentIndex: i }));
    offset += length;
  });
  const segmentsBytes = offset;

  const identity = { formatVersion: BLOCK_FORMAT_VERSION, tenantId: meta.tenantId, blockId: meta.blockId, createdAtMs: meta.createdAtMs };
  const rawDictionary = encodeDictionaryRaw(dict);
  // Per segment and for the whole block: what lets a search skip either unread.
  const blockIndex = new AttributeIndexBuilder();
  const segmentIndexes = groups.map((g) => {
    const b = new AttributeIndexBuilder();
    for (const it of g) b.absorb(it.index);
    blockIndex.absorb(b);
    return b.encode(SEGMENT_INDEX_CAPS);
  });
  const rawSummaries = encodeSummariesRaw(identity, summaries, segmentIndexes);
  const [dictionarySection, summariesSection] = await Promise.all([
    packSection(rawDictionary.bytes, codec, rawDictionary.tailLength),
    packSection(rawSummaries.bytes, codec, rawSummaries.tailLength),
  ]);
  const filter = buildFilter(
    summaries.map((s) => s.traceId),
    summaries.length,
    options.filterBitsPerTrace ?? BLOCK_FILTER_BITS_PER_TRACE,
  );

  const dictionaryOffset = segmentsBytes;
  const summariesOffset = dictionaryOffset + dictionarySection.length;
  const filterOffset = summariesOffset + summariesSection.length;
  let spanCount = 0;
  let errorCount = 0;
  let minStart: bigint | undefined;
  let maxEnd: bigint | undefined;
  const services = new Set<string>();
  for (const s of summaries) {
    spanCount += s.spanCount;
    errorCount += s.errorCount;
    const st = BigInt(s.startTimeUnixNano);
    const en = BigInt(s.endTimeUnixNano);
    if (minStart === undefined || st < minStart) minStart = st;
    if (maxEnd === undefined || en > maxEnd) maxEnd = en;
    for (const sc of s.services) services.add(sc.serviceName);
  }
  const footer = encodeFooter({
    dictionary: { offset: dictionaryOffset, length: dictionarySection.length },
    summaries: { offset: summariesOffset, length: summariesSection.length },
    filter: { offset: filterOffset, length: filter.length },
    traceCount: summaries.length,
    spanCount,
    filterCrc: crc32(filter),
  });
  const total = filterOffset + filter.length + FOOTER_SIZE;
  const bytes = new Uint8Array(total);
  let o = 0;
  for (const s of segments) {
    bytes.set(s, o);
    o += s.length;
  }
  bytes.set(dictionarySection, dictionaryOffset);
  bytes.set(summariesSection, summariesOffset);
  bytes.set(filter, filterOffset);
  bytes.set(footer, filterOffset + filter.length);

  return {
    bytes,
    meta: {
      ...meta,
      formatVersion: BLOCK_FORMAT_VERSION,
      traceCount: summaries.length,
      spanCount,
      errorCount,
      minStartUnixNano: (minStart ?? 0n).toString(),
      maxEndUnixNano: (maxEnd ?? 0n).toString(),
      services: [...services].sort(),
      sizeBytes: total,
      attributeIndex: blockIndex.encode(BLOCK_INDEX_CAPS),
    },
    summaries,
    filter,
    stats: {
      segmentCount: segments.length,
      bytes: {
        segments: segmentsBytes,
        dictionary: dictionarySection.length,
        summaries: summariesSection.length,
        filter: filter.length,
        footer: FOOTER_SIZE,
        total,
      },
      rawBytes: { segments: rawSegments, dictionary: rawDictionary.bytes.length, summaries: rawSummaries.bytes.length },
      dictionary: { strings: dict.strings.length, resources: dict.resources.length, scopes: dict.scopes.length, shapes: dict.shapes.length },
    },
  };
}
