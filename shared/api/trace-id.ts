import { ApiError } from "../http/errors.ts";

/**
 * A trace id from a URL, as Tempo and Jaeger accept them: 1 to 32 hex digits, any case; shorter
 * ids (64-bit Zipkin/Jaeger ids) are left-padded with zeros to the stored 32.
 */
export function parseTraceIdParam(raw: string): string {
  if (!/^[0-9a-fA-F]{1,32}$/.test(raw)) throw new ApiError(400, "invalid_trace_id", `"${raw}" is not a trace id: expected up to 32 hex digits`);
  const id = raw.toLowerCase().padStart(32, "0");
  if (/^0+$/.test(id)) throw new ApiError(400, "invalid_trace_id", "the all-zero trace id is invalid");
  return id;
}

/** Optional `start`/`end` query parameters in epoch seconds (Tempo's convention), as a range in ms. */
export function parseEpochSecondsRange(start: string | undefined, end: string | undefined): { startMs?: number; endMs?: number } {
  const parse = (name: string, v: string | undefined) => {
    if (v === undefined || v === "") return undefined;
    if (!/^\d{1,12}$/.test(v)) throw new ApiError(400, "invalid_range", `${name} must be epoch seconds, got "${v}"`);
    return Number(v) * 1000;
  };
  const range = { startMs: parse("start", start), endMs: parse("end", end) };
  if (range.startMs !== undefined && range.endMs !== undefined && range.startMs > range.endMs) throw new ApiError(400, "invalid_range", "start is after end");
  // `end` is a whole second: include everything that ended within it.
  if (range.endMs !== undefined) range.endMs += 999;
  return range;
}
