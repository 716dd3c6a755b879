/**
 * @module
 * The span model (OTLP) → Zipkin v2 JSON spans, what Zipkin Lens reads from `/api/v2/trace/{id}`.
 * Pure, no I/O. The inverse of decode.ts, following the OpenTelemetry Collector's zipkin exporter
 * (contrib pkg/translator/zipkin, zipkinv2 FromTranslator) where it has a rule:
 *
 * - traceId: 16 hex digits when the high 64 bits are zero (a 64-bit Zipkin id that decode.ts
 *   padded; zipkin-go prints such an id the same way), else 32. Span ids 16, parentId omitted for
 *   a root.
 * - kind SERVER/CLIENT/PRODUCER/CONSUMER; none for unspecified, and none plus the tag
 *   `span.kind=internal` for internal spans (the collector's receiver reads that tag back).
 * - timestamp: start in whole epoch µs (omitted when 0); duration: whole µs, rounded up to 1 when
 *   below a µs (Zipkin's rule), omitted when the end is not after the start.
 * - localEndpoint: `service.name` of the resource as serviceName, `network.local.address` (when
 *   an IP literal) as ipv4 or ipv6, `network.local.port` as port.
 * - remoteEndpoint: `peer.service` as serviceName; `network.peer.address`/`port`, or else on
 *   CLIENT/PRODUCER spans `server.address`/`port`, as ipv4/ipv6/port. A `server.*` attribute equal
 *   to the endpoint value on a CLIENT/PRODUCER span is not repeated as a tag (decode.ts derives it
 *   from the endpoint). Host names (not IP literals) stay tags: Zipkin endpoints hold addresses.
 * - annotations from events: the bare name, or `name|{json attrs}|dropped` when the event has
 *   attributes or dropped some (the collector exporter's format, which decode.ts unpacks).
 * - tags, all strings: the resource's attributes but `service.name` (the collector flattens them
 *   too), then the span's; bools "true"/"false", ints in decimal, doubles as JS prints them, bytes
 *   base64, arrays and kvlists as JSON of their plain values (ints beyond 2^53 as exact numbers),
 *   an empty value "". A trace's spans carry their scope's attributes between the resource's and
 *   the span's (the specification's "at the Span"; the collector drops them). Then
 *   `otel.scope.name`/`otel.scope.version`, `otel.status_code` ("OK"/"ERROR") and for ERROR the
 *   `error` tag (the status message, or "true") — unless the span carries its own status tags
 *   as string attributes that say its status (status.ts: a Zipkin span's `error` tag alone, kept
 *   by decode.ts), which are then the only ones —, `w3c.tracestate`, `otlp.link.N`
 *   (`traceId|spanId|tracestate|{json attrs}|dropped`) and the `otel.dropped_*_count` tags.
 * - `shared`/`debug` from the bool attributes `zipkin.shared`/`zipkin.debug` (which decode.ts sets).
 *
 * Resource attributes outside decode.ts's resource namespaces come back as span attributes after
 * a round trip, and endpoint values with a tag of the same name keep the tag: Zipkin has one flat
 * tag map per span.
 */
import type { AnyValue, KeyValue, Resource, ResourceSpans, Span, SpanEvent } from "../model/span.ts";
import { rawValue } from "../model/raw-value.ts";
import { ownStatusTags, tagsFromStatus } from "./status.ts";

export interface ZipkinEndpoint {
  serviceName?: string;
  ipv4?: string;
  ipv6?: string;
  port?: number;
}

export interface ZipkinAnnotation {
  /** Epoch microseconds. */
  timestamp: number;
  value: string;
}

export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  kind?: "CLIENT" | "SERVER" | "PRODUCER" | "CONSUMER";
  /** Epoch microseconds. */
  timestamp?: number;
  /** Microseconds. */
  duration?: number;
  debug?: boolean;
  shared?: boolean;
  localEndpoint?: ZipkinEndpoint;
  remoteEndpoint?: ZipkinEndpoint;
  annotations?: ZipkinAnnotation[];
  tags?: Record<string, string>;
}

const KINDS: Record<number, ZipkinSpan["kind"]> = { 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER" };

/** The Zipkin form of a stored 32-digit trace id: 16 digits when the high half is zero. */
export function zipkinTraceId(traceId: string): string {
  return traceId.length === 32 && traceId.startsWith("0000000000000000") ? traceId.slice(16) : traceId;
}

/** An OTLP nanosecond decimal string as whole microseconds (0 when unreadable). */
function nanosToMicros(nanos: string): number {
  return /^\d+$/.test(nanos) ? Number(BigInt(nanos) / 1000n) : 0;
}

function durationMicros(startNanos: string, endNanos: string): number | undefined {
  if (!/^\d+$/.test(startNanos) || !/^\d+$/.test(endNanos)) return undefined;
  const d = BigInt(endNanos) - BigInt(startNanos);
  if (d <= 0n) return undefined;
  return d < 1000n ? 1 : Number(d / 1000n);
}


/** An attribute value as a Zipkin tag string. */
export function tagString(v: AnyValue): string {
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return String(v.boolValue);
  if ("intValue" in v) return v.intValue;
  if ("doubleValue" in v) return String(v.doubleValue);
  if ("bytesValue" in v) return v.bytesValue;
  if ("arrayValue" in v || "kvlistValue" in v) return JSON.stringify(rawValue(v));
  return "";
}

function jsonAttributes(attributes: readonly KeyValue[]): string {
  return JSON.stringify(Object.fromEntries(attributes.map((kv) => [kv.key, rawValue(kv.value)])));
}

// Zipkin's own test (Endpoint.isValidIpV4Word): octets of one to three decimal digits up to 255,
// leading zeros allowed ("010.001.002.003" is 10.1.2.3); Zipkin keeps the text as written.
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|[01]?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d?\d)$/;
const IPV6 = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/;

/** Sets ipv4 or ipv6 when `address` is an IP literal; false when it is not one. */
function setAddress(e: ZipkinEndpoint, address: string): boolean {
  if (IPV4.test(address)) e.ipv4 = address;
  else if (IPV6.test(address)) e.ipv6 = address;
  else return false;
  return true;
}

function portOf(v: AnyValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  const text = "intValue" in v ? v.intValue : "stringValue" in v ? v.stringValue : undefined;
  if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

function stringOf(v: AnyValue | undefined): string | undefined {
  return v !== undefined && "stringValue" in v && v.stringValue !== "" ? v.stringValue : undefined;
}

function annotation(e: SpanEvent): ZipkinAnnotation {
  const value = e.attributes.length || e.droppedAttributesCount ? `${e.name}|${jsonAttributes(e.attributes)}|${e.droppedAttributesCount}` : e.name;
  return { timestamp: nanosToMicros(e.timeUnixNano), value };
}

function encodeSpan(span: Span, serviceName: string | undefined, resourceTags: readonly KeyValue[], scope: { name: string; version: string }, scopeAttributes: readonly KeyValue[]): ZipkinSpan {
  const attrs = new Map<string, AnyValue>(span.attributes.map((kv) => [kv.key, kv.value]));

  const zs: ZipkinSpan = { traceId: zipkinTraceId(span.traceId), id: span.spanId };
  if (span.parentSpanId) zs.parentId = span.parentSpanId;
  if (span.name) zs.name = span.name;
  const kind = KINDS[span.kind];
  if (kind) zs.kind = kind;
  const start = nanosToMicros(span.startTimeUnixNano);
  if (start > 0) zs.timestamp = start;
  const duration = durationMicros(span.startTimeUnixNano, span.endTimeUnixNano);
  if (duration !== undefined) zs.duration = duration;

  const shared = attrs.get("zipkin.shared");
  if (shared && "boolValue" in shared) {
    attrs.delete("zipkin.shared");
    if (shared.boolValue) zs.shared = true;
  }
  const debug = attrs.get("zipkin.debug");
  if (debug && "boolValue" in debug) {
    attrs.delete("zipkin.debug");
    if (debug.boolValue) zs.debug = true;
  }

  const local: ZipkinEndpoint = {};
  if (serviceName) local.serviceName = serviceName;
  const localAddress = stringOf(attrs.get("network.local.address"));
  if (localAddress !== undefined && setAddress(local, localAddress)) attrs.delete("network.local.address");
  const localPort = portOf(attrs.get("network.local.port"));
  if (localPort !== undefined) {
    local.port = localPort;
    attrs.delete("network.local.port");
  }
  if (Object.keys(local).length) zs.localEndpoint = local;

  const remote: ZipkinEndpoint = {};
  const peerService = stringOf(attrs.get("peer.service"));
  if (peerService !== undefined) {
    remote.serviceName = peerService;
    attrs.delete("peer.service");
  }
  const towardServer = span.kind === 3 || span.kind === 4;
  const peerAddress = stringOf(attrs.get("network.peer.address"));
  const serverAddress = towardServer ? stringOf(attrs.get("server.address")) : undefined;
  if (peerAddress !== undefined && setAddress(remote, peerAddress)) attrs.delete("network.peer.address");
  else if (serverAddress !== undefined && setAddress(remote, serverAddress)) attrs.delete("server.address");
  if (serverAddress !== undefined && serverAddress === (remote.ipv4 ?? remote.ipv6)) attrs.delete("server.address");
  const peerPort = portOf(attrs.get("network.peer.port"));
  const serverPort = towardServer ? portOf(attrs.get("server.port")) : undefined;
  if (peerPort !== undefined) {
    remote.port = peerPort;
    attrs.delete("network.peer.port");
  } else if (serverPort !== undefined) {
    remote.port = serverPort;
  }
  if (serverPort !== undefined && serverPort === remote.port) attrs.delete("server.port");
  if (Object.keys(remote).length) zs.remoteEndpoint = remote;

  if (span.events.length) zs.annotations = span.events.map(annotation);

  const tags: Record<string, string> = {};
  for (const kv of resourceTags) tags[kv.key] = tagString(kv.value);
  for (const kv of scopeAttributes) tags[kv.key] = tagString(kv.value);
  for (const [key, value] of attrs) tags[key] = tagString(value);
  if (span.kind === 1) tags["span.kind"] = "internal";
  if (scope.name) tags["otel.scope.name"] = scope.name;
  if (scope.version) tags["otel.scope.version"] = scope.version;
  // A span's own status tags (kept by decode.ts) are already among the tags; else the status's.
  if (!ownStatusTags(span.attributes, span.status)) Object.assign(tags, tagsFromStatus(span.status));
  if (span.traceState) tags["w3c.tracestate"] = span.traceState;
  span.links.forEach((l, i) => {
    tags[`otlp.link.${i}`] = `${l.traceId}|${l.spanId}|${l.traceState}|${jsonAttributes(l.attributes)}|${l.droppedAttributesCount}`;
  });
  if (span.droppedAttributesCount) tags["otel.dropped_attributes_count"] = String(span.droppedAttributesCount);
  if (span.droppedEventsCount) tags["otel.dropped_events_count"] = String(span.droppedEventsCount);
  if (span.droppedLinksCount) tags["otel.dropped_links_count"] = String(span.droppedLinksCount);
  if (Object.keys(tags).length) zs.tags = tags;
  return zs;
}

/** A resource's local service name and the attributes that become tags. */
export interface ZipkinResource {
  serviceName: string | undefined;
  resourceTags: KeyValue[];
}

export function zipkinResource(resource: Resource): ZipkinResource {
  let serviceName: string | undefined;
  const resourceTags: KeyValue[] = [];
  for (const kv of resource.attributes) {
    if (kv.key === "service.name" && "stringValue" in kv.value) serviceName = kv.value.stringValue || undefined;
    else resourceTags.push(kv);
  }
  return { serviceName, resourceTags };
}

/** One span as Zipkin shows it (search tests spans one by one). */
export function encodeZipkinSpan(span: Span, resource: ZipkinResource, scope: { name: string; version: string }): ZipkinSpan {
  // No scope attributes: searches match what the attribute indexes hold, and they do not hold those.
  return encodeSpan(span, resource.serviceName, resource.resourceTags, scope, []);
}

/** Resource spans (one trace or many) as a flat list of Zipkin v2 spans, in their stored order. */
export function encodeZipkinSpans(resourceSpans: readonly ResourceSpans[]): ZipkinSpan[] {
  const out: ZipkinSpan[] = [];
  for (const rs of resourceSpans) {
    const { serviceName, resourceTags } = zipkinResource(rs.resource);
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) out.push(encodeSpan(span, serviceName, resourceTags, ss.scope, ss.scope.attributes));
    }
  }
  return out;
}
