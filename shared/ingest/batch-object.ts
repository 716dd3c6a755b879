/**
 * @module
 * The ingest object one accepted request becomes, and the queue message that carries or announces
 * it. Producer (ingest) and consumer (assembler) share these types; `format` is versioned so the
 * assembler can read objects written by an older ingest.
 *
 * Where the object travels is a cost decision: an R2 put is $4.50 per million, a queue message of
 * up to 64 KB costs three operations (write, read, delete) at $0.40 per million each. So the object
 * rides inside the message, gzip-compressed, whenever it fits (the usual SDK export of a few hundred
 * spans compresses to 10-30 KB), and only a larger one is written to R2 with the message pointing
 * at it. Both are durable before ingest answers 2xx: Queues keeps a message until it is acked.
 */
import { Codec, compress, decompress } from "../block/compress.ts";
import { decodeTraceRequest } from "../otlp/decode-proto.ts";
import { encodeTraceProto } from "../otlp/encode-proto.ts";
import { groupByTrace, type TraceGroup } from "./group-by-trace.ts";

export const INGEST_BATCH_FORMAT = "edgetrace.ingest.v2";

export interface IngestBatchObject {
  format: typeof INGEST_BATCH_FORMAT;
  tenantId: string;
  batchId: string;
  receivedAtMs: number;
  source: "otlp-proto" | "otlp-json" | "zipkin-json";
  spanCount: number;
  traces: TraceGroup[];
}

/**
 * Queue message body (queue messages cap at 128 KB). v1 always points at an R2 object; v2 carries
 * the object in `inline` when it fits, and then `key` names it without an object existing there:
 * the key is the batch's identity (block ids, redelivery checks) and where the object is spilled if
 * the message keeps failing (workers/assembler/consume.ts).
 */
export interface IngestBatchMessage {
  v: 1 | 2;
  tenantId: string;
  key: string;
  batchId: string;
  receivedAtMs: number;
  spanCount: number;
  traceCount: number;
  /** Size of the ingest object (inflated, when inline). */
  bytes: number;
  minStartUnixNano: string;
  maxEndUnixNano: string;
  /** The ingest object, gzip-compressed; sent with `contentType: "v8"` so it stays binary. */
  inline?: Uint8Array;
  /**
   * Spans of the request that validation refused, for the tenant's usage figures. A request whose
   * spans were all refused sends a message with `spanCount: 0` and no object (a usage-only message).
   */
  rejectedSpans?: number;
}

/**
 * R2 custom metadata of an ingest object whose queue message lives in memory (a local queue) and
 * dies with its process: the assembler's sweep takes such an object early (MEMORY_QUEUE_SWEEP_AFTER_MS).
 */
export const QUEUE_METADATA = "queue";
export const QUEUE_IN_MEMORY = "memory";

/**
 * Largest compressed object carried inline. Below the 128 KB message cap with room for the other
 * fields; above 64 KB a message costs six operations instead of three, still less than a put.
 */
export const INLINE_MAX_BYTES = 120_000;

/** The object gzip-compressed, or undefined when that does not fit in a message. */
export async function inlinePayload(object: Uint8Array): Promise<Uint8Array | undefined> {
  // Larger than ~12x the cap cannot compress under it (OTLP protobuf compresses 5-8x): skip the work.
  if (object.length > INLINE_MAX_BYTES * 12) return undefined;
  const packed = await compress(object, "gzip");
  return packed.length <= INLINE_MAX_BYTES ? packed : undefined;
}

/** The ingest object an inline payload holds; gzip's CRC and the stated size catch damage. */
export function inflateInline(payload: Uint8Array, bytes: number): Promise<Uint8Array> {
  return decompress(payload, Codec.GZIP, bytes);
}

const MAGIC = [0x45, 0x54, 0x49, 0x32]; // "ETI2"

/**
 * The stored form: `"ETI2"`, a u32 (little-endian) header length, the JSON header (everything but
 * the spans), then the spans as one OTLP ExportTraceServiceRequest whose resourceSpans run trace
 * by trace. Protobuf rather than JSON: encoding 512 spans takes ~1 ms where JSON.stringify plus
 * the gzip the JSON needed (it ran to 5x the request's protobuf size) took 5-8 ms of the ingest
 * worker's CPU, and the assembler decodes it with the same decoder as ingest.
 */
export function encodeIngestBatch(input: Omit<IngestBatchObject, "format" | "spanCount">): { bytes: Uint8Array; spanCount: number } {
  let spanCount = 0;
  for (const t of input.traces) spanCount += t.spanCount;
  const header = new TextEncoder().encode(
    JSON.stringify({ format: INGEST_BATCH_FORMAT, tenantId: input.tenantId, batchId: input.batchId, receivedAtMs: input.receivedAtMs, source: input.source, spanCount }),
  );
  const spans = encodeTraceProto(input.traces.flatMap((t) => t.resourceSpans));
  const bytes = new Uint8Array(8 + header.length + spans.length);
  bytes.set(MAGIC, 0);
  new DataView(bytes.buffer).setUint32(4, header.length, true);
  bytes.set(header, 8);
  bytes.set(spans, 8 + header.length);
  return { bytes, spanCount };
}

export function decodeIngestBatch(bytes: Uint8Array): IngestBatchObject {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error("not an ingest batch object (bad magic)");
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Omit<IngestBatchObject, "traces">;
  if (header.format !== INGEST_BATCH_FORMAT) throw new Error(`unknown ingest batch format ${String(header.format)}`);
  return { ...header, traces: groupByTrace(decodeTraceRequest(bytes.subarray(8 + headerLength))) };
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
