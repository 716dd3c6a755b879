import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  badParam,
  dependenciesWindow,
  goDurationParam,
  jaegerTraceRange,
  jaegerV3TraceRange,
  MAX_BUCKETS,
  metricsRange,
  nonNegativeInteger,
  optional,
  param,
  ParamError,
  parseQuery,
  QUERY_STYLE,
  RANGE_STYLE,
  serviceGraphWindow,
  tempoTraceRange,
  tempoWindow,
  tempoWindowFields,
  TEMPO_STYLE,
  traceIdParam,
  traceqlErrorBody,
  wholeNumber,
} from "./params.ts";
import { TraceQLError } from "../traceql/lexer.ts";

/** The error `read` throws: its message and code, checked to be a 400 ParamError. */
function refusal(read: () => unknown): { message: string; code: string } {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(ParamError);
    expect((err as ParamError).status).toBe(400);
    return { message: (err as ParamError).message, code: (err as ParamError).code };
  }
  throw new Error("accepted");
}

const NOW_S = 1_700_000_000;

describe("one error shape, worded in each API's style", () => {
  it("names the parameter first, with Tempo's colon or without", () => {
    expect(badParam(TEMPO_STYLE, "limit", "must be positive")).toMatchObject({ status: 400, code: "invalid_parameter", message: "limit: must be positive" });
    expect(badParam(QUERY_STYLE, "limit", "must be positive")).toMatchObject({ status: 400, code: "invalid_query", message: "limit must be positive" });
    expect(badParam(RANGE_STYLE, "start", "is after end")).toMatchObject({ status: 400, code: "invalid_range", message: "start is after end" });
  });

  it("parseQuery: the first issue in field order, unknown parameters of a strict object, (query) for none", () => {
    const schema = z.strictObject({ a: wholeNumber(1, 5).optional(), b: wholeNumber(1, 5).optional() });
    expect(refusal(() => parseQuery(TEMPO_STYLE, schema, { b: "x", a: "9" }))).toEqual({ message: "a: must be from 1 to 5, got 9", code: "invalid_parameter" });
    expect(refusal(() => parseQuery(TEMPO_STYLE, schema, { c: "1", d: "2" })).message).toBe("c, d: unknown parameter");
    expect(refusal(() => parseQuery(QUERY_STYLE, z.string(), {})).message).toMatch(/^\(query\) /);
    expect(parseQuery(TEMPO_STYLE, schema, { a: "2" })).toEqual({ a: 2 });
  });

  it("param and optional: empty is absent", () => {
    expect(param(QUERY_STYLE, "limit", "", nonNegativeInteger(9))).toBeUndefined();
    expect(param(QUERY_STYLE, "limit", undefined, nonNegativeInteger(9))).toBeUndefined();
    expect(param(QUERY_STYLE, "limit", "42", nonNegativeInteger(9))).toBe(42);
    expect(parseQuery(TEMPO_STYLE, z.object({ limit: optional(wholeNumber(1, 5)) }), { limit: "" })).toEqual({});
  });
});

describe("a bad TraceQL q", () => {
  it("is Tempo's JSON error with where the problem is, and what is unsupported", () => {
    const pos = { line: 1, column: 14, offset: 13 };
    expect(traceqlErrorBody(new TraceQLError('unexpected "}"', pos, { expected: "a value" }))).toEqual({ code: 3, error: "invalid_traceql", message: 'q: unexpected "}" at 1:14, expected a value', position: pos });
    expect(traceqlErrorBody(new TraceQLError("not supported", pos, { unsupported: "pipelines" }))).toMatchObject({ error: "invalid_traceql", unsupported: "pipelines" });
  });
});

describe("formats", () => {
  it("wholeNumber: digits first, then the range", () => {
    expect(refusal(() => param(TEMPO_STYLE, "limit", "-1", wholeNumber(1, 1000)))).toEqual({ message: 'limit: must be a whole number from 1 to 1000, got "-1"', code: "invalid_parameter" });
    expect(refusal(() => param(TEMPO_STYLE, "spss", "5000", wholeNumber(1, 1000))).message).toBe("spss: must be from 1 to 1000, got 5000");
    expect(refusal(() => param(TEMPO_STYLE, "limit", "12345678", wholeNumber(1, 1000))).message).toBe('limit: must be a whole number from 1 to 1000, got "12345678"');
  });

  it("nonNegativeInteger: at most its digits", () => {
    expect(param(QUERY_STYLE, "endTs", "123456789012345", nonNegativeInteger(15))).toBe(123456789012345);
    expect(refusal(() => param(QUERY_STYLE, "limit", "1234567890", nonNegativeInteger(9)))).toEqual({ message: 'limit must be a non-negative integer, got "1234567890"', code: "invalid_query" });
    expect(refusal(() => param(QUERY_STYLE, "lookback", "1.5", nonNegativeInteger(15))).message).toBe('lookback must be a non-negative integer, got "1.5"');
  });

  it("goDurationParam: nanoseconds; the duration parser's own message, in the API's code", () => {
    expect(goDurationParam(QUERY_STYLE, "minDuration", "1.5ms")).toBe(1_500_000n);
    expect(goDurationParam(QUERY_STYLE, "minDuration", "")).toBeUndefined();
    expect(refusal(() => goDurationParam(QUERY_STYLE, "minDuration", "soon"))).toEqual({ message: 'minDuration: "soon" is not a duration (like 100ms, 1.5s, 2m)', code: "invalid_query" });
    expect(refusal(() => goDurationParam(TEMPO_STYLE, "step", "-1s"))).toEqual({ message: 'step: "-1s" is negative', code: "invalid_parameter" });
  });

  it("traceIdParam: up to 32 hex digits, padded and lowercased, never all zeros", () => {
    expect(traceIdParam("ABC")).toBe(`${"0".repeat(29)}abc`);
    expect(traceIdParam("ab".repeat(16))).toBe("ab".repeat(16));
    expect(refusal(() => traceIdParam("xyz"))).toEqual({ message: '"xyz" is not a trace id: expected up to 32 hex digits', code: "invalid_trace_id" });
    expect(refusal(() => traceIdParam("a".repeat(33))).code).toBe("invalid_trace_id");
    expect(refusal(() => traceIdParam("0000")).message).toBe("the all-zero trace id is invalid");
  });
});

describe("a trace by id's range", () => {
  it("Tempo: epoch seconds, end inclusive of its whole second", () => {
    expect(tempoTraceRange({})).toEqual({ startMs: undefined, endMs: undefined });
    expect(tempoTraceRange({ start: "10", end: "20" })).toEqual({ startMs: 10_000, endMs: 20_999 });
    expect(tempoTraceRange({ start: "", end: "20" })).toEqual({ startMs: undefined, endMs: 20_999 });
    expect(tempoTraceRange({ start: "20", end: "20" })).toEqual({ startMs: 20_000, endMs: 20_999 });
    expect(refusal(() => tempoTraceRange({ start: "x", end: "y" }))).toEqual({ message: 'start must be epoch seconds, got "x"', code: "invalid_range" });
    expect(refusal(() => tempoTraceRange({ start: "21", end: "20" }))).toEqual({ message: "start is after end", code: "invalid_range" });
  });

  it("Jaeger: epoch microseconds, start rounded down and end up", () => {
    expect(jaegerTraceRange({ start: "1000500", end: "2000500" })).toEqual({ startMs: 1000, endMs: 2001 });
    expect(refusal(() => jaegerTraceRange({ end: "1.5" }))).toEqual({ message: 'end must be epoch microseconds, got "1.5"', code: "invalid_range" });
    expect(refusal(() => jaegerTraceRange({ start: "3000000", end: "2000000" })).message).toBe("start is after end");
  });

  it("api_v3: RFC 3339 startTime and endTime", () => {
    expect(jaegerV3TraceRange({ startTime: "2024-05-01T12:00:00Z", endTime: "2024-05-01T13:00:00.5Z" })).toEqual({ startMs: Date.UTC(2024, 4, 1, 12), endMs: Date.UTC(2024, 4, 1, 13) + 500 });
    expect(refusal(() => jaegerV3TraceRange({ startTime: "yesterday" }))).toEqual({ message: 'startTime must be an RFC 3339 time, got "yesterday"', code: "invalid_range" });
    expect(refusal(() => jaegerV3TraceRange({ endTime: "2024-05-01" })).message).toBe('endTime must be an RFC 3339 time, got "2024-05-01"');
    expect(refusal(() => jaegerV3TraceRange({ startTime: "2024-05-01T13:00:00Z", endTime: "2024-05-01T12:00:00Z" })).message).toBe("startTime is after endTime");
  });
});

describe("query windows", () => {
  const tempo = (q: Record<string, string>) => tempoWindow(parseQuery(TEMPO_STYLE, z.object(tempoWindowFields), q), NOW_S);

  it("Tempo's search and tags: the last hour by default, end inclusive, at most 7 days, end read first", () => {
    expect(tempo({})).toEqual({ startMs: (NOW_S - 3600) * 1000, endMs: NOW_S * 1000 + 999 });
    expect(tempo({ start: "100", end: "100" })).toEqual({ startMs: 100_000, endMs: 100_999 });
    expect(tempo({ end: "5000" })).toEqual({ startMs: 1_400_000, endMs: 5_000_999 });
    expect(refusal(() => tempo({ start: "x", end: "y" }))).toEqual({ message: 'end: must be epoch seconds, got "y"', code: "invalid_parameter" });
    expect(refusal(() => tempo({ start: "200", end: "100" })).message).toBe("end: must not be before start");
    expect(refusal(() => tempo({ start: "0", end: String(7 * 86400 + 1) })).message).toBe("start: the window from start to end may be at most 604800 seconds (7 days)");
    expect(tempo({ start: "0", end: String(7 * 86400) }).startMs).toBe(0);
  });

  it("the service graph's: start before end, no other parameter, empty refused", () => {
    expect(serviceGraphWindow({}, NOW_S)).toEqual({ start: NOW_S - 3600, end: NOW_S });
    expect(serviceGraphWindow({ start: "100", end: "200" }, NOW_S)).toEqual({ start: 100, end: 200 });
    expect(refusal(() => serviceGraphWindow({ start: "" }, NOW_S))).toEqual({ message: "start: must be epoch seconds (digits)", code: "invalid_parameter" });
    expect(refusal(() => serviceGraphWindow({ step: "60" }, NOW_S)).message).toBe("step: unknown parameter");
    expect(refusal(() => serviceGraphWindow({ start: "200", end: "200" }, NOW_S)).message).toBe("start: must be before end");
    expect(refusal(() => serviceGraphWindow({ start: "0", end: String(7 * 86400 + 1) }, NOW_S)).message).toBe("start: the window from start to end may be at most 604800 seconds (7 days)");
  });

  it("Jaeger's and Zipkin's dependencies: endTs and lookback in ms, a day by default", () => {
    const nowMs = NOW_S * 1000 + 500;
    expect(dependenciesWindow({}, nowMs)).toEqual({ start: NOW_S - 86400, end: NOW_S + 1 });
    expect(dependenciesWindow({ endTs: "10000", lookback: "2500", other: "x" }, nowMs)).toEqual({ start: 7, end: 10 });
    expect(refusal(() => dependenciesWindow({ endTs: "soon" }, nowMs))).toEqual({ message: "endTs: must be milliseconds (digits)", code: "invalid_parameter" });
    expect(refusal(() => dependenciesWindow({ lookback: "0" }, nowMs)).message).toBe("lookback: must be positive");
    expect(refusal(() => dependenciesWindow({ lookback: String(7 * 86_400_000 + 1) }, nowMs)).message).toBe("lookback: may be at most 604800000 ms (7 days)");
  });

  it("TraceQL metrics: seconds with fractions or nanoseconds, a step of seconds or a Go duration, bounded buckets", () => {
    const nowMs = NOW_S * 1000;
    expect(metricsRange({}, nowMs)).toEqual({ startMs: nowMs - 3_600_000, endMs: nowMs, stepMs: 36_000 });
    expect(metricsRange({ start: "1700000000.5", end: "1700000060", step: "15" }, nowMs)).toEqual({ startMs: 1_700_000_000_500, endMs: 1_700_000_060_000, stepMs: 15_000 });
    expect(metricsRange({ start: "1700000000000000000", end: "1700000060000000000", step: "1m30s" }, nowMs)).toEqual({ startMs: 1_700_000_000_000, endMs: 1_700_000_060_000, stepMs: 90_000 });
    expect(metricsRange({ start: "1700000000", end: "1700000001", step: "0.5" }, nowMs).stepMs).toBe(500);
    expect(refusal(() => metricsRange({ end: "soon" }, nowMs))).toEqual({ message: 'end: must be epoch seconds or epoch nanoseconds, got "soon"', code: "invalid_parameter" });
    expect(refusal(() => metricsRange({ start: "1700000060", end: "1700000060" }, nowMs)).message).toBe("end: must be after start");
    expect(refusal(() => metricsRange({ start: "1000000000", end: "1700000000" }, nowMs)).message).toBe("start: the window from start to end may be at most 7 days");
    expect(refusal(() => metricsRange({ step: "fast" }, nowMs)).message).toBe('step: "fast" is not a duration (like 100ms, 1.5s, 2m)');
    expect(refusal(() => metricsRange({ step: "0" }, nowMs)).message).toBe('step: must be at least 1ms, got "0"');
    expect(refusal(() => metricsRange({ step: "100ms" }, nowMs)).message).toBe(`step: 36000 buckets from start to end, at most ${MAX_BUCKETS}; use a larger step`);
  });
});
