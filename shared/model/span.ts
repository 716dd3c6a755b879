/**
 * @module
 * The one span model every protocol is decoded into at the door.
 *
 * It is the OTLP trace tree itself (ExportTraceServiceRequest.resource_spans), with every field
 * present and values in the OTLP/JSON conventions: ids as lowercase hex, 64-bit times and ints as
 * decimal strings, enums as numbers, bytes as base64. Keeping OTLP's shape means the query API can
 * answer Tempo's and Jaeger's OTLP-JSON contracts without another conversion, and that the
 * differential test can compare a decode with the reference field by field.
 */

export type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { bytesValue: string }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } }
  // An AnyValue with no value set (allowed by the proto: "empty" value).
  | Record<string, never>;

export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface SpanEvent {
  timeUnixNano: string;
  name: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  flags: number;
}

export interface SpanStatus {
  /** 0 unset, 1 ok, 2 error (OTLP Status.StatusCode). */
  code: number;
  message: string;
}

/** OTLP Span.SpanKind numbers. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface Span {
  traceId: string;
  spanId: string;
  traceState: string;
  /** Empty string for a root span. */
  parentSpanId: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  status: SpanStatus;
}

export interface ScopeSpans {
  scope: InstrumentationScope;
  spans: Span[];
  schemaUrl: string;
}

export interface ResourceSpans {
  resource: Resource;
  scopeSpans: ScopeSpans[];
  schemaUrl: string;
}

/** What every decoder returns: the spans it read, before validation. */
export interface TraceBatch {
  resourceSpans: ResourceSpans[];
}

export function emptyResource(): Resource {
  return { attributes: [], droppedAttributesCount: 0 };
}

export function emptyScope(): InstrumentationScope {
  return { name: "", version: "", attributes: [], droppedAttributesCount: 0 };
}

export function countSpans(batch: TraceBatch): number {
  let n = 0;
  for (const rs of batch.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}

/** Thrown by decoders for input that cannot be read at all (answered with 400). */
export class DecodeError extends Error {
  /** Where it broke: a byte offset for protobuf, a field path for JSON. */
  readonly where: string | undefined;
  constructor(message: string, where?: string) {
    super(where ? `${message} (at ${where})` : message);
    this.name = "DecodeError";
    this.where = where;
  }
}
