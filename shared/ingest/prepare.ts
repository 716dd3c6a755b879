/**
 * @module
 * Everything ingest does to a request body between reading it and storing it, with no I/O:
 * decode -> validate -> group by trace -> serialise the R2 object. Pure, so it is tested and
 * benchmarked in Node without a worker around it.
 */
import type { TraceBatch } from "../model/span.ts";
import { DecodeError } from "../model/span.ts";
import { validateBatch } from "../model/validate.ts";
import { decodeTraceRequest } from "../otlp/decode-proto.ts";
import { decodeTraceRequestJson } from "../otlp/decode-json.ts";
import { decodeZipkinSpans } from "../zipkin/decode.ts";
import { ApiError } from "../http/errors.ts";
import { groupByTrace } from "./group-by-trace.ts";
import { batchTimeRange, encodeIngestBatch, type IngestBatchObject } from "./batch-object.ts";

export type IngestSource = IngestBatchObject["source"];

export interface PreparedBatch {
  /** The R2 object body, or undefined when no span survived (nothing to store). */
  body: Uint8Array | undefined;
  acceptedSpans: number;
  rejectedSpans: number;
  traceCount: number;
  /** Validation messages, for OTLP partial_success. */
  errors: string[];
  minStartUnixNano: string;
  maxEndUnixNano: string;
}

export interface PrepareOptions {
  tenantId: string;
  batchId: string;
  receivedAtMs: number;
  maxAttributeValueBytes: number;
}

export function decodeBody(bytes: Uint8Array, source: IngestSource): TraceBatch {
  try {
    if (source === "otlp-proto") return decodeTraceRequest(bytes);
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    if (text.trim() === "") throw new DecodeError("the body is empty; expected a JSON " + (source === "zipkin-json" ? "array of Zipkin spans" : "ExportTraceServiceRequest"));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new DecodeError(`invalid JSON: ${(err as Error).message}`);
    }
    return source === "otlp-json" ? decodeTraceRequestJson(json) : decodeZipkinSpans(json);
  } catch (err) {
    if (err instanceof DecodeError) throw new ApiError(400, "malformed_body", err.message);
    if (err instanceof TypeError) throw new ApiError(400, "malformed_body", `the body is not valid UTF-8: ${err.message}`);
    throw err;
  }
}

export function prepareBatch(bytes: Uint8Array, source: IngestSource, opts: PrepareOptions): PreparedBatch {
  const decoded = decodeBody(bytes, source);
  const { batch, acceptedSpans, rejectedSpans, errors } = validateBatch(decoded, { maxAttributeValueBytes: opts.maxAttributeValueBytes });
  if (acceptedSpans === 0) {
    return { body: undefined, acceptedSpans, rejectedSpans, traceCount: 0, errors, minStartUnixNano: "0", maxEndUnixNano: "0" };
  }
  const traces = groupByTrace(batch);
  const { bytes: body } = encodeIngestBatch({ tenantId: opts.tenantId, batchId: opts.batchId, receivedAtMs: opts.receivedAtMs, source, traces });
  return { body, acceptedSpans, rejectedSpans, traceCount: traces.length, errors, ...batchTimeRange(traces) };
}
