/**
 * Block storage size: bytes in R2 per span for the block format (shared/block/), against the OTLP
 * protobuf requests the same spans arrived in and against gzip of their JSON, on two workloads:
 *
 * - multi-service: test/support/multi-service-workload.ts, 12 services, traces of 10-200 spans, exported
 *   per service instance in requests of up to 512 spans (the headline figures);
 * - realistic-batch: test/support/random-otlp.ts `realisticTraceBatch`, 4-span traces from one
 *   service, 512 spans per request.
 *
 * Every encoding variant tried is printed, so the choice in shared/block/encode-block.ts can be
 * checked. Prints one JSON object to stdout; notes go to stderr.
 * Run: npx node bench/block-size.ts   (BENCH_BLOCK_TRACES=3000 to change the workload size)
 */
import { gzipSync } from "node:zlib";
import { groupByTrace } from "../shared/ingest/group-by-trace.ts";
import type { TraceBatch } from "../shared/model/span.ts";
import { encodeBlock, DEFAULT_SEGMENT_SPANS, type EncodeOptions, type TraceInput } from "../shared/block/encode-block.ts";
import { decodeBlock, readTrace } from "../shared/block/read-block.ts";
import { multiServiceWorkload } from "../test/support/multi-service-workload.ts";
import { referenceEncode } from "../test/support/otlp-reference.ts";
import { realisticTraceBatch } from "../test/support/random-otlp.ts";

const log = (...a: unknown[]) => console.error("[block-size]", ...a);
const TRACES = Number(process.env.BENCH_BLOCK_TRACES ?? 3000);
const META = { tenantId: "bench", blockId: "b1", createdAtMs: Date.UTC(2026, 0, 1) };
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

interface Workload {
  name: string;
  requests: TraceBatch[];
  traces: TraceInput[];
  spans: number;
}

function workloads(): Workload[] {
  const ms = multiServiceWorkload({ traces: TRACES, seed: 1 });
  const batches = Array.from({ length: 16 }, (_, i) => realisticTraceBatch(512, 1000 + i));
  const rb = groupByTrace({ resourceSpans: batches.flatMap((b) => b.resourceSpans) });
  return [
    { name: "multi_service", requests: ms.requests, traces: ms.traces, spans: ms.spanCount },
    { name: "realistic_batch", requests: batches, traces: rb.map((g) => ({ traceId: g.traceId, resourceSpans: g.resourceSpans })), spans: 512 * 16 },
  ];
}

const VARIANTS: [string, EncodeOptions][] = [
  ["per_trace_no_dictionary", { segmentSpans: 1, sharedDictionary: false }],
  ["per_trace", { segmentSpans: 1 }],
  ["per_trace_gzip", { segmentSpans: 1, codec: "gzip" }],
  ["segment_64", { segmentSpans: 64 }],
  ["segment_256", { segmentSpans: 256 }],
  ["segment_1024", { segmentSpans: 1024 }],
  ["segment_256_gzip", { segmentSpans: 256, codec: "gzip" }],
  ["segment_256_no_compression", { segmentSpans: 256, codec: "none" }],
];

async function measure(w: Workload) {
  const otlp = w.requests.reduce((n, r) => n + referenceEncode(r).length, 0);
  // What ingest stores today, if each request's JSON were gzipped; and the best case for gzip: all
  // spans as one JSON document.
  const gzipJsonPerRequest = w.requests.reduce((n, r) => n + gzipSync(JSON.stringify(r)).length, 0);
  const gzipJsonAll = gzipSync(JSON.stringify(w.requests)).length;
  // A row-layout baseline: each trace as its own gzip(JSON) segment, what "compress each trace" gives.
  const gzipJsonPerTrace = w.traces.reduce((n, t) => n + gzipSync(JSON.stringify(t.resourceSpans)).length, 0);
  const perSpan = (bytes: number) => round(bytes / w.spans);
  const out: Record<string, number | string> = {
    spans: w.spans,
    traces: w.traces.length,
    otlp_proto_bytes_per_span: perSpan(otlp),
    gzip_json_per_request_bytes_per_span: perSpan(gzipJsonPerRequest),
    gzip_json_whole_workload_bytes_per_span: perSpan(gzipJsonAll),
    gzip_json_per_trace_bytes_per_span: perSpan(gzipJsonPerTrace),
  };
  for (const [name, opts] of VARIANTS) {
    const block = await encodeBlock(w.traces, META, opts);
    out[`${name}.bytes_per_span`] = perSpan(block.bytes.length);
    out[`${name}.ratio_vs_otlp`] = round(otlp / block.bytes.length, 1);
    log(w.name, name.padEnd(28), `${perSpan(block.bytes.length)} B/span`, `${round(otlp / block.bytes.length, 1)}x otlp`, JSON.stringify(block.stats.bytes));
  }

  // The default configuration, with its parts and its speed.
  let t0 = performance.now();
  const block = await encodeBlock(w.traces, META);
  const encodeMs = performance.now() - t0;
  t0 = performance.now();
  const decoded = await decodeBlock(block.bytes);
  const decodeMs = performance.now() - t0;
  if (decoded.traces.length !== w.traces.length) throw new Error("decode lost traces");
  const read = async (offset: number, length: number) => block.bytes.subarray(offset, offset + length);
  const probes = w.traces.filter((_, i) => i % Math.max(1, Math.floor(w.traces.length / 200)) === 0);
  t0 = performance.now();
  for (const t of probes) if (!(await readTrace(read, block.bytes.length, t.traceId))) throw new Error("trace not found");
  const readMs = (performance.now() - t0) / probes.length;
  const b = block.stats.bytes;
  Object.assign(out, {
    default_segment_spans: DEFAULT_SEGMENT_SPANS,
    bytes_per_span: perSpan(b.total),
    ratio_vs_otlp: round(otlp / b.total, 1),
    ratio_vs_gzip_json_per_request: round(gzipJsonPerRequest / b.total, 1),
    ratio_vs_gzip_json_whole: round(gzipJsonAll / b.total, 1),
    "parts_bytes_per_span.segments": perSpan(b.segments),
    "parts_bytes_per_span.dictionary": perSpan(b.dictionary),
    "parts_bytes_per_span.summaries": perSpan(b.summaries),
    "parts_bytes_per_span.filter": perSpan(b.filter),
    segment_count: block.stats.segmentCount,
    mean_segment_bytes: Math.round(b.segments / block.stats.segmentCount),
    dictionary_strings: block.stats.dictionary.strings,
    filter_bytes_per_trace: round(b.filter / w.traces.length),
    encode_ms_per_1000_spans: round((encodeMs / w.spans) * 1000),
    decode_all_ms_per_1000_spans: round((decodeMs / w.spans) * 1000),
    read_one_trace_ms: round(readMs),
  });
  log(w.name, "default", JSON.stringify(out));
  return out;
}

const results: Record<string, number | string> = {};
let headline: Record<string, number | string> | undefined;
for (const w of workloads()) {
  const r = await measure(w);
  headline ??= r;
  for (const [k, v] of Object.entries(r)) results[`storage.block.${w.name}.${k}`] = v;
}
console.log(
  JSON.stringify({
    "block.r2_bytes_per_span": headline!.bytes_per_span,
    "block.otlp_bytes_per_span": headline!.otlp_proto_bytes_per_span,
    "block.ratio_vs_otlp": headline!.ratio_vs_otlp,
    "block.ratio_vs_gzip_json": headline!.ratio_vs_gzip_json_per_request,
    ...results,
  }),
);
