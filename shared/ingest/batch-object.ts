/**
 * @module
 * The R2 object one accepted ingest request becomes, and the queue message that announces it.
 * Producer (ingest) and consumer (assembler) share these types; `format` is versioned so the
 * assembler can read objects written by an older ingest.
 */
import type { TraceGroup } from "./group-by-trace.ts";

export const INGEST_BATCH_FORMAT = "edgetrace.ingest.v1";

export interface IngestBatchObject {
  format: typeof INGEST_BATCH_FORMAT;
  tenantId: string;
  batchId: string;
  receivedAtMs: number;
  source: "otlp-proto" | "otlp-json" | "zipkin-json";
  spanCount: number;
  traces: TraceGroup[];
}

/** Queue message body: small and fixed-size whatever the request held (queue messages cap at 128 KB). */
export interface IngestBatchMessage {
  v: 1;
  tenantId: string;
  key: string;
  batchId: string;
  receivedAtMs: number;
  spanCount: number;
  traceCount: number;
  bytes: number;
  minStartUnixNano: string;
  maxEndUnixNano: string;
}

export function buildIngestBatch(input: Omit<IngestBatchObject, "format" | "spanCount">): { body: string; spanCount: number } {
  let spanCount = 0;
  for (const t of input.traces) spanCount += t.spanCount;
  const object: IngestBatchObject = { format: INGEST_BATCH_FORMAT, ...input, spanCount };
  return { body: JSON.stringify(object), spanCount };
}

/**
 * The stored form: gzip of the JSON. The JSON repeats each resource per trace and runs about five
 * times the OTLP protobuf it came from; gzip brings it to a quarter of the protobuf for ~4 ms per
 * 512 spans (native zlib), which is far cheaper than moving the bytes.
 */
export async function encodeIngestBatch(body: string): Promise<Uint8Array> {
  const stream = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function decodeIngestBatch(bytes: Uint8Array): Promise<IngestBatchObject> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
  return parseIngestBatch(await new Response(stream).text());
}

export function parseIngestBatch(text: string): IngestBatchObject {
  const obj = JSON.parse(text) as IngestBatchObject;
  if (obj.format !== INGEST_BATCH_FORMAT) throw new Error(`unknown ingest batch format ${String(obj.format)}`);
  return obj;
}

export function batchTimeRange(traces: TraceGroup[]): { minStartUnixNano: string; maxEndUnixNano: string } {
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (const t of traces) {
    const s = BigInt(t.startTimeUnixNano);
    const e = BigInt(t.endTimeUnixNano);
    if (min === undefined || s < min) min = s;
    if (max === undefined || e > max) max = e;
  }
  return { minStartUnixNano: (min ?? 0n).toString(), maxEndUnixNano: (max ?? 0n).toString() };
}
