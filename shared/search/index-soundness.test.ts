/**
 * Soundness of every attribute index and every skip (issue 11, "Proof"), as a seeded property
 * test: random traces (several services, resources with attributes, spans with attributes of every
 * value type, numeric strings, events, links, kinds, statuses, durations, parent links, names) and
 * random queries in every language that compiles to an `IndexCondition`: TraceQL, Tempo's legacy
 * tags, Jaeger and Zipkin. Values are drawn from the generated data most of the time, so queries
 * match, and are absent or off by a little otherwise.
 *
 * For every trace a query matches:
 * - the summary prune (`mayMatch`) lets it through;
 * - the index of the trace alone, of random groups of traces holding it (segments, with the real
 *   caps and with tiny caps so that "many values" and "many span names" are taken), and of all
 *   traces (a block) allow the query's condition;
 * and, through the real block format and scanner:
 * - `encodeBlock` with a few spans per segment; `candidateRows` + `readSegments` with the indexes
 *   find exactly the traces a plain decode of the block and `match` of every trace finds, and the
 *   decoded index of each matching trace's segment and the block's catalog index allow it;
 * - `searchTraces` and `metricsQueryRange` over several catalogued blocks (libSQL in memory) give
 *   the same answer with and without indexes, and the same traces as the plain scan.
 *
 * Deterministic: the seed of each case is its number; a failure names the case, the query and the
 * trace. `SOUNDNESS_CASES` in the environment runs more cases.
 */
import { createClient, type Client } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogRow } from "../assembly/catalog-row.ts";
import { AttributeIndexBuilder, BLOCK_INDEX_CAPS, decodeAttributeIndex, encodedIndexMayMatch, indexMayMatch, SEGMENT_INDEX_CAPS, type AttributeIndex, type IndexCaps, type IndexCondition } from "../block/attribute-index.ts";
import { encodeBlock, type TraceInput } from "../block/encode-block.ts";
import { decodeBlock } from "../block/read-block.ts";
import { summarizeTrace, serviceNameOf, parseU64, type TraceFacts } from "../block/summarize.ts";
import { libsql, migrateLibsql, type LibsqlDb } from "../db/libsql.ts";
import { recordBlock } from "../db/queries/blocks.ts";
import { createTenant } from "../db/queries/tenants.ts";
import { jaegerLogs, jaegerProcess, jaegerSpanTags } from "../jaeger/convert.ts";
import { jaegerSpanMatcher } from "../jaeger/span-query.ts";
import type { AnyValue, InstrumentationScope, KeyValue, Resource, ResourceSpans, Span } from "../model/span.ts";
import { blockKey } from "../storage/keys.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { AttributeScope, ComparisonOp, Condition, Field, IntrinsicName, ScalarExpr, SpansetExpr, SpansetOp, Stage, Static } from "../traceql/ast.ts";
import { compileTraceQL } from "../traceql/eval.ts";
import { parseMetricsQuery } from "../traceql/metrics.ts";
import { stringify } from "../traceql/stringify.ts";
import { encodeZipkinSpan, zipkinResource } from "../zipkin/encode.ts";
import { zipkinSpanMatcher, type ZipkinSearch } from "../zipkin/search.ts";
import { candidateRows, newCounters, readSegments } from "./block-scanner.ts";
import type { TraceMatcher } from "./matcher.ts";
import { metricsQueryRange } from "./metrics-blocks.ts";
import { searchTraces } from "./search-blocks.ts";
import { openBlock } from "./segments.ts";
import { spanDurationNanos } from "./span-matcher.ts";
import { attributeString, tagsMatcher } from "./tags-matcher.ts";

const CASES = Number(process.env.SOUNDNESS_CASES ?? 300);
/** Cases that also go through catalogued blocks, searchTraces and metricsQueryRange. */
const SEARCH_CASES = Math.max(1, Math.round(CASES / 25));

// ---- a seeded PRNG (mulberry32) -----------------------------------------------------------------

class Rng {
  #a: number;
  constructor(seed: number) {
    this.#a = (seed * 0x9e3779b9) >>> 0;
    for (let i = 0; i < 4; i++) this.next();
  }
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0;
    let t = this.#a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    if (!a.length) throw new Error("pick from an empty list");
    return a[this.int(a.length)]!;
  }
  hex(digits: number): string {
    let s = "";
    for (let i = 0; i < digits; i++) s += "0123456789abcdef"[this.int(16)];
    return s;
  }
}

// ---- random traces ------------------------------------------------------------------------------

const STRINGS = ["GET", "POST", "500", "007", "7", "1.5", "-0", "true", "false", "", "redis", "a b", "ü/ß", 'q"uote', "back\\slash", "line\nbreak", "NaN", "GET /cart"];
const INTS = ["500", "7", "007", "0", "-3", "-0", "00", "1000000", "9007199254740993", "-9223372036854775808"];
const DOUBLES = [1.5, 0, -0, 500, 7, 0.1, -2.25, NaN, Infinity, -Infinity, 1e21, 2.5e-7, 2 ** 53];
const KEYS = ["http.method", "http.status_code", "db.system", "retries", "ratio", "enabled", "payload", "list", "attrs", "empty", "code", "region", "user.id", "name", "status", "error", "span.kind", "event", "otel.status_code", "peer.service", "a b", "dup"];
const SPAN_NAMES = ["GET /cart", "POST /checkout", "SELECT", "redis GET", "send", "process", "", "op"];
const EVENT_NAMES = ["exception", "retry", "cache.miss", "event", ""];
const SERVICES = ["frontend", "cart", "checkout", "db", "queue", "Mixed Case"];

type ValueType = "string" | "int" | "double" | "bool" | "bytes" | "array" | "kvlist" | "empty";
const VALUE_TYPES: ValueType[] = ["string", "int", "double", "bool", "bytes", "array", "kvlist", "empty"];

function valueOf(r: Rng, type: ValueType, fresh: boolean): AnyValue {
  switch (type) {
    case "string":
      return { stringValue: fresh ? `v${r.int(100000)}` : r.pick(STRINGS) };
    case "int":
      return { intValue: fresh ? String(r.int(2000) - 1000) : r.pick(INTS) };
    case "double":
      return { doubleValue: fresh ? Math.round(r.next() * 1e4) / 100 : r.pick(DOUBLES) };
    case "bool":
      return { boolValue: r.chance(0.5) };
    case "bytes":
      return { bytesValue: r.pick(["AQID", "", "3q2+7w=="]) };
    case "array":
      return { arrayValue: { values: [valueOf(r, "string", false), valueOf(r, "int", false)].slice(0, r.int(3)) } };
    case "kvlist":
      return { kvlistValue: { values: [{ key: "k", value: valueOf(r, "string", false) }] } };
    case "empty":
      return {};
  }
}

/** How one attribute name behaves in a world: its type (or mixed) and how many values it takes. */
interface KeyProfile {
  key: string;
  type: ValueType | "mixed";
  pool: AnyValue[] | undefined;
}

interface World {
  keys: KeyProfile[];
  services: string[];
  spanNames: string[];
}

function newWorld(r: Rng): World {
  const keys: KeyProfile[] = [];
  const names = [...KEYS, ...Array.from({ length: r.int(6) }, (_, i) => `k${i}`)];
  for (const key of names) {
    if (!r.chance(0.7)) continue;
    const type = r.chance(0.15) ? "mixed" : r.pick<ValueType>(["string", "string", "int", "int", "double", "bool", "bytes", "array", "kvlist", "empty"]);
    // Low cardinality (a pool of a few values) or high (a fresh value each time).
    const pool = r.chance(0.8) ? Array.from({ length: r.range(1, 5) }, () => valueOf(r, type === "mixed" ? r.pick(VALUE_TYPES) : type, r.chance(0.3))) : undefined;
    keys.push({ key, type, pool });
  }
  if (!keys.length) keys.push({ key: "http.method", type: "string", pool: [{ stringValue: "GET" }] });
  const services = SERVICES.filter(() => r.chance(0.6));
  if (!services.length) services.push("frontend");
  const spanNames = r.chance(0.2) ? Array.from({ length: 40 }, (_, i) => `name-${i}`) : SPAN_NAMES;
  return { keys, services, spanNames };
}

function attributeOf(r: Rng, w: World): KeyValue {
  const p = r.pick(w.keys);
  const value = p.pool && !r.chance(0.05) ? r.pick(p.pool) : valueOf(r, p.type === "mixed" ? r.pick(VALUE_TYPES) : p.type, r.chance(0.7));
  return { key: p.key, value };
}

function attributes(r: Rng, w: World, max: number): KeyValue[] {
  return Array.from({ length: r.int(max + 1) }, () => attributeOf(r, w));
}

function resourceOf(r: Rng, w: World, service: string): Resource {
  const attrs: KeyValue[] = [];
  const roll = r.next();
  if (roll < 0.9) attrs.push({ key: "service.name", value: { stringValue: service } });
  else if (roll < 0.95) attrs.push({ key: "service.name", value: { intValue: "7" } });
  attrs.push(...attributes(r, w, 3));
  if (r.chance(0.2)) attrs.reverse();
  return { attributes: attrs, droppedAttributesCount: 0 };
}

const BASE_NS = 1_700_000_000_000_000_000n;
const DURATIONS = [0n, 1n, 999n, 1000n, 1001n, 1500n, 1_000_000n, 5_000_000n, 1_000_000_000n];

/** A decimal time; rarely with a leading zero (not canonical: no reader takes it, the span lasts 0). */
function time(r: Rng, ns: bigint): string {
  return r.chance(0.03) ? `0${ns}` : ns.toString();
}

function newTrace(r: Rng, w: World, index: number, resources: Map<string, Resource[]>): TraceInput {
  const traceId = r.hex(32);
  const start0 = BASE_NS + BigInt(index) * 10_000_000_000n + BigInt(r.int(1_000_000_000));
  // Rarely a trace without spans (only a search without conditions lists it).
  const n = index > 0 && r.chance(0.02) ? 0 : r.range(1, 9);
  const spans: { span: Span; resource: Resource; scope: InstrumentationScope }[] = [];
  const scopes: InstrumentationScope[] = [
    { name: "", version: "", attributes: [], droppedAttributesCount: 0 },
    { name: "lib", version: "1.0", attributes: [{ key: "lib.tier", value: { stringValue: "core" } }], droppedAttributesCount: 0 },
  ];
  const traceServices = Array.from({ length: r.range(1, 3) }, () => r.pick(w.services));
  for (let i = 0; i < n; i++) {
    const service = r.pick(traceServices);
    const list = resources.get(service)!;
    const resource = r.chance(0.3) || !list.length ? resourceOf(r, w, service) : r.pick(list);
    if (!list.includes(resource)) list.push(resource);
    const start = start0 + BigInt(r.int(1_000_000_000));
    const d = r.chance(0.7) ? r.pick(DURATIONS) : BigInt(r.int(3_000_000_000));
    const end = r.chance(0.03) ? start - BigInt(r.int(1000) + 1) : start + d;
    const parent = i === 0 || r.chance(0.1) ? "" : r.chance(0.05) ? r.hex(16) : spans[r.int(spans.length)]!.span.spanId;
    const events = Array.from({ length: r.chance(0.3) ? r.range(1, 2) : 0 }, () => ({
      timeUnixNano: start.toString(),
      name: r.pick(EVENT_NAMES),
      attributes: attributes(r, w, 2),
      droppedAttributesCount: 0,
    }));
    const span: Span = {
      traceId,
      spanId: r.hex(16),
      traceState: r.chance(0.05) ? "k=v" : "",
      parentSpanId: parent,
      flags: 1,
      name: r.chance(0.05) ? `rare-${r.int(1000)}` : r.pick(w.spanNames),
      kind: r.chance(0.02) ? 7 : r.int(6),
      startTimeUnixNano: time(r, start),
      endTimeUnixNano: time(r, end),
      attributes: attributes(r, w, 4),
      droppedAttributesCount: r.chance(0.05) ? 1 : 0,
      events,
      droppedEventsCount: 0,
      links: r.chance(0.05) ? [{ traceId: r.hex(32), spanId: r.hex(16), traceState: "", attributes: [{ key: "link.kind", value: { stringValue: "follows" } }], droppedAttributesCount: 0, flags: 0 }] : [],
      droppedLinksCount: 0,
      status: { code: r.chance(0.02) ? 5 : r.int(3), message: r.chance(0.1) ? "boom" : "" },
    };
    spans.push({ span, resource, scope: r.pick(scopes) });
  }
  // Group by resource, then scope, as an export request does.
  const resourceSpans: ResourceSpans[] = [];
  for (const { span, resource, scope } of spans) {
    let rs = resourceSpans.find((x) => x.resource === resource);
    if (!rs) resourceSpans.push((rs = { resource, scopeSpans: [], schemaUrl: "" }));
    let ss = rs.scopeSpans.find((x) => x.scope === scope);
    if (!ss) rs.scopeSpans.push((ss = { scope, spans: [], schemaUrl: "" }));
    ss.spans.push(span);
  }
  return { traceId, resourceSpans };
}

interface Located {
  span: Span;
  resource: Resource;
  scope: InstrumentationScope;
}

function spansOf(t: { resourceSpans: ResourceSpans[] }): Located[] {
  return t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ span, resource: rs.resource, scope: ss.scope }))));
}

// ---- random queries -----------------------------------------------------------------------------

interface Query {
  lang: "traceql" | "tags" | "jaeger" | "zipkin";
  text: string;
  matcher: TraceMatcher;
  /** Drawn to test the string lists (regexQuery). */
  strings?: boolean;
}

const pos = { line: 1, column: 1, offset: 0 };

/** What the traces hold, to draw query values from. */
interface Observed {
  spans: Located[];
  attrs: { scope: "span" | "resource" | "event" | "link" | "instrumentation"; kv: KeyValue }[];
}

function observe(traces: TraceInput[]): Observed {
  const spans = traces.flatMap(spansOf);
  const attrs: Observed["attrs"] = [];
  for (const { span, resource, scope } of spans) {
    for (const kv of scope.attributes) attrs.push({ scope: "instrumentation", kv });
    for (const l of span.links) for (const kv of l.attributes) attrs.push({ scope: "link", kv });
    for (const kv of span.attributes) attrs.push({ scope: "span", kv });
    for (const kv of resource.attributes) attrs.push({ scope: "resource", kv });
    for (const e of span.events) for (const kv of e.attributes) attrs.push({ scope: "event", kv });
  }
  return { spans, attrs };
}

const lit = (value: Static): Condition => ({ kind: "literal", value, pos });

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A number literal near `n` (int when whole), or undefined when it cannot be written. */
function numberLiteral(r: Rng, n: number, ordered: boolean): Static | undefined {
  if (!Number.isFinite(n) || Math.abs(n) > 1e15) return undefined;
  const v = ordered && r.chance(0.5) ? n + r.pick([-1, -0.5, 0.5, 1]) : n;
  return Number.isInteger(v) && r.chance(0.7) ? { type: "int", value: v } : { type: "float", value: v };
}

const ALL_OPS: ComparisonOp[] = ["=", "=", "=", "!=", ">", ">=", "<", "<=", "=~", "!~"];

/** A literal to compare an attribute value with by `op`: mostly one that can hold. */
function literalFor(r: Rng, op: ComparisonOp, v: AnyValue | undefined): Static {
  if (op === "=~" || op === "!~") return { type: "string", value: regexFor(r, v) };
  if (r.chance(0.08)) return { type: "nil" };
  const ordered = op !== "=" && op !== "!=";
  if (v && r.chance(0.85)) {
    if ("stringValue" in v) {
      // Numeric strings against numbers: never equal in TraceQL, but the index must not care.
      if (r.chance(0.15) && Number.isFinite(Number(v.stringValue)) && v.stringValue.trim() !== "") return numberLiteral(r, Number(v.stringValue), ordered) ?? { type: "string", value: v.stringValue };
      return { type: "string", value: v.stringValue };
    }
    if ("intValue" in v) return (r.chance(0.1) ? { type: "string", value: v.intValue } : numberLiteral(r, Number(v.intValue), ordered)) ?? { type: "int", value: 0 };
    if ("doubleValue" in v) return numberLiteral(r, v.doubleValue, ordered) ?? { type: "float", value: 1.5 };
    if ("boolValue" in v) return { type: "bool", value: v.boolValue };
  }
  return r.pick<Static>([{ type: "string", value: "absent" }, { type: "int", value: 42 }, { type: "float", value: 0.5 }, { type: "bool", value: true }, { type: "duration", value: 1_000_000 }]);
}

/** The text an int, double or bool value reads as: a regex on it must not match (TraceQL matches strings only). */
function textOf(v: AnyValue | undefined): string {
  if (!v) return "nothing";
  if ("stringValue" in v) return v.stringValue;
  if ("intValue" in v) return v.intValue;
  if ("doubleValue" in v) return String(v.doubleValue);
  if ("boolValue" in v) return String(v.boolValue);
  return "nothing";
}

/**
 * A regex about a value: the whole of it (a string's, or an int's, double's or bool's text), a
 * prefix, a part that an unanchored regex would find, Grafana's `a|b` of several values, flags,
 * and ones that match everything or nothing.
 */
function regexFor(r: Rng, v: AnyValue | undefined): string {
  const s = textOf(v);
  const e = escapeRegex(s);
  switch (r.int(12)) {
    case 0:
    case 1:
      return e;
    case 2:
      return `${escapeRegex(s.slice(0, 2))}.*`;
    case 3:
      return `(?i)${escapeRegex(s.toUpperCase())}`;
    case 4:
      return ".*";
    case 5:
      return "zz+";
    case 6:
      return escapeRegex(s.slice(1, 3)); // a part: anchored, it matches only a value that is just that
    case 7:
      return `${e}|${escapeRegex(r.pick(STRINGS))}|absent`;
    case 8:
      return `absent|v${r.int(100)}`;
    case 9:
      return r.pick(["(?s).*break", ".*break", "(?i)get.*", "(?m)^GET$", "[0-9]+", "-?[0-9.]+", "true|false", ""]);
    case 10:
      return `.*${escapeRegex(s.slice(-2))}`;
    default:
      return `(${e})?x?`;
  }
}

function attributeComparison(r: Rng, o: Observed): Condition {
  const seen = o.attrs.length && r.chance(0.85) ? r.pick(o.attrs) : undefined;
  const name = seen ? seen.kv.key : r.pick(["absent.key", "http.method", "k9"]);
  const scope: AttributeScope =
    seen && r.chance(0.8)
      ? seen.scope === "resource"
        ? r.pick(["resource", "", "parent.resource"] as const)
        : seen.scope === "span"
          ? r.pick(["span", "", "parent", "parent.span"] as const)
          : seen.scope === "event"
            ? r.pick(["event", "span", ""] as const)
            : seen.scope
      : r.pick(["span", "resource", "", "event", "link", "instrumentation", "parent"] as const);
  const field: Condition = { kind: "attribute", scope, name, pos };
  const roll = r.next();
  if (roll < 0.06) return field; // bare: a true bool
  const op = r.pick(ALL_OPS);
  const value = literalFor(r, op, seen?.kv.value);
  // nil and booleans take only = and != (validate.ts).
  if ((value.type === "nil" || value.type === "bool") && op !== "=" && op !== "!=") return { kind: "comparison", op: r.pick(["=", "!="] as const), left: field, right: lit(value), pos };
  // Literal on the left sometimes (regexes need it on the right).
  if (op !== "=~" && op !== "!~" && r.chance(0.15)) return { kind: "comparison", op, left: lit(value), right: field, pos };
  return { kind: "comparison", op, left: field, right: lit(value), pos };
}

function intrinsicComparison(r: Rng, o: Observed): Condition {
  const s = r.pick(o.spans).span;
  const name = r.pick<IntrinsicName>([
    "name", "name", "status", "status", "kind", "kind", "duration", "duration", "statusMessage", "trace:rootService", "trace:duration",
    "event:name", "event:timeSinceStart", "link:traceID", "link:spanID", "instrumentation:name", "instrumentation:version",
    "span:childCount", "nestedSetLeft", "nestedSetRight", "nestedSetParent", "span:id", "span:parentID",
  ]);
  const field: Condition = { kind: "intrinsic", name, pos };
  let op: ComparisonOp = r.pick(["=", "=", "=", "!=", ">", "<", ">=", "<="]);
  let value: Static;
  switch (name) {
    case "name":
      if (r.chance(0.2)) op = r.pick(["=~", "!~"]);
      value = op === "=~" || op === "!~" ? { type: "string", value: `${escapeRegex(s.name.slice(0, 3))}.*` } : { type: "string", value: r.chance(0.85) ? s.name : "absent-name" };
      break;
    case "status":
      if (op !== "=") op = "!="; // statuses and kinds take only = and != (validate.ts)
      value = { type: "status", value: r.chance(0.85) ? Math.min(s.status.code, 2) : r.int(3) };
      break;
    case "kind":
      if (op !== "=") op = "!=";
      value = { type: "kind", value: r.chance(0.85) ? Math.min(s.kind, 5) : r.int(6) };
      break;
    case "duration":
    case "trace:duration": {
      const start = parseU64(s.startTimeUnixNano) ?? 0n;
      const end = parseU64(s.endTimeUnixNano) ?? 0n;
      const d = Number(end > start ? end - start : 0n) + r.pick([0, 0, 0, -1, 1, 500]);
      value = r.chance(0.8) ? { type: "duration", value: d } : r.chance(0.5) ? { type: "int", value: d } : { type: "float", value: d + 0.5 };
      break;
    }
    case "statusMessage":
      value = { type: "string", value: s.status.message };
      break;
    case "event:name":
      value = { type: "string", value: s.events[0]?.name ?? r.pick(EVENT_NAMES) };
      break;
    case "event:timeSinceStart":
      value = { type: "duration", value: r.pick([0, 1]) };
      break;
    case "link:traceID":
      value = { type: "string", value: s.links[0]?.traceId ?? "absent" };
      break;
    case "link:spanID":
      value = { type: "string", value: s.links[0]?.spanId ?? "absent" };
      break;
    case "instrumentation:name":
      value = { type: "string", value: r.pick(["lib", "", "absent"]) };
      break;
    case "instrumentation:version":
      value = { type: "string", value: r.pick(["1.0", ""]) };
      break;
    case "span:childCount":
    case "nestedSetLeft":
    case "nestedSetRight":
    case "nestedSetParent":
      value = { type: "int", value: r.range(-1, 4) };
      break;
    case "span:id":
      value = { type: "string", value: s.spanId };
      break;
    case "span:parentID":
      value = { type: "string", value: s.parentSpanId };
      break;
    default:
      value = { type: "string", value: r.pick(SERVICES) };
  }
  if (op !== "=~" && op !== "!~" && r.chance(0.1)) return { kind: "comparison", op, left: lit(value), right: field, pos };
  return { kind: "comparison", op, left: field, right: lit(value), pos };
}

function condition(r: Rng, o: Observed, depth: number): Condition {
  const roll = r.next();
  if (depth > 0 && roll < 0.3) return { kind: "logical", op: r.pick(["&&", "||"] as const), left: condition(r, o, depth - 1), right: condition(r, o, depth - 1), pos };
  if (depth > 0 && roll < 0.38) return { kind: "not", operand: condition(r, o, depth - 1), pos };
  return r.chance(0.6) ? attributeComparison(r, o) : intrinsicComparison(r, o);
}

function selector(r: Rng, o: Observed): SpansetExpr {
  return { kind: "selector", cond: r.chance(0.08) ? undefined : condition(r, o, r.int(3)), pos };
}

function field(r: Rng, o: Observed): Field {
  if (r.chance(0.5)) return { kind: "intrinsic", name: r.pick<IntrinsicName>(["name", "status", "kind", "duration"]), pos };
  const a = o.attrs.length ? r.pick(o.attrs) : undefined;
  return { kind: "attribute", scope: a?.scope === "resource" ? "resource" : r.pick(["span", ""] as const), name: a?.kv.key ?? "absent", pos };
}

const int = (value: number) => ({ kind: "literal" as const, value: { type: "int" as const, value }, pos });

/** A number-valued field expression: an attribute or the duration, doubled. */
function numericExpr(r: Rng, o: Observed): Condition {
  const f = field(r, o);
  return { kind: "arithmetic", op: "*", left: f.kind === "attribute" ? f : { kind: "intrinsic", name: "duration", pos }, right: int(2), pos };
}

function stage(r: Rng, o: Observed): Stage {
  switch (r.int(8)) {
    case 0:
      return { kind: "aggregate", fn: "count", field: undefined, op: r.pick(["=", ">", ">=", "<"] as const), value: { kind: "literal", value: { type: "int", value: r.int(4) }, pos }, pos };
    case 1:
      return { kind: "aggregate", fn: r.pick(["avg", "max", "min", "sum"] as const), field: { kind: "intrinsic", name: "duration", pos }, op: r.pick([">", "<"] as const), value: { kind: "literal", value: { type: "duration", value: r.pick([1000, 1_000_000, 500_000_000]) }, pos }, pos };
    case 2:
      return { kind: "by", fields: [r.chance(0.3) ? numericExpr(r, o) : field(r, o)], pos };
    case 3:
      return { kind: "select", fields: [field(r, o), field(r, o)], pos };
    case 4:
      return { kind: "coalesce", pos };
    case 5:
      // `count() + 1 > n` and `max(x * 2) - min(x * 2) >= n`: scalar arithmetic.
      return r.chance(0.5)
        ? { kind: "scalarFilter", op: r.pick([">", "<=", "="] as const), left: { kind: "scalarArithmetic", op: "+", left: { kind: "aggregate", fn: "count", field: undefined, pos }, right: int(1), pos }, right: int(r.range(1, 5)), pos }
        : { kind: "scalarFilter", op: ">=", left: { kind: "scalarArithmetic", op: "-", left: { kind: "aggregate", fn: "max", field: numericExpr(r, o), pos }, right: { kind: "aggregate", fn: "min", field: numericExpr(r, o), pos }, pos }, right: int(r.int(3)), pos };
    default:
      return { kind: "filter", expr: selector(r, o), pos };
  }
}

const SPANSET_OPS: SpansetOp[] = ["&&", "||", ">", ">>", "<", "<<", "~", "!>", "!>>", "!<", "!<<", "!~", "&>", "&>>", "&<", "&<<", "&~"];

function spanset(r: Rng, o: Observed, depth: number): SpansetExpr {
  if (depth > 0 && r.chance(0.4)) return { kind: "spansetOp", op: r.pick(SPANSET_OPS), left: spanset(r, o, depth - 1), right: spanset(r, o, depth - 1), pos };
  return selector(r, o);
}

/** The implicit `{ }` of a pipeline that starts with a stage. */
const WHOLE_TRACE: SpansetExpr = { kind: "selector", cond: undefined, pos, implicit: true };

function traceqlQuery(r: Rng, o: Observed): Query {
  let e = spanset(r, o, 2);
  const roll = r.next();
  if (roll < 0.3) e = { kind: "pipeline", source: e, stages: Array.from({ length: r.range(1, 2) }, () => stage(r, o)), pos };
  else if (roll < 0.36) {
    // A pipeline that starts with a stage reads the whole trace, then filters by a spanset.
    let first = stage(r, o);
    while (first.kind === "filter" || first.kind === "coalesce") first = stage(r, o);
    e = { kind: "pipeline", source: WHOLE_TRACE, stages: [first, { kind: "filter", expr: spanset(r, o, 1), pos }], pos };
  } else if (roll < 0.4) {
    // Wrapped pipelines compared at the root.
    const side = (): ScalarExpr => ({ kind: "scalarPipeline", pipeline: spanset(r, o, 1), fn: "count", field: undefined, pos });
    e = { kind: "pipeline", source: WHOLE_TRACE, stages: [{ kind: "scalarFilter", op: r.pick(["=", ">", "<="] as const), left: side(), right: r.chance(0.5) ? side() : int(r.int(3)), pos }], pos };
  }
  const text = stringify(e);
  return { lang: "traceql", text, matcher: compileTraceQL(text, { spss: 3 }) };
}

function quote(v: string): string {
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r")}"`;
}

function tagsQuery(r: Rng, o: Observed): Query {
  const parts: string[] = [];
  for (let i = r.range(1, 3); i > 0; i--) {
    const { span, resource } = r.pick(o.spans);
    const roll = r.int(10);
    if (roll < 5) {
      const attrs = [...span.attributes, ...resource.attributes, ...span.events.flatMap((e) => e.attributes)].filter((kv) => /^[^\s="]+$/.test(kv.key) && !["name", "status", "error", "service.name"].includes(kv.key));
      const kv = attrs.length ? r.pick(attrs) : undefined;
      if (!kv) continue;
      let v = attributeString(kv.value) ?? "";
      // The Number form of an int ("7" for "007"), or a value that is not there.
      if ("intValue" in kv.value && r.chance(0.3)) v = String(Number(kv.value.intValue));
      else if (r.chance(0.1)) v += "-absent";
      parts.push(`${kv.key}=${quote(v)}`);
    } else if (roll === 5) parts.push(`name=${quote(r.chance(0.9) ? span.name : "absent")}`);
    else if (roll === 6) parts.push(`status=${r.pick(["ok", "unset", "error"])}`);
    else if (roll === 7) parts.push(`error=${r.pick(["true", "false"])}`);
    else if (roll === 8) parts.push(`service.name=${quote(serviceNameOf(resource))}`);
  }
  if (r.chance(0.1)) parts.length = 0;
  const params: { tags: string; minDuration?: string; maxDuration?: string } = { tags: parts.join(" ") };
  if (r.chance(0.2)) params.minDuration = `${r.pick([0, 1, 1000, 1_000_000, 900_000_000])}ns`;
  if (r.chance(0.2)) params.maxDuration = `${r.pick([1_000_000_000, 2_000_000_000, 5_000_000_000])}ns`;
  return { lang: "tags", text: JSON.stringify(params), matcher: tagsMatcher(params) };
}

function durationBounds(r: Rng, d: bigint): { min?: bigint; max?: bigint } {
  const out: { min?: bigint; max?: bigint } = {};
  const clamp = (x: bigint) => (x < 0n ? 0n : x);
  if (r.chance(0.3)) out.min = clamp(d - BigInt(r.pick([0, 0, 1, 500])));
  if (r.chance(0.3)) out.max = clamp(d + BigInt(r.pick([0, 0, 1, -1, 500])));
  if (out.min !== undefined && out.max !== undefined && out.max < out.min) out.max = out.min;
  return out;
}

function jaegerQuery(r: Rng, o: Observed): Query {
  const { span, resource, scope } = r.pick(o.spans);
  const pool: [string, string][] = [...jaegerSpanTags(span, scope), ...jaegerProcess(resource).tags, ...jaegerLogs(span).flatMap((l) => l.fields)].map((kv) => [kv.key, String(kv.value)]);
  const tags: [string, string][] = [];
  for (let i = r.int(4); i > 0 && pool.length; i--) {
    const [k, v] = r.pick(pool);
    tags.push([k, r.chance(0.1) ? `${v}x` : v]);
  }
  const service = r.chance(0.9) ? jaegerProcess(resource).serviceName : r.pick(SERVICES);
  const { min, max } = durationBounds(r, spanDurationNanos(span));
  const q = { service, operation: r.chance(0.4) ? span.name : undefined, tags, minDurationNanos: min, maxDurationNanos: max };
  return { lang: "jaeger", text: JSON.stringify(q, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)), matcher: jaegerSpanMatcher(q) };
}

function zipkinQuery(r: Rng, o: Observed): Query {
  const { span, resource, scope } = r.pick(o.spans);
  const zr = zipkinResource(resource);
  const zs = encodeZipkinSpan(span, zr, scope);
  const tags = Object.entries(zs.tags ?? {});
  const terms: [string, string][] = [];
  for (let i = r.int(3); i > 0; i--) {
    const roll = r.int(4);
    if (roll <= 1 && tags.length) {
      const [k, v] = r.pick(tags);
      terms.push([k, r.chance(0.1) ? `${v}x` : v]);
    } else if (roll === 2 && tags.length) terms.push([r.pick(tags)[0], ""]);
    else if (span.events.length) terms.push([r.pick(span.events).name || "x", ""]);
  }
  const micros = spanDurationNanos(span) / 1000n;
  const q: ZipkinSearch = { annotationQuery: terms, startMs: 0, endMs: 0, limit: 10 };
  if (r.chance(0.3)) q.spanName = r.chance(0.5) ? span.name.toUpperCase() : span.name;
  if (r.chance(0.1)) q.remoteServiceName = zs.remoteEndpoint?.serviceName ?? "nobody";
  if (r.chance(0.3) && micros > 0n) {
    q.minDurationMicros = Number(micros) - r.int(2);
    if (q.minDurationMicros < 1) q.minDurationMicros = 1;
    if (r.chance(0.5)) q.maxDurationMicros = Math.max(q.minDurationMicros, Number(micros) + r.int(2) - 1);
  }
  const service = r.chance(0.8) ? zr.serviceName : undefined;
  return { lang: "zipkin", text: JSON.stringify({ ...q, service }), matcher: zipkinSpanMatcher(q, service) };
}

/**
 * `=~`, `!~` and `!=` with a string on an attribute in one of the scope forms the index answers
 * for, in a selector alone, under `&&`/`||`, or on the parent side of `>>`: what the string lists
 * rule out.
 */
function regexQuery(r: Rng, o: Observed): Query {
  const one = (): Condition => {
    const seen = o.attrs.length && r.chance(0.9) ? r.pick(o.attrs) : undefined;
    const name = seen ? seen.kv.key : r.pick(["absent.key", "http.method", "k9"]);
    const scope: AttributeScope = seen?.scope === "resource" ? r.pick(["resource", ""] as const) : seen?.scope === "event" ? r.pick(["event", ""] as const) : r.pick(["span", "", "resource", "event"] as const);
    const op = r.pick<ComparisonOp>(["=~", "=~", "=~", "!~", "!="]);
    const value = op === "!=" ? textOf(seen?.kv.value) : regexFor(r, seen?.kv.value);
    return { kind: "comparison", op, left: { kind: "attribute", scope, name, pos }, right: lit({ type: "string", value }), pos };
  };
  const cond: Condition = r.chance(0.3) ? { kind: "logical", op: r.pick(["&&", "||"] as const), left: one(), right: one(), pos } : one();
  let e: SpansetExpr = { kind: "selector", cond, pos };
  if (r.chance(0.15)) e = { kind: "spansetOp", op: ">>", left: e, right: { kind: "selector", cond: undefined, pos }, pos };
  const text = stringify(e);
  return { lang: "traceql", text, matcher: compileTraceQL(text, { spss: 3 }), strings: true };
}

function queries(r: Rng, o: Observed): Query[] {
  const out: Query[] = [];
  for (let i = 0; i < 10; i++) out.push(traceqlQuery(r, o));
  for (let i = 0; i < 6; i++) out.push(regexQuery(r, o));
  for (let i = 0; i < 4; i++) out.push(tagsQuery(r, o));
  for (let i = 0; i < 4; i++) out.push(jaegerQuery(r, o));
  for (let i = 0; i < 4; i++) out.push(zipkinQuery(r, o));
  return out;
}

// ---- indexes ------------------------------------------------------------------------------------

function builderOf(traces: TraceInput[]): AttributeIndexBuilder {
  const b = new AttributeIndexBuilder();
  // As encode-block.ts does: per trace, with which spans are parents.
  for (const t of traces) b.addTrace(t.resourceSpans);
  return b;
}

/** Segments as encode-block.ts builds them: one builder per trace, absorbed into the segment's. */
function segmentIndex(traces: TraceInput[], caps: IndexCaps): AttributeIndex {
  const seg = new AttributeIndexBuilder();
  for (const t of traces) seg.absorb(builderOf([t]));
  return decodeAttributeIndex(seg.encode(caps));
}

const TINY_CAPS: IndexCaps = { maxValuesPerName: 1, maxSpanNames: 1, maxListBytes: 12 };
/** String lists for names of up to 3 values within 40 bytes: some names listed, some over the cap, some past the budget. */
const SMALL_LIST_CAPS: IndexCaps = { maxValuesPerName: 3, maxSpanNames: 1024, maxListBytes: 40 };
/** Every name of few values listed. */
const LONG_LIST_CAPS: IndexCaps = { ...BLOCK_INDEX_CAPS, maxListBytes: 1 << 20 };

/** The index as a version-1 reader has it: no string lists. */
const withoutLists = (ix: AttributeIndex): AttributeIndex => ({ ...ix, stringValues: new Map() });

interface Failure {
  caseNo: number;
  what: string;
  query: string;
  traceId: string;
  condition: IndexCondition | undefined;
}

function describeFailures(failures: Failure[]): string {
  return failures
    .slice(0, 10)
    .map((f) => `case ${f.caseNo}: ${f.what}\n  query ${f.query}\n  trace ${f.traceId}\n  condition ${JSON.stringify(f.condition, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v))}`)
    .join("\n");
}

const cond = (m: TraceMatcher): IndexCondition => m.indexCondition ?? { kind: "all" };

// ---- the cases ----------------------------------------------------------------------------------

interface Case {
  r: Rng;
  traces: TraceInput[];
  queries: Query[];
}

function newCase(caseNo: number, traceCount: number): Case {
  const r = new Rng(caseNo + 1);
  const w = newWorld(r);
  const resources = new Map(w.services.map((s) => [s, [] as Resource[]]));
  const traces = Array.from({ length: traceCount }, (_, i) => newTrace(r, w, i, resources));
  return { r, traces, queries: queries(r, observe(traces)) };
}

describe("attribute indexes and skips are sound", () => {
  it(`indexes of traces, segments and blocks allow every match (${CASES} random cases)`, () => {
    const failures: Failure[] = [];
    let checks = 0;
    let matches = 0;
    let listPrunes = 0;
    for (let caseNo = 0; caseNo < CASES; caseNo++) {
      const { r, traces, queries: qs } = newCase(caseNo, traceCountOf(caseNo));
      const summaries = traces.map((t) => summarizeTrace(t.traceId, t.resourceSpans));
      const alone = traces.map((t) => segmentIndex([t], SEGMENT_INDEX_CAPS));
      const aloneTiny = traces.map((t) => segmentIndex([t], TINY_CAPS));
      // Random groups of consecutive traces, as segments.
      const groupOf: number[] = [];
      const groups: TraceInput[][] = [];
      for (let i = 0; i < traces.length; i++) {
        if (i === 0 || r.chance(0.5)) groups.push([]);
        groups[groups.length - 1]!.push(traces[i]!);
        groupOf.push(groups.length - 1);
      }
      const grouped = groups.map((g) => segmentIndex(g, SEGMENT_INDEX_CAPS));
      const groupedTiny = groups.map((g) => segmentIndex(g, TINY_CAPS));
      const block = decodeAttributeIndex(builderOf(traces).encode(BLOCK_INDEX_CAPS));
      const blockTiny = decodeAttributeIndex(builderOf(traces).encode(TINY_CAPS));
      const blockSmallLists = decodeAttributeIndex(builderOf(traces).encode(SMALL_LIST_CAPS));
      const aloneLongLists = traces.map((t) => segmentIndex([t], LONG_LIST_CAPS));
      for (const q of qs) {
        const c = cond(q.matcher);
        traces.forEach((t, i) => {
          checks++;
          if (!q.matcher.match(t.resourceSpans, summaries[i]!)) {
            // The lists must rule some traces out, or the test proves nothing about them.
            if (q.strings && !indexMayMatch(aloneLongLists[i]!, c) && indexMayMatch(withoutLists(aloneLongLists[i]!), c)) listPrunes++;
            return;
          }
          matches++;
          const fail = (what: string) => failures.push({ caseNo, what, query: `${q.lang} ${q.text}`, traceId: t.traceId, condition: c });
          if (!q.matcher.mayMatch(summaries[i]!)) fail("the summary prune (mayMatch) rules out a matching trace");
          const indexes: [string, AttributeIndex][] = [
            ["trace", alone[i]!],
            ["trace (tiny caps)", aloneTiny[i]!],
            ["segment", grouped[groupOf[i]!]!],
            ["segment (tiny caps)", groupedTiny[groupOf[i]!]!],
            ["block", block],
            ["block (tiny caps)", blockTiny],
            ["block (small string lists)", blockSmallLists],
            ["trace (every string list)", aloneLongLists[i]!],
          ];
          for (const [name, ix] of indexes) if (!indexMayMatch(ix, c)) fail(`the ${name} index rules out a matching trace`);
        });
      }
    }
    expect(failures, describeFailures(failures)).toEqual([]);
    // The generator must produce matches, or the test proves nothing.
    expect(matches).toBeGreaterThan(checks / 20);
    expect(listPrunes).toBeGreaterThan(CASES);
  }, 60_000);

  it(`the block scanner with indexes finds what a plain scan finds (${CASES} random blocks)`, async () => {
    const failures: Failure[] = [];
    let skippedSegments = 0;
    let segments = 0;
    let found = 0;
    for (let caseNo = 0; caseNo < CASES; caseNo++) {
      const { r, traces, queries: qs } = newCase(caseNo, traceCountOf(caseNo));
      // Mostly uncompressed: the codec has nothing to do with what is skipped, and inflating every
      // segment for every query would be most of the test's time.
      const enc = await encodeBlock(traces, { tenantId: "t", blockId: `b${caseNo}`, createdAtMs: 0 }, { segmentSpans: r.range(1, 12), codec: r.chance(0.2) ? "deflate-raw" : "none" });
      const bytes = enc.bytes;
      const read = async (offset: number, length: number) => bytes.slice(offset, offset + length);
      const plainBlock = await decodeBlock(bytes);
      segments += enc.stats.segmentCount;
      // Half the queries of each case (every language still), for time: every block is a new layout.
      for (const q of qs.filter((_, i) => i % 2 === caseNo % 2)) {
        const c = cond(q.matcher);
        const fail = (what: string, traceId: string) => failures.push({ caseNo, what, query: `${q.lang} ${q.text}`, traceId, condition: c });
        const plain = new Set(plainBlock.traces.filter((t) => q.matcher.match(t.resourceSpans, t.summary)).map((t) => t.summary.traceId));
        found += plain.size;
        const filter = { indexCondition: q.matcher.indexCondition, mayMatch: (s: TraceFacts) => q.matcher.mayMatch(s) };
        const counters = newCounters();
        const cands = await candidateRows(read, bytes.length, { startNs: 0n, endNs: 1n << 64n, filter, useIndex: true, tailBytes: r.pick([64, 1024, 64 * 1024]) }, counters);
        const hits = new Set<string>();
        await readSegments(cands, cands.rows, (row, trace) => void (q.matcher.match(trace, row) && hits.add(row.traceId)), counters);
        skippedSegments += counters.skippedSegments;
        for (const id of plain) if (!hits.has(id)) fail("the scanner with indexes misses a trace the plain scan finds", id);
        for (const id of hits) if (!plain.has(id)) fail("the scanner with indexes finds a trace the plain scan does not", id);
        // The decoded index of each matching trace's segment, and the block's catalog copy.
        for (const row of cands.block.traces) {
          if (!plain.has(row.traceId)) continue;
          const ix = cands.block.segmentIndexes.get(row.segmentOffset);
          if (!ix) fail("a format-2 block without a segment index", row.traceId);
          else if (!indexMayMatch(decodeAttributeIndex(ix), c)) fail("the decoded segment index rules out a matching trace", row.traceId);
          if (!encodedIndexMayMatch(enc.meta.attributeIndex, c)) fail("the block's catalog index rules out a matching trace", row.traceId);
        }
        // Without indexes, the same rows as the summary alone allows.
        if (caseNo % 10 === 0) {
          const all = await candidateRows(read, bytes.length, { startNs: 0n, endNs: 1n << 64n, filter, useIndex: false }, newCounters());
          const viaAll = new Set<string>();
          await readSegments(all, all.rows, (row, trace) => void (q.matcher.match(trace, row) && viaAll.add(row.traceId)), newCounters());
          if ([...viaAll].sort().join() !== [...plain].sort().join()) fail("the scanner without indexes differs from the plain scan", [...viaAll].join());
        }
      }
    }
    expect(failures, describeFailures(failures)).toEqual([]);
    expect(found).toBeGreaterThan(CASES);
    // The indexes do skip: otherwise the comparison above would be empty.
    expect(skippedSegments).toBeGreaterThan(segments / 10);
  }, 60_000);

  describe("searchTraces and metricsQueryRange over catalogued blocks", () => {
    let client: Client;
    let db: LibsqlDb;
    beforeAll(async () => {
      client = createClient({ url: ":memory:" });
      db = libsql(client);
      await migrateLibsql(db);
    });
    afterAll(() => client.close());

    it(`answer the same with and without indexes (${SEARCH_CASES} random tenants)`, async () => {
      const failures: Failure[] = [];
      let hits = 0;
      for (let k = 0; k < SEARCH_CASES; k++) {
        const caseNo = 100_000 + k;
        const { r, traces, queries: qs } = newCase(caseNo, 12);
        const tenantId = (await createTenant(db, `soundness-${k}`)).id;
        const objects = new Map<string, Uint8Array>();
        const store = { getRange: async (key: string, offset: number, length: number) => objects.get(key)?.slice(offset, offset + length) } as unknown as ObjectStore;
        // Three blocks; sometimes a trace's late spans in a second block (a fragment).
        const blocks: TraceInput[][] = [[], [], []];
        traces.forEach((t) => blocks[r.int(3)]!.push(t));
        if (r.chance(0.5)) {
          const t = r.pick(traces);
          const fragment = { traceId: t.traceId, resourceSpans: structuredClone(t.resourceSpans.slice(0, 1)) };
          const home = blocks.findIndex((b) => b.includes(t));
          blocks[(home + 1) % 3]!.push(fragment);
        }
        for (const [i, list] of blocks.entries()) {
          if (!list.length) continue;
          const enc = await encodeBlock(list, { tenantId, blockId: `blk_${k}_${i}`, createdAtMs: 0 }, { segmentSpans: r.range(1, 12) });
          objects.set(blockKey(tenantId, enc.meta.blockId), enc.bytes);
          await recordBlock(db, tenantId, catalogRow(enc, 0, 0), [], []);
        }
        const startMs = Number(BASE_NS / 1_000_000n) - 1000;
        const endMs = startMs + 1_000_000;
        const plain = new Map<string, Set<string>>();
        for (const q of qs) {
          const ids = new Set<string>();
          for (const list of blocks) {
            for (const t of list) {
              // The search's time range, on the summary row as the scanner reads it.
              const summary = summarizeTrace(t.traceId, t.resourceSpans);
              const inRange = BigInt(summary.startTimeUnixNano) <= BigInt(endMs) * 1_000_000n + 999_999n && BigInt(summary.endTimeUnixNano) >= BigInt(startMs) * 1_000_000n;
              if (inRange && q.matcher.match(t.resourceSpans, summary)) ids.add(t.traceId);
            }
          }
          plain.set(q.text, ids);
        }
        for (const q of qs) {
          const fail = (what: string, traceId = "") => failures.push({ caseNo, what, query: `${q.lang} ${q.text}`, traceId, condition: cond(q.matcher) });
          for (const limit of [1000, 2]) {
            const [withIx, without] = await Promise.all(
              [true, false].map((useIndex) => searchTraces(db, store, tenantId, q.matcher, { startMs, endMs, limit, useIndex, concurrency: 2 })),
            );
            if (JSON.stringify(withIx!.traces) !== JSON.stringify(without!.traces)) fail(`searchTraces (limit ${limit}) answers differently with indexes`);
            if (limit === 1000) {
              hits += withIx!.traces.length;
              const ids = withIx!.traces.map((t) => t.traceID).sort().join();
              const want = [...plain.get(q.text)!].sort().join();
              if (ids !== want) fail("searchTraces finds other traces than the plain scan", `${ids} (plain scan: ${want})`);
            }
          }
          if (q.lang !== "traceql" || q.text.includes("|")) continue;
          const mq = parseMetricsQuery(`${q.text} | count_over_time()`);
          const bucketing = { startMs, endMs, stepMs: 100_000 };
          const [a, b] = await Promise.all([true, false].map((useIndex) => metricsQueryRange(db, store, tenantId, mq, bucketing, { useIndex })));
          if (JSON.stringify(a!.series) !== JSON.stringify(b!.series)) fail("metricsQueryRange answers differently with indexes");
        }
      }
      expect(failures, describeFailures(failures)).toEqual([]);
      expect(hits).toBeGreaterThan(SEARCH_CASES);
    }, 60_000);
  });
});

describe("cases the random search found", () => {
  const span = (spanId: string, start: string, end: string): Span => ({
    traceId: "a".repeat(32), spanId, traceState: "", parentSpanId: "", flags: 1, name: "op", kind: 2, startTimeUnixNano: start, endTimeUnixNano: end,
    attributes: [], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: "" },
  });
  const trace = (spans: Span[]): TraceInput => ({
    traceId: "a".repeat(32),
    resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "web" } }], droppedAttributesCount: 0 }, schemaUrl: "", scopeSpans: [{ scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }] }],
  });

  it("a span whose start is not a canonical decimal lasts 0 for every reader, as the summary row reads it", () => {
    // The summary row skips the unreadable start, so the trace lasts 100 ms. The TraceQL engine
    // read that start as 0 (the span lasted 1.7e18 ns) and Jaeger/Zipkin as 1900 ms: `duration >
    // 1s` and `minDuration` matched a trace their summary prune had ruled out.
    const t = trace([span("1".repeat(16), "01700000000100000000", "1700000002000000000"), span("2".repeat(16), "1700000001900000000", "1700000002000000000")]);
    const summary = summarizeTrace(t.traceId, t.resourceSpans);
    expect(summary.durationNanos).toBe("100000000");
    const index = decodeAttributeIndex(builderOf([t]).encode(SEGMENT_INDEX_CAPS));
    expect([index.minDuration, index.maxDuration]).toEqual([0n, 100_000_000n]);
    const matchers: [string, TraceMatcher][] = [
      ["{ duration > 1s }", compileTraceQL("{ duration > 1s }")],
      ["{ duration >= 100ms }", compileTraceQL("{ duration >= 100ms }")],
      ["{ duration < 1ms }", compileTraceQL("{ duration < 1ms }")],
      ["jaeger minDuration 1s", jaegerSpanMatcher({ service: "web", tags: [], minDurationNanos: 1_000_000_000n })],
      ["jaeger maxDuration 1ms", jaegerSpanMatcher({ service: "web", tags: [], maxDurationNanos: 1_000_000n })],
      ["zipkin minDuration 1s", zipkinSpanMatcher({ annotationQuery: [], minDurationMicros: 1_000_000, startMs: 0, endMs: 0, limit: 10 }, "web")],
    ];
    const answers = matchers.map(([name, m]) => {
      const matched = m.match(t.resourceSpans, summary) !== undefined;
      if (matched) {
        expect(m.mayMatch(summary), name).toBe(true);
        expect(indexMayMatch(index, cond(m)), name).toBe(true);
      }
      return [name, matched];
    });
    expect(answers).toEqual([
      ["{ duration > 1s }", false],
      ["{ duration >= 100ms }", true],
      ["{ duration < 1ms }", true],
      ["jaeger minDuration 1s", false],
      ["jaeger maxDuration 1ms", true],
      ["zipkin minDuration 1s", false],
    ]);
  });

  it("a segment of traces without spans is read by a search without conditions", async () => {
    const empty: TraceInput = { traceId: "b".repeat(32), resourceSpans: [] };
    const enc = await encodeBlock([empty], { tenantId: "t", blockId: "b", createdAtMs: 0 });
    const read = async (offset: number, length: number) => enc.bytes.slice(offset, offset + length);
    const ix = decodeAttributeIndex([...(await openBlock(read, enc.bytes.length)).segmentIndexes.values()][0]!);
    expect(ix.spanCount).toBe(0);
    const m = tagsMatcher({});
    expect(m.match([], summarizeTrace(empty.traceId, []))).toEqual([]);
    expect(indexMayMatch(ix, cond(m))).toBe(true);
    expect(indexMayMatch(ix, { kind: "attr", name: "x" })).toBe(false);
    for (const useIndex of [true, false]) {
      const c = await candidateRows(read, enc.bytes.length, { startNs: 0n, endNs: 1n << 64n, filter: { indexCondition: m.indexCondition, mayMatch: (s) => m.mayMatch(s) }, useIndex }, newCounters());
      expect(c.rows.map((r) => r.traceId), `useIndex ${useIndex}`).toEqual([empty.traceId]);
    }
  });
});

/** Traces per case: a few, sometimes more (segments then hold several). */
function traceCountOf(caseNo: number): number {
  return 3 + (caseNo % 6);
}
