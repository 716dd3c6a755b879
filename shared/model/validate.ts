/**
 * @module
 * The one place span semantics are checked, after any decoder: spans that cannot be stored or
 * queried (bad ids, impossible times, times outside the acceptance window around the receive
 * time) are removed and counted, the way OTLP partial_success wants, and oversize strings and
 * lists are cut to the bounds of span-limits.ts rather than rejected (like Tempo's per-tenant max
 * attribute bytes). Decoders only guarantee the model's shape, not these rules.
 */
import type { AnyValue, InstrumentationScope, KeyValue, Resource, ResourceSpans, ScopeSpans, Span, SpanEvent, SpanLink, TraceBatch } from "./span.ts";
import { DEFAULT_MAX_ERROR_MESSAGES, MAX_END_AFTER_RECEIVE_MS, spanLimits, type AcceptanceWindow, type SpanLimits } from "./span-limits.ts";

export { DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES, DEFAULT_MAX_ERROR_MESSAGES } from "./span-limits.ts";

export interface ValidateLimits extends Partial<SpanLimits> {
  /** Spans outside it are rejected; without one, times are only checked for order. */
  window?: AcceptanceWindow;
  /** How many distinct error messages to keep for the client. Default 5. */
  maxErrorMessages?: number;
}

/** What the size and count bounds changed in kept spans. */
export interface LimitCounts {
  /** String and bytes attribute values (also inside arrays and kvlists) cut to maxAttributeValueBytes. */
  valuesCut: number;
  statusMessagesCut: number;
  /** Span and event names, scope names and versions, schema URLs, trace states cut to maxNameBytes. */
  namesCut: number;
  /** Attributes (and kvlist entries) dropped for a key over maxAttributeKeyBytes. */
  keysDropped: number;
  /** Attributes over maxAttributes (span, resource, scope) or maxEventLinkAttributes (event, link). */
  attributesDropped: number;
  eventsDropped: number;
  linksDropped: number;
  /** Array and kvlist entries over maxValueElements. */
  elementsDropped: number;
}

export interface ValidateResult {
  /** The valid spans; resources and scopes left without spans are dropped. */
  batch: TraceBatch;
  acceptedSpans: number;
  rejectedSpans: number;
  /** Up to maxErrorMessages messages, one per distinct reason, naming the first span it hit. */
  errors: string[];
  /** Attribute values cut to maxAttributeValueBytes (resource, scope, span, event, link); = limited.valuesCut. */
  truncatedAttributes: number;
  limited: LimitCounts;
  /** One message saying what the bounds cut, for partial_success; empty when nothing was cut. */
  notices: string[];
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

function duration(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000} hours` : `${Math.round(ms / 60_000)} minutes`;
}

/** Why a span must be rejected, or undefined when it is acceptable. */
export function spanProblem(span: Span, window?: AcceptanceWindow): string | undefined {
  const problem =
    idProblem("traceId", span.traceId, 16) ??
    idProblem("spanId", span.spanId, 8) ??
    (span.parentSpanId === "" || span.parentSpanId === ZERO_SPAN_ID ? undefined : idProblem("parentSpanId", span.parentSpanId, 8, true));
  if (problem !== undefined) return problem;
  if (span.startTimeUnixNano === "0") return "startTimeUnixNano must be set";
  if (decimalLess(span.endTimeUnixNano, span.startTimeUnixNano)) return "endTimeUnixNano is before startTimeUnixNano";
  if (window) {
    // With end >= start, these two bound both times.
    if (decimalLess(span.startTimeUnixNano, window.earliestStartUnixNano)) {
      return `startTimeUnixNano is more than ${window.retentionDays} days (the tenant's retention) before the request was received`;
    }
    if (decimalLess(window.latestEndUnixNano, span.endTimeUnixNano)) {
      return `endTimeUnixNano is more than ${duration(MAX_END_AFTER_RECEIVE_MS)} after the request was received`;
    }
  }
  for (let i = 0; i < span.links.length; i++) {
    const link = span.links[i]!;
    const p = idProblem(`links[${i}].traceId`, link.traceId, 16) ?? idProblem(`links[${i}].spanId`, link.spanId, 8);
    if (p !== undefined) return p;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Size and count bounds. Lists and objects are copied only when something in them changed.

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

/**
 * Base64 `b` cut to at most `limit` decoded bytes, or `b` itself when it fits. Whole 4-character
 * groups are kept, so the result is valid base64 of a prefix of the bytes.
 */
function truncateBase64(b: string, limit: number): string {
  if (b.length <= limit) return b; // base64 is longer than its bytes
  const padding = b.endsWith("==") ? 2 : b.endsWith("=") ? 1 : 0;
  if (Math.floor((b.length * 3) / 4) - padding <= limit) return b;
  return b.slice(0, Math.floor(limit / 3) * 4);
}

/** dropped*Count fields are uint32 on the wire. */
function addDropped(count: number, more: number): number {
  return Math.min(count + more, 0xffffffff);
}

function emptyCounts(): LimitCounts {
  return { valuesCut: 0, statusMessagesCut: 0, namesCut: 0, keysDropped: 0, attributesDropped: 0, eventsDropped: 0, linksDropped: 0, elementsDropped: 0 };
}

class Bounder {
  readonly limits: SpanLimits;
  readonly counts = emptyCounts();
  constructor(limits: SpanLimits) {
    this.limits = limits;
  }

  text(s: string, limit: number, counter: "namesCut" | "statusMessagesCut" | "valuesCut"): string {
    if (!utf8LengthOver(s, limit)) return s;
    this.counts[counter]++;
    return truncateUtf8(s, limit);
  }

  name(s: string): string {
    return this.text(s, this.limits.maxNameBytes, "namesCut");
  }

  value(v: AnyValue): AnyValue {
    if ("stringValue" in v) {
      const s = this.text(v.stringValue, this.limits.maxAttributeValueBytes, "valuesCut");
      return s === v.stringValue ? v : { stringValue: s };
    }
    if ("bytesValue" in v) {
      const b = truncateBase64(v.bytesValue, this.limits.maxAttributeValueBytes);
      if (b === v.bytesValue) return v;
      this.counts.valuesCut++;
      return { bytesValue: b };
    }
    if ("arrayValue" in v) {
      const values = this.values(v.arrayValue.values);
      return values === v.arrayValue.values ? v : { arrayValue: { values } };
    }
    if ("kvlistValue" in v) {
      const { list } = this.keyValues(v.kvlistValue.values, this.limits.maxValueElements, "elementsDropped");
      return list === v.kvlistValue.values ? v : { kvlistValue: { values: list } };
    }
    return v;
  }

  values(list: AnyValue[]): AnyValue[] {
    const max = this.limits.maxValueElements;
    let out: AnyValue[] | undefined;
    if (list.length > max) {
      this.counts.elementsDropped += list.length - max;
      out = list.slice(0, max);
    }
    const n = Math.min(list.length, max);
    for (let i = 0; i < n; i++) {
      const v = this.value(list[i]!);
      if (v !== list[i]) (out ??= list.slice(0, n))[i] = v;
    }
    return out ?? list;
  }

  /**
   * `list` without entries whose key is too long or that come after the first `max`, with values
   * bounded; `dropped` counts the entries left out.
   */
  keyValues(list: KeyValue[], max: number, overCount: "attributesDropped" | "elementsDropped"): { list: KeyValue[]; dropped: number } {
    let out: KeyValue[] | undefined;
    let dropped = 0;
    let kept = 0;
    for (let i = 0; i < list.length; i++) {
      const kv = list[i]!;
      if (utf8LengthOver(kv.key, this.limits.maxAttributeKeyBytes) || kept >= max) {
        if (kept >= max) this.counts[overCount]++;
        else this.counts.keysDropped++;
        dropped++;
        out ??= list.slice(0, i);
        continue;
      }
      kept++;
      const v = this.value(kv.value);
      if (v !== kv.value) {
        out ??= list.slice(0, i);
        out.push({ key: kv.key, value: v });
      } else if (out) out.push(kv);
    }
    return { list: out ?? list, dropped };
  }

  withAttributes<T extends { attributes: KeyValue[]; droppedAttributesCount: number }>(o: T, max: number): T {
    const { list, dropped } = this.keyValues(o.attributes, max, "attributesDropped");
    return list === o.attributes ? o : { ...o, attributes: list, droppedAttributesCount: addDropped(o.droppedAttributesCount, dropped) };
  }

  resource(r: Resource): Resource {
    return this.withAttributes(r, this.limits.maxAttributes);
  }

  scope(s: InstrumentationScope): InstrumentationScope {
    const out = this.withAttributes(s, this.limits.maxAttributes);
    const name = this.name(s.name);
    const version = this.name(s.version);
    return name === s.name && version === s.version ? out : { ...out, name, version };
  }

  event(e: SpanEvent): SpanEvent {
    const out = this.withAttributes(e, this.limits.maxEventLinkAttributes);
    const name = this.name(e.name);
    return name === e.name ? out : { ...out, name };
  }

  link(l: SpanLink): SpanLink {
    const out = this.withAttributes(l, this.limits.maxEventLinkAttributes);
    const traceState = this.name(l.traceState);
    return traceState === l.traceState ? out : { ...out, traceState };
  }

  span(s: Span): Span {
    const name = this.name(s.name);
    const traceState = this.name(s.traceState);
    const message = this.text(s.status.message, this.limits.maxAttributeValueBytes, "statusMessagesCut");
    const attributes = this.keyValues(s.attributes, this.limits.maxAttributes, "attributesDropped");
    const eventsOver = Math.max(0, s.events.length - this.limits.maxEvents);
    const linksOver = Math.max(0, s.links.length - this.limits.maxLinks);
    this.counts.eventsDropped += eventsOver;
    this.counts.linksDropped += linksOver;
    const events = mapSame(eventsOver ? s.events.slice(0, this.limits.maxEvents) : s.events, (e) => this.event(e));
    const links = mapSame(linksOver ? s.links.slice(0, this.limits.maxLinks) : s.links, (l) => this.link(l));
    if (name === s.name && traceState === s.traceState && message === s.status.message && attributes.list === s.attributes && events === s.events && links === s.links) return s;
    return {
      ...s,
      name,
      traceState,
      attributes: attributes.list,
      droppedAttributesCount: addDropped(s.droppedAttributesCount, attributes.dropped),
      events,
      droppedEventsCount: addDropped(s.droppedEventsCount, eventsOver),
      links,
      droppedLinksCount: addDropped(s.droppedLinksCount, linksOver),
      status: message === s.status.message ? s.status : { ...s.status, message },
    };
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

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What the bounds cut, as one sentence for partial_success.error_message, or undefined for nothing. */
export function limitNotice(c: LimitCounts, l: SpanLimits): string | undefined {
  const cut: string[] = [];
  if (c.valuesCut) cut.push(`${plural(c.valuesCut, "attribute value", "attribute values")} to ${l.maxAttributeValueBytes} bytes`);
  if (c.statusMessagesCut) cut.push(`${plural(c.statusMessagesCut, "status message", "status messages")} to ${l.maxAttributeValueBytes} bytes`);
  if (c.namesCut) cut.push(`${plural(c.namesCut, "name", "names")} (span, event or scope name, scope version, schema URL, trace state) to ${l.maxNameBytes} bytes`);
  const dropped: string[] = [];
  if (c.keysDropped) dropped.push(`${plural(c.keysDropped, "attribute", "attributes")} with a key over ${l.maxAttributeKeyBytes} bytes`);
  if (c.attributesDropped) {
    dropped.push(`${plural(c.attributesDropped, "attribute", "attributes")} over ${l.maxAttributes} per span, resource or scope or ${l.maxEventLinkAttributes} per event or link`);
  }
  if (c.eventsDropped) dropped.push(`${plural(c.eventsDropped, "event", "events")} over ${l.maxEvents} per span`);
  if (c.linksDropped) dropped.push(`${plural(c.linksDropped, "link", "links")} over ${l.maxLinks} per span`);
  if (c.elementsDropped) dropped.push(`${plural(c.elementsDropped, "array or kvlist entry", "array or kvlist entries")} over ${l.maxValueElements} per value`);
  if (cut.length === 0 && dropped.length === 0) return undefined;
  const parts: string[] = [];
  if (cut.length) parts.push(`truncated ${cut.join(", ")}`);
  if (dropped.length) parts.push(`dropped ${dropped.join(", ")}`);
  return `spans kept within this tenant's limits: ${parts.join("; ")}`;
}

/**
 * Removes spans that break the span rules (or lie outside `limits.window`), drops resources and
 * scopes left empty, and bounds sizes and counts of what is kept. The input batch is not modified.
 */
export function validateBatch(batch: TraceBatch, limits: ValidateLimits = {}): ValidateResult {
  const maxErrors = limits.maxErrorMessages ?? DEFAULT_MAX_ERROR_MESSAGES;
  // The tenant's value limit is checked by spanLimits; other bounds may be given (tests do).
  const bounds = spanLimits({ maxAttributeValueBytes: limits.maxAttributeValueBytes });
  for (const k of Object.keys(bounds) as (keyof SpanLimits)[]) {
    const v = limits[k];
    if (v !== undefined && k !== "maxAttributeValueBytes") bounds[k] = v;
  }
  const bounder = new Bounder(bounds);
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
        const problem = spanProblem(span, limits.window);
        if (problem === undefined) {
          // Some clients mark a root with an all-zero parent; the model says "" for that.
          spans.push(bounder.span(span.parentSpanId === ZERO_SPAN_ID ? { ...span, parentSpanId: "" } : span));
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
      scopeSpans.push({ scope: bounder.scope(ss.scope), spans, schemaUrl: bounder.name(ss.schemaUrl) });
    });
    if (scopeSpans.length === 0) return;
    resourceSpans.push({ resource: bounder.resource(rs.resource), scopeSpans, schemaUrl: bounder.name(rs.schemaUrl) });
  });
  const notice = limitNotice(bounder.counts, bounds);
  return {
    batch: { resourceSpans },
    acceptedSpans: accepted,
    rejectedSpans: rejected,
    errors,
    truncatedAttributes: bounder.counts.valuesCut,
    limited: bounder.counts,
    notices: notice === undefined ? [] : [notice],
  };
}
