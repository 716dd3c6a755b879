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
  attributes?: KeyValue[] | Record<string, string>;
  error?: boolean;
}

/** Start and end: unix ms and a duration (default 25 ms), or unix ns as bigints or decimal strings. */
type SpanTimes = { startMs: number; durationMs?: number; start?: never; end?: never } | { start: bigint | string; end: bigint | string; startMs?: never; durationMs?: never };

export type SpanSpec = SpanFields & SpanTimes;

export const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });
export const int = (key: string, v: number): KeyValue => ({ key, value: { intValue: String(v) } });
export const dbl = (key: string, v: number): KeyValue => ({ key, value: { doubleValue: v } });
export const bool = (key: string, v: boolean): KeyValue => ({ key, value: { boolValue: v } });

export function testSpan(s: SpanSpec): Span {
  const attributes = Array.isArray(s.attributes) ? s.attributes : Object.entries(s.attributes ?? {}).map(([k, v]) => str(k, v));
  const [start, end] = s.start !== undefined ? [String(s.start), String(s.end)] : [`${s.startMs}000000`, `${s.startMs + (s.durationMs ?? 25)}000000`];
  return {
    traceId: s.traceId ?? TRACE_ID, spanId: s.spanId, parentSpanId: s.parentSpanId ?? "", name: s.name ?? "op", traceState: "", flags: 1, kind: s.kind ?? 2,
    startTimeUnixNano: start, endTimeUnixNano: end,
    attributes, droppedAttributesCount: 0,
    events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: s.error ? 2 : 0, message: "" },
  };
}

/**
 * A span of the model with every field at its empty value, a "GET /" server span of trace
 * `TRACE_ID` lasting 100 ms from 2023-11-14T22:13:20Z; `overrides` set what a test is about.
 */
export function modelSpan(spanId: string, overrides: Partial<Span> = {}): Span {
  return {
    traceId: TRACE_ID,
    spanId,
    traceState: "",
    parentSpanId: "",
    flags: 0,
    name: "GET /",
    kind: 2,
    startTimeUnixNano: "1700000000000000000",
    endTimeUnixNano: "1700000000100000000",
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

export function batchOf(...rs: ResourceSpans[]): TraceBatch {
  return { resourceSpans: rs };
}

/** A unix-ns time: whole seconds plus milliseconds, exact. */
export function at(seconds: number, ms = 0): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(Math.round(ms * 1e6));
}
