/**
 * @module
 * What ingest accepts of a span, in one place: the time window around the receive time, and the
 * size and count bounds. validate.ts applies them after any decoder; ingest reports what they
 * refused or cut in OTLP partial_success (Zipkin: the x-edgetrace-* response headers).
 *
 * Refused (the span is rejected and counted in rejected_spans and the tenant's usage):
 * - a start more than the tenant's retention before the receive time, or an end more than
 *   MAX_END_AFTER_RECEIVE_MS after it (with the existing rules: a start must be set, an end may
 *   not precede its start).
 * Cut (the span is kept; error_message says what was cut, rejected_spans stays 0):
 * - string and bytes attribute values (nested ones too) and status messages longer than the
 *   tenant's max attribute value bytes are truncated on a UTF-8 character boundary;
 * - names and other short strings longer than MAX_NAME_BYTES are truncated the same way;
 * - attributes whose key is longer than MAX_ATTRIBUTE_KEY_BYTES are dropped, and attributes,
 *   events, links and array/kvlist entries beyond their count bounds are dropped (the first ones
 *   kept, as OpenTelemetry SDKs do with their limits); dropped attributes, events and links are
 *   added to the container's dropped*Count.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

// ---- time window --------------------------------------------------------------------------------

/**
 * How far after the receive time a span may end. Client clocks drift and a batch may be sent a
 * little before a long span's end was stamped on a skewed host; hours ahead is a broken clock or
 * a crafted value, and retention goes by a block's latest span end, so a far-future end would keep
 * the block forever.
 */
export const MAX_END_AFTER_RECEIVE_MS = 120 * MINUTE_MS;

/**
 * The earliest start a span may have is its tenant's retention before the receive time: retention
 * would delete an older span at its next run, and a far-past start stretches the block's time
 * range over years of searches. Like Tempo's ingestion slack, but refusing rather than clamping,
 * so the span's times are never rewritten.
 */
export interface AcceptanceWindow {
  /** Decimal nanoseconds without leading zeros, the model's 64-bit form. */
  earliestStartUnixNano: string;
  latestEndUnixNano: string;
  retentionDays: number;
}

export function acceptanceWindow(receivedAtMs: number, retentionDays: number): AcceptanceWindow {
  const received = BigInt(Math.floor(receivedAtMs));
  const earliest = received - BigInt(retentionDays) * BigInt(DAY_MS);
  return {
    earliestStartUnixNano: (earliest > 0n ? earliest * 1_000_000n : 1n).toString(),
    latestEndUnixNano: ((received + BigInt(MAX_END_AFTER_RECEIVE_MS)) * 1_000_000n).toString(),
    retentionDays,
  };
}

// ---- sizes and counts ---------------------------------------------------------------------------

/**
 * Default for a tenant's `max_attribute_value_bytes` (the tenants table holds the per-tenant
 * value): an attribute value may be a SQL statement or a stack trace, which are worth keeping
 * whole up to a point; Tempo's max_attribute_bytes defaults lower (2 KiB).
 */
export const DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES = 64 * 1024;

/**
 * Span and event names, scope names and versions, schema URLs and trace states. Names are meant
 * to be short and low-cardinality, and every block keeps them in its dictionary and the catalog
 * indexes span names; 4 KiB still holds a whole URL or a SQL statement some instrumentations use
 * as a name.
 */
export const MAX_NAME_BYTES = 4 * 1024;

/**
 * Attribute keys. A key is a name (semantic-convention keys are under 100 bytes) and is indexed;
 * a longer one is dropped rather than cut, since a cut key is a made-up name that could collide
 * with another attribute's key.
 */
export const MAX_ATTRIBUTE_KEY_BYTES = 1024;

/**
 * Attributes per span, resource or scope. OpenTelemetry SDKs stop at 128 by default; this leaves
 * room for raised SDK limits while keeping one span from carrying an index's worth of entries.
 */
export const MAX_ATTRIBUTES = 1024;

/** Events per span and links per span: eight times the SDK default of 128. */
export const MAX_EVENTS = 1024;
export const MAX_LINKS = 1024;

/**
 * Attributes per event and per link: they repeat for every event and link, so they keep the SDK
 * default of 128.
 */
export const MAX_EVENT_LINK_ATTRIBUTES = 128;

/** Entries of one array or kvlist value; its strings are cut like any value. */
export const MAX_VALUE_ELEMENTS = 1024;

/** Distinct rejection messages kept for the client (one per reason). */
export const DEFAULT_MAX_ERROR_MESSAGES = 5;

export interface SpanLimits {
  /** Per tenant: string and bytes attribute values, status messages. */
  maxAttributeValueBytes: number;
  maxNameBytes: number;
  maxAttributeKeyBytes: number;
  maxAttributes: number;
  maxEvents: number;
  maxLinks: number;
  maxEventLinkAttributes: number;
  maxValueElements: number;
}

/** The bounds for a tenant; a missing or non-positive tenant value falls back to the default. */
export function spanLimits(tenant: { maxAttributeValueBytes?: number } = {}): SpanLimits {
  const v = tenant.maxAttributeValueBytes;
  return {
    maxAttributeValueBytes: v !== undefined && Number.isSafeInteger(v) && v > 0 ? v : DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES,
    maxNameBytes: MAX_NAME_BYTES,
    maxAttributeKeyBytes: MAX_ATTRIBUTE_KEY_BYTES,
    maxAttributes: MAX_ATTRIBUTES,
    maxEvents: MAX_EVENTS,
    maxLinks: MAX_LINKS,
    maxEventLinkAttributes: MAX_EVENT_LINK_ATTRIBUTES,
    maxValueElements: MAX_VALUE_ELEMENTS,
  };
}
