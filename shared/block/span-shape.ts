/**
 * @module
 * A span's shape: everything about it that repeats from one span of the same operation to the
 * next (name, kind, flags, trace state, status code, attribute keys in order, and which optional
 * parts it has), plus the attribute values that are the same on every span of that shape in the
 * block (`db.system.name` on a Redis call, `rpc.service` on a gRPC call). Shapes used by several
 * segments go into the block dictionary, so a span's structure costs one reference, even in a small
 * segment where deflate has had no chance to learn it. What varies (ids, times, the other attribute
 * values, events, links) stays in the span columns.
 */
import type { AnyValue, Span } from "../model/span.ts";
import { Col, type ColumnsReader, type ColumnsWriter } from "./columns.ts";
import { readValue, scalarKey, valueOfScalarKey, writeValue, type StringRefs, type StringTable } from "./value-codec.ts";

/** Bits of `ShapeEntry.has`: the optional parts a span of this shape writes. */
export const Has = {
  DROPPED_ATTRIBUTES: 1,
  EVENTS: 2,
  DROPPED_EVENTS: 4,
  LINKS: 8,
  DROPPED_LINKS: 16,
  STATUS_MESSAGE: 32,
} as const;

export interface ShapeEntry {
  name: string;
  kind: number;
  flags: number;
  traceState: string;
  statusCode: number;
  has: number;
  keys: string[];
  /** Per key: the value every span of this shape in the block has, or undefined (stored per span). */
  fixed: (AnyValue | undefined)[];
}

export function shapeOf(span: Span): ShapeEntry {
  let has = 0;
  if (span.droppedAttributesCount !== 0) has |= Has.DROPPED_ATTRIBUTES;
  if (span.events.length !== 0) has |= Has.EVENTS;
  if (span.droppedEventsCount !== 0) has |= Has.DROPPED_EVENTS;
  if (span.links.length !== 0) has |= Has.LINKS;
  if (span.droppedLinksCount !== 0) has |= Has.DROPPED_LINKS;
  if (span.status.message !== "") has |= Has.STATUS_MESSAGE;
  return {
    name: span.name,
    kind: span.kind,
    flags: span.flags,
    traceState: span.traceState,
    statusCode: span.status.code,
    has,
    keys: span.attributes.map((a) => a.key),
    fixed: span.attributes.map(() => undefined),
  };
}

/**
 * Finds, per shape, the attribute values that are the same on all its spans (two or more of them),
 * and records them in the shape's `fixed`. `spans` yields every span of the block with its shape key.
 */
export function findFixedValues(shapes: Map<string, ShapeEntry>, spans: Iterable<[key: string, span: Span]>): void {
  const seen = new Map<string, { count: number; values: (string | undefined)[] }>();
  for (const [key, span] of spans) {
    const s = seen.get(key);
    if (!s) {
      seen.set(key, { count: 1, values: span.attributes.map((a) => scalarKey(a.value)) });
      continue;
    }
    s.count++;
    const values = s.values;
    for (let j = 0; j < values.length; j++) {
      if (values[j] !== undefined && values[j] !== scalarKey(span.attributes[j]!.value)) values[j] = undefined;
    }
  }
  for (const [key, s] of seen) {
    if (s.count < 2) continue;
    const shape = shapes.get(key)!;
    shape.fixed = s.values.map((v) => (v === undefined ? undefined : valueOfScalarKey(v)));
  }
}

/** Equal for two shapes exactly when every field is (strings length-prefixed, so unambiguous). */
export function shapeKey(s: ShapeEntry): string {
  let k = `${s.kind}|${s.flags}|${s.statusCode}|${s.has}|${s.traceState.length}:${s.traceState}${s.name.length}:${s.name}`;
  for (const key of s.keys) k += `${key.length}:${key}`;
  return k;
}

export function writeShapeEntry(c: ColumnsWriter, refs: StringRefs, s: ShapeEntry): void {
  const head = c.cols[Col.HEAD]!;
  head.uvarint(refs.ref(s.name));
  head.uvarint(refs.ref(s.traceState));
  head.svarint(s.kind);
  head.uvarint(s.flags);
  head.svarint(s.statusCode);
  head.uvarint(s.has);
  head.uvarint(s.keys.length);
  const keys = c.cols[Col.ATTR_KEY]!;
  for (const k of s.keys) keys.uvarint(refs.ref(k));
  for (const v of s.fixed) {
    head.byte(v === undefined ? 0 : 1);
    if (v !== undefined) writeValue(c, refs, v);
  }
}

export function readShapeEntry(c: ColumnsReader, strings: StringTable): ShapeEntry {
  const head = c.cols[Col.HEAD]!;
  const name = strings.read(head);
  const traceState = strings.read(head);
  const kind = head.svarint();
  const flags = head.uvarint();
  const statusCode = head.svarint();
  const has = head.uvarint();
  const n = head.uvarint();
  const keys: string[] = [];
  const keyCol = c.cols[Col.ATTR_KEY]!;
  for (let i = 0; i < n; i++) keys.push(strings.read(keyCol));
  const fixed = keys.map(() => (head.byte() === 0 ? undefined : readValue(c, strings)));
  return { name, kind, flags, traceState, statusCode, has, keys, fixed };
}
