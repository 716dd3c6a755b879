/**
 * @module
 * Zipkin v2 JSON (a list of spans, already JSON.parse'd) → TraceBatch, mapped to OTLP the way
 * the OpenTelemetry Collector's zipkin receiver translates it (contrib pkg/translator/zipkin,
 * zipkinv2 ToTranslator), with the differences noted where they happen:
 *
 * - Spans are grouped into ResourceSpans by localEndpoint.serviceName (→ `service.name`) plus the
 *   resource-describing tags (`telemetry.sdk.*`, `host.*`, `k8s.*`, … — the JS and collector
 *   zipkin exporters flatten resource attributes into tags), and into ScopeSpans by the
 *   `otel.scope.name`/`otel.scope.version` tags (or the older `otel.library.*`). A span without
 *   a service name gets a resource without `service.name`, as in the collector.
 * - traceId is left-padded to 32 hex digits (a 64-bit id gets a zero high half), span ids to 16;
 *   a parentId equal to the span's own id means no parent. Ids longer than that are passed on for
 *   validate.ts to reject; ids that are not hex cannot be read at all (DecodeError).
 * - kind CLIENT/SERVER/PRODUCER/CONSUMER → 3/2/4/5; absent → 0 unless a `span.kind=internal` tag.
 * - timestamp/duration/annotation times are epoch µs (fractional values, which the JS exporter
 *   sends, are kept to the ns) → ns decimal strings. No timestamp → start 0, which validate rejects.
 * - annotations → events; `name|{json attrs}|dropped` values (collector exporter) are unpacked,
 *   integers beyond 2^53 in the JSON kept exact (encode.ts writes them so).
 * - tags → string attributes, except the ones that carry OTLP fields: `w3c.tracestate`,
 *   `otlp.link.N`, the `otel.dropped_*_count` tags the JS exporter writes, and the status tags
 *   (status.ts): `otel.status_code` / `otel.status_description` (the code as "ERROR" or
 *   "STATUS_CODE_ERROR"), `error` (any value but "false" means ERROR, as in the collector; its
 *   text becomes the status message, which the collector does not do). The status tags are
 *   consumed only when they are the ones encode.ts writes for that status; otherwise they stay
 *   attributes as written — an `error` tag alone, as Zipkin's own tracers send it, stays an
 *   attribute as in the collector (which drops `error: "true"`; kept here too), beside the ERROR
 *   status — so that the Zipkin API gives every span back with exactly its tags.
 * - Endpoints, in the current semantic conventions (the collector's EmitV1NetworkConventions):
 *   local ipv4/ipv6/port → `network.local.address`/`network.local.port`; remote serviceName →
 *   `peer.service` (what service graphs key uninstrumented peers on); remote ipv4/ipv6/port →
 *   `network.peer.address`/`network.peer.port`, and also `server.address`/`server.port` on CLIENT
 *   and PRODUCER spans, whose remote side is the server or broker. Tags of the same name win.
 * - `shared: true` → bool attribute `zipkin.shared` (a server half sharing its client's span id;
 *   the assembler needs to know), `debug: true` → `zipkin.debug`. The collector drops both.
 */
import { z } from "zod";
import { DecodeError, type AnyValue, type KeyValue, type ScopeSpans, type Span, type SpanEvent, type SpanLink, type TraceBatch } from "../model/span.ts";
import { sameStatusTags, statusFromTags, STATUS_TAG_KEYS, tagsFromStatus, type StatusTags } from "./status.ts";

// ---------------------------------------------------------------------------------------------
// Input shape.

const hexId = z.string().regex(/^[0-9a-fA-F]*$/, "expected a hex id");
// Epoch µs stay far below 2^53 until the year 2255; bigger cannot be an honest time.
const micros = z.number().nonnegative().max(Number.MAX_SAFE_INTEGER);

const endpointSchema = z.object({
  serviceName: z.string().nullish(),
  ipv4: z.string().nullish(),
  ipv6: z.string().nullish(),
  port: z.number().int().min(0).max(65535).nullish(),
});

const annotationSchema = z.object({ timestamp: micros.nullish(), value: z.string().nullish() });

// Tags are strings in the spec; numbers and booleans from loose clients are kept as their text.
// Read by hand into a Map (keeps order, cheap deletes): z.record was a third of the decode time.
const tagsSchema = z.unknown().transform((v, ctx): Map<string, string> => {
  const tags = new Map<string, string>();
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    ctx.issues.push({ code: "custom", message: "expected an object of string tags", input: v });
    return tags;
  }
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === "string") tags.set(k, x);
    else if (typeof x === "number" || typeof x === "boolean") tags.set(k, String(x));
    else if (x != null) ctx.issues.push({ code: "custom", message: "expected a string tag value", input: x, path: [k] });
  }
  return tags;
});

const zipkinSpanSchema = z.object({
  traceId: hexId.nullish(),
  id: hexId.nullish(),
  parentId: hexId.nullish(),
  name: z.string().nullish(),
  kind: z.string().nullish(),
  timestamp: micros.nullish(),
  duration: micros.nullish(),
  debug: z.boolean().nullish(),
  shared: z.boolean().nullish(),
  localEndpoint: endpointSchema.nullish(),
  remoteEndpoint: endpointSchema.nullish(),
  annotations: z.array(annotationSchema).nullish(),
  tags: tagsSchema.nullish(),
});

const bodySchema = z.array(zipkinSpanSchema, { error: "expected a JSON array of Zipkin v2 spans" });

type ZipkinSpan = z.output<typeof zipkinSpanSchema>;
type Endpoint = z.output<typeof endpointSchema>;

// ---------------------------------------------------------------------------------------------
// Pieces of the mapping.

const KINDS: Record<string, number> = { CLIENT: 3, SERVER: 2, PRODUCER: 4, CONSUMER: 5 };

/** Whole µs + ns, without leaving safe-integer arithmetic (µs epochs are ~2^51). */
function nanosString(wholeUs: number, fracNs: number): string {
  if (fracNs >= 1000) {
    wholeUs += Math.floor(fracNs / 1000);
    fracNs %= 1000;
  }
  if (wholeUs === 0) return String(fracNs);
  return fracNs === 0 ? `${wholeUs}000` : `${wholeUs}${String(fracNs).padStart(3, "0")}`;
}

function fracNanos(us: number, whole: number): number {
  return Math.round((us - whole) * 1000);
}

/** Epoch µs (possibly fractional) → ns as a decimal string. */
export function microsToNanos(us: number): string {
  const whole = Math.floor(us);
  return nanosString(whole, fracNanos(us, whole));
}

/** start + duration (µs) → ns, adding whole and fractional parts apart so end − start = duration. */
function endNanos(start: number, duration: number): string {
  const sw = Math.floor(start);
  const dw = Math.floor(duration);
  return nanosString(sw + dw, fracNanos(start, sw) + fracNanos(duration, dw));
}

function padId(id: string | null | undefined, digits: number): string {
  if (!id) return "";
  const lower = id.toLowerCase();
  return lower.length < digits ? lower.padStart(digits, "0") : lower;
}

// Semantic-convention namespaces that describe the resource, not the operation. faas.* mixes
// both kinds; only the listed faas keys describe the function itself.
const RESOURCE_TAG =
  /^(?:(?:service|host|os|process|container|k8s|cloud|deployment|device|webengine|gcp|heroku|telemetry\.(?:sdk|distro|auto)|aws\.(?:ecs|eks|log))\.|faas\.(?:name|id|version|instance|max_memory)$)/;

function isResourceTag(key: string): boolean {
  return RESOURCE_TAG.test(key);
}

const str = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): KeyValue => ({ key, value: { intValue: String(value) } });

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A JSON.parse reviver that reads an integer beyond 2^53 from its source text, as a bigint when
 * it fits an int64 (the third argument is JSON.parse source text access, in workerd and Node 22;
 * where the runtime does not pass it, the number stays the nearest double).
 */
function exactInt64(_key: string, value: unknown, context?: { source?: unknown }): unknown {
  if (typeof value !== "number" || Number.isSafeInteger(value)) return value;
  const source = context?.source;
  if (typeof source !== "string" || !/^-?\d+$/.test(source)) return value;
  const n = BigInt(source);
  return n >= INT64_MIN && n <= INT64_MAX ? n : value;
}

/** Attributes packed as JSON by the collector's zipkin exporter (events, links). */
function jsonAttributes(json: string): KeyValue[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json, exactInt64 as (key: string, value: unknown) => unknown);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const out: KeyValue[] = [];
  for (const [key, v] of Object.entries(parsed)) {
    let value: AnyValue | undefined;
    if (typeof v === "string") value = { stringValue: v };
    else if (typeof v === "boolean") value = { boolValue: v };
    else if (typeof v === "bigint") value = { intValue: v.toString() };
    else if (typeof v === "number") value = Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
    if (value) out.push({ key, value });
  }
  return out;
}

function uint32(text: string): number | undefined {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  return n <= 0xffffffff ? n : undefined;
}

function annotationToEvent(a: { timestamp?: number | null; value?: string | null }): SpanEvent {
  const value = a.value ?? "";
  const event: SpanEvent = { timeUnixNano: microsToNanos(a.timestamp ?? 0), name: value, attributes: [], droppedAttributesCount: 0 };
  // "name|{attrs}|dropped", where the JSON may itself contain "|".
  const parts = value.split("|");
  if (parts.length >= 3) {
    const attributes = jsonAttributes(parts.slice(1, -1).join("|"));
    const dropped = uint32(parts[parts.length - 1]!);
    if (attributes !== undefined && dropped !== undefined) {
      event.name = parts[0]!;
      event.attributes = attributes;
      event.droppedAttributesCount = dropped;
    }
  }
  return event;
}

/** An `otlp.link.N` tag: traceId|spanId|tracestate|{attrs}|dropped. */
function linkFromTag(value: string): SpanLink | undefined {
  const parts = value.split("|");
  if (parts.length < 5) return undefined;
  const [traceId, spanId, traceState] = parts as [string, string, string];
  const attributes = jsonAttributes(parts.slice(3, -1).join("|"));
  const dropped = uint32(parts[parts.length - 1]!);
  if (!/^[0-9a-fA-F]*$/.test(traceId + spanId) || attributes === undefined || dropped === undefined) return undefined;
  return { traceId: traceId.toLowerCase(), spanId: spanId.toLowerCase(), traceState, attributes, droppedAttributesCount: dropped, flags: 0 };
}

interface Translated {
  serviceName: string | undefined;
  resourceTags: KeyValue[];
  scopeName: string;
  scopeVersion: string;
  span: Span;
}

function endpointAddress(e: Endpoint | null | undefined): string | undefined {
  // The collector writes ipv4 then ipv6 to the same attribute, so ipv6 wins when both are set.
  return e?.ipv6 || e?.ipv4 || undefined;
}

function translate(zs: ZipkinSpan): Translated {
  // Tags, minus the ones consumed below (the Map is this span's own, made by tagsSchema).
  const tags = zs.tags ?? new Map<string, string>();
  const take = (key: string): string | undefined => {
    const v = tags.get(key);
    tags.delete(key);
    return v;
  };

  const spanId = padId(zs.id, 16);
  let parentSpanId = padId(zs.parentId, 16);
  if (parentSpanId === spanId) parentSpanId = "";

  let kind = zs.kind != null ? (KINDS[zs.kind] ?? 0) : 0;
  if (zs.kind == null && take("span.kind") === "internal") kind = 1;

  // The status tags are consumed when encode.ts writes the same ones for the status; otherwise
  // (an `error` tag alone, as Zipkin's tracers send it, and any other spelling) they stay
  // attributes as written, so the Zipkin API gives the span back with exactly its tags.
  const statusTags: StatusTags = {};
  for (const key of STATUS_TAG_KEYS) {
    const v = tags.get(key);
    if (v !== undefined) statusTags[key] = v;
  }
  const status = statusFromTags(statusTags);
  if (sameStatusTags(statusTags, tagsFromStatus(status))) for (const key of STATUS_TAG_KEYS) tags.delete(key);

  const traceState = take("w3c.tracestate") ?? "";
  const links: SpanLink[] = [];
  for (let i = 0; tags.has(`otlp.link.${i}`); i++) {
    const link = linkFromTag(tags.get(`otlp.link.${i}`)!);
    if (link) {
      links.push(link);
      tags.delete(`otlp.link.${i}`);
    }
  }
  const dropped = (key: string): number => {
    const v = tags.get(key);
    const n = v === undefined ? undefined : uint32(v);
    if (n === undefined) return 0;
    tags.delete(key);
    return n;
  };
  const droppedAttributesCount = dropped("otel.dropped_attributes_count");
  const droppedEventsCount = dropped("otel.dropped_events_count");
  const droppedLinksCount = dropped("otel.dropped_links_count");

  const scopeName = take("otel.scope.name") ?? take("otel.library.name") ?? "";
  const scopeVersion = take("otel.scope.version") ?? take("otel.library.version") ?? "";
  tags.delete("otel.library.name");
  tags.delete("otel.library.version");

  const serviceName = zs.localEndpoint?.serviceName || undefined;
  const resourceTags: KeyValue[] = [];
  const attributes: KeyValue[] = [];
  for (const [k, v] of tags) {
    if (!isResourceTag(k)) attributes.push(str(k, v));
    // service.name comes from localEndpoint; a differing tag copy is dropped, as in the collector.
    else if (k !== "service.name") resourceTags.push(str(k, v));
  }
  resourceTags.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const add = (kv: KeyValue) => {
    if (!tags.has(kv.key)) attributes.push(kv);
  };
  const local = endpointAddress(zs.localEndpoint);
  if (local) add(str("network.local.address", local));
  if (zs.localEndpoint?.port) add(int("network.local.port", zs.localEndpoint.port));
  const remote = zs.remoteEndpoint;
  if (remote?.serviceName) add(str("peer.service", remote.serviceName));
  const peer = endpointAddress(remote);
  if (peer) add(str("network.peer.address", peer));
  if (remote?.port) add(int("network.peer.port", remote.port));
  if (kind === 3 || kind === 4) {
    if (peer) add(str("server.address", peer));
    if (remote?.port) add(int("server.port", remote.port));
  }
  if (zs.shared === true) add({ key: "zipkin.shared", value: { boolValue: true } });
  if (zs.debug === true) add({ key: "zipkin.debug", value: { boolValue: true } });

  const start = zs.timestamp ?? 0;
  const span: Span = {
    traceId: padId(zs.traceId, 32),
    spanId,
    traceState,
    parentSpanId,
    flags: 0,
    name: zs.name ?? "",
    kind,
    startTimeUnixNano: microsToNanos(start),
    endTimeUnixNano: endNanos(start, zs.duration ?? 0),
    attributes,
    droppedAttributesCount,
    events: (zs.annotations ?? []).map(annotationToEvent),
    droppedEventsCount,
    links,
    droppedLinksCount,
    status,
  };
  return { serviceName, resourceTags, scopeName, scopeVersion, span };
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "spans";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : `.${String(seg)}`;
  return out;
}

/**
 * Decodes a parsed Zipkin v2 JSON body (a list of spans) into OTLP resource and scope spans.
 * @throws DecodeError naming the field path (`spans[3].localEndpoint.port`) of unreadable input.
 */
export function decodeZipkinSpans(body: unknown): TraceBatch {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DecodeError(issue?.message ?? "invalid Zipkin v2 JSON", formatPath(issue?.path ?? []));
  }
  // Group in first-seen order (the collector sorts by service name instead).
  const resources = new Map<string, { resourceTags: KeyValue[]; serviceName: string | undefined; scopes: Map<string, ScopeSpans> }>();
  for (const zspan of parsed.data) {
    const t = translate(zspan);
    let resourceKey = t.serviceName === undefined ? "\u0001" : t.serviceName;
    for (const kv of t.resourceTags) resourceKey += `\u0000${kv.key}\u0000${(kv.value as { stringValue: string }).stringValue}`;
    let resource = resources.get(resourceKey);
    if (!resource) {
      resource = { resourceTags: t.resourceTags, serviceName: t.serviceName, scopes: new Map() };
      resources.set(resourceKey, resource);
    }
    const scopeKey = `${t.scopeName}\u0000${t.scopeVersion}`;
    let scope = resource.scopes.get(scopeKey);
    if (!scope) {
      scope = { scope: { name: t.scopeName, version: t.scopeVersion, attributes: [], droppedAttributesCount: 0 }, spans: [], schemaUrl: "" };
      resource.scopes.set(scopeKey, scope);
    }
    scope.spans.push(t.span);
  }
  return {
    resourceSpans: [...resources.values()].map((r) => ({
      resource: {
        attributes: r.serviceName === undefined ? r.resourceTags : [str("service.name", r.serviceName), ...r.resourceTags],
        droppedAttributesCount: 0,
      },
      scopeSpans: [...r.scopes.values()],
      schemaUrl: "",
    })),
  };
}
