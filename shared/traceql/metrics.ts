/**
 * @module
 * TraceQL metrics queries (Tempo's `/api/metrics/query_range`): a spanset query followed by one
 * metrics function, then optional stages and hints:
 *
 *     <spanset query> | fn(...) [by(f, ...)] [| topk(k) | bottomk(k) | <op> <number>]... [with(k=v, ...)]
 *
 * Functions (values per function: `metrics-series.ts`):
 *
 * - `rate()`: matching spans per second in each step; `count_over_time()`: matching spans per step;
 * - `quantile_over_time(duration, q1[, q2 ...])`: exact quantiles of the durations, in seconds (as
 *   Tempo answers), one series per quantile labelled `p` (a double);
 * - `min_over_time(f)`, `max_over_time(f)`, `sum_over_time(f)`, `avg_over_time(f)`: over the
 *   matching spans whose `f` is a number: `duration` (in seconds, as Tempo) or an int/double
 *   attribute (`span.x`, `resource.x`, `.x`); spans without one are not counted;
 * - `histogram_over_time(f)`: counts per Tempo power-of-two bucket (`Log2Bucketize`), the series
 *   labelled `__bucket` (added after the by() labels) with the bucket's upper bound as a double:
 *   seconds for `duration`, the value for an int attribute; values below 2 (ns, or units) and
 *   double attributes are left out, as Tempo does.
 *
 * After the function: `topk(k)` / `bottomk(k)` (k > 0, per timestamp as Tempo) and thresholds
 * (`= != < <= > >=` against a number: data points failing it are dropped), applied in order.
 * `with(name = value, ...)` (Tempo's query hints: `sample`, `exemplars`, `most_recent`, ...) is
 * accepted and not honoured: every answer counts every matching span; `ignoredHints` lists them so
 * the route can say so.
 *
 * `compare({ filter }[, topN = 10[, start ns, end ns]])`, as Tempo: each matching span is in the
 * selection if it matches the filter (and starts inside the optional window), else the baseline;
 * per attribute of the span (`span.x`, `resource.x`, and the intrinsics `name`, `status`, `kind`,
 * `statusMessage` when set; no durations or ids) it counts the value per step under
 * `__meta_type="baseline"|"selection"`, keeping the topN values by total per attribute, plus the
 * attribute's totals under `baseline_total`/`selection_total` (the attribute label without value),
 * and for an attribute with more than topN values `__meta_error="__too_many_values__"`. No by().
 *
 * The stage is split off before the spanset part is parsed (`parseTraceQL`), so the search parser
 * keeps rejecting metrics functions everywhere else. A span counts at its start time, in the bucket
 * `floor((t - start) / step)`. `by()` groups by the span's (or resource's) attribute or an
 * intrinsic; a span without the attribute goes to a series without that label.
 *
 * This file parses and reads span fields; bucketing, series and stages are `metrics-series.ts`
 * (re-exported here); walking the blocks is `shared/search/metrics-blocks.ts`.
 */
import type { Field, IntrinsicName, Query } from "./ast.ts";
import { TraceQLError, tokenize } from "./lexer.ts";
import type { Token } from "./lexer.ts";
import { log2Bucket, type MetricsSpan } from "./metrics-series.ts";
import { parseTraceQL } from "./parser.ts";
import { formatField } from "./stringify.ts";
import type { AnyValue, KeyValue, Resource, Span } from "../model/span.ts";

export { applyStages, bucketCount, bucketOf, compareSeries, finishSeries, log2Bucket, MetricsAccumulator, promLabels, quantile } from "./metrics-series.ts";
export type { AccumulatorState, Bucketing, MetricsSpan, Sample, Series } from "./metrics-series.ts";

export type MetricsFn = "rate" | "count_over_time" | "quantile_over_time" | "min_over_time" | "max_over_time" | "sum_over_time" | "avg_over_time" | "histogram_over_time" | "compare";

/** compare()'s arguments: the selection filter, values kept per attribute, optional selection window (ns). */
export interface CompareArgs {
  filter: Query;
  topN: number;
  /** Both set (unix ns as decimal strings, exact; end exclusive) or neither: only spans starting inside can be selected. */
  startNs?: string;
  endNs?: string;
}

/** A stage after the metrics function. */
export type MetricsStage = { kind: "topk" | "bottomk"; k: number } | { kind: "threshold"; op: "=" | "!=" | "<" | "<=" | ">" | ">="; value: number };

export interface MetricsHint {
  name: string;
  value: string | number | boolean;
}

export interface MetricsQuery {
  /** The spanset part, which selects the spans. */
  query: Query;
  fn: MetricsFn;
  /** quantile_over_time only: the quantiles, each in [0, 1]. */
  quantiles: number[];
  /** The function's field: duration for quantiles, the field of min/max/sum/avg/histogram. */
  field?: Field;
  by: Field[];
  /** Stages after the function, in order. */
  stages: MetricsStage[];
  /** `with(...)` hints, none of them honoured. */
  ignoredHints: MetricsHint[];
  /** compare() only. */
  compare?: CompareArgs;
}

/** The first-stage functions this engine runs. */
const SUPPORTED = new Set<string>(["rate", "count_over_time", "quantile_over_time", "min_over_time", "max_over_time", "sum_over_time", "avg_over_time", "histogram_over_time", "compare"]);
const FIELD_FNS = new Set<string>(["min_over_time", "max_over_time", "sum_over_time", "avg_over_time", "histogram_over_time"]);
const THRESHOLD_OPS = new Set(["=", "!=", "<", "<=", ">", ">="]);

const INTRINSICS: Record<string, IntrinsicName> = {
  name: "name", "span:name": "name", status: "status", "span:status": "status", statusMessage: "statusMessage",
  "span:statusMessage": "statusMessage", duration: "duration", "span:duration": "duration", kind: "kind", "span:kind": "kind",
  "span:id": "span:id", "span:parentID": "span:parentID", "trace:rootService": "trace:rootService", rootServiceName: "trace:rootService",
  "trace:rootName": "trace:rootName", rootName: "trace:rootName", "trace:duration": "trace:duration", traceDuration: "trace:duration", "trace:id": "trace:id",
};
/** Intrinsics `by()` can group on: the ones known from the span alone. */
const BY_INTRINSICS = new Set<IntrinsicName>(["name", "status", "statusMessage", "kind", "duration", "span:id", "span:parentID", "trace:id"]);

function fail(t: Token, expected: string): never {
  throw new TraceQLError(`unexpected ${t.kind === "eof" ? "end of query" : `"${t.text}"`}`, t.pos, { expected });
}

function attributeField(f: Token): Field | undefined {
  return f.kind === "attr" && (f.scope === "span" || f.scope === "resource" || f.scope === "") ? { kind: "attribute", scope: f.scope, name: f.name ?? "", pos: f.pos } : undefined;
}

/**
 * Parses `<spanset query> | <metrics fn>(...) [by(...)] [stages] [with(...)]`. Throws TraceQLError
 * (with position) for a broken query, a missing metrics stage, or a construct this engine does not run.
 */
export function parseMetricsQuery(src: string): MetricsQuery {
  const tokens = tokenize(src);
  // The last top-level `|` followed by a metrics function name (not topk/bottomk, which follow one).
  let depth = 0;
  let split = -1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind === "op" && (t.text === "(" || t.text === "{")) depth++;
    else if (t.kind === "op" && (t.text === ")" || t.text === "}")) depth--;
    else if (depth === 0 && t.kind === "op" && t.text === "|") {
      const n = tokens[i + 1] as Token;
      if (n.kind === "ident" && SUPPORTED.has(n.text)) split = i;
    }
  }
  if (split < 0) {
    const end = tokens[tokens.length - 1] as Token;
    throw new TraceQLError("a metrics query needs a metrics stage", end.pos, { expected: "\"| rate()\", \"| count_over_time()\" or another metrics function" });
  }
  const pipe = tokens[split] as Token;
  const query = parseTraceQL(src.slice(0, pipe.pos.offset));
  let i = split + 1;
  const peek = () => tokens[i] as Token;
  const next = () => tokens[i++] as Token;
  const isOp = (text: string) => peek().kind === "op" && peek().text === text;
  const expectOp = (text: string) => {
    if (!isOp(text)) fail(peek(), `"${text}"`);
    next();
  };

  const fnTok = next();
  if (!SUPPORTED.has(fnTok.text)) throw new TraceQLError(`unsupported: metrics function ${fnTok.text}()`, fnTok.pos, { unsupported: `metrics function ${fnTok.text}()` });
  const fn = fnTok.text as MetricsFn;
  expectOp("(");
  const quantiles: number[] = [];
  let field: Field | undefined;
  let compare: CompareArgs | undefined;
  if (fn === "compare") {
    // compare({ filter }[, topN[, start ns, end ns]]): the filter is a spanset filter of its own.
    const open = peek();
    if (open.kind !== "op" || open.text !== "{") fail(open, "a spanset filter { ... }");
    let d = 0;
    let close = i;
    for (; close < tokens.length; close++) {
      const t = tokens[close] as Token;
      if (t.kind === "op" && t.text === "{") d++;
      else if (t.kind === "op" && t.text === "}" && --d === 0) break;
      else if (t.kind === "eof") fail(t, "\"}\"");
    }
    const filter = parseTraceQL(src.slice(open.pos.offset, (tokens[close + 1] as Token).pos.offset));
    if (filter.kind !== "selector") fail(open, "one spanset filter");
    i = close + 1;
    const ints: Token[] = [];
    while (isOp(",")) {
      next();
      const n = next();
      if (n.kind !== "int" || typeof n.value !== "number") fail(n, "a whole number");
      ints.push(n);
    }
    const topN = ints[0] ? (ints[0].value as number) : 10;
    const [startNs, endNs] = ints.slice(1).map((t) => BigInt(t.text));
    if (topN <= 0 || ints.length === 2 || ints.length > 3) fail(peek(), ints.length === 2 ? "an end timestamp" : topN <= 0 ? "a top number of values above 0" : "\")\"");
    if (startNs !== undefined && endNs !== undefined && (startNs <= 0 || endNs <= startNs)) fail(peek(), "positive start and end timestamps (ns), end after start");
    compare = { filter, topN, ...(startNs !== undefined && endNs !== undefined ? { startNs: String(startNs), endNs: String(endNs) } : {}) };
  } else if (fn === "quantile_over_time") {
    const f = next();
    if ((f.kind === "ident" ? INTRINSICS[f.text] : undefined) !== "duration") {
      if (f.kind === "attr" || f.kind === "ident") throw new TraceQLError(`unsupported: quantile_over_time of ${f.text}`, f.pos, { unsupported: `quantile_over_time(${f.text})` });
      fail(f, "duration");
    }
    field = { kind: "intrinsic", name: "duration", pos: f.pos };
    do {
      expectOp(",");
      const q = next();
      if ((q.kind !== "int" && q.kind !== "float") || typeof q.value !== "number" || q.value < 0 || q.value > 1) fail(q, "a quantile from 0 to 1");
      quantiles.push(q.value);
    } while (isOp(","));
  } else if (FIELD_FNS.has(fn)) {
    const f = next();
    field = attributeField(f);
    if (!field && f.kind === "ident" && INTRINSICS[f.text] === "duration") field = { kind: "intrinsic", name: "duration", pos: f.pos };
    if (!field) {
      if (f.kind === "attr" || f.kind === "ident") throw new TraceQLError(`unsupported: ${fn} of ${f.text}`, f.pos, { unsupported: `${fn}(${f.text})` });
      fail(f, "duration or an attribute");
    }
  }
  expectOp(")");
  const by: Field[] = [];
  if (peek().kind === "ident" && peek().text === "by") {
    next();
    expectOp("(");
    // An empty `by()` groups by nothing: Traces Drilldown sends it for its ungrouped panels.
    for (;;) {
      if (by.length === 0 && isOp(")")) break;
      const f = next();
      const attr = attributeField(f);
      if (attr) by.push(attr);
      else if (f.kind === "ident" && INTRINSICS[f.text] && BY_INTRINSICS.has(INTRINSICS[f.text] as IntrinsicName)) {
        by.push({ kind: "intrinsic", name: INTRINSICS[f.text] as IntrinsicName, pos: f.pos });
      } else if (f.kind === "attr" || f.kind === "ident") {
        throw new TraceQLError(`unsupported: by(${f.text}) in a metrics query`, f.pos, { unsupported: `by(${f.text})` });
      } else fail(f, "an attribute or intrinsic");
      if (!isOp(",")) break;
      next();
    }
    expectOp(")");
  }
  const stages: MetricsStage[] = [];
  const ignoredHints: MetricsHint[] = [];
  for (;;) {
    const t = peek();
    if (t.kind === "eof") break;
    if (t.kind === "op" && t.text === "|") {
      next();
      const s = next();
      if (s.kind !== "ident" || (s.text !== "topk" && s.text !== "bottomk")) {
        if (s.kind === "ident") throw new TraceQLError(`unsupported: ${s.text}() after a metrics function`, s.pos, { unsupported: `${s.text}() after a metrics function` });
        fail(s, "topk( or bottomk(");
      }
      expectOp("(");
      const k = next();
      if (k.kind !== "int" || typeof k.value !== "number" || k.value <= 0) fail(k, "a whole number above 0");
      expectOp(")");
      stages.push({ kind: s.text, k: k.value });
    } else if (t.kind === "op" && THRESHOLD_OPS.has(t.text)) {
      next();
      const neg = isOp("-");
      if (neg) next();
      const v = next();
      if ((v.kind !== "int" && v.kind !== "float") || typeof v.value !== "number") fail(v, "a number");
      stages.push({ kind: "threshold", op: t.text as "=", value: neg ? -v.value : v.value });
    } else if (t.kind === "ident" && t.text === "with") {
      next();
      expectOp("(");
      for (;;) {
        const name = next();
        if (name.kind !== "ident") fail(name, "a hint name");
        expectOp("=");
        const v = next();
        let value: string | number | boolean;
        if (v.kind === "ident" && (v.text === "true" || v.text === "false")) value = v.text === "true";
        else if ((v.kind === "int" || v.kind === "float" || v.kind === "string") && v.value !== undefined) value = v.value;
        else if (v.kind === "duration") value = v.text;
        else fail(v, "a hint value");
        ignoredHints.push({ name: name.text, value });
        if (!isOp(",")) break;
        next();
      }
      expectOp(")");
      if (peek().kind !== "eof") fail(peek(), "end of query");
    } else fail(t, "\"by(\", \"| topk(\", a comparison, \"with(\" or end of query");
  }
  if (compare && by.length) throw new TraceQLError("unsupported: by() after compare()", by[0]!.pos, { unsupported: "by() after compare()" });
  return { query, fn, quantiles, ...(field ? { field } : {}), by, stages, ignoredHints, ...(compare ? { compare } : {}) };
}

/** What a metrics answer says of the hints it did not honour (empty when none). */
export function hintWarnings(mq: Pick<MetricsQuery, "ignoredHints">): string[] {
  return mq.ignoredHints.map((h) => `query hint ${h.name}=${JSON.stringify(h.value)} is not honoured: the answer counts every matching span`);
}

const STATUS_NAMES = ["unset", "ok", "error"];
const KIND_NAMES = ["unspecified", "internal", "server", "client", "producer", "consumer"];

function findAttr(list: KeyValue[] | undefined, name: string): AnyValue | undefined {
  const kv = list?.find((a) => a.key === name);
  return kv && Object.keys(kv.value).length ? kv.value : undefined;
}

/** The value of a by() field on a span, as an OTLP AnyValue; undefined when missing. */
export function fieldValue(f: Field, span: Span, resource: Resource): AnyValue | undefined {
  if (f.kind === "attribute") {
    if (f.scope === "span") return findAttr(span.attributes, f.name);
    if (f.scope === "resource") return findAttr(resource.attributes, f.name);
    return findAttr(span.attributes, f.name) ?? findAttr(resource.attributes, f.name);
  }
  switch (f.name) {
    case "name":
      return { stringValue: span.name };
    case "status":
      return { stringValue: STATUS_NAMES[span.status?.code ?? 0] ?? String(span.status?.code) };
    case "statusMessage":
      return { stringValue: span.status?.message ?? "" };
    case "kind":
      return { stringValue: KIND_NAMES[span.kind] ?? String(span.kind) };
    case "duration":
      return { intValue: (BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)).toString() };
    case "span:id":
      return { stringValue: span.spanId };
    case "span:parentID":
      return { stringValue: span.parentSpanId };
    case "trace:id":
      return { stringValue: span.traceId };
    default:
      return undefined;
  }
}

export function spanLabels(by: Field[], span: Span, resource: Resource): KeyValue[] {
  const labels: KeyValue[] = [];
  for (const f of by) {
    const value = fieldValue(f, span, resource);
    if (value) labels.push({ key: formatField(f), value });
  }
  return labels;
}


function numberOf(v: AnyValue | undefined): number | undefined {
  if (!v) return undefined;
  if ("intValue" in v) return Number(v.intValue);
  if ("doubleValue" in v) return typeof v.doubleValue === "number" ? v.doubleValue : Number(v.doubleValue);
  return undefined;
}

/** The number min/max/sum/avg_over_time read from a span's field: seconds for duration; undefined when not a number. */
export function spanValue(field: Field, span: Span, resource: Resource): number | undefined {
  if (field.kind === "intrinsic") return field.name === "duration" ? Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e9 : undefined;
  return numberOf(fieldValue(field, span, resource));
}

/** histogram_over_time's `__bucket` label for a span, as Tempo sets it; undefined: not in the histogram. */
export function histogramBucketLabel(field: Field, span: Span, resource: Resource): KeyValue | undefined {
  let bound: number | undefined;
  if (field.kind === "intrinsic") {
    if (field.name !== "duration") return undefined;
    const b = log2Bucket(Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)));
    bound = b === undefined ? undefined : b / 1e9;
  } else {
    const v = fieldValue(field, span, resource);
    // Tempo buckets int attributes only (floats: a TODO there).
    bound = v && "intValue" in v ? log2Bucket(Number(v.intValue)) : undefined;
  }
  return bound === undefined ? undefined : { key: "__bucket", value: { doubleValue: bound } };
}

/** A matched span as the accumulator takes it, for `mq`; undefined when the function leaves it out. */
export function metricsSpan(mq: Pick<MetricsQuery, "fn" | "field" | "by">, span: Span, resource: Resource): MetricsSpan | undefined {
  const start = BigInt(span.startTimeUnixNano);
  const base = { startMs: Number(start / 1_000_000n), durationNanos: Number(BigInt(span.endTimeUnixNano) - start), labels: spanLabels(mq.by, span, resource) };
  if (mq.fn === "histogram_over_time") {
    const bucket = mq.field && histogramBucketLabel(mq.field, span, resource);
    return bucket ? { ...base, labels: [...base.labels, bucket] } : undefined;
  }
  if (mq.fn === "min_over_time" || mq.fn === "max_over_time" || mq.fn === "sum_over_time" || mq.fn === "avg_over_time") {
    const value = mq.field && spanValue(mq.field, span, resource);
    return value === undefined || Number.isNaN(value) ? undefined : { ...base, value };
  }
  return base;
}

/** A compare() label value: scalars only (arrays and maps are not grouped on). */
function compareValue(v: AnyValue): AnyValue | undefined {
  return "stringValue" in v || "intValue" in v || "doubleValue" in v || "boolValue" in v ? v : undefined;
}

/**
 * compare()'s points for one matching span: per attribute (see the module comment), one under
 * `__meta_type` baseline/selection with the value and one under baseline_total/selection_total
 * with the attribute alone (an empty value, Tempo's nil).
 */
export function comparePoints(span: Span, resource: Resource, selected: boolean): MetricsSpan[] {
  const start = BigInt(span.startTimeUnixNano);
  const base = { startMs: Number(start / 1_000_000n), durationNanos: Number(BigInt(span.endTimeUnixNano) - start) };
  const attrs: KeyValue[] = [];
  const seen = new Set<string>();
  const push = (key: string, v: AnyValue | undefined) => {
    const value = v && Object.keys(v).length ? compareValue(v) : undefined;
    if (value && !seen.has(key)) {
      seen.add(key);
      attrs.push({ key, value });
    }
  };
  for (const kv of span.attributes ?? []) push(`span.${kv.key}`, kv.value);
  for (const kv of resource.attributes ?? []) push(`resource.${kv.key}`, kv.value);
  for (const name of ["name", "status", "kind"] as const) push(name, fieldValue({ kind: "intrinsic", name, pos: NO_POS }, span, resource));
  if (span.status?.message) push("statusMessage", { stringValue: span.status.message });
  const type = selected ? "selection" : "baseline";
  return attrs.flatMap((a) => [
    { ...base, labels: [{ key: "__meta_type", value: { stringValue: type } }, a] },
    { ...base, labels: [{ key: "__meta_type", value: { stringValue: `${type}_total` } }, { key: a.key, value: {} as AnyValue }] },
  ]);
}

const NO_POS = { line: 1, column: 1, offset: 0 };
