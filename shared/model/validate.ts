/**
 * @module
 * The one place span semantics are checked, after any decoder: spans that cannot be stored or
 * queried (bad ids, impossible times) are removed and counted, the way OTLP partial_success wants,
 * and oversize attribute strings are truncated rather than rejected (like Tempo's per-tenant max
 * attribute bytes). Decoders only guarantee the model's shape, not these rules.
 */
import type { AnyValue, KeyValue, ResourceSpans, ScopeSpans, Span, SpanEvent, SpanLink, TraceBatch } from "./span.ts";

export interface ValidateLimits {
  /** UTF-8 bytes an attribute string value may have before it is truncated. Default 64 KiB. */
  maxAttributeValueBytes?: number;
  /** How many distinct error messages to keep for the client. Default 5. */
  maxErrorMessages?: number;
}

export const DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES = 64 * 1024;
export const DEFAULT_MAX_ERROR_MESSAGES = 5;

export interface ValidateResult {
  /** The valid spans; resources and scopes left without spans are dropped. */
  batch: TraceBatch;
  acceptedSpans: number;
  rejectedSpans: number;
  /** Up to maxErrorMessages messages, one per distinct reason, naming the first span it hit. */
  errors: string[];
  /** Attribute string values cut to maxAttributeValueBytes (resource, scope, span, event, link). */
  truncatedAttributes: number;
}

const LOWER_HEX = /^[0-9a-f]*$/;
const ALL_ZEROS = /^0*$/;

/** Why an id meant to be `bytes` bytes is unusable, or undefined when it is fine. */
function idProblem(field: string, id: string, bytes: number, emptyOk = false): string | undefined {
  const want = emptyOk ? `empty or ${bytes} bytes` : `${bytes} bytes`;
  if (!LOWER_HEX.test(id)) return `${field} must be lowercase hex`;
  if (id.length % 2 !== 0) return `${field} must be ${want}, got ${id.length} hex digits`;
  if (id.length !== bytes * 2) return `${field} must be ${want}, got ${id.length / 2}`;
  if (ALL_ZEROS.test(id)) return `${field} must not be all zeros`;
  return undefined;
}

/** a < b for decimal strings without leading zeros (the model's 64-bit form). */
function decimalLess(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}

const ZERO_SPAN_ID = "0000000000000000";

/** Why a span must be rejected, or undefined when it is acceptable. */
export function spanProblem(span: Span): string | undefined {
  const problem =
    idProblem("traceId", span.traceId, 16) ??
    idProblem("spanId", span.spanId, 8) ??
    (span.parentSpanId === "" || span.parentSpanId === ZERO_SPAN_ID ? undefined : idProblem("parentSpanId", span.parentSpanId, 8, true));
  if (problem !== undefined) return problem;
  if (span.startTimeUnixNano === "0") return "startTimeUnixNano must be set";
  if (decimalLess(span.endTimeUnixNano, span.startTimeUnixNano)) return "endTimeUnixNano is before startTimeUnixNano";
  for (let i = 0; i < span.links.length; i++) {
    const link = span.links[i]!;
    const p = idProblem(`links[${i}].traceId`, link.traceId, 16) ?? idProblem(`links[${i}].spanId`, link.spanId, 8);
    if (p !== undefined) return p;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Attribute truncation. Lists are copied only when something in them changed.

/** UTF-8 length of `s`, stopping early once it passes `limit`. */
function utf8LengthOver(s: string, limit: number): boolean {
  // Every UTF-16 unit is 1 to 3 UTF-8 bytes, so most strings are decided by their length alone.
  if (s.length > limit) return true;
  if (s.length * 3 <= limit) return false;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
    if (bytes > limit) return true;
  }
  return false;
}

/** The longest prefix of `s` that is at most `limit` UTF-8 bytes, never splitting a character. */
export function truncateUtf8(s: string, limit: number): string {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let size = 3;
    let units = 1;
    if (c < 0x80) size = 1;
    else if (c < 0x800) size = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      size = 4;
      units = 2;
    }
    if (bytes + size > limit) return s.slice(0, i);
    bytes += size;
    i += units - 1;
  }
  return s;
}

class Truncator {
  readonly limit: number;
  count = 0;
  constructor(limit: number) {
    this.limit = limit;
  }

  value(v: AnyValue): AnyValue {
    if ("stringValue" in v) {
      if (!utf8LengthOver(v.stringValue, this.limit)) return v;
      this.count++;
      return { stringValue: truncateUtf8(v.stringValue, this.limit) };
    }
    if ("arrayValue" in v) {
      const values = this.values(v.arrayValue.values);
      return values === v.arrayValue.values ? v : { arrayValue: { values } };
    }
    if ("kvlistValue" in v) {
      const values = this.keyValues(v.kvlistValue.values);
      return values === v.kvlistValue.values ? v : { kvlistValue: { values } };
    }
    return v;
  }

  values(list: AnyValue[]): AnyValue[] {
    let out: AnyValue[] | undefined;
    for (let i = 0; i < list.length; i++) {
      const v = this.value(list[i]!);
      if (v !== list[i]) (out ??= list.slice())[i] = v;
    }
    return out ?? list;
  }

  keyValues(list: KeyValue[]): KeyValue[] {
    let out: KeyValue[] | undefined;
    for (let i = 0; i < list.length; i++) {
      const kv = list[i]!;
      const v = this.value(kv.value);
      if (v !== kv.value) (out ??= list.slice())[i] = { key: kv.key, value: v };
    }
    return out ?? list;
  }

  /** Returns `o` itself when its attributes needed no change. */
  withAttributes<T extends { attributes: KeyValue[] }>(o: T): T {
    const attributes = this.keyValues(o.attributes);
    return attributes === o.attributes ? o : { ...o, attributes };
  }

  span(s: Span): Span {
    let out = this.withAttributes(s);
    const events = mapSame(s.events, (e: SpanEvent) => this.withAttributes(e));
    const links = mapSame(s.links, (l: SpanLink) => this.withAttributes(l));
    if (events !== s.events || links !== s.links) out = { ...out, events, links };
    return out;
  }
}

function mapSame<T>(list: T[], f: (t: T) => T): T[] {
  let out: T[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const t = f(list[i]!);
    if (t !== list[i]) (out ??= list.slice())[i] = t;
  }
  return out ?? list;
}

/**
 * Removes spans that break the span rules, drops resources and scopes left empty, and truncates
 * oversize attribute strings. The input batch is not modified.
 */
export function validateBatch(batch: TraceBatch, limits: ValidateLimits = {}): ValidateResult {
  const maxErrors = limits.maxErrorMessages ?? DEFAULT_MAX_ERROR_MESSAGES;
  const truncator = new Truncator(limits.maxAttributeValueBytes ?? DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES);
  const errors: string[] = [];
  const seenReasons = new Set<string>();
  let accepted = 0;
  let rejected = 0;
  const resourceSpans: ResourceSpans[] = [];
  batch.resourceSpans.forEach((rs, r) => {
    const scopeSpans: ScopeSpans[] = [];
    rs.scopeSpans.forEach((ss, s) => {
      const spans: Span[] = [];
      ss.spans.forEach((span, i) => {
        const problem = spanProblem(span);
        if (problem === undefined) {
          // Some clients mark a root with an all-zero parent; the model says "" for that.
          spans.push(truncator.span(span.parentSpanId === ZERO_SPAN_ID ? { ...span, parentSpanId: "" } : span));
          return;
        }
        rejected++;
        if (errors.length < maxErrors && !seenReasons.has(problem)) {
          seenReasons.add(problem);
          errors.push(`span ${i} of resourceSpans[${r}].scopeSpans[${s}]: ${problem}`);
        }
      });
      if (spans.length === 0) return;
      accepted += spans.length;
      scopeSpans.push({ scope: truncator.withAttributes(ss.scope), spans, schemaUrl: ss.schemaUrl });
    });
    if (scopeSpans.length === 0) return;
    resourceSpans.push({ resource: truncator.withAttributes(rs.resource), scopeSpans, schemaUrl: rs.schemaUrl });
  });
  return { batch: { resourceSpans }, acceptedSpans: accepted, rejectedSpans: rejected, errors, truncatedAttributes: truncator.count };
}
