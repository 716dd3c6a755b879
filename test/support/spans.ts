/**
 * Span and resource builders for the worker tests that store traces: every field of the span
 * model filled, times from milliseconds, so a test names only what it is about.
 */
import type { KeyValue, ResourceSpans, Span } from "../../shared/model/span.ts";

export interface SpanSpec {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP span kind number (default 2, server). */
  kind?: number;
  startMs: number;
  durationMs?: number;
  attributes?: KeyValue[] | Record<string, string>;
  error?: boolean;
}

export const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });
export const int = (key: string, v: number): KeyValue => ({ key, value: { intValue: String(v) } });

export function testSpan(s: SpanSpec): Span {
  const attributes = Array.isArray(s.attributes) ? s.attributes : Object.entries(s.attributes ?? {}).map(([k, v]) => str(k, v));
  return {
    traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? "", name: s.name, traceState: "", flags: 1, kind: s.kind ?? 2,
    startTimeUnixNano: `${s.startMs}000000`, endTimeUnixNano: `${s.startMs + (s.durationMs ?? 25)}000000`,
    attributes, droppedAttributesCount: 0,
    events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: s.error ? 2 : 0, message: "" },
  };
}

/**
 * A span of the model with every field at its empty value, a "GET /" server span of trace
 * 0af76519... lasting 100 ms from 2023-11-14T22:13:20Z; `overrides` set what a test is about.
 */
export function modelSpan(spanId: string, overrides: Partial<Span> = {}): Span {
  return {
    traceId: "0af7651916cd43dd8448eb211c80319c",
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

/** One service's spans under one scope; `resourceAttributes` come after service.name. */
export function testResourceSpans(service: string, spans: Span[], resourceAttributes: KeyValue[] = []): ResourceSpans {
  return {
    resource: { attributes: [str("service.name", service), ...resourceAttributes], droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeSpans: [{ scope: { name: "test", version: "1.0", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }],
  };
}
