/**
 * @module
 * Terse span builders for the metrics and service-graph tests: every model field filled, only
 * what a test cares about given.
 */
import { emptyScope, type KeyValue, type ResourceSpans, type Span, type TraceBatch } from "../model/span.ts";

export interface SpanSpec {
  traceId?: string;
  spanId: string;
  parentSpanId?: string;
  name?: string;
  kind: number;
  /** Unix ns as a bigint or decimal string. */
  start: bigint | string;
  end: bigint | string;
  error?: boolean;
  attributes?: Record<string, string>;
}

export const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";

export function attrs(record: Record<string, string>): KeyValue[] {
  return Object.entries(record).map(([key, value]) => ({ key, value: { stringValue: value } }));
}

export function makeSpan(s: SpanSpec): Span {
  return {
    traceId: s.traceId ?? TRACE_ID,
    spanId: s.spanId,
    traceState: "",
    parentSpanId: s.parentSpanId ?? "",
    flags: 1,
    name: s.name ?? "op",
    kind: s.kind,
    startTimeUnixNano: String(s.start),
    endTimeUnixNano: String(s.end),
    attributes: attrs(s.attributes ?? {}),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: s.error ? 2 : 0, message: "" },
  };
}

/** One resource (service) with its spans; `service` undefined leaves `service.name` out. */
export function resourceSpans(service: string | undefined, spans: Span[]): ResourceSpans {
  return {
    resource: { attributes: service === undefined ? [] : attrs({ "service.name": service }), droppedAttributesCount: 0 },
    scopeSpans: [{ scope: emptyScope(), spans, schemaUrl: "" }],
    schemaUrl: "",
  };
}

export function batchOf(...rs: ResourceSpans[]): TraceBatch {
  return { resourceSpans: rs };
}

/** A unix-ns time: whole seconds plus milliseconds, exact. */
export function at(seconds: number, ms = 0): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(Math.round(ms * 1e6));
}
