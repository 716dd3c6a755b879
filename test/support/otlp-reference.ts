/**
 * @module
 * The reference OTLP protobuf codec for tests: the protobufjs code generated from the official
 * schema that ships in @opentelemetry/otlp-transformer@0.57.2 (devDependency alias
 * `otlp-proto-reference`), with its output normalised into the span model. Our own decoder must
 * agree with `referenceDecode` on every input the reference can read.
 *
 * Choices that define "the reference":
 * - Input is handed to protobufjs as a Node Buffer, so strings go through Node's UTF-8 decoder and
 *   invalid UTF-8 becomes U+FFFD (WHATWG replacement), as it does when protobufjs runs in Node.
 * - A KeyValue without a value, and an AnyValue with nothing set, both become `{}`.
 * - A missing resource / scope / status becomes the model's empty default.
 * - The 0.57.2 code was generated from a schema older than Span.flags (field 16) and Link.flags
 *   (field 6), both fixed32. Decoding reads them in a second protobufjs pass with a reflection
 *   schema of just the path to those two fields; encoding wraps the generated Span/Link encoders to
 *   append them. Everything else is the generated code untouched.
 */
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import type { AnyValue, InstrumentationScope, KeyValue, Resource, ResourceSpans, ScopeSpans, Span, SpanEvent, SpanLink, TraceBatch } from "../../shared/model/span.ts";
import { emptyResource, emptyScope } from "../../shared/model/span.ts";

// The generated root is CommonJS (`require("protobufjs/minimal")`, `module.exports = $root`), even
// under build/esm, so it is loaded through require rather than import.
const require = createRequire(import.meta.url);

interface LongLike {
  toString(): string;
}
interface LongCtor {
  fromString(s: string, unsigned?: boolean): LongLike;
}
interface Writer {
  uint32(v: number): Writer;
  fixed32(v: number): Writer;
  finish(): Uint8Array;
}
interface GeneratedType {
  decode(bytes: Uint8Array): unknown;
  encode(message: unknown, writer?: Writer): Writer;
  toObject(message: unknown, options: Record<string, unknown>): unknown;
  verify(message: unknown): string | null;
}

// Only the message types the tests need; the generated module itself is untyped here.
const root = require("otlp-proto-reference/build/src/generated/root.js") as {
  opentelemetry: {
    proto: {
      collector: {
        trace: {
          v1: { ExportTraceServiceRequest: GeneratedType; ExportTraceServiceResponse: GeneratedType };
        };
      };
      common: { v1: { AnyValue: GeneratedType } };
      trace: { v1: { Span: GeneratedType & { Link: GeneratedType } } };
    };
  };
};
// The protobufjs runtime the generated code uses (7.x, nested under the alias): full build for the
// reflection API, and its Long.
const protobuf = createRequire(require.resolve("otlp-proto-reference/build/src/generated/root.js"))("protobufjs") as {
  util: { Long: LongCtor | undefined };
  Root: { fromJSON(json: unknown): { lookupType(name: string): GeneratedType } };
};

const Long = protobuf.util.Long;
if (!Long) throw new Error("protobufjs found no `long` package: 64-bit values would lose precision");

// Span.flags = 16 and Span.Link.flags = 6 (fixed32), and only the path down to them.
const FlagsRequest = protobuf.Root.fromJSON({
  nested: {
    Request: { fields: { resourceSpans: { rule: "repeated", type: "ResourceSpans", id: 1 } } },
    ResourceSpans: { fields: { scopeSpans: { rule: "repeated", type: "ScopeSpans", id: 2 } } },
    ScopeSpans: { fields: { spans: { rule: "repeated", type: "Span", id: 2 } } },
    Span: { fields: { links: { rule: "repeated", type: "Link", id: 13 }, flags: { type: "fixed32", id: 16 } } },
    Link: { fields: { flags: { type: "fixed32", id: 6 } } },
  },
}).lookupType("Request");

interface FlagsOnly {
  resourceSpans: { scopeSpans: { spans: { flags: number; links: { flags: number }[] }[] }[] }[];
}

// Appends the flags field the generated encoders do not know. Their callers look the encoder up on
// the root at call time, so wrapping the property is enough; messages without `flags` are untouched.
const SpanType = root.opentelemetry.proto.trace.v1.Span;
const LinkType = SpanType.Link;
// The generated function stays reachable as `.generated` (the benchmark reads the schema from it).
function appendFlags(type: GeneratedType, tag: number): void {
  const original = type.encode;
  const wrapper = (message: unknown, writer?: Writer): Writer => {
    const w = original.call(type, message, writer);
    const flags = (message as { flags?: number }).flags;
    return flags === undefined ? w : w.uint32(tag).fixed32(flags);
  };
  type.encode = Object.assign(wrapper, { generated: original });
}
appendFlags(SpanType, (16 << 3) | 5);
appendFlags(LinkType, (6 << 3) | 5);

export const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
export const ExportTraceServiceResponse = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

const TO_OBJECT = { longs: String, bytes: String, defaults: true, arrays: true } as const;

/** Decodes an ExportTraceServiceRequest with protobufjs and normalises it into the span model. */
export function referenceDecode(bytes: Uint8Array): TraceBatch {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const message = ExportTraceServiceRequest.decode(buf);
  const obj = ExportTraceServiceRequest.toObject(message, TO_OBJECT) as Raw;
  const flags = FlagsRequest.toObject(FlagsRequest.decode(buf), TO_OBJECT) as FlagsOnly;
  return {
    resourceSpans: (obj.resourceSpans as Raw[]).map((rs, i) => normResourceSpans(rs, flags.resourceSpans[i]!)),
  };
}

// What toObject produces: loosely typed, shaped by the schema.
type Raw = Record<string, unknown>;

function hex(b64: unknown): string {
  return Buffer.from(b64 as string, "base64").toString("hex");
}

function normResourceSpans(r: Raw, f: FlagsOnly["resourceSpans"][number]): ResourceSpans {
  const res = r.resource as Raw | null;
  const resource: Resource = res
    ? { attributes: normKeyValues(res.attributes), droppedAttributesCount: res.droppedAttributesCount as number }
    : emptyResource();
  return {
    resource,
    scopeSpans: (r.scopeSpans as Raw[]).map((ss, i) => normScopeSpans(ss, f.scopeSpans[i]!)),
    schemaUrl: r.schemaUrl as string,
  };
}

function normScopeSpans(s: Raw, f: FlagsOnly["resourceSpans"][number]["scopeSpans"][number]): ScopeSpans {
  const sc = s.scope as Raw | null;
  const scope: InstrumentationScope = sc
    ? {
        name: sc.name as string,
        version: sc.version as string,
        attributes: normKeyValues(sc.attributes),
        droppedAttributesCount: sc.droppedAttributesCount as number,
      }
    : emptyScope();
  return { scope, spans: (s.spans as Raw[]).map((sp, i) => normSpan(sp, f.spans[i]!)), schemaUrl: s.schemaUrl as string };
}

function normSpan(s: Raw, f: { flags: number; links: { flags: number }[] }): Span {
  const st = s.status as Raw | null;
  return {
    traceId: hex(s.traceId),
    spanId: hex(s.spanId),
    traceState: s.traceState as string,
    parentSpanId: hex(s.parentSpanId),
    flags: f.flags,
    name: s.name as string,
    kind: s.kind as number,
    startTimeUnixNano: s.startTimeUnixNano as string,
    endTimeUnixNano: s.endTimeUnixNano as string,
    attributes: normKeyValues(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount as number,
    events: (s.events as Raw[]).map(normEvent),
    droppedEventsCount: s.droppedEventsCount as number,
    links: (s.links as Raw[]).map((l, i) => normLink(l, f.links[i]!.flags)),
    droppedLinksCount: s.droppedLinksCount as number,
    status: st ? { code: st.code as number, message: st.message as string } : { code: 0, message: "" },
  };
}

function normEvent(e: Raw): SpanEvent {
  return {
    timeUnixNano: e.timeUnixNano as string,
    name: e.name as string,
    attributes: normKeyValues(e.attributes),
    droppedAttributesCount: e.droppedAttributesCount as number,
  };
}

function normLink(l: Raw, flags: number): SpanLink {
  return {
    traceId: hex(l.traceId),
    spanId: hex(l.spanId),
    traceState: l.traceState as string,
    attributes: normKeyValues(l.attributes),
    droppedAttributesCount: l.droppedAttributesCount as number,
    flags,
  };
}

function normKeyValues(list: unknown): KeyValue[] {
  return (list as Raw[]).map((kv) => ({ key: kv.key as string, value: normAnyValue(kv.value as Raw | null) }));
}

function normAnyValue(v: Raw | null): AnyValue {
  if (!v) return {};
  // The generated decoder never clears a oneof sibling, so hand-crafted input that sets two members
  // leaves both; keep the first in this fixed order (real encoders never send two).
  if (v.stringValue !== undefined) return { stringValue: v.stringValue as string };
  if (v.boolValue !== undefined) return { boolValue: v.boolValue as boolean };
  if (v.intValue !== undefined) return { intValue: v.intValue as string };
  if (v.doubleValue !== undefined) return { doubleValue: v.doubleValue as number };
  if (v.arrayValue !== undefined) {
    const a = v.arrayValue as Raw;
    return { arrayValue: { values: (a.values as Raw[]).map(normAnyValue) } };
  }
  if (v.kvlistValue !== undefined) {
    const l = v.kvlistValue as Raw;
    return { kvlistValue: { values: normKeyValues(l.values) } };
  }
  if (v.bytesValue !== undefined) return { bytesValue: v.bytesValue as string };
  return {};
}

export interface ReferenceEncodeOptions {
  /**
   * Write every field, zero values and empty messages included (what protobufjs' fromObject
   * followed by encode would do). Default false: canonical proto3, zero scalars and empty
   * resource/scope/status omitted, as the OpenTelemetry SDK exporters send it.
   */
  explicitDefaults?: boolean;
}

/** Encodes a model batch as an ExportTraceServiceRequest with the protobufjs reference encoder. */
export function referenceEncode(batch: TraceBatch, opts: ReferenceEncodeOptions = {}): Uint8Array {
  const all = opts.explicitDefaults === true;
  const msg = { resourceSpans: batch.resourceSpans.map((rs) => encResourceSpans(rs, all)) };
  const out = ExportTraceServiceRequest.encode(msg).finish();
  // A plain copy: Buffer pools and offsets are no business of the code under test.
  return new Uint8Array(out);
}

// Sets `key` on `o` unless it is a proto3 zero value and defaults are omitted.
function put(o: Raw, key: string, value: unknown, isZero: boolean, all: boolean): void {
  if (all || !isZero) o[key] = value;
}

function u64(s: string): LongLike {
  return Long!.fromString(s, true);
}
function i64(s: string): LongLike {
  return Long!.fromString(s, false);
}
function idBytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, "hex"));
}

// Sets a message's `attributes` and `droppedAttributesCount` (Resource, InstrumentationScope,
// Span, Event and Link all carry the pair).
function putAttributes(o: Raw, m: { attributes: KeyValue[]; droppedAttributesCount: number }, all: boolean): void {
  put(o, "attributes", encKeyValues(m.attributes), m.attributes.length === 0, all);
  put(o, "droppedAttributesCount", m.droppedAttributesCount, m.droppedAttributesCount === 0, all);
}

// Sets sub-message `key` unless every field was omitted as a zero value (then it is absent, which
// decodes the same as empty).
function putMessage(o: Raw, key: string, message: Raw, all: boolean): void {
  put(o, key, message, Object.keys(message).length === 0, all);
}

// ResourceSpans and ScopeSpans alike: the message they are about (resource, scope), their list
// (scopeSpans, spans) and a schema URL.
function encGroup(about: string, aboutFields: Raw, list: string, items: Raw[], schemaUrl: string, all: boolean): Raw {
  const o: Raw = {};
  putMessage(o, about, aboutFields, all);
  put(o, list, items, items.length === 0, all);
  put(o, "schemaUrl", schemaUrl, schemaUrl === "", all);
  return o;
}

function encResourceSpans(rs: ResourceSpans, all: boolean): Raw {
  const ro: Raw = {};
  putAttributes(ro, rs.resource, all);
  return encGroup("resource", ro, "scopeSpans", rs.scopeSpans.map((ss) => encScopeSpans(ss, all)), rs.schemaUrl, all);
}

function encScopeSpans(ss: ScopeSpans, all: boolean): Raw {
  const s = ss.scope;
  const so: Raw = {};
  put(so, "name", s.name, s.name === "", all);
  put(so, "version", s.version, s.version === "", all);
  putAttributes(so, s, all);
  return encGroup("scope", so, "spans", ss.spans.map((sp) => encSpan(sp, all)), ss.schemaUrl, all);
}

function encSpan(s: Span, all: boolean): Raw {
  const o: Raw = {};
  put(o, "traceId", idBytes(s.traceId), s.traceId === "", all);
  put(o, "spanId", idBytes(s.spanId), s.spanId === "", all);
  put(o, "traceState", s.traceState, s.traceState === "", all);
  put(o, "parentSpanId", idBytes(s.parentSpanId), s.parentSpanId === "", all);
  put(o, "name", s.name, s.name === "", all);
  put(o, "kind", s.kind, s.kind === 0, all);
  put(o, "startTimeUnixNano", u64(s.startTimeUnixNano), s.startTimeUnixNano === "0", all);
  put(o, "endTimeUnixNano", u64(s.endTimeUnixNano), s.endTimeUnixNano === "0", all);
  putAttributes(o, s, all);
  put(o, "events", s.events.map((e) => encEvent(e, all)), s.events.length === 0, all);
  put(o, "droppedEventsCount", s.droppedEventsCount, s.droppedEventsCount === 0, all);
  put(o, "links", s.links.map((l) => encLink(l, all)), s.links.length === 0, all);
  put(o, "droppedLinksCount", s.droppedLinksCount, s.droppedLinksCount === 0, all);
  const so: Raw = {};
  put(so, "message", s.status.message, s.status.message === "", all);
  put(so, "code", s.status.code, s.status.code === 0, all);
  putMessage(o, "status", so, all);
  put(o, "flags", s.flags, s.flags === 0, all);
  return o;
}

function encEvent(e: SpanEvent, all: boolean): Raw {
  const o: Raw = {};
  put(o, "timeUnixNano", u64(e.timeUnixNano), e.timeUnixNano === "0", all);
  put(o, "name", e.name, e.name === "", all);
  putAttributes(o, e, all);
  return o;
}

function encLink(l: SpanLink, all: boolean): Raw {
  const o: Raw = {};
  put(o, "traceId", idBytes(l.traceId), l.traceId === "", all);
  put(o, "spanId", idBytes(l.spanId), l.spanId === "", all);
  put(o, "traceState", l.traceState, l.traceState === "", all);
  putAttributes(o, l, all);
  put(o, "flags", l.flags, l.flags === 0, all);
  return o;
}

function encKeyValues(list: KeyValue[]): Raw[] {
  // Key and value are always written: an attribute is never "absent", and AnyValue is a oneof.
  return list.map((kv) => ({ key: kv.key, value: encAnyValue(kv.value) }));
}

function encAnyValue(v: AnyValue): Raw {
  // Oneof members are written even when zero: their presence is the value.
  if ("stringValue" in v) return { stringValue: v.stringValue };
  if ("boolValue" in v) return { boolValue: v.boolValue };
  if ("intValue" in v) return { intValue: i64(v.intValue) };
  if ("doubleValue" in v) return { doubleValue: v.doubleValue };
  if ("bytesValue" in v) return { bytesValue: new Uint8Array(Buffer.from(v.bytesValue, "base64")) };
  if ("arrayValue" in v) return { arrayValue: { values: v.arrayValue.values.map(encAnyValue) } };
  if ("kvlistValue" in v) return { kvlistValue: { values: encKeyValues(v.kvlistValue.values) } };
  return {};
}
