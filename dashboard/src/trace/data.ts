/**
 * @module
 * Getting a trace into the view: from the query API (Tempo's `{batches}`) or from a file a user
 * opens (`{resourceSpans}`, `{batches}` or `{trace:{resourceSpans}}`). Everything is normalised to
 * the span model with every field present, so the view never meets `undefined` in hostile or
 * hand-written input; what cannot be read is an error with a reason, not a broken page.
 */
import type { AnyValue, InstrumentationScope, KeyValue, Resource, ResourceSpans, Span } from "../../../shared/model/span.ts";

export class TraceFileError extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
const num = (v: unknown): number => (typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : 0);
/** Times are 64-bit nanoseconds: decimal strings in OTLP/JSON, numbers from some tools. */
const nanos = (v: unknown, where: string): string => {
  const s = typeof v === "number" && Number.isFinite(v) ? BigInt(Math.trunc(v)).toString() : str(v);
  if (!/^\d{1,20}$/.test(s)) throw new TraceFileError(`${where}: not a time in nanoseconds`);
  return s;
};
/** OTLP/JSON ids are hex; lowercase so links and deep links compare. */
const hexId = (v: unknown): string => (/^[0-9a-fA-F]*$/.test(str(v)) ? str(v).toLowerCase() : "");

function anyValue(v: unknown): AnyValue {
  if (!isObj(v)) return {};
  if (typeof v.stringValue === "string") return { stringValue: v.stringValue };
  if (typeof v.boolValue === "boolean") return { boolValue: v.boolValue };
  if (v.intValue !== undefined) return { intValue: str(v.intValue) };
  if (typeof v.doubleValue === "number") return { doubleValue: v.doubleValue };
  if (typeof v.bytesValue === "string") return { bytesValue: v.bytesValue };
  if (isObj(v.arrayValue)) return { arrayValue: { values: arr(v.arrayValue.values).map(anyValue) } };
  if (isObj(v.kvlistValue)) return { kvlistValue: { values: keyValues(v.kvlistValue.values) } };
  return {};
}

function keyValues(v: unknown): KeyValue[] {
  return arr(v)
    .filter(isObj)
    .map((kv) => ({ key: str(kv.key), value: anyValue(kv.value) }));
}

function resource(v: unknown): Resource {
  const r = isObj(v) ? v : {};
  return { attributes: keyValues(r.attributes), droppedAttributesCount: num(r.droppedAttributesCount) };
}

function scope(v: unknown): InstrumentationScope {
  const s = isObj(v) ? v : {};
  return { name: str(s.name), version: str(s.version), attributes: keyValues(s.attributes), droppedAttributesCount: num(s.droppedAttributesCount) };
}

function span(v: unknown, where: string): Span {
  if (!isObj(v)) throw new TraceFileError(`${where}: not a span`);
  const spanId = hexId(v.spanId);
  if (!spanId) throw new TraceFileError(`${where}: no spanId`);
  const status = isObj(v.status) ? v.status : {};
  return {
    traceId: hexId(v.traceId),
    spanId,
    traceState: str(v.traceState),
    parentSpanId: hexId(v.parentSpanId),
    flags: num(v.flags),
    name: str(v.name),
    kind: num(v.kind),
    startTimeUnixNano: nanos(v.startTimeUnixNano, `${where}.startTimeUnixNano`),
    endTimeUnixNano: nanos(v.endTimeUnixNano, `${where}.endTimeUnixNano`),
    attributes: keyValues(v.attributes),
    droppedAttributesCount: num(v.droppedAttributesCount),
    events: arr(v.events)
      .filter(isObj)
      .map((e, i) => ({ timeUnixNano: nanos(e.timeUnixNano, `${where}.events[${i}].timeUnixNano`), name: str(e.name), attributes: keyValues(e.attributes), droppedAttributesCount: num(e.droppedAttributesCount) })),
    droppedEventsCount: num(v.droppedEventsCount),
    links: arr(v.links)
      .filter(isObj)
      .map((l) => ({ traceId: hexId(l.traceId), spanId: hexId(l.spanId), traceState: str(l.traceState), attributes: keyValues(l.attributes), droppedAttributesCount: num(l.droppedAttributesCount), flags: num(l.flags) })),
    droppedLinksCount: num(v.droppedLinksCount),
    status: { code: num(status.code), message: str(status.message) },
  };
}

/** Normalises one `resourceSpans` list (OTLP's name) or `batches` list (Tempo's). */
export function normaliseResourceSpans(list: unknown): ResourceSpans[] {
  if (!Array.isArray(list)) throw new TraceFileError("expected a list of resource spans");
  return list.map((rs, i) => {
    if (!isObj(rs)) throw new TraceFileError(`resourceSpans[${i}]: not an object`);
    return {
      resource: resource(rs.resource),
      schemaUrl: str(rs.schemaUrl),
      // Old OTLP/JSON (and some exporters) said instrumentationLibrarySpans.
      scopeSpans: arr(rs.scopeSpans ?? rs.instrumentationLibrarySpans).map((ss, j) => {
        const s = isObj(ss) ? ss : {};
        return { scope: scope(s.scope ?? s.instrumentationLibrary), schemaUrl: str(s.schemaUrl), spans: arr(s.spans).map((sp, k) => span(sp, `resourceSpans[${i}].scopeSpans[${j}].spans[${k}]`)) };
      }),
    };
  });
}

/** Reads any of the three shapes a trace comes in. */
export function parseTraceJson(body: unknown): ResourceSpans[] {
  if (!isObj(body)) throw new TraceFileError("not a JSON object");
  if (Array.isArray(body.resourceSpans)) return normaliseResourceSpans(body.resourceSpans);
  if (Array.isArray(body.batches)) return normaliseResourceSpans(body.batches);
  if (isObj(body.trace) && Array.isArray(body.trace.resourceSpans)) return normaliseResourceSpans(body.trace.resourceSpans);
  throw new TraceFileError("expected {resourceSpans}, {batches} or {trace:{resourceSpans}} (OTLP JSON)");
}

export function parseTraceText(text: string): ResourceSpans[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new TraceFileError(`not JSON: ${(e as Error).message}`);
  }
  return parseTraceJson(body);
}

/** Where each span came from: its resource and scope (for the detail panel). */
export interface SpanOrigin {
  resource: Resource;
  scope: InstrumentationScope;
}

export function originsOf(resourceSpans: readonly ResourceSpans[]): Map<Span, SpanOrigin> {
  const out = new Map<Span, SpanOrigin>();
  for (const rs of resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) out.set(s, { resource: rs.resource, scope: ss.scope });
  return out;
}

export function countSpans(resourceSpans: readonly ResourceSpans[]): number {
  let n = 0;
  for (const rs of resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}
