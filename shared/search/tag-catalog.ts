/**
 * @module
 * Tag names and values for Tempo's tag endpoints (`/api/search/tags`, `/api/v2/search/tags`,
 * `/api/search/tag/{tag}/values`, `/api/v2/search/tag/{tag}/values`), collected from decoded
 * traces. Pure: `tags-scan.ts` walks the blocks and feeds a collector here.
 *
 * Both collectors are bounded, as Tempo's are (`max_bytes_per_tag_values_query`, 5 MB): a cap on
 * distinct entries, on the bytes of what was collected, and on the length of one entry. An entry
 * longer than `maxValueLength` is skipped, not truncated: a cut value would not match anything
 * when put back into a query. Once a collector is `done`, the scan stops and the answer is what was
 * found so far (newest blocks first), flagged `truncated`.
 */
import type { TraceFacts } from "../block/summarize.ts";
import type { AnyValue, KeyValue, ResourceSpans, Span } from "../model/span.ts";
import { parseTraceQL } from "../traceql/parser.ts";
import type { Query, SpansetExpr } from "../traceql/ast.ts";

/** Attribute scopes of the span model, in the order the v2 tags endpoint lists them. */
export const ATTRIBUTE_SCOPES = ["span", "resource", "event", "link", "instrumentation"] as const;
export type AttributeScope = (typeof ATTRIBUTE_SCOPES)[number];

/** Tempo's value types (`tempopb.TagValue.type`); status and kind are `keyword`s, as Tempo answers them. */
export type TagValueType = "string" | "int" | "float" | "bool" | "duration" | "keyword";
export interface TypedTagValue {
  type: TagValueType;
  value: string;
}

export interface TagLimits {
  /** Distinct values (or names per scope) kept. */
  maxValues: number;
  /** Longer values or names (UTF-16 units) are skipped. */
  maxValueLength: number;
  /** Bytes of the distinct values (or names) kept: Tempo's `max_bytes_per_tag_values_query`. */
  maxCollectedBytes: number;
  /** Stop after this many values in a row that were already known (Tempo's `maxStaleValues`); 0 = never. */
  maxStaleValues: number;
}

export const DEFAULT_TAG_LIMITS: TagLimits = { maxValues: 1000, maxValueLength: 512, maxCollectedBytes: 5_000_000, maxStaleValues: 0 };

/** What a scan hands a collector per trace in range: the summary row, and the spans when asked for. */
export interface TagSink {
  /** False when the summary row alone gives what is collected (no segment is read). */
  readonly needsSpans: boolean;
  /** True once a limit is reached: the scan stops. */
  readonly done: boolean;
  /** `keep` narrows to the spans matching `q` (every span when absent). */
  add(summary: TraceFacts, trace: ResourceSpans[] | undefined, keep: ((span: Span) => boolean) | undefined): void;
}

// ---- tag identifiers ----------------------------------------------------------------------------

/** What a tag of the values endpoints names. */
export type TagTarget =
  /** An attribute; scope "any" is unscoped (`.x` in v2, any tag in v1): span, then resource. */
  | { kind: "attribute"; scope: AttributeScope | "any"; name: string }
  | { kind: "intrinsic"; name: IntrinsicTag };

export type IntrinsicTag =
  | "name"
  | "status"
  | "kind"
  | "statusMessage"
  | "duration"
  | "rootName"
  | "rootServiceName"
  | "traceDuration"
  | "event:name"
  | "event:timeSinceStart"
  | "instrumentation:name"
  | "instrumentation:version";

/** Intrinsic spellings Tempo accepts, to their canonical tag. */
const INTRINSIC_ALIASES: Record<string, IntrinsicTag> = {
  name: "name",
  "span:name": "name",
  status: "status",
  "span:status": "status",
  kind: "kind",
  "span:kind": "kind",
  statusMessage: "statusMessage",
  "span:statusMessage": "statusMessage",
  duration: "duration",
  "span:duration": "duration",
  rootName: "rootName",
  "trace:rootName": "rootName",
  rootServiceName: "rootServiceName",
  "trace:rootService": "rootServiceName",
  traceDuration: "traceDuration",
  "trace:duration": "traceDuration",
  "event:name": "event:name",
  "event:timeSinceStart": "event:timeSinceStart",
  "instrumentation:name": "instrumentation:name",
  "instrumentation:version": "instrumentation:version",
};

/** The intrinsics listed under the `intrinsic` scope: those this service can filter or list. */
export const INTRINSIC_TAGS: readonly string[] = ["duration", "event:name", "event:timeSinceStart", "instrumentation:name", "instrumentation:version", "kind", "name", "rootName", "rootServiceName", "status", "statusMessage", "traceDuration"];

const STATUS_VALUES = ["error", "ok", "unset"];
const KIND_VALUES = ["client", "consumer", "internal", "producer", "server", "unspecified"];

/**
 * Parses a v2 tag (a TraceQL identifier: `span.http.method`, `resource.service.name`, `.x`,
 * `event.x`, `link.x`, `instrumentation.x`, `span."a b"`, or an intrinsic); undefined when it is
 * none of these.
 */
export function parseTagIdentifier(tag: string): TagTarget | undefined {
  const intrinsic = INTRINSIC_ALIASES[tag];
  if (intrinsic) return { kind: "intrinsic", name: intrinsic };
  const m = /^(span|resource|event|link|instrumentation)?\.(.+)$/s.exec(tag);
  if (!m) return undefined;
  let name = m[2]!;
  // TraceQL quotes attribute names with spaces or operators in them.
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/\\(.)/g, "$1");
  if (name === "") return undefined;
  return { kind: "attribute", scope: (m[1] as AttributeScope | undefined) ?? "any", name };
}

/** Values of intrinsics that are fixed lists rather than data (Tempo answers these the same way). */
export function fixedIntrinsicValues(tag: IntrinsicTag): TypedTagValue[] | undefined {
  if (tag === "status") return STATUS_VALUES.map((value) => ({ type: "keyword", value }));
  if (tag === "kind") return KIND_VALUES.map((value) => ({ type: "keyword", value }));
  // Tempo lists no values for durations either.
  if (tag === "duration" || tag === "traceDuration" || tag === "event:timeSinceStart") return [];
  return undefined;
}

// ---- the q filter --------------------------------------------------------------------------------

/**
 * The spanset filter of a tag request's `q`, Tempo's way (`traceql.ExtractConditions`): incomplete
 * matchers such as `.foo=` (what an editor sends while a value is typed) are dropped; the first
 * spanset selector of a pipeline is used; anything that still does not parse, or joins spansets
 * (`{..} && {..}`, `>>`), gives no filter, so the whole list is answered, as Tempo does instead of
 * failing. `{}` is no filter either.
 */
export function tagFilterQuery(q: string | undefined): SpansetExpr | undefined {
  const src = q?.trim();
  if (!src) return undefined;
  let ast: Query | undefined = tryParse(src);
  if (!ast) ast = tryParse(dropIncompleteMatchers(src));
  if (!ast) return undefined;
  while (ast.kind === "pipeline") ast = ast.source;
  if (ast.kind !== "selector" || ast.cond === undefined) return undefined;
  return ast;
}

function tryParse(src: string): Query | undefined {
  try {
    return parseTraceQL(src);
  } catch {
    return undefined;
  }
}

const OPERATOR = String.raw`(?:=~|!~|!=|>=|<=|=|>|<)`;
const OPERAND = String.raw`[^\s{}()&|=!<>~]+`;
const INCOMPLETE = new RegExp(String.raw`(?:\s*(?:&&|\|\|))?\s*${OPERAND}\s*${OPERATOR}\s*(?=\}|&&|\|\||\)|$)`, "g");

/**
 * `{ .a = "x" && .b = }` → `{ .a = "x" }`; a leading `{ .b = && .a = "x" }` loses its `&&` too, and
 * so does a trailing `{ .a = "x" && }` (the editor's query just after typing `&&`).
 */
export function dropIncompleteMatchers(src: string): string {
  return src
    .replace(INCOMPLETE, "")
    .replace(/\{\s*(?:&&|\|\|)/g, "{")
    .replace(/\(\s*(?:&&|\|\|)/g, "(")
    .replace(/\s*(?:&&|\|\|)\s*(?=\}|\)|$)/g, "");
}

// ---- values ---------------------------------------------------------------------------------------

const utf8 = new TextEncoder();

/** Typed scalar values of an attribute (array elements one by one; bytes and kvlists have none). */
export function typedValues(v: AnyValue, out: TypedTagValue[] = []): TypedTagValue[] {
  if ("stringValue" in v) out.push({ type: "string", value: v.stringValue });
  else if ("intValue" in v) out.push({ type: "int", value: v.intValue });
  else if ("doubleValue" in v) out.push({ type: "float", value: String(v.doubleValue) });
  else if ("boolValue" in v) out.push({ type: "bool", value: String(v.boolValue) });
  else if ("arrayValue" in v) for (const e of v.arrayValue.values) if (!("arrayValue" in e)) typedValues(e, out);
  return out;
}

const TYPE_ORDER: Record<TagValueType, number> = { string: 0, keyword: 1, int: 2, float: 3, bool: 4, duration: 5 };

/** Strings by value, then numbers numerically, then the rest: a stable, readable order. */
export function compareTypedValues(a: TypedTagValue, b: TypedTagValue): number {
  if (a.type !== b.type) return TYPE_ORDER[a.type] - TYPE_ORDER[b.type];
  if (a.type === "int" || a.type === "float") {
    const d = Number(a.value) - Number(b.value);
    if (d !== 0 && !Number.isNaN(d)) return d;
  }
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** A bounded set of distinct typed values. */
export class TagValueCollector implements TagSink {
  readonly needsSpans: boolean;
  readonly #target: TagTarget;
  readonly #limits: TagLimits;
  readonly #types: ReadonlySet<TagValueType> | undefined;
  readonly #values = new Map<string, TypedTagValue>();
  #bytes = 0;
  #stale = 0;
  #full = false;
  /** Values skipped for their length. */
  skipped = 0;

  /** `types`: keep only these (v1 answers strings only, as Tempo's v1 endpoint does). */
  constructor(target: TagTarget, limits: Partial<TagLimits> = {}, types?: readonly TagValueType[]) {
    this.#target = target;
    this.#limits = { ...DEFAULT_TAG_LIMITS, ...limits };
    this.#types = types ? new Set(types) : undefined;
    this.needsSpans = !(target.kind === "intrinsic" && (target.name === "rootName" || target.name === "rootServiceName"));
  }

  get done(): boolean {
    return this.#full;
  }

  /** The values, sorted. */
  values(): TypedTagValue[] {
    return [...this.#values.values()].sort(compareTypedValues);
  }

  add(summary: TraceFacts, trace: ResourceSpans[] | undefined, keep: ((span: Span) => boolean) | undefined): void {
    const t = this.#target;
    if (t.kind === "intrinsic" && (t.name === "rootName" || t.name === "rootServiceName")) {
      // A trace without its root span yet has "" here: not a value.
      const v = t.name === "rootName" ? summary.rootSpanName : summary.rootServiceName;
      if (v !== "") this.#put({ type: "string", value: v });
      return;
    }
    if (!trace) return;
    for (const rs of trace) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          if (this.#full) return;
          if (keep && !keep(span)) continue;
          if (t.kind === "intrinsic") this.#intrinsic(t.name, span, ss.scope);
          else this.#attribute(t.scope, t.name, span, rs.resource.attributes, ss.scope.attributes);
        }
      }
    }
  }

  #intrinsic(name: IntrinsicTag, span: Span, scope: { name: string; version: string }): void {
    switch (name) {
      case "name":
        return this.#put({ type: "string", value: span.name });
      case "statusMessage":
        if (span.status.message !== "") this.#put({ type: "string", value: span.status.message });
        return;
      case "event:name":
        for (const e of span.events) this.#put({ type: "string", value: e.name });
        return;
      case "instrumentation:name":
        if (scope.name !== "") this.#put({ type: "string", value: scope.name });
        return;
      case "instrumentation:version":
        if (scope.version !== "") this.#put({ type: "string", value: scope.version });
        return;
      default:
        return;
    }
  }

  #attribute(scope: AttributeScope | "any", name: string, span: Span, resource: KeyValue[], instrumentation: KeyValue[]): void {
    const from = (attrs: KeyValue[]) => {
      for (const kv of attrs) if (kv.key === name) for (const v of typedValues(kv.value)) this.#put(v);
    };
    switch (scope) {
      case "span":
        return from(span.attributes);
      case "resource":
        return from(resource);
      case "any":
        from(span.attributes);
        return from(resource);
      case "event":
        for (const e of span.events) from(e.attributes);
        return;
      case "link":
        for (const l of span.links) from(l.attributes);
        return;
      case "instrumentation":
        return from(instrumentation);
    }
  }

  #put(v: TypedTagValue): void {
    if (this.#full) return;
    if (this.#types && !this.#types.has(v.type)) return;
    if (v.value.length > this.#limits.maxValueLength) {
      this.skipped++;
      return;
    }
    const key = `${v.type}\u0000${v.value}`;
    if (this.#values.has(key)) {
      if (this.#limits.maxStaleValues > 0 && ++this.#stale >= this.#limits.maxStaleValues) this.#full = true;
      return;
    }
    const bytes = utf8.encode(v.value).length;
    if (this.#bytes + bytes > this.#limits.maxCollectedBytes) {
      this.#full = true;
      return;
    }
    this.#stale = 0;
    this.#bytes += bytes;
    this.#values.set(key, v);
    if (this.#values.size >= this.#limits.maxValues) this.#full = true;
  }
}

/** Bounded sets of attribute names per scope (each scope capped at `maxValues`). */
export class TagNameCollector implements TagSink {
  readonly needsSpans = true;
  readonly #limits: TagLimits;
  readonly #names = new Map<AttributeScope, Set<string>>();
  readonly #full = new Set<AttributeScope>();
  #bytes = 0;
  #stale = 0;
  #stopped = false;
  skipped = 0;

  constructor(scopes: readonly AttributeScope[], limits: Partial<TagLimits> = {}) {
    this.#limits = { ...DEFAULT_TAG_LIMITS, ...limits };
    for (const s of scopes) this.#names.set(s, new Set());
  }

  /** Done when every asked scope is full, or the byte or staleness budget is spent. */
  get done(): boolean {
    return this.#stopped || this.#full.size === this.#names.size;
  }

  /** Names of a scope, sorted (empty for a scope not asked for). */
  names(scope: AttributeScope): string[] {
    return [...(this.#names.get(scope) ?? [])].sort();
  }

  add(_summary: TraceFacts, trace: ResourceSpans[] | undefined, keep: ((span: Span) => boolean) | undefined): void {
    if (!trace) return;
    const want = (s: AttributeScope) => this.#names.has(s) && !this.#full.has(s);
    for (const rs of trace) {
      let resourceDone = false;
      for (const ss of rs.scopeSpans) {
        let scopeDone = false;
        for (const span of ss.spans) {
          if (this.done) return;
          if (keep && !keep(span)) continue;
          // Resource and instrumentation attributes count once per container with a kept span.
          if (!resourceDone && want("resource")) for (const kv of rs.resource.attributes) this.#put("resource", kv.key);
          if (!scopeDone && want("instrumentation")) for (const kv of ss.scope.attributes) this.#put("instrumentation", kv.key);
          resourceDone = scopeDone = true;
          if (want("span")) for (const kv of span.attributes) this.#put("span", kv.key);
          if (want("event")) for (const e of span.events) for (const kv of e.attributes) this.#put("event", kv.key);
          if (want("link")) for (const l of span.links) for (const kv of l.attributes) this.#put("link", kv.key);
        }
      }
    }
  }

  #put(scope: AttributeScope, name: string): void {
    if (this.#stopped || this.#full.has(scope)) return;
    if (name.length > this.#limits.maxValueLength) {
      this.skipped++;
      return;
    }
    const set = this.#names.get(scope)!;
    if (set.has(name)) {
      if (this.#limits.maxStaleValues > 0 && ++this.#stale >= this.#limits.maxStaleValues) this.#stopped = true;
      return;
    }
    const bytes = utf8.encode(name).length;
    if (this.#bytes + bytes > this.#limits.maxCollectedBytes) {
      this.#stopped = true;
      return;
    }
    this.#stale = 0;
    this.#bytes += bytes;
    set.add(name);
    if (set.size >= this.#limits.maxValues) this.#full.add(scope);
  }
}
