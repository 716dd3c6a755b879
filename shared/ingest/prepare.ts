/**
 * @module
 * Everything ingest does to a request body between reading it and storing it, with no I/O:
 * decode -> validate (ids, the time window, size and count bounds: model/span-limits.ts) -> drop
 * repeated spans (dedupe-spans.ts) -> group by trace -> serialise the R2 object. Pure, so it is
 * tested and benchmarked in Node without a worker around it.
 */
import type { TraceBatch } from "../model/span.ts";
import { DecodeError } from "../model/span.ts";
import { validateBatch } from "../model/validate.ts";
import { acceptanceWindow } from "../model/span-limits.ts";
import { decodeTraceRequest } from "../otlp/decode-proto.ts";
import { decodeTraceRequestJson } from "../otlp/decode-json.ts";
import { decodeZipkinSpans } from "../zipkin/decode.ts";
import { ApiError } from "../http/errors.ts";
import { dropRepeatedSpans } from "./dedupe-spans.ts";
import { groupByTrace } from "./group-by-trace.ts";
import { batchTimeRange, encodeIngestBatch, type IngestBatchObject } from "./batch-object.ts";

export type IngestSource = IngestBatchObject["source"];

export interface PreparedBatch {
  /** The R2 object body, or undefined when no span survived (nothing to store). */
  body: Uint8Array | undefined;
  acceptedSpans: number;
  rejectedSpans: number;
  traceCount: number;
  /** Why spans were rejected (one message per reason), for OTLP partial_success. */
  errors: string[];
  /** What was cut or folded in accepted spans (bounds, exact repeats), for partial_success. */
  notices: string[];
  /** Exact repeats of an earlier span of the request, stored once (neither accepted nor rejected). */
  duplicateSpans: number;
  minStartUnixNano: string;
  maxEndUnixNano: string;
}

export interface PrepareOptions {
  tenantId: string;
  batchId: string;
  receivedAtMs: number;
  /** The tenant's: longer attribute values and status messages are cut. */
  maxAttributeValueBytes: number;
  /** The tenant's: spans that started longer ago than this before receivedAtMs are rejected. */
  retentionDays: number;
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
  const valid = validateBatch(decoded, { maxAttributeValueBytes: opts.maxAttributeValueBytes, window: acceptanceWindow(opts.receivedAtMs, opts.retentionDays) });
  const unique = dropRepeatedSpans(valid.batch);
  const acceptedSpans = valid.acceptedSpans - unique.duplicates - unique.conflicts;
  const rejectedSpans = valid.rejectedSpans + unique.conflicts;
  const errors = [...valid.errors, ...unique.errors];
  const notices = [...valid.notices, ...unique.notices];
  const common = { acceptedSpans, rejectedSpans, errors, notices, duplicateSpans: unique.duplicates };
  if (acceptedSpans === 0) return { ...common, body: undefined, traceCount: 0, minStartUnixNano: "0", maxEndUnixNano: "0" };
  const traces = groupByTrace(unique.batch);
  const { bytes: body } = encodeIngestBatch({ tenantId: opts.tenantId, batchId: opts.batchId, receivedAtMs: opts.receivedAtMs, source, traces });
  return { ...common, body, traceCount: traces.length, ...batchTimeRange(traces) };
}

/**
 * OTLP's partial_success for a request with accepted spans: present when spans were rejected
 * (rejected_spans and why) or when accepted ones were cut or folded (rejected_spans 0 and a
 * message, which OTLP allows as a warning). Undefined for a plain success.
 */
export function partialSuccess(prepared: Pick<PreparedBatch, "rejectedSpans" | "errors" | "notices">): { rejectedSpans: number; errorMessage: string } | undefined {
  if (prepared.rejectedSpans === 0 && prepared.notices.length === 0) return undefined;
  return { rejectedSpans: prepared.rejectedSpans, errorMessage: [...prepared.errors, ...prepared.notices].join("; ") };
}
