/**
 * @module
 * Request parameters, read one way for every query API: Tempo's (search, tags, trace by id, TraceQL
 * metrics), the service graph's, Jaeger's and Zipkin's. Time windows, limits, durations and ids
 * are here; the protocols' parameter sets (shared/jaeger/search-params.ts, v3-params.ts,
 * shared/zipkin/search.ts) and the routes compose them.
 *
 * Each parameter's format is a zod schema of its text whose issue says what the text must be
 * (`must be epoch seconds, got "x"`). A bad parameter is a `ParamError`: a 400 `ApiError` whose
 * message starts with the parameter's name, in the style of its API (`ParamStyle`): Tempo's and
 * the service graph's `limit: must be ...` (code `invalid_parameter`), a trace's range `start must
 * be ...` (`invalid_range`), Jaeger's and Zipkin's searches `limit must be ...` (`invalid_query`).
 * Where several parameters are wrong, the first in the order each API has always checked them is
 * the one named. An empty parameter (`?limit=`) counts as absent (`param`, `optional`), except
 * where an API has always refused it (the service graph's window, Tempo's tag limits).
 */
import { z } from "zod";
import { parseGoDuration, TagsQueryError } from "../search/tags-matcher.ts";
import type { TraceQLError } from "../traceql/lexer.ts";
import { ApiError, grpcCodeForHttpStatus } from "./errors.ts";

export type Query = Record<string, string | undefined>;

/** A bad request parameter: a 400 whose message names it. */
export class ParamError extends ApiError {
  constructor(message: string, code = "invalid_parameter") {
    super(400, code, message);
    this.name = "ParamError";
  }
}

/** How an API words a bad parameter: its error code, and whether a colon follows the name. */
export interface ParamStyle {
  code: string;
  colon: boolean;
}

/** Tempo's search, tags and metrics, and the service graph: `limit: must be ...`. */
export const TEMPO_STYLE: ParamStyle = { code: "invalid_parameter", colon: true };
/** The optional range of a trace by id (Tempo, Jaeger v1 and v3): `start must be ...`. */
export const RANGE_STYLE: ParamStyle = { code: "invalid_range", colon: false };
/** Jaeger's and Zipkin's searches: `limit must be ...`. */
export const QUERY_STYLE: ParamStyle = { code: "invalid_query", colon: false };

/** The error for parameter `name`: `<name>[:] <says>`. */
export function badParam(style: ParamStyle, name: string, says: string): ParamError {
  return new ParamError(`${name}${style.colon ? ":" : ""} ${says}`, style.code);
}

/** A query parsed with a zod object of formats; the first issue becomes the error naming its parameter (`(query)` for none). */
export function parseQuery<S extends z.ZodType>(style: ParamStyle, schema: S, query: Query): z.infer<S> {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === "unrecognized_keys") throw badParam(style, issue.keys.join(", "), "unknown parameter");
  throw badParam(style, issue.path.join(".") || "(query)", issue.message);
}

/**
 * Tempo's 400 for a TraceQL `q` that does not parse or is not supported (search and metrics): the
 * JSON error with `position: {line, column, offset}` and, for a valid but unsupported construct,
 * `unsupported`.
 */
export function traceqlErrorBody(err: TraceQLError) {
  const position = { line: err.line, column: err.column, offset: err.offset };
  return { code: grpcCodeForHttpStatus(400), error: "invalid_traceql", message: `q: ${err.message}`, position, ...(err.unsupported ? { unsupported: err.unsupported } : {}) };
}

/** One parameter read with `format`; absent or empty is undefined. */
export function param<T>(style: ParamStyle, name: string, raw: string | undefined, format: z.ZodType<T, string>): T | undefined {
  if (raw === undefined || raw === "") return undefined;
  const parsed = format.safeParse(raw);
  if (!parsed.success) throw badParam(style, name, parsed.error.issues[0]!.message);
  return parsed.data;
}

/** A format inside a zod object of parameters, where an empty parameter counts as absent. */
export function optional<T>(format: z.ZodType<T, string>) {
  return z.preprocess((v) => (v === "" ? undefined : v), format.optional());
}

// ---- formats ------------------------------------------------------------------------------------

/** Text matching `pattern`, else `<says>, got "<text>"`. */
function matching(pattern: RegExp, says: string) {
  return z.string().regex(pattern, { error: (issue) => `${says}, got "${String(issue.input)}"` });
}

/** Epoch seconds, whole (Tempo's `start`/`end`), as seconds. */
export const epochSeconds = matching(/^\d{1,12}$/, "must be epoch seconds").transform(Number);

/** Epoch microseconds (Jaeger's `start`/`end`), as milliseconds with the fraction kept. */
export const epochMicros = matching(/^\d{1,17}$/, "must be epoch microseconds").transform((v) => Number(v) / 1000);

/** Epoch seconds with an optional fraction (`1700000000.5`) or epoch nanoseconds (Tempo's metrics), as whole milliseconds. */
export const epochSecondsOrNanos = z
  .string()
  .refine((v) => /^\d{1,11}(\.\d{1,9})?$/.test(v) || /^\d{17,19}$/.test(v), { error: (issue) => `must be epoch seconds or epoch nanoseconds, got "${String(issue.input)}"` })
  .transform((v) => (/^\d{17,19}$/.test(v) ? Number(BigInt(v) / 1_000_000n) : Math.floor(Number(v) * 1000)));

/** A date and time as `Date.parse` reads it after an RFC 3339 date (api_v3's GetTrace), as milliseconds. */
export const dateTime = z
  .string()
  .refine((v) => /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v)), { error: (issue) => `must be an RFC 3339 time, got "${String(issue.input)}"` })
  .transform((v) => Date.parse(v));

/** A whole number from `min` to `max` (Tempo's limits). */
export function wholeNumber(min: number, max: number) {
  return matching(/^\d{1,7}$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((v) => v >= min && v <= max, { error: (issue) => `must be from ${min} to ${max}, got ${String(issue.input)}` });
}

/** A non-negative integer of at most `digits` digits (Jaeger's and Zipkin's limits, Zipkin's times and durations). */
export function nonNegativeInteger(digits: number) {
  return matching(new RegExp(`^\\d{1,${digits}}$`), "must be a non-negative integer").transform(Number);
}

/**
 * A Go duration (`300ms`, `1.5s`, `2m`) in nanoseconds; absent or empty is undefined. Its error
 * is the duration parser's, `<name>: "<text>" is not a duration ...` in every API.
 */
export function goDurationParam(style: ParamStyle, name: string, raw: string | undefined): bigint | undefined {
  if (raw === undefined || raw === "") return undefined;
  try {
    return parseGoDuration(raw, name);
  } catch (err) {
    if (err instanceof TagsQueryError) throw new ParamError(err.message, style.code);
    throw err;
  }
}

/**
 * A trace id from a URL, as Tempo, Jaeger and Zipkin accept them: 1 to 32 hex digits, any case;
 * shorter ids (64-bit Zipkin/Jaeger ids) are left-padded with zeros to the stored 32.
 */
export function traceIdParam(raw: string): string {
  if (!/^[0-9a-fA-F]{1,32}$/.test(raw)) throw new ParamError(`"${raw}" is not a trace id: expected up to 32 hex digits`, "invalid_trace_id");
  const id = raw.toLowerCase().padStart(32, "0");
  if (/^0+$/.test(id)) throw new ParamError("the all-zero trace id is invalid", "invalid_trace_id");
  return id;
}

// ---- time windows -------------------------------------------------------------------------------

/** The longest window a query may ask for: every block or minute row of it is read. */
export const MAX_WINDOW_SECONDS = 7 * 24 * 3600;
/** The window of a query that names none: the hour before its end. */
export const DEFAULT_WINDOW_SECONDS = 3600;

/** What a trace by id narrows its search to: optional bounds in ms. */
export interface TraceRange {
  startMs?: number;
  endMs?: number;
}

/**
 * A trace by id's optional range: parameters `start` and `end` (their names in the API) in
 * `format` (ms), start rounded down and end up, start not after end; `endSlackMs` added to the end
 * (a whole second's worth for Tempo's seconds).
 */
function traceRange(query: Query, [startName, endName]: [string, string], format: z.ZodType<number, string>, endSlackMs = 0): TraceRange {
  const start = param(RANGE_STYLE, startName, query[startName], format);
  const end = param(RANGE_STYLE, endName, query[endName], format);
  const range: TraceRange = { startMs: start === undefined ? undefined : Math.floor(start), endMs: end === undefined ? undefined : Math.ceil(end) };
  if (range.startMs !== undefined && range.endMs !== undefined && range.startMs > range.endMs) throw badParam(RANGE_STYLE, startName, `is after ${endName}`);
  if (range.endMs !== undefined) range.endMs += endSlackMs;
  return range;
}

/** Tempo's trace by id: `start`/`end` in epoch seconds, `end` inclusive of its whole second. */
export function tempoTraceRange(query: Query): TraceRange {
  return traceRange(query, ["start", "end"], epochSeconds.transform((s) => s * 1000), 999);
}

/** Jaeger's trace by id: `start`/`end` in epoch microseconds. */
export function jaegerTraceRange(query: Query): TraceRange {
  return traceRange(query, ["start", "end"], epochMicros);
}

/** api_v3's GetTrace: `startTime`/`endTime`, RFC 3339 times. */
export function jaegerV3TraceRange(query: Query): TraceRange {
  return traceRange(query, ["startTime", "endTime"], dateTime);
}

/** Tempo's `start`/`end` in epoch seconds, as a zod object's fields (end read first, as it always was). */
export const tempoWindowFields = { end: optional(epochSeconds), start: optional(epochSeconds) };

/**
 * Tempo's search and tags window: `end` (default now) and `start` (default an hour before), at most
 * 7 days apart, in ms with `end` inclusive of its whole second.
 */
export function tempoWindow(q: { start?: number; end?: number }, nowSeconds = Math.floor(Date.now() / 1000)): { startMs: number; endMs: number } {
  const e = q.end ?? nowSeconds;
  const s = q.start ?? e - DEFAULT_WINDOW_SECONDS;
  if (e < s) throw badParam(TEMPO_STYLE, "end", "must not be before start");
  if (e - s > MAX_WINDOW_SECONDS) throw badParam(TEMPO_STYLE, "start", `the window from start to end may be at most ${MAX_WINDOW_SECONDS} seconds (7 days)`);
  return { startMs: s * 1000, endMs: e * 1000 + 999 };
}

const graphSeconds = z.string().regex(/^\d{1,12}$/, "must be epoch seconds (digits)");
const GraphWindowQuery = z.strictObject({ start: graphSeconds.optional(), end: graphSeconds.optional() });

/**
 * The service graph's `start`/`end` (epoch seconds; no other parameter) as a window in seconds:
 * default the hour before `end` (now), start before end, at most 7 days.
 */
export function serviceGraphWindow(query: Query, nowSeconds = Math.floor(Date.now() / 1000)): { start: number; end: number } {
  const q = parseQuery(TEMPO_STYLE, GraphWindowQuery, query);
  const end = q.end !== undefined ? Number(q.end) : nowSeconds;
  const start = q.start !== undefined ? Number(q.start) : end - DEFAULT_WINDOW_SECONDS;
  if (start >= end) throw badParam(TEMPO_STYLE, "start", "must be before end");
  if (end - start > MAX_WINDOW_SECONDS) throw badParam(TEMPO_STYLE, "start", `the window from start to end may be at most ${MAX_WINDOW_SECONDS} seconds (7 days)`);
  return { start, end };
}

const epochMillisDigits = z.string().regex(/^\d{1,15}$/, "must be milliseconds (digits)");
const DependenciesQuery = z.object({ endTs: epochMillisDigits.optional(), lookback: epochMillisDigits.optional() });
const DEFAULT_LOOKBACK_MS = 24 * 3600 * 1000;

/** Jaeger's and Zipkin's dependencies: `endTs`/`lookback` (ms; default now and 1 day, at most 7 days) as a window in epoch seconds. */
export function dependenciesWindow(query: Query, nowMs = Date.now()): { start: number; end: number } {
  const q = parseQuery(TEMPO_STYLE, DependenciesQuery, query);
  const endMs = q.endTs !== undefined ? Number(q.endTs) : nowMs;
  const lookbackMs = q.lookback !== undefined ? Number(q.lookback) : DEFAULT_LOOKBACK_MS;
  if (lookbackMs <= 0) throw badParam(TEMPO_STYLE, "lookback", "must be positive");
  if (lookbackMs > MAX_WINDOW_SECONDS * 1000) throw badParam(TEMPO_STYLE, "lookback", `may be at most ${MAX_WINDOW_SECONDS * 1000} ms (7 days)`);
  return { start: Math.floor((endMs - lookbackMs) / 1000), end: Math.ceil(endMs / 1000) };
}

/** Most buckets a TraceQL metrics query may ask for. */
export const MAX_BUCKETS = 11000;
const DEFAULT_BUCKETS = 100;

/** `step`: seconds (`15`, `0.5`) or a Go duration (`30s`, `1m30s`), as ms, at least 1. */
function stepMs(raw: string): number {
  const ms = /^\d{1,9}(\.\d{1,9})?$/.test(raw) ? Math.floor(Number(raw) * 1000) : Number(goDurationParam(TEMPO_STYLE, "step", raw)! / 1_000_000n);
  if (ms < 1) throw badParam(TEMPO_STYLE, "step", `must be at least 1ms, got "${raw}"`);
  return ms;
}

const MetricsWindowQuery = z.object({ end: optional(epochSecondsOrNanos), start: optional(epochSecondsOrNanos) });

/**
 * TraceQL metrics' `start`/`end` (epoch seconds, fractions allowed, or nanoseconds; default the
 * last hour; end exclusive and after start; at most 7 days) and `step` (default the smallest
 * whole number of seconds giving at most 100 buckets; at most `MAX_BUCKETS` buckets), in ms.
 */
export function metricsRange(query: Query, nowMs = Date.now()): { startMs: number; endMs: number; stepMs: number } {
  const q = parseQuery(TEMPO_STYLE, MetricsWindowQuery, query);
  const endMs = q.end ?? nowMs;
  const startMs = q.start ?? endMs - DEFAULT_WINDOW_SECONDS * 1000;
  if (endMs <= startMs) throw badParam(TEMPO_STYLE, "end", "must be after start");
  if (endMs - startMs > MAX_WINDOW_SECONDS * 1000) throw badParam(TEMPO_STYLE, "start", "the window from start to end may be at most 7 days");
  const step = query.step ? stepMs(query.step) : Math.max(1000, Math.ceil((endMs - startMs) / DEFAULT_BUCKETS / 1000) * 1000);
  const buckets = Math.ceil((endMs - startMs) / step);
  if (buckets > MAX_BUCKETS) throw badParam(TEMPO_STYLE, "step", `${buckets} buckets from start to end, at most ${MAX_BUCKETS}; use a larger step`);
  return { startMs, endMs, stepMs: step };
}
