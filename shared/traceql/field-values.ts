/**
 * @module
 * Reading a field (attribute or intrinsic) of one span at evaluation time, for eval.ts.
 *
 * Events and links are many per span. As in Tempo, a span matches a condition on them when one
 * of its events (links) does: `perElement` runs a comparison once per event (link), with that
 * event bound in the context, and is true when any run is; a span with no events runs it once
 * with none bound (so `event.x = nil` is true of it). Each comparison picks its own event:
 * `{ event:name = "a" && event.x = 1 }` holds when one event is named "a" and one (maybe
 * another) has x = 1. Outside a comparison (by(), select(), returned attributes) an event or
 * link field reads the first one. `parent.` fields read the parent span (nil for a root or an
 * orphan); `instrumentation.` the span's instrumentation scope.
 */
import { parseU64, type TraceFacts } from "../block/summarize.ts";
import type { AnyValue, KeyValue, SpanEvent, SpanLink } from "../model/span.ts";
import type { Condition, Field, Static } from "./ast.ts";
import { conditionFields } from "./fields.ts";
import type { SpanNode } from "./span-tree.ts";
import { formatStatic } from "./stringify.ts";

/** A value at evaluation time. Numbers cover OTLP ints and doubles; durations are nanoseconds. */
export type Value =
  | { type: "string"; value: string }
  | { type: "number"; value: number }
  | { type: "duration"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "status"; value: number }
  | { type: "kind"; value: number }
  /** Arrays, kvlists, bytes: present (not nil) but comparable to nothing. */
  | { type: "other" };

export interface Ctx {
  summary: TraceFacts;
  /** The event (link) a comparison is being tried on; null: the span has none. */
  event?: SpanEvent | null;
  link?: SpanLink | null;
}

export function fromAnyValue(v: AnyValue): Value {
  if ("stringValue" in v) return { type: "string", value: v.stringValue };
  if ("intValue" in v) return { type: "number", value: Number(v.intValue) };
  if ("doubleValue" in v) return { type: "number", value: v.doubleValue };
  if ("boolValue" in v) return { type: "bool", value: v.boolValue };
  return { type: "other" };
}

export function toAnyValue(v: Value): AnyValue {
  switch (v.type) {
    case "string":
      return { stringValue: v.value };
    case "number":
      return Number.isInteger(v.value) ? { intValue: String(v.value) } : { doubleValue: v.value };
    case "duration":
      return { intValue: String(v.value) };
    case "bool":
      return { boolValue: v.value };
    case "status":
    case "kind":
      return { stringValue: formatStatic(v) };
    case "other":
      return {};
  }
}

export function fromStatic(s: Static): Value | undefined {
  switch (s.type) {
    case "int":
    case "float":
      return { type: "number", value: s.value };
    case "nil":
      return undefined;
    default:
      return s;
  }
}

function findAttr(attrs: KeyValue[], name: string): AnyValue | undefined {
  for (const kv of attrs) if (kv.key === name) return kv.value;
  return undefined;
}

export function hexKey(id: string): string {
  return id.toLowerCase().replace(/^0+/, "");
}

const EVENT_INTRINSICS = new Set(["event:name", "event:timeSinceStart"]);
const LINK_INTRINSICS = new Set(["link:traceID", "link:spanID"]);

const readsEvent = (f: Field): boolean => (f.kind === "attribute" ? f.scope === "event" : EVENT_INTRINSICS.has(f.name));
const readsLink = (f: Field): boolean => (f.kind === "attribute" ? f.scope === "link" : LINK_INTRINSICS.has(f.name));

const eventOf = (node: SpanNode, ctx: Ctx): SpanEvent | undefined => (ctx.event === undefined ? node.span.events[0] : (ctx.event ?? undefined));
const linkOf = (node: SpanNode, ctx: Ctx): SpanLink | undefined => (ctx.link === undefined ? node.span.links[0] : (ctx.link ?? undefined));

function attribute(f: Extract<Field, { kind: "attribute" }>, node: SpanNode, ctx: Ctx): AnyValue | undefined {
  switch (f.scope) {
    case "event": {
      const e = eventOf(node, ctx);
      return e && findAttr(e.attributes, f.name);
    }
    case "link": {
      const l = linkOf(node, ctx);
      return l && findAttr(l.attributes, f.name);
    }
    case "instrumentation":
      return findAttr(node.scope.attributes, f.name);
    case "span":
      return findAttr(node.span.attributes, f.name);
    case "resource":
      return findAttr(node.resource.attributes, f.name);
    case "":
      return findAttr(node.span.attributes, f.name) ?? findAttr(node.resource.attributes, f.name);
    case "parent":
    case "parent.span":
    case "parent.resource": {
      const p = node.parent;
      if (!p) return undefined;
      const scope = f.scope === "parent" ? "" : f.scope === "parent.span" ? "span" : "resource";
      return attribute({ ...f, scope }, p, ctx);
    }
  }
}

/** Reads a field of a span; undefined is nil. `node` is undefined when only the summary is known. */
export function readField(f: Field, node: SpanNode | undefined, ctx: Ctx): Value | undefined {
  if (f.kind === "attribute") {
    if (!node) return undefined;
    const v = attribute(f, node, ctx);
    return v === undefined ? undefined : fromAnyValue(v);
  }
  switch (f.name) {
    case "trace:rootService":
      return { type: "string", value: ctx.summary.rootServiceName };
    case "trace:rootName":
      return { type: "string", value: ctx.summary.rootSpanName };
    case "trace:duration":
      return { type: "duration", value: Number(ctx.summary.durationNanos) };
    case "trace:id":
      return { type: "string", value: hexKey(ctx.summary.traceId) };
    default:
      break;
  }
  if (!node) return undefined;
  const s = node.span;
  switch (f.name) {
    case "name":
      return { type: "string", value: s.name };
    case "status":
      return { type: "status", value: s.status.code };
    case "statusMessage":
      return { type: "string", value: s.status.message };
    case "duration":
      return { type: "duration", value: Number(node.durationNanos) };
    case "kind":
      return { type: "kind", value: s.kind };
    case "span:id":
      return { type: "string", value: hexKey(s.spanId) };
    case "span:parentID":
      return s.parentSpanId === "" ? undefined : { type: "string", value: hexKey(s.parentSpanId) };
    case "span:childCount":
      return { type: "number", value: node.children.length };
    case "parent":
      // Present (and comparable to nothing) unless the span is a root: `parent = nil` finds roots.
      return s.parentSpanId === "" ? undefined : { type: "other" };
    case "nestedSetLeft":
      return { type: "number", value: node.nestedLeft };
    case "nestedSetRight":
      return { type: "number", value: node.nestedRight };
    case "nestedSetParent":
      return { type: "number", value: node.nestedParent };
    case "instrumentation:name":
      return { type: "string", value: node.scope.name };
    case "instrumentation:version":
      return { type: "string", value: node.scope.version };
    case "event:name": {
      const e = eventOf(node, ctx);
      return e && { type: "string", value: e.name };
    }
    case "event:timeSinceStart": {
      const e = eventOf(node, ctx);
      const at = e && parseU64(e.timeUnixNano);
      const start = parseU64(s.startTimeUnixNano);
      return at === undefined || start === undefined ? undefined : { type: "duration", value: Number(at - start) };
    }
    case "link:traceID": {
      const l = linkOf(node, ctx);
      return l && { type: "string", value: hexKey(l.traceId) };
    }
    case "link:spanID": {
      const l = linkOf(node, ctx);
      return l && { type: "string", value: hexKey(l.spanId) };
    }
  }
  return undefined;
}

type CondFn = (node: SpanNode | undefined, ctx: Ctx) => boolean;

/** Wraps a comparison that reads event or link fields so that it is tried on each event (link). */
export function perElement(c: Condition, f: CondFn): CondFn {
  const fields = conditionFields(c);
  let out = f;
  if (fields.some(readsEvent)) out = eachOf(out, "event", (node) => node.span.events);
  if (fields.some(readsLink)) out = eachOf(out, "link", (node) => node.span.links);
  return out;
}

/**
 * `inner` tried with each element of the span's list in `ctx[key]` (true when any holds), or once
 * with null when the span has none; an element already chosen by an outer wrapper is kept.
 */
function eachOf<K extends "event" | "link">(inner: CondFn, key: K, list: (node: SpanNode) => readonly NonNullable<Ctx[K]>[]): CondFn {
  return (node, ctx) => {
    if (!node || ctx[key] !== undefined) return inner(node, ctx);
    const items = list(node);
    if (!items.length) return inner(node, { ...ctx, [key]: null });
    return items.some((item) => inner(node, { ...ctx, [key]: item }));
  };
}
