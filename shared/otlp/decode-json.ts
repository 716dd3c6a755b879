/**
 * @module
 * OTLP/JSON ExportTraceServiceRequest (already JSON.parse'd) → TraceBatch.
 *
 * Follows the OTLP/JSON mapping of proto3 JSON: lowerCamelCase names (the proto snake_case names
 * are accepted too, as protobuf JSON parsers do), ids as case-insensitive hex, 64-bit ints as
 * strings or numbers, enums as numbers or names, unknown fields ignored, null meaning absent.
 * zod checks the envelope (request, resourceSpans, resource, scopeSpans, scope); spans and the
 * AnyValues inside them, nearly all of a request, are read by hand inside zod transforms, because
 * zod objects per span and per value cost ~3 ms per 512 spans without zod's JIT (as on Workers)
 * against ~1 ms by hand. Span semantics (id lengths, times) are left to validate.ts.
 */
import { z } from "zod";
import {
  DecodeError,
  emptyResource,
  emptyScope,
  type AnyValue,
  type InstrumentationScope,
  type KeyValue,
  type Resource,
  type ResourceSpans,
  type ScopeSpans,
  type Span,
  type SpanEvent,
  type SpanLink,
  type SpanStatus,
  type TraceBatch,
} from "../model/span.ts";

/** AnyValues nested deeper than this (arrays in kvlists in arrays …) are refused. */
export const MAX_ANY_VALUE_DEPTH = 32;

// ---------------------------------------------------------------------------------------------
// Scalars. Each returns the normalised value or undefined when the input is not acceptable, so
// the zod schemas and the hand-written AnyValue reader share one definition.

const UINT64_MAX = "18446744073709551615";
const INT64_MAX = "9223372036854775807";
const INT64_MIN_ABS = "9223372036854775808";
const TWO_64 = 2 ** 64;
const TWO_63 = 2 ** 63;

/** Decimal digits without leading zeros fit under `max` (both plain digit strings). */
function withinDigits(digits: string, max: string): boolean {
  return digits.length < max.length || (digits.length === max.length && digits <= max);
}

function integralNumberToString(n: number): string {
  // String(1e21) is "1e+21"; BigInt prints every digit of the double.
  return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
}

const UNSIGNED_DIGITS = /^\d+$/;
const SIGNED_DIGITS = /^-?\d+$/;

/** fixed64/uint64 as a decimal string; accepts a JSON number or a decimal string. */
export function toUint64String(v: unknown): string | undefined {
  if (typeof v === "string") {
    if (!UNSIGNED_DIGITS.test(v)) return undefined;
    const digits = v.replace(/^0+(?=\d)/, "");
    return withinDigits(digits, UINT64_MAX) ? digits : undefined;
  }
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < TWO_64) return integralNumberToString(v);
  return undefined;
}

/** int64 as a decimal string; accepts a JSON number or a (possibly negative) decimal string. */
export function toInt64String(v: unknown): string | undefined {
  if (typeof v === "string") {
    if (!SIGNED_DIGITS.test(v)) return undefined;
    const negative = v.startsWith("-");
    const digits = (negative ? v.slice(1) : v).replace(/^0+(?=\d)/, "");
    if (digits === "0") return "0";
    if (!withinDigits(digits, negative ? INT64_MIN_ABS : INT64_MAX)) return undefined;
    return negative ? `-${digits}` : digits;
  }
  if (typeof v === "number" && Number.isInteger(v) && v >= -TWO_63 && v < TWO_63) {
    return integralNumberToString(v === 0 ? 0 : v); // -0 → "0"
  }
  return undefined;
}

/** uint32/fixed32 (counts, flags): a JSON number or a decimal string. */
function toUint32(v: unknown): number | undefined {
  const n = typeof v === "string" && UNSIGNED_DIGITS.test(v) ? Number(v) : v;
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** double: a JSON number, "NaN"/"Infinity"/"-Infinity", or a number in a string. */
function toDouble(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v !== "string") return undefined;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return JSON_NUMBER.test(v) ? Number(v) : undefined;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** trace/span ids: hex of whole bytes, any case → lowercase. "" stays "" (validate rejects it). */
function toHexId(v: unknown): string | undefined {
  return typeof v === "string" && HEX.test(v) ? v.toLowerCase() : undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** bytes: standard or URL-safe base64, padding optional → canonical padded standard base64. */
function toBase64(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  const std = v.replace(/-/g, "+").replace(/_/g, "/");
  if (!BASE64.test(std)) return undefined;
  try {
    return btoa(atob(std));
  } catch {
    return undefined;
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Open proto3 enum: any int32 number, or one of the value names. */
function toEnum(v: unknown, names: Record<string, number>): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : undefined;
  if (typeof v === "string") return Object.hasOwn(names, v) ? names[v] : undefined;
  return undefined;
}

const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODE_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

// ---------------------------------------------------------------------------------------------
// Spans and everything inside them, by hand: they are nearly all of a request, and a zod object
// per span, event and AnyValue cost several times the JSON.parse itself (Workers run zod without
// its JIT). Errors are thrown as ValueIssue with a path relative to the list being read; the zod
// transform that called in turns it into an issue at the right place.

class ValueIssue {
  readonly message: string;
  readonly path: (string | number)[];
  constructor(message: string, path: (string | number)[] = []) {
    this.message = message;
    this.path = path;
  }
}

function prefixed(e: unknown, ...segments: (string | number)[]): unknown {
  if (e instanceof ValueIssue) e.path.unshift(...segments);
  return e;
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The field under its lowerCamelCase name, else its proto name; null counts as absent. */
function get(o: Obj, camel: string, snake: string): unknown {
  const v = o[camel];
  return v != null ? v : o[snake];
}

/** Which of the two names `get` read, for error paths. */
function keyOf(o: Obj, camel: string, snake: string): string {
  return o[camel] != null ? camel : snake;
}

function readScalar<T>(o: Obj, camel: string, snake: string, convert: (v: unknown) => T | undefined, fallback: T, expected: string): T {
  const v = get(o, camel, snake);
  if (v == null) return fallback;
  const out = convert(v);
  if (out === undefined) throw new ValueIssue(`expected ${expected}`, [keyOf(o, camel, snake)]);
  return out;
}

const asString = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const readString = (o: Obj, camel: string, snake = camel): string => readScalar(o, camel, snake, asString, "", "a string");
const readId = (o: Obj, camel: string, snake: string): string => readScalar(o, camel, snake, toHexId, "", "a hex-encoded id");
const readFixed64 = (o: Obj, camel: string, snake: string): string =>
  readScalar(o, camel, snake, toUint64String, "0", "a uint64 (integral number or decimal string, 0..2^64-1)");
const readUint32 = (o: Obj, camel: string, snake = camel): number =>
  readScalar(o, camel, snake, toUint32, 0, "a uint32 (integral number or decimal string, 0..2^32-1)");

/** A repeated message field, each element read by `item`. */
function readList<T>(o: Obj, camel: string, snake: string, item: (v: unknown) => T): T[] {
  const v = get(o, camel, snake);
  if (v == null) return [];
  const k = keyOf(o, camel, snake);
  if (!Array.isArray(v)) throw new ValueIssue("expected an array", [k]);
  const out: T[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    try {
      out[i] = item(v[i]);
    } catch (e) {
      throw prefixed(e, k, i);
    }
  }
  return out;
}

function readAttributes(o: Obj): KeyValue[] {
  const v = o.attributes;
  if (v == null) return [];
  try {
    return decodeKeyValues(v, 0);
  } catch (e) {
    throw prefixed(e, "attributes");
  }
}

function decodeKeyValues(input: unknown, depth: number): KeyValue[] {
  if (!Array.isArray(input)) throw new ValueIssue("expected an array of KeyValue");
  const out: KeyValue[] = new Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const kv: unknown = input[i];
    if (!isObject(kv)) throw new ValueIssue("expected a KeyValue object", [i]);
    const key = kv.key;
    if (key != null && typeof key !== "string") throw new ValueIssue("expected a string", [i, "key"]);
    const value = kv.value;
    let decoded: AnyValue = {};
    if (value != null) {
      try {
        decoded = decodeAnyValue(value, depth + 1);
      } catch (e) {
        throw prefixed(e, i, "value");
      }
    }
    out[i] = { key: key ?? "", value: decoded };
  }
  return out;
}

function decodeAnyValues(input: unknown, depth: number): AnyValue[] {
  if (!Array.isArray(input)) throw new ValueIssue("expected an array of AnyValue");
  const out: AnyValue[] = new Array(input.length);
  for (let i = 0; i < input.length; i++) {
    try {
      out[i] = decodeAnyValue(input[i], depth + 1);
    } catch (e) {
      throw prefixed(e, i);
    }
  }
  return out;
}

/** One AnyValue at nesting `depth` (an attribute's own value is depth 1). */
function decodeAnyValue(v: unknown, depth: number): AnyValue {
  if (depth > MAX_ANY_VALUE_DEPTH) throw new ValueIssue(`AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH} levels`);
  if (!isObject(v)) throw new ValueIssue("expected an AnyValue object");
  let out: AnyValue | undefined;
  for (const k in v) {
    const x = v[k];
    if (x == null) continue;
    let decoded: AnyValue;
    switch (k) {
      case "stringValue":
      case "string_value":
        if (typeof x !== "string") throw new ValueIssue("expected a string", [k]);
        decoded = { stringValue: x };
        break;
      case "boolValue":
      case "bool_value":
        if (typeof x !== "boolean") throw new ValueIssue("expected a boolean", [k]);
        decoded = { boolValue: x };
        break;
      case "intValue":
      case "int_value": {
        const s = toInt64String(x);
        if (s === undefined) throw new ValueIssue("expected an int64 (integral number or decimal string)", [k]);
        decoded = { intValue: s };
        break;
      }
      case "doubleValue":
      case "double_value": {
        const d = toDouble(x);
        if (d === undefined) throw new ValueIssue("expected a double", [k]);
        decoded = { doubleValue: d };
        break;
      }
      case "bytesValue":
      case "bytes_value": {
        const b = toBase64(x);
        if (b === undefined) throw new ValueIssue("expected base64 bytes", [k]);
        decoded = { bytesValue: b };
        break;
      }
      case "arrayValue":
      case "array_value":
        if (!isObject(x)) throw new ValueIssue("expected an ArrayValue object", [k]);
        try {
          decoded = { arrayValue: { values: x.values == null ? [] : decodeAnyValues(x.values, depth) } };
        } catch (e) {
          throw prefixed(e, k, "values");
        }
        break;
      case "kvlistValue":
      case "kvlist_value":
        if (!isObject(x)) throw new ValueIssue("expected a KeyValueList object", [k]);
        try {
          decoded = { kvlistValue: { values: x.values == null ? [] : decodeKeyValues(x.values, depth) } };
        } catch (e) {
          throw prefixed(e, k, "values");
        }
        break;
      default:
        continue; // unknown field (or string_value_strindex, which traces do not use)
    }
    if (out !== undefined) throw new ValueIssue("more than one AnyValue field set", [k]);
    out = decoded;
  }
  return out ?? {};
}

function decodeEvent(v: unknown): SpanEvent {
  if (!isObject(v)) throw new ValueIssue("expected an Event object");
  return {
    timeUnixNano: readFixed64(v, "timeUnixNano", "time_unix_nano"),
    name: readString(v, "name"),
    attributes: readAttributes(v),
    droppedAttributesCount: readUint32(v, "droppedAttributesCount", "dropped_attributes_count"),
  };
}

function decodeLink(v: unknown): SpanLink {
  if (!isObject(v)) throw new ValueIssue("expected a Link object");
  return {
    traceId: readId(v, "traceId", "trace_id"),
    spanId: readId(v, "spanId", "span_id"),
    traceState: readString(v, "traceState", "trace_state"),
    attributes: readAttributes(v),
    droppedAttributesCount: readUint32(v, "droppedAttributesCount", "dropped_attributes_count"),
    flags: readUint32(v, "flags"),
  };
}

function readStatus(span: Obj): SpanStatus {
  const v = span.status;
  if (v == null) return { code: 0, message: "" };
  if (!isObject(v)) throw new ValueIssue("expected a Status object", ["status"]);
  try {
    return {
      code: readScalar(v, "code", "code", (x) => toEnum(x, STATUS_CODE_NAMES), 0, "a StatusCode number or name"),
      message: readString(v, "message"),
    };
  } catch (e) {
    throw prefixed(e, "status");
  }
}

function decodeSpan(v: unknown): Span {
  if (!isObject(v)) throw new ValueIssue("expected a Span object");
  return {
    traceId: readId(v, "traceId", "trace_id"),
    spanId: readId(v, "spanId", "span_id"),
    traceState: readString(v, "traceState", "trace_state"),
    parentSpanId: readId(v, "parentSpanId", "parent_span_id"),
    flags: readUint32(v, "flags"),
    name: readString(v, "name"),
    kind: readScalar(v, "kind", "kind", (x) => toEnum(x, SPAN_KIND_NAMES), 0, "a SpanKind number or name"),
    startTimeUnixNano: readFixed64(v, "startTimeUnixNano", "start_time_unix_nano"),
    endTimeUnixNano: readFixed64(v, "endTimeUnixNano", "end_time_unix_nano"),
    attributes: readAttributes(v),
    droppedAttributesCount: readUint32(v, "droppedAttributesCount", "dropped_attributes_count"),
    events: readList(v, "events", "events", decodeEvent),
    droppedEventsCount: readUint32(v, "droppedEventsCount", "dropped_events_count"),
    links: readList(v, "links", "links", decodeLink),
    droppedLinksCount: readUint32(v, "droppedLinksCount", "dropped_links_count"),
    status: readStatus(v),
  };
}

// ---------------------------------------------------------------------------------------------
// zod schemas for the envelope: request → resourceSpans → resource / scopeSpans → scope.

/** A hand reader as a zod schema: its ValueIssue becomes a zod issue at the right path. */
function handRead<T>(read: (v: unknown) => T) {
  return z.unknown().transform((v, ctx): T => {
    try {
      return read(v);
    } catch (e) {
      if (!(e instanceof ValueIssue)) throw e;
      ctx.issues.push({ code: "custom", message: e.message, input: v, path: e.path });
      return z.NEVER;
    }
  });
}

const str = z.string();
const uint32 = z.unknown().transform((v, ctx): number => {
  const n = toUint32(v);
  if (n !== undefined) return n;
  ctx.issues.push({ code: "custom", message: "expected a uint32 (integral number or decimal string, 0..2^32-1)", input: v });
  return z.NEVER;
});
const keyValues = handRead((v) => decodeKeyValues(v, 0));
const spans = handRead((v) => {
  if (!Array.isArray(v)) throw new ValueIssue("expected an array of Span");
  const out: Span[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    try {
      out[i] = decodeSpan(v[i]);
    } catch (e) {
      throw prefixed(e, i);
    }
  }
  return out;
});

/** The camelCase field and its proto snake_case twin, both optional and nullable. */
function pair<C extends string, S extends string, T extends z.ZodType>(camel: C, snake: S, schema: T) {
  const field = schema.nullish();
  return { [camel]: field, [snake]: field } as { [K in C | S]: z.ZodOptional<z.ZodNullable<T>> };
}

const resourceSchema = z
  .object({
    attributes: keyValues.nullish(),
    ...pair("droppedAttributesCount", "dropped_attributes_count", uint32),
  })
  .transform(
    (r): Resource => ({
      attributes: r.attributes ?? [],
      droppedAttributesCount: r.droppedAttributesCount ?? r.dropped_attributes_count ?? 0,
    }),
  );

const scopeSchema = z
  .object({
    name: str.nullish(),
    version: str.nullish(),
    attributes: keyValues.nullish(),
    ...pair("droppedAttributesCount", "dropped_attributes_count", uint32),
  })
  .transform(
    (s): InstrumentationScope => ({
      name: s.name ?? "",
      version: s.version ?? "",
      attributes: s.attributes ?? [],
      droppedAttributesCount: s.droppedAttributesCount ?? s.dropped_attributes_count ?? 0,
    }),
  );

const scopeSpansSchema = z
  .object({
    scope: scopeSchema.nullish(),
    spans: spans.nullish(),
    ...pair("schemaUrl", "schema_url", str),
  })
  .transform(
    (s): ScopeSpans => ({
      scope: s.scope ?? emptyScope(),
      spans: s.spans ?? [],
      schemaUrl: s.schemaUrl ?? s.schema_url ?? "",
    }),
  );

const resourceSpansSchema = z
  .object({
    resource: resourceSchema.nullish(),
    ...pair("scopeSpans", "scope_spans", z.array(scopeSpansSchema)),
    ...pair("schemaUrl", "schema_url", str),
  })
  .transform(
    (r): ResourceSpans => ({
      resource: r.resource ?? emptyResource(),
      scopeSpans: r.scopeSpans ?? r.scope_spans ?? [],
      schemaUrl: r.schemaUrl ?? r.schema_url ?? "",
    }),
  );

const requestSchema = z
  .object({ ...pair("resourceSpans", "resource_spans", z.array(resourceSpansSchema)) })
  .transform((r): TraceBatch => ({ resourceSpans: r.resourceSpans ?? r.resource_spans ?? [] }));

/** `resourceSpans[0].scopeSpans[1].spans[3].startTimeUnixNano` from a zod issue path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/**
 * Decodes a parsed OTLP/JSON ExportTraceServiceRequest.
 * @throws DecodeError naming the field path of the first thing that cannot be read.
 */
export function decodeTraceRequestJson(body: unknown): TraceBatch {
  const result = requestSchema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new DecodeError("invalid OTLP/JSON request");
  const where = formatPath(issue.path);
  throw new DecodeError(issue.message, where === "" ? "request" : where);
}
