/**
 * @module
 * Span, resource and batch builders for the tests: every field of the span model filled, so a test
 * names only what it is about. Times are unix milliseconds (`startMs`, `durationMs`) or, where a
 * test counts in nanoseconds or minutes, unix nanoseconds (`start`, `end`; see `at`).
 */
import type { KeyValue, ResourceSpans, Span, TraceBatch } from "../../shared/model/span.ts";

/** The trace id a span gets when its spec names none. */
export const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";

/** A span spec but its times. */
export interface SpanFields {
  /** Default `TRACE_ID`. */
  traceId?: string;
  spanId: string;
  parentSpanId?: string;
  /** Default "op". */
  name?: string;
  /** OTLP span kind number (default 2, server). */
  kind?: number;
  /** A record's numbers become int values, its strings string values. */
  attributes?: KeyValue[] | Record<string, string | number>;
  error?: boolean;
}

/** Start and end: unix ms and a duration (default 25 ms), or unix ns as bigints or decimal strings. */
type SpanTimes = { startMs: number; durationMs?: number; start?: never; end?: never } | { start: bigint | string; end: bigint | string; startMs?: never; durationMs?: never };

export type SpanSpec = SpanFields & SpanTimes;

/** A span spec that names its service instead of its trace, for `testTrace`. */
export type ServiceSpanSpec = Omit<SpanFields, "traceId"> & SpanTimes & { service: string };

export const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });
export const int = (key: string, v: number): KeyValue => ({ key, value: { intValue: String(v) } });
export const dbl = (key: string, v: number): KeyValue => ({ key, value: { doubleValue: v } });
export const bool = (key: string, v: boolean): KeyValue => ({ key, value: { boolValue: v } });

/** A span with every field at its zero value (what a decoder makes of `{}`); `overrides` set the rest. */
export function zeroSpan(overrides: Partial<Span> = {}): Span {
  return {
    traceId: "",
    spanId: "",
    traceState: "",
    parentSpanId: "",
    flags: 0,
    name: "",
    kind: 0,
    startTimeUnixNano: "0",
    endTimeUnixNano: "0",
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: "" },
    ...overrides,
  };
}

/** A sampled span (flags 1) from a spec. */
export function testSpan(s: SpanSpec): Span {
  const attributes = Array.isArray(s.attributes) ? s.attributes : Object.entries(s.attributes ?? {}).map(([k, v]) => (typeof v === "number" ? int(k, v) : str(k, v)));
  const [start, end] = s.start !== undefined ? [String(s.start), String(s.end)] : [`${s.startMs}000000`, `${s.startMs + (s.durationMs ?? 25)}000000`];
  return zeroSpan({
    traceId: s.traceId ?? TRACE_ID, spanId: s.spanId, parentSpanId: s.parentSpanId ?? "", name: s.name ?? "op", flags: 1, kind: s.kind ?? 2,
    startTimeUnixNano: start, endTimeUnixNano: end, attributes, status: { code: s.error ? 2 : 0, message: "" },
  });
}

/**
 * A "GET /" server span of trace `TRACE_ID` lasting 100 ms from 2023-11-14T22:13:20Z, every other
 * field at its zero value; `overrides` set what a test is about.
 */
export function modelSpan(spanId: string, overrides: Partial<Span> = {}): Span {
  return zeroSpan({ traceId: TRACE_ID, spanId, name: "GET /", kind: 2, startTimeUnixNano: "1700000000000000000", endTimeUnixNano: "1700000000100000000", ...overrides });
}

/**
 * One service's spans under one scope; `resourceAttributes` come after service.name. `service`
 * undefined leaves service.name out.
 */
export function testResourceSpans(service: string | undefined, spans: Span[], resourceAttributes: KeyValue[] = []): ResourceSpans {
  return {
    resource: { attributes: [...(service === undefined ? [] : [str("service.name", service)]), ...resourceAttributes], droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeSpans: [{ scope: { name: "test", version: "1.0", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }],
  };
}

/** One trace's spans, each naming its service: a resource per service, in the order they first appear. */
export function testTrace(traceId: string, spans: ServiceSpanSpec[]): ResourceSpans[] {
  const byService = new Map<string, Span[]>();
  for (const { service, ...spec } of spans) byService.set(service, [...(byService.get(service) ?? []), testSpan({ ...(spec as SpanSpec), traceId })]);
  return [...byService].map(([service, serviceSpans]) => testResourceSpans(service, serviceSpans));
}

export function batchOf(...rs: ResourceSpans[]): TraceBatch {
  return { resourceSpans: rs };
}

/** A unix-ns time: whole seconds plus milliseconds, exact. */
export function at(seconds: number, ms = 0): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(Math.round(ms * 1e6));
}
