import { describe, expect, it } from "vitest";
import { randomTraceBatch, realisticTraceBatch, Rng } from "../../test/support/random-otlp.ts";
import { zeroSpan } from "../../test/support/spans.ts";
import { groupByTrace } from "../ingest/group-by-trace.ts";
import type { AnyValue, KeyValue, ResourceSpans, ScopeSpans, Span } from "../model/span.ts";
import { ByteReader, crc32 } from "./bytes.ts";
import { encodeBlock, type EncodeOptions, type TraceInput } from "./encode-block.ts";
import { BLOCK_FORMAT_VERSION, FOOTER_SIZE, readFooter } from "./footer.ts";
import { decodeBlock, decodeDictionary, decodeSummaries, decodeTraceSegment, readTrace } from "./read-block.ts";
import { multiServiceWorkload } from "../../test/support/multi-service-workload.ts";
import { filterMayContain } from "./trace-filter.ts";

const META = { tenantId: "tenant-1", blockId: "blk-1", createdAtMs: 1_780_000_000_000 };

// ---- the documented normalisation, written independently of the encoder -------------------------

/** A canonical text for a value, telling apart what JSON would merge (-0, NaN, Infinity). */
function canon(x: unknown): string {
  if (typeof x === "number") return Object.is(x, -0) ? "#-0" : `#${x}`;
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "boolean") return x ? "#t" : "#f";
  if (Array.isArray(x)) return `[${x.map(canon).join(",")}]`;
  const o = x as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canon(o[k])}`)
    .join(",")}}`;
}

/**
 * What a decode must give back for a trace: identical resources (with schema URL) merged in order
 * of first appearance, identical scopes within them likewise, spans of each scope sorted by start
 * time, ties in input order.
 */
function normalise(resourceSpans: ResourceSpans[]): ResourceSpans[] {
  const out: ResourceSpans[] = [];
  const byResource = new Map<string, { rs: ResourceSpans; scopes: Map<string, ScopeSpans> }>();
  for (const rs of resourceSpans) {
    const rk = canon([rs.resource, rs.schemaUrl]);
    let r = byResource.get(rk);
    if (!r) {
      r = { rs: { resource: rs.resource, scopeSpans: [], schemaUrl: rs.schemaUrl }, scopes: new Map() };
      byResource.set(rk, r);
      out.push(r.rs);
    }
    for (const ss of rs.scopeSpans) {
      const sk = canon([ss.scope, ss.schemaUrl]);
      let s = r.scopes.get(sk);
      if (!s) {
        s = { scope: ss.scope, spans: [], schemaUrl: ss.schemaUrl };
        r.scopes.set(sk, s);
        r.rs.scopeSpans.push(s);
      }
      s.spans.push(...ss.spans);
    }
  }
  for (const rs of out) {
    for (const ss of rs.scopeSpans) {
      const keyed = ss.spans.map((span, i) => ({ span, i, start: BigInt(span.startTimeUnixNano) }));
      keyed.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.i - b.i));
      ss.spans = keyed.map((k) => k.span);
    }
  }
  return out;
}

function tracesOf(seed: number): TraceInput[] {
  return groupByTrace(randomTraceBatch(seed)).map((g) => ({ traceId: g.traceId, resourceSpans: g.resourceSpans }));
}

async function roundTrip(traces: TraceInput[], options?: EncodeOptions): Promise<void> {
  const block = await encodeBlock(traces, META, options);
  const decoded = await decodeBlock(block.bytes);
  expect(decoded.traces.length).toBe(traces.length);
  const byId = new Map(decoded.traces.map((t) => [t.summary.traceId, t.resourceSpans]));
  for (const t of traces) expect(byId.get(t.traceId), `trace ${t.traceId}`).toEqual(normalise(t.resourceSpans));
  expect(decoded.table.traces).toEqual(block.summaries);
}

describe("encodeBlock / decode: lossless", () => {
  it("round-trips schema-covering random batches (many seeds, every layout option)", async () => {
    for (let seed = 1; seed <= 150; seed++) {
      const traces = tracesOf(seed);
      await roundTrip(traces);
      if (seed % 5 === 0) {
        await roundTrip(traces, { segmentSpans: 1, codec: "gzip" });
        await roundTrip(traces, { segmentSpans: 1_000_000, sharedDictionary: false, codec: "none" });
      }
    }
  });

  it("round-trips many random batches in one block, sharing a dictionary", async () => {
    const traces: TraceInput[] = [];
    const seen = new Set<string>();
    for (let seed = 200; seed < 260; seed++) {
      for (const t of tracesOf(seed)) {
        if (seen.has(t.traceId)) continue;
        seen.add(t.traceId);
        traces.push(t);
      }
    }
    await roundTrip(traces, { segmentSpans: 4 });
  });

  it("round-trips random spans forced into a few traces, with parents inside the trace", async () => {
    for (let seed = 300; seed < 340; seed++) {
      const spans = randomTraceBatch(seed, { maxSpans: 8 }).resourceSpans;
      const all = spans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
      // Two traces; parents point at earlier or later spans of the same trace, or nowhere; some
      // span ids repeat (Zipkin shared spans), some spans repeat a shape with different values.
      all.forEach((span, i) => {
        span.traceId = i % 2 === 0 ? "aa".repeat(16) : "bb".repeat(16);
        const other = all[(i * 7 + seed) % all.length]!;
        if (i % 3 === 0) span.parentSpanId = other.spanId;
        if (i % 5 === 4) span.spanId = all[i - 1]!.spanId;
      });
      await roundTrip(groupByTrace({ resourceSpans: spans }), { segmentSpans: 3 });
    }
  });

  it("round-trips realistic and multi-service traces", async () => {
    await roundTrip(groupByTrace(realisticTraceBatch(512, 3)));
    const w = multiServiceWorkload({ traces: 60, seed: 3 });
    await roundTrip(w.traces);
  });

  it("keeps exact text for ids, times, ints and bytes that are not in canonical form", async () => {
    const span = (over: Partial<Span>): Span => zeroSpan({ traceId: "T-1", spanId: "ABCD", name: "n", kind: 1, startTimeUnixNano: "5", endTimeUnixNano: "7", ...over });
    const odd: AnyValue[] = [
      { intValue: "007" },
      { intValue: "-0" },
      { intValue: "+5" },
      { intValue: "9223372036854775808" },
      { intValue: "-9223372036854775808" },
      { bytesValue: "QQ" },
      { bytesValue: "QR==" },
      { bytesValue: "" },
      { bytesValue: "AAEC/w==" },
      { doubleValue: -0 },
      { doubleValue: NaN },
      { doubleValue: -Infinity },
      { stringValue: "" },
      {},
      { arrayValue: { values: [] } },
      { kvlistValue: { values: [] } },
    ];
    const attributes: KeyValue[] = odd.map((value, i) => ({ key: `k${i}`, value }));
    const traces: TraceInput[] = [
      {
        traceId: "T-1",
        resourceSpans: [
          {
            resource: { attributes, droppedAttributesCount: 3 },
            schemaUrl: "",
            scopeSpans: [
              {
                scope: { name: "s", version: "", attributes: [], droppedAttributesCount: 0 },
                schemaUrl: "",
                spans: [
                  span({ spanId: "ABCD", startTimeUnixNano: "0010", endTimeUnixNano: "2", attributes }),
                  span({ spanId: "x", parentSpanId: "ABCD", startTimeUnixNano: "1", events: [{ timeUnixNano: "", name: "e", attributes: [], droppedAttributesCount: 0 }] }),
                  span({ spanId: "abc", parentSpanId: "nope", links: [{ traceId: "Z", spanId: "", traceState: "a=b", attributes, droppedAttributesCount: 1, flags: 4294967295 }] }),
                ],
              },
            ],
          },
        ],
      },
      // Canonical times but a non-hex id: only the ids fall back to text.
      {
        traceId: "aa",
        resourceSpans: [
          {
            resource: { attributes: [], droppedAttributesCount: 0 },
            schemaUrl: "",
            scopeSpans: [
              {
                scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 },
                schemaUrl: "",
                spans: [span({ traceId: "aa", spanId: "zz", startTimeUnixNano: "18446744073709551615", endTimeUnixNano: "0" }), span({ traceId: "aa", spanId: "01", parentSpanId: "zz" })],
              },
            ],
          },
        ],
      },
    ];
    // The text-time trace keeps its input order; the other is sorted.
    const block = await encodeBlock(traces, META, { segmentSpans: 1 });
    const decoded = await decodeBlock(block.bytes);
    const byId = new Map(decoded.traces.map((t) => [t.summary.traceId, t.resourceSpans]));
    expect(byId.get("T-1")).toEqual(traces[0]!.resourceSpans);
    expect(byId.get("aa")).toEqual(normalise(traces[1]!.resourceSpans));
  });

  it("stores values shared by every span of a shape once, whatever their kind", async () => {
    const values: AnyValue[] = [{ doubleValue: -0 }, { doubleValue: NaN }, { intValue: "007" }, { intValue: "-9223372036854775808" }, { bytesValue: "AAEC/w==" }, { boolValue: false }, {}, { stringValue: "" }, { arrayValue: { values: [{ stringValue: "x" }] } }];
    const traces = groupByTrace(realisticTraceBatch(64, 5)).map((g) => {
      for (const rs of g.resourceSpans) for (const ss of rs.scopeSpans) for (const span of ss.spans) span.attributes = [...span.attributes, ...values.map((value, i) => ({ key: `fixed.${i}`, value }))];
      return g;
    });
    for (const segmentSpans of [1, 64]) await roundTrip(traces, { segmentSpans });
  });

  it("merges identical resources and scopes of one trace and sorts spans by start", async () => {
    const [t] = groupByTrace(realisticTraceBatch(8, 1));
    const rs = t!.resourceSpans[0]!;
    // The same resource twice (two ingest requests), as separate but equal objects.
    const copy = structuredClone(rs);
    const spans = rs.scopeSpans.flatMap((s) => s.spans);
    rs.scopeSpans = rs.scopeSpans.map((s) => ({ ...s, spans: s.spans.slice(0, 1) }));
    copy.scopeSpans = copy.scopeSpans.map((s) => ({ ...s, spans: s.spans.slice(1).reverse() }));
    const block = await encodeBlock([{ traceId: t!.traceId, resourceSpans: [rs, copy] }], META);
    const [decoded] = (await decodeBlock(block.bytes)).traces;
    expect(decoded!.resourceSpans.length).toBe(1);
    expect(decoded!.resourceSpans[0]!.scopeSpans.flatMap((s) => s.spans).length).toBe(spans.length);
    expect(decoded!.resourceSpans).toEqual(normalise([rs, copy]));
  });

  it("encodes an empty block", async () => {
    const block = await encodeBlock([], META);
    const decoded = await decodeBlock(block.bytes);
    expect(decoded.traces).toEqual([]);
    expect(block.meta).toMatchObject({ traceCount: 0, spanCount: 0, services: [], formatVersion: BLOCK_FORMAT_VERSION });
    expect(filterMayContain(block.filter, "00".repeat(16))).toBe(false);
    // A trace with no spans left (all dropped upstream) still has a row.
    const hollow = await decodeBlock((await encodeBlock([{ traceId: "ab".repeat(16), resourceSpans: [] }], META)).bytes);
    expect(hollow.traces).toMatchObject([{ resourceSpans: [], summary: { traceId: "ab".repeat(16), spanCount: 0, startTimeUnixNano: "0" } }]);
  });

  it("refuses a trace given twice and spans of another trace", async () => {
    const [a, b] = groupByTrace(realisticTraceBatch(8, 1));
    await expect(encodeBlock([a!, b!, a!], META)).rejects.toThrow(/given twice/);
    await expect(encodeBlock([{ traceId: a!.traceId, resourceSpans: b!.resourceSpans }], META)).rejects.toThrow(/has trace id/);
  });
});

describe("reading a block by range", () => {
  it("reads one trace with a footer read, an index read and a segment read", async () => {
    const w = multiServiceWorkload({ traces: 200, seed: 11 });
    const block = await encodeBlock(w.traces, META, { segmentSpans: 256 });
    const reads: [number, number][] = [];
    const read = async (offset: number, length: number) => {
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset + length).toBeLessThanOrEqual(block.bytes.length);
      reads.push([offset, length]);
      return block.bytes.slice(offset, offset + length);
    };
    const target = w.traces[123]!;
    const got = await readTrace(read, block.bytes.length, target.traceId, { tailBytes: FOOTER_SIZE });
    expect(got!.resourceSpans).toEqual(normalise(target.resourceSpans));
    expect(reads.length).toBe(3);
    expect(reads[0]).toEqual([block.bytes.length - FOOTER_SIZE, FOOTER_SIZE]);
    expect(reads[2]).toEqual([got!.summary.segmentOffset, got!.summary.segmentLength]);

    // A big enough first read also covers the dictionary and summary table.
    reads.length = 0;
    await readTrace(read, block.bytes.length, target.traceId, { tailBytes: block.bytes.length });
    expect(reads.length).toBe(2);

    // Not in the block: the filter answers with no read at all (for this id), or the table does.
    reads.length = 0;
    expect(await readTrace(read, block.bytes.length, "ff".repeat(16), { filter: block.filter })).toBeUndefined();
    expect(reads.length).toBeLessThanOrEqual(2);
  });

  it("has each step as its own pure function", async () => {
    const traces = groupByTrace(realisticTraceBatch(64, 9));
    const { bytes, summaries, meta } = await encodeBlock(traces, META, { segmentSpans: 8 });
    const footer = readFooter(bytes.subarray(bytes.length - 100));
    expect(footer).toMatchObject({ version: BLOCK_FORMAT_VERSION, traceCount: traces.length, spanCount: 64, objectSize: bytes.length });
    const at = (r: { offset: number; length: number }) => bytes.subarray(r.offset, r.offset + r.length);
    const table = await decodeSummaries(at(footer.summaries));
    expect(table.block).toEqual({ formatVersion: BLOCK_FORMAT_VERSION, tenantId: META.tenantId, blockId: META.blockId, createdAtMs: META.createdAtMs });
    expect(table.traces).toEqual(summaries);
    expect(meta.sizeBytes).toBe(bytes.length);
    const dictionary = await decodeDictionary(at(footer.dictionary));
    for (const s of table.traces) {
      const rs = await decodeTraceSegment(at({ offset: s.segmentOffset, length: s.segmentLength }), dictionary, s);
      expect(rs).toEqual(normalise(traces.find((t) => t.traceId === s.traceId)!.resourceSpans));
    }
    expect(filterMayContain(at(footer.filter), traces[0]!.traceId)).toBe(true);
  });

  it("throws on an unknown format version, a damaged footer and a damaged segment", async () => {
    const { bytes, summaries } = await encodeBlock(groupByTrace(realisticTraceBatch(64, 2)), META);
    const newer = bytes.slice();
    newer[newer.length - FOOTER_SIZE + 4] = BLOCK_FORMAT_VERSION + 1;
    expect(() => readFooter(newer)).toThrow(new RegExp(`unknown block format version ${BLOCK_FORMAT_VERSION + 1}`));
    const damaged = bytes.slice();
    damaged[damaged.length - 20]! ^= 1;
    expect(() => readFooter(damaged)).toThrow(/checksum/);
    expect(() => readFooter(bytes.subarray(0, bytes.length - 1))).toThrow();
    expect(() => readFooter(new Uint8Array(10))).toThrow();

    const s = summaries[0]!;
    const footer = readFooter(bytes);
    const dictionary = await decodeDictionary(bytes.subarray(footer.dictionary.offset, footer.dictionary.offset + footer.dictionary.length));
    const segment = bytes.slice(s.segmentOffset, s.segmentOffset + s.segmentLength);
    await expect(decodeTraceSegment(segment.subarray(0, segment.length - 5), dictionary, s)).rejects.toThrow();
  });

  it("fails loudly on damage anywhere in the object", async () => {
    const traces = groupByTrace(realisticTraceBatch(64, 8));
    for (const codec of ["none", "deflate-raw"] as const) {
      const { bytes } = await encodeBlock(traces, META, { codec, segmentSpans: 16 });
      const rng = new Rng(5);
      for (let i = 0; i < 200; i++) {
        const damaged = bytes.slice();
        const at = rng.int(bytes.length);
        damaged[at] = (damaged[at]! + 1 + rng.int(255)) % 256;
        const outcome = await decodeBlock(damaged).then(
          () => "decoded",
          (e: unknown) => (e instanceof Error ? "error" : "other"),
        );
        expect(outcome, `byte ${at} of ${bytes.length}`).toBe("error");
      }
    }
  });

  it("rejects a summary table of an unknown version", async () => {
    const { bytes } = await encodeBlock(groupByTrace(realisticTraceBatch(8, 2)), META, { codec: "none" });
    const footer = readFooter(bytes);
    const section = bytes.slice(footer.summaries.offset, footer.summaries.offset + footer.summaries.length);
    // [codec][inflated length][tail length][crc] then columns: [count][lengths...][HEAD: version, ...]
    const r = new ByteReader(section);
    expect(r.byte()).toBe(0);
    r.uvarint();
    r.uvarint();
    const crcAt = r.pos;
    r.u32();
    const columns = r.uvarint();
    for (let i = 0; i < columns; i++) r.uvarint();
    const headStart = r.pos;
    expect(section[headStart]).toBe(BLOCK_FORMAT_VERSION);
    section[headStart] = 99;
    // With the checksum a writer of that version would have written (codec none: raw = the rest).
    new DataView(section.buffer).setUint32(crcAt, crc32(section.subarray(crcAt + 4)), true);
    await expect(decodeSummaries(section)).rejects.toThrow(/unknown block format version 99/);
  });
});
