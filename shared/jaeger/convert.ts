/**
 * @module
 * The span model (OTLP) as the JSON trace of Jaeger's HTTP query API, what Jaeger UI and Grafana's
 * Jaeger datasource read from `/api/traces/{id}`. Pure, no I/O.
 *
 * Follows Jaeger's own OTLP translator (opentelemetry-collector-contrib pkg/translator/jaeger) and
 * its UI JSON model (model/json):
 * - a span's parent is its first reference (CHILD_OF); links follow as FOLLOWS_FROM references;
 * - span kind → tag `span.kind` (client, server, producer, consumer, internal; none when unset);
 * - status → `otel.status_code` (OK/ERROR) and `otel.status_description`, and an ERROR status adds
 *   the bool tag `error: true`; trace state → `w3c.tracestate`;
 * - scope → `otel.scope.name` / `otel.scope.version` (when non-empty);
 * - a link whose `opentracing.ref_type` attribute is `child_of` is a CHILD_OF reference, and a
 *   link to the parent itself only sets the type of the parent's reference (the translator's
 *   refTypeFromLink and its parent override);
 * - events → logs at the event time, with the name as an `event` field unless the event's
 *   attributes already have one;
 * - attributes typed string, bool, int64, float64 or binary (base64, as Go marshals []byte);
 *   arrays and kvlists as JSON strings of their plain values, an empty value as "";
 * - one process per distinct resource (p1, p2, ... in order of appearance), `service.name` as
 *   serviceName (Jaeger's `OTLPResourceNoServiceName` when missing), the other attributes as tags.
 * Times are microseconds (numbers), trace ids 32 hex digits, span ids 16. An int64 is written as
 * the exact JSON number Go writes, also beyond 2^53 (JsonInt64).
 *
 * Where the translator drops data, the trace (toJaegerTrace) keeps it as the OpenTelemetry
 * specification's mappings to non-OTLP formats say: scope attributes as span tags after
 * `otel.scope.version` ("at the Span"), and a link's attributes and trace state in a log at the
 * span's start (the Jaeger mapping's optional link log: `event=link`, `trace_id`, `span_id`, then
 * `w3c.tracestate` and the attributes) for each link that has any besides `opentracing.ref_type`.
 * Searches do not match these (span-query.ts): the attribute indexes do not hold them.
 *
 * One departure where JSON cannot carry what Go writes: a non-finite double is a `string` tag
 * ("NaN", "Infinity").
 */
import { jsonInt64, type JsonInt64 } from "../model/json-int64.ts";
import type { KeyValue, Resource, ResourceSpans, Span, SpanLink } from "../model/span.ts";
import { rawValue } from "../model/raw-value.ts";

export type JaegerTagType = "string" | "bool" | "int64" | "float64" | "binary";

export interface JaegerKeyValue {
  key: string;
  type: JaegerTagType;
  /** String() of a JsonInt64 is its digits, for matchers that compare by string form. */
  value: string | number | boolean | JsonInt64;
}

export interface JaegerReference {
  refType: "CHILD_OF" | "FOLLOWS_FROM";
  traceID: string;
  spanID: string;
}

export interface JaegerLog {
  /** Microseconds since the epoch. */
  timestamp: number;
  fields: JaegerKeyValue[];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: JaegerReference[];
  flags: number;
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags: JaegerKeyValue[];
  logs: JaegerLog[];
  processID: string;
  warnings: string[] | null;
}

export interface JaegerProcess {
  serviceName: string;
  tags: JaegerKeyValue[];
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings: string[] | null;
}

/** What Jaeger's translator names a process whose resource has no `service.name`. */
export const NO_SERVICE_NAME = "OTLPResourceNoServiceName";

const KIND_NAMES: Record<number, string> = { 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer" };

/** The Jaeger name of an OTLP span kind number ("" for unspecified or unknown). */
export function spanKindName(kind: number): string {
  return KIND_NAMES[kind] ?? "";
}

/** The OTLP span kind number of a Jaeger span kind name, or undefined for an unknown name. */
export function spanKindNumber(name: string): number | undefined {
  if (name === "" || name === "unspecified") return 0;
  const hit = Object.entries(KIND_NAMES).find(([, n]) => n === name);
  return hit ? Number(hit[0]) : undefined;
}

/** An OTLP nanosecond decimal string as whole microseconds. */
function nanosToMicros(nanos: string): number {
  if (!/^\d+$/.test(nanos)) return 0;
  return Number(BigInt(nanos) / 1000n);
}

/** end - start in whole microseconds, 0 when the end is before the start. */
function durationMicros(startNanos: string, endNanos: string): number {
  if (!/^\d+$/.test(startNanos) || !/^\d+$/.test(endNanos)) return 0;
  const d = BigInt(endNanos) - BigInt(startNanos);
  return d > 0n ? Number(d / 1000n) : 0;
}


export function toJaegerKeyValue(kv: KeyValue): JaegerKeyValue {
  const { key, value: v } = kv;
  if ("stringValue" in v) return { key, type: "string", value: v.stringValue };
  if ("boolValue" in v) return { key, type: "bool", value: v.boolValue };
  if ("intValue" in v) return { key, type: "int64", value: jsonInt64(v.intValue) };
  if ("doubleValue" in v) {
    return Number.isFinite(v.doubleValue) ? { key, type: "float64", value: v.doubleValue } : { key, type: "string", value: String(v.doubleValue) };
  }
  if ("bytesValue" in v) return { key, type: "binary", value: v.bytesValue };
  if ("arrayValue" in v || "kvlistValue" in v) return { key, type: "string", value: JSON.stringify(rawValue(v)) };
  return { key, type: "string", value: "" };
}

function str(key: string, value: string): JaegerKeyValue {
  return { key, type: "string", value };
}

/**
 * A span's Jaeger tags in the translator's order: scope name and version, `scopeAttributes` (the
 * trace passes them, searches do not), the span's attributes, then the tags derived from kind,
 * status and trace state.
 */
export function jaegerSpanTags(span: Span, scope: { name: string; version: string }, scopeAttributes: readonly KeyValue[] = []): JaegerKeyValue[] {
  const tags: JaegerKeyValue[] = [];
  if (scope.name) tags.push(str("otel.scope.name", scope.name));
  if (scope.version) tags.push(str("otel.scope.version", scope.version));
  for (const kv of scopeAttributes) tags.push(toJaegerKeyValue(kv));
  for (const kv of span.attributes) tags.push(toJaegerKeyValue(kv));
  const kind = spanKindName(span.kind);
  if (kind) tags.push(str("span.kind", kind));
  if (span.status.code === 1) tags.push(str("otel.status_code", "OK"));
  if (span.status.code === 2) {
    tags.push(str("otel.status_code", "ERROR"));
    tags.push({ key: "error", type: "bool", value: true });
  }
  if (span.status.message) tags.push(str("otel.status_description", span.status.message));
  if (span.traceState) tags.push(str("w3c.tracestate", span.traceState));
  return tags;
}

/** The link attribute Jaeger's translators keep a reference's type in. */
const REF_TYPE = "opentracing.ref_type";

function refType(link: SpanLink): JaegerReference["refType"] {
  const kv = link.attributes.find((a) => a.key === REF_TYPE);
  return kv && "stringValue" in kv.value && kv.value.stringValue === "child_of" ? "CHILD_OF" : "FOLLOWS_FROM";
}

function references(span: Span): JaegerReference[] {
  const refs: JaegerReference[] = [];
  if (span.parentSpanId) refs.push({ refType: "CHILD_OF", traceID: span.traceId, spanID: span.parentSpanId });
  for (const link of span.links) {
    // A link to the parent says what kind of reference the parent's is; it adds none.
    if (span.parentSpanId && link.traceId === span.traceId && link.spanId === span.parentSpanId) refs[0]!.refType = refType(link);
    else refs.push({ refType: refType(link), traceID: link.traceId, spanID: link.spanId });
  }
  return refs;
}

/** Logs for what a reference cannot carry: links' trace state and attributes (at the span's start). */
export function jaegerLinkLogs(span: Span): JaegerLog[] {
  const logs: JaegerLog[] = [];
  for (const link of span.links) {
    const attributes = link.attributes.filter((a) => a.key !== REF_TYPE);
    if (!link.traceState && !attributes.length) continue;
    const fields = [str("event", "link"), str("trace_id", link.traceId), str("span_id", link.spanId)];
    if (link.traceState) fields.push(str("w3c.tracestate", link.traceState));
    fields.push(...attributes.map(toJaegerKeyValue));
    logs.push({ timestamp: nanosToMicros(span.startTimeUnixNano), fields });
  }
  return logs;
}

/** A span's events as Jaeger logs. */
export function jaegerLogs(span: Span): JaegerLog[] {
  return span.events.map((e) => {
    const fields = e.attributes.map(toJaegerKeyValue);
    if (e.name && !e.attributes.some((a) => a.key === "event")) fields.unshift(str("event", e.name));
    return { timestamp: nanosToMicros(e.timeUnixNano), fields };
  });
}

/** A resource as a Jaeger process: `service.name` as serviceName, the other attributes as tags. */
export function jaegerProcess(resource: Resource): JaegerProcess {
  let serviceName = NO_SERVICE_NAME;
  const tags: JaegerKeyValue[] = [];
  for (const kv of resource.attributes) {
    if (kv.key === "service.name" && "stringValue" in kv.value) serviceName = kv.value.stringValue;
    else tags.push(toJaegerKeyValue(kv));
  }
  return { serviceName, tags };
}

/**
 * One trace's resource spans as a Jaeger JSON trace. `traceId` names the trace (the spans carry it
 * too); spans keep the order they have in the resource spans.
 */
export function toJaegerTrace(traceId: string, resourceSpans: ResourceSpans[]): JaegerTrace {
  const processes: Record<string, JaegerProcess> = {};
  const processIds = new Map<string, string>();
  const spans: JaegerSpan[] = [];
  for (const rs of resourceSpans) {
    const process = jaegerProcess(rs.resource);
    const dedupeKey = JSON.stringify(process);
    let processID = processIds.get(dedupeKey);
    if (!processID) {
      processID = `p${processIds.size + 1}`;
      processIds.set(dedupeKey, processID);
      processes[processID] = process;
    }
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        const start = nanosToMicros(span.startTimeUnixNano);
        const duration = durationMicros(span.startTimeUnixNano, span.endTimeUnixNano);
        spans.push({
          traceID: span.traceId,
          spanID: span.spanId,
          operationName: span.name,
          references: references(span),
          flags: span.flags & 0xff,
          startTime: start,
          duration,
          tags: jaegerSpanTags(span, ss.scope, ss.scope.attributes),
          logs: [...jaegerLinkLogs(span), ...jaegerLogs(span)],
          processID,
          warnings: null,
        });
      }
    }
  }
  return { traceID: traceId, spans, processes, warnings: null };
}
