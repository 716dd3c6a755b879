/**
 * @module
 * Tempo's legacy search parameters as a `TraceMatcher`: `tags` (logfmt), `minDuration` and
 * `maxDuration` (Go durations, on the trace's duration).
 *
 * Tags (all must hold; a key given twice keeps its last value, as Tempo's map does):
 * - `service.name=x`: some resource's `service.name` is x. Decided by the summary row (its
 *   per-service counts), and the catalog's services list prunes whole blocks (`requiredServices`).
 * - `name=x`: some span is named x.
 * - `status=error|ok|unset`: some span has that status code. `status=error` is decided by the
 *   summary's error count.
 * - `error=true|false`: some span has (`true`) or has not (`false`) status ERROR (the Jaeger
 *   convention; Zipkin's `error` tag becomes status ERROR at ingest). Decided by the summary.
 * - any other key: some span, or the resource of some span, has that attribute with that value
 *   compared by string form (ints in decimal, doubles as JavaScript prints them, bools as
 *   true/false, arrays and maps as JSON).
 * Conditions may be met by different spans of the trace (trace-level, as Tempo's legacy search).
 * The spanset reported is the spans that meet at least one span-level condition, by start time, at
 * most `spss`; when every condition is decided by the summary, no span is decoded and the
 * trace has no spanset.
 */
import { allOf, type IndexCondition } from "../block/attribute-index.ts";
import type { TraceFacts } from "../block/summarize.ts";
import { serviceNameOf } from "../block/summarize.ts";
import type { AnyValue, KeyValue, Span } from "../model/span.ts";
import { StatusCode } from "../model/span.ts";
import type { SpanMatch, SpansetMatch, TraceMatcher } from "./matcher.ts";

/** A bad `tags`, `minDuration` or `maxDuration`: the route answers 400 with the message. */
export class TagsQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TagsQueryError";
  }
}

/**
 * logfmt pairs: `key=value` or `key="quoted value"` separated by spaces; in quotes, `\"`, `\\`,
 * `\n`, `\t`, `\r` are escapes. A key without `=` is an error (it would match nothing useful).
 */
export function parseLogfmt(input: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  const n = input.length;
  const isSpace = (ch: string) => ch === " " || ch === "\t" || ch === "\n" || ch === "\r";
  while (i < n) {
    while (i < n && isSpace(input[i]!)) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && input[i] !== "=" && input[i] !== '"' && !isSpace(input[i]!)) i++;
    const key = input.slice(keyStart, i);
    if (!key) throw new TagsQueryError(`tags: expected a key at position ${keyStart}`);
    if (input[i] !== "=") throw new TagsQueryError(`tags: key "${key}" has no value (expected ${key}=value)`);
    i++;
    let value = "";
    if (input[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const ch = input[i]!;
        if (ch === '"') {
          closed = true;
          i++;
          break;
        }
        if (ch === "\\") {
          const next = input[i + 1];
          if (next === undefined) break;
          value += next === "n" ? "\n" : next === "t" ? "\t" : next === "r" ? "\r" : next;
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      if (!closed) throw new TagsQueryError(`tags: unterminated quoted value for "${key}"`);
      if (i < n && !isSpace(input[i]!)) throw new TagsQueryError(`tags: expected a space after the quoted value of "${key}" at position ${i}`);
    } else {
      const start = i;
      while (i < n && !isSpace(input[i]!)) i++;
      value = input.slice(start, i);
      if (value.includes('"')) throw new TagsQueryError(`tags: unexpected quote in the value of "${key}"`);
    }
    out.push([key, value]);
  }
  return out;
}

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "µs": 1_000n, // U+00B5
  "μs": 1_000n, // U+03BC
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * A Go duration (`time.ParseDuration`: `300ms`, `1.5h`, `2h45m`, `0`) in nanoseconds, rounded
 * down. Negative durations are refused: nothing lasts less than zero.
 */
export function parseGoDuration(input: string, what = "duration"): bigint {
  const s = input.trim();
  if (s === "0") return 0n;
  if (!s) throw new TagsQueryError(`${what}: empty duration`);
  if (s.startsWith("-")) throw new TagsQueryError(`${what}: "${input}" is negative`);
  const rest = s.startsWith("+") ? s.slice(1) : s;
  const re = /([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0n;
  let at = 0;
  while (at < rest.length) {
    re.lastIndex = at;
    const m = re.exec(rest);
    if (!m || (m[1] === "" && (m[2] ?? "") === "")) throw new TagsQueryError(`${what}: "${input}" is not a duration (like 100ms, 1.5s, 2m)`);
    const unit = UNIT_NANOS[m[3]!]!;
    const frac = m[2] ?? "";
    total += BigInt(m[1] || "0") * unit + (frac ? (BigInt(frac) * unit) / 10n ** BigInt(frac.length) : 0n);
    at = re.lastIndex;
  }
  if (total >= 1n << 63n) throw new TagsQueryError(`${what}: "${input}" is too long`);
  return total;
}

/** The string form a tag value is compared with. */
export function attributeString(v: AnyValue): string | undefined {
  if ("stringValue" in v) return v.stringValue;
  if ("intValue" in v) return v.intValue;
  if ("doubleValue" in v) return String(v.doubleValue);
  if ("boolValue" in v) return v.boolValue ? "true" : "false";
  if ("bytesValue" in v) return v.bytesValue;
  if ("arrayValue" in v || "kvlistValue" in v) return JSON.stringify(v);
  return undefined;
}

type SpanCondition = (span: Span, resourceAttrs: KeyValue[]) => boolean;

interface Condition {
  key: string;
  value: string;
  /** Decided on the summary alone (no span condition). */
  summary?: (s: TraceFacts) => boolean;
  span?: SpanCondition;
  /** What the span condition needs of an attribute index (tags are compared by string form). */
  index?: IndexCondition;
}

const STATUS_CODES: Record<string, number> = { error: StatusCode.ERROR, ok: StatusCode.OK, unset: StatusCode.UNSET };

function condition(key: string, value: string): Condition {
  switch (key) {
    case "service.name":
      return { key, value, summary: (s) => s.services.some((c) => c.serviceName === value && c.spanCount > 0) };
    case "name":
      return { key, value, span: (span) => span.name === value, index: { kind: "spanName", value } };
    case "status": {
      const code = STATUS_CODES[value];
      if (code === undefined) throw new TagsQueryError(`tags: status must be error, ok or unset, got "${value}"`);
      if (code === StatusCode.ERROR) return { key, value, summary: (s) => s.errorCount > 0 };
      return { key, value, span: (span) => span.status.code === code, index: { kind: "status", value: code } };
    }
    case "error":
      if (value === "true") return { key, value, summary: (s) => s.errorCount > 0 };
      if (value === "false") return { key, value, summary: (s) => s.spanCount > s.errorCount };
      throw new TagsQueryError(`tags: error must be true or false, got "${value}"`);
    default:
      return {
        key,
        value,
        span: (span, resourceAttrs) => span.attributes.some((kv) => kv.key === key && attributeString(kv.value) === value) || resourceAttrs.some((kv) => kv.key === key && attributeString(kv.value) === value),
        index: { kind: "pair", name: key, value },
      };
  }
}

export interface TagsSearch {
  tags?: string;
  minDuration?: string;
  maxDuration?: string;
}

/** A TraceMatcher that also names the services a trace must have, for pruning blocks by catalog. */
export interface TagsMatcher extends TraceMatcher {
  readonly requiredServices?: string[];
}

export function tagsMatcher(params: TagsSearch, options: { spss?: number } = {}): TagsMatcher {
  const spss = options.spss ?? 3;
  const byKey = new Map<string, string>();
  for (const [k, v] of parseLogfmt(params.tags ?? "")) byKey.set(k, v);
  const conditions = [...byKey].map(([k, v]) => condition(k, v));
  const min = params.minDuration ? parseGoDuration(params.minDuration, "minDuration") : undefined;
  const max = params.maxDuration ? parseGoDuration(params.maxDuration, "maxDuration") : undefined;
  if (min !== undefined && max !== undefined && min > max) throw new TagsQueryError("minDuration: must not be greater than maxDuration");
  const summaryTests = conditions.flatMap((c) => (c.summary ? [c.summary] : []));
  const spanConditions = conditions.flatMap((c) => (c.span ? [c] : []));
  const queriedKeys = new Set(spanConditions.map((c) => c.key));
  const service = byKey.get("service.name");

  return {
    requiredServices: service !== undefined ? [service] : undefined,
    // Every condition is met by some span of the trace, and a trace lies in one segment.
    indexCondition: allOf(conditions.flatMap((c) => (c.index ? [c.index] : []))),
    summaryOnly: spanConditions.length === 0,
    mayMatch(s) {
      const d = BigInt(s.durationNanos);
      if (min !== undefined && d < min) return false;
      if (max !== undefined && d > max) return false;
      return summaryTests.every((t) => t(s));
    },
    match(trace, summary) {
      if (!this.mayMatch(summary)) return undefined;
      if (!spanConditions.length) return [];
      const met = new Array<boolean>(spanConditions.length).fill(false);
      const hits: { span: Span; resourceAttrs: KeyValue[] }[] = [];
      for (const rs of trace) {
        const resourceAttrs = rs.resource.attributes;
        for (const ss of rs.scopeSpans) {
          for (const span of ss.spans) {
            let any = false;
            spanConditions.forEach((c, i) => {
              if (c.span!(span, resourceAttrs)) {
                met[i] = true;
                any = true;
              }
            });
            if (any) hits.push({ span, resourceAttrs });
          }
        }
      }
      if (!met.every(Boolean)) return undefined;
      hits.sort((a, b) => compareDecimal(a.span.startTimeUnixNano, b.span.startTimeUnixNano) || (a.span.spanId < b.span.spanId ? -1 : a.span.spanId > b.span.spanId ? 1 : 0));
      const spans = hits.slice(0, spss).map(({ span, resourceAttrs }) => spanMatch(span, resourceAttrs, queriedKeys));
      return [{ spans, matched: hits.length }] satisfies SpansetMatch[];
    },
  };
}

function compareDecimal(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A span as search answers it, with the queried attributes (span first, then resource). */
export function spanMatch(span: Span, resourceAttrs: KeyValue[], keys: Set<string>): SpanMatch {
  const start = BigInt(span.startTimeUnixNano);
  const end = BigInt(span.endTimeUnixNano);
  const attributes: KeyValue[] = [];
  const seen = new Set<string>();
  for (const kv of [...span.attributes, ...resourceAttrs]) {
    if (keys.has(kv.key) && !seen.has(kv.key)) {
      seen.add(kv.key);
      attributes.push(kv);
    }
  }
  const service = serviceNameOf({ attributes: resourceAttrs, droppedAttributesCount: 0 });
  if (service && !seen.has("service.name")) attributes.push({ key: "service.name", value: { stringValue: service } });
  return { spanID: span.spanId, name: span.name, startTimeUnixNano: span.startTimeUnixNano, durationNanos: (end > start ? end - start : 0n).toString(), attributes };
}

