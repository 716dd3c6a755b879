/**
 * @module
 * TraceQL metrics queries (Tempo's `/api/metrics/query_range`): a spanset query followed by one
 * metrics function, then optional stages; such queries combined by arithmetic; then hints:
 *
 *     <spanset query> | fn(...) [by(f, ...)] [| topk(k) | bottomk(k) | <op> <number>]...
 *     (<metrics query>) / (<metrics query>) [stages]    <metrics query> * 60    ... [with(k=v, ...)]
 *
 * Functions (values per function: `metrics-series.ts`):
 *
 * - `rate()`: matching spans per second in each step; `count_over_time()`: matching spans per step;
 * - `quantile_over_time(f, q1[, q2 ...])`: exact quantiles of `f` (duration in seconds, as Tempo
 *   answers, or an int/double attribute), one series per quantile labelled `p` (a double);
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
 *
 * Arithmetic (`+ - * /`, usual precedence, parentheses) between metrics queries and numbers, as
 * Tempo's metrics math: `({ status = error } | rate()) / ({ } | rate())`, `{ } | rate() * 60`;
 * series matching is `metrics-arithmetic.ts`. Thresholds and `| topk` after an arithmetic
 * expression (or a parenthesised part) apply to its result; compare() takes no part in it.
 *
 * `with(name = value, ...)` (Tempo's query hints) apply to every query of the expression:
 * `sample=f`/`trace_sample=f` (0 < f <= 1) count the spans of a deterministic fraction f of the
 * traces (by trace id), `span_sample=f` of the spans (by span id), scaling counts and sums by 1/f
 * (`inSample`, `sampleNotes`); `exemplars=false` turns exemplars off. The others (`sample=true`,
 * Tempo's adaptive sampling, `most_recent`, ...) are accepted and not honoured: `ignoredHints`
 * lists them so the route can say so.
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
import { parseTraceQL, parseTraceQLSyntax } from "./parser.ts";
import { formatField } from "./stringify.ts";
import type { AnyValue, InstrumentationScope, KeyValue, Resource, Span } from "../model/span.ts";

export { applyStages, bucketCount, bucketOf, compareSeries, finishSeries, log2Bucket, MAX_EXEMPLARS, MetricsAccumulator, promLabels, quantile, withExemplarsOf } from "./metrics-series.ts";
export type { AccumulatorOptions, AccumulatorState, Bucketing, Exemplar, MetricsSpan, Sample, Series } from "./metrics-series.ts";

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

/** A fixed sample of the matching spans (`with(sample=f)`, `trace_sample=f`, `span_sample=f`): whole traces or single spans, by id. */
export interface MetricsSample {
  by: "trace" | "span";
  /** In (0, 1]. */
  fraction: number;
}

export interface MetricsQuery {
  /** The spanset part, which selects the spans. */
  query: Query;
  fn: MetricsFn;
  /** quantile_over_time only: the quantiles, each in [0, 1]. */
  quantiles: number[];
  /** The function's field: of quantile/min/max/sum/avg/histogram (duration or a number attribute). */
  field?: Field;
  by: Field[];
  /** Stages after the function, in order. */
  stages: MetricsStage[];
  /** `with(...)` hints this engine does not honour (see `hintWarnings`). */
  ignoredHints: MetricsHint[];
  /** `with(sample=f)` and the like: count a deterministic subset, counts scaled by 1 / fraction. */
  sample?: MetricsSample;
  /** Exemplars per series the answer carries (absent or 0: none): the route's `exemplars` parameter; `with(exemplars=false)` sets 0. */
  exemplars?: number;
  /** compare() only. */
  compare?: CompareArgs;
}

export type ArithmeticOp = "+" | "-" | "*" | "/";

/**
 * A metrics expression: one query, a number, or arithmetic between them; `stages` (topk, thresholds)
 * apply to the node's result. A query's own stages are in its `MetricsQuery.stages`.
 */
export type MetricsExpr =
  | { kind: "query"; query: MetricsQuery }
  | { kind: "number"; value: number }
  | { kind: "binary"; op: ArithmeticOp; left: MetricsExpr; right: MetricsExpr; stages: MetricsStage[] };

export interface MetricsExpression {
  expr: MetricsExpr;
  /** The `with(...)` hints as written (each query carries what they mean). */
  hints: MetricsHint[];
}

/** The first-stage functions this engine runs. */
const SUPPORTED = new Set<string>(["rate", "count_over_time", "quantile_over_time", "min_over_time", "max_over_time", "sum_over_time", "avg_over_time", "histogram_over_time", "compare"]);
const FIELD_FNS = new Set<string>(["quantile_over_time", "min_over_time", "max_over_time", "sum_over_time", "avg_over_time", "histogram_over_time"]);
const THRESHOLD_OPS = new Set(["=", "!=", "<", "<=", ">", ">="]);
/** Hints with a meaning here; the others are reported as not honoured. */
const SAMPLE_HINTS = new Set(["sample", "trace_sample", "span_sample"]);

const INTRINSICS: Record<string, IntrinsicName> = {
  name: "name", "span:name": "name", status: "status", "span:status": "status", statusMessage: "statusMessage",
  "span:statusMessage": "statusMessage", duration: "duration", "span:duration": "duration", kind: "kind", "span:kind": "kind",
  "span:id": "span:id", "span:parentID": "span:parentID", "trace:rootService": "trace:rootService", rootServiceName: "trace:rootService",
  "trace:rootName": "trace:rootName", rootName: "trace:rootName", "trace:duration": "trace:duration", traceDuration: "trace:duration", "trace:id": "trace:id",
  "instrumentation:name": "instrumentation:name", "instrumentation:version": "instrumentation:version",
};
/** Intrinsics `by()` can group on: the ones known from the span alone (and its instrumentation scope). */
const BY_INTRINSICS = new Set<IntrinsicName>(["name", "status", "statusMessage", "kind", "duration", "span:id", "span:parentID", "trace:id", "instrumentation:name", "instrumentation:version"]);

function fail(t: Token, expected: string): never {
  throw new TraceQLError(`unexpected ${t.kind === "eof" ? "end of query" : `"${t.text}"`}`, t.pos, { expected });
}

function attributeField(f: Token): Field | undefined {
  return f.kind === "attr" && (f.scope === "span" || f.scope === "resource" || f.scope === "") ? { kind: "attribute", scope: f.scope, name: f.name ?? "", pos: f.pos } : undefined;
}

const isOpTok = (t: Token | undefined, text: string) => t?.kind === "op" && t.text === text;
/** `|` followed by a metrics function name: where a spanset part ends. */
const isMetricsPipe = (tokens: Token[], i: number) => isOpTok(tokens[i], "|") && tokens[i + 1]?.kind === "ident" && SUPPORTED.has((tokens[i + 1] as Token).text);

/** Whether `src` is a metrics query (has `| rate(`, `| count_over_time(` ...), as opposed to a search. */
export function isMetricsQuery(src: string): boolean {
  try {
    const tokens = tokenize(src);
    return tokens.some((_, i) => isMetricsPipe(tokens, i));
  } catch {
    return false;
  }
}

/**
 * Parses one metrics query, `<spanset query> | <metrics fn>(...) [by(...)] [stages] [with(...)]`
 * (no arithmetic). Throws TraceQLError (with position) for a broken query, a missing metrics
 * stage, arithmetic, or a construct this engine does not run.
 */
export function parseMetricsQuery(src: string): MetricsQuery {
  const { expr } = parseMetricsExpression(src);
  if (expr.kind !== "query") throw new TraceQLError("expected one metrics query, not arithmetic", { line: 1, column: 1, offset: 0 }, { expected: "one metrics query" });
  return expr.query;
}

/**
 * Parses a metrics expression: metrics queries combined with `+ - * /` (usual precedence) and
 * with numbers, e.g. `({ status = error } | rate()) / ({ } | rate())` or `{ } | rate() * 60`;
 * then stages (`| topk(k)`, `| bottomk(k)`, thresholds) for the whole, and `with(...)` hints for
 * every query in it. A parenthesised part may have stages of its own. Throws TraceQLError.
 * `validate: false` skips the search validator on the spanset parts (the conformance test tells
 * a syntax error from a validation error so).
 */
export function parseMetricsExpression(src: string, options: { validate?: boolean } = {}): MetricsExpression {
  const parseSpanset = options.validate === false ? parseTraceQLSyntax : parseTraceQL;
  const tokens = tokenize(src);
  if (!tokens.some((_, k) => isMetricsPipe(tokens, k))) {
    const end = tokens[tokens.length - 1] as Token;
    throw new TraceQLError("a metrics query needs a metrics stage", end.pos, { expected: "\"| rate()\", \"| count_over_time()\" or another metrics function" });
  }
  let i = 0;
  const peek = () => tokens[i] as Token;
  const next = () => tokens[i++] as Token;
  const isOp = (text: string) => isOpTok(peek(), text);
  const expectOp = (text: string) => {
    if (!isOp(text)) fail(peek(), `"${text}"`);
    next();
  };
  /** The index of the `)` closing the `(` at `open`, or -1. */
  const closing = (open: number) => {
    let d = 0;
    for (let k = open; k < tokens.length; k++) {
      const t = tokens[k] as Token;
      if (t.kind === "op" && (t.text === "(" || t.text === "{")) d++;
      else if (t.kind === "op" && (t.text === ")" || t.text === "}") && --d === 0) return k;
    }
    return -1;
  };
  /** Source text of tokens [from, to) with what precedes blanked out, so positions stay the query's. */
  const sourceOf = (from: number, to: number) => {
    const a = (tokens[from] as Token).pos.offset;
    return src.slice(0, a).replace(/[^\n]/g, " ") + src.slice(a, (tokens[to] as Token).pos.offset);
  };

  function parseStage(): MetricsStage | undefined {
    const t = peek();
    if (isOp("|")) {
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
      return { kind: s.text, k: k.value };
    }
    if (t.kind === "op" && THRESHOLD_OPS.has(t.text)) {
      next();
      const neg = isOp("-");
      if (neg) next();
      const v = next();
      if ((v.kind !== "int" && v.kind !== "float") || typeof v.value !== "number") fail(v, "a number");
      return { kind: "threshold", op: t.text as "=", value: neg ? -v.value : v.value };
    }
    return undefined;
  }
  function parseStages(): MetricsStage[] {
    const out: MetricsStage[] = [];
    for (let s = parseStage(); s; s = parseStage()) out.push(s);
    return out;
  }
  function withStages(e: MetricsExpr, stages: MetricsStage[]): MetricsExpr {
    if (!stages.length) return e;
    if (e.kind === "query") e.query.stages.push(...stages);
    else if (e.kind === "binary") e.stages.push(...stages);
    else fail(peek(), "a metrics query before a stage");
    return e;
  }

  /** expr := term (('+' | '-') term)* */
  function parseSum(): MetricsExpr {
    let left = parseProduct();
    while (isOp("+") || isOp("-")) {
      const op = next().text as ArithmeticOp;
      left = { kind: "binary", op, left, right: parseProduct(), stages: [] };
    }
    return left;
  }
  /** term := factor (('*' | '/') factor)* */
  function parseProduct(): MetricsExpr {
    let left = parseFactor();
    while (isOp("*") || isOp("/")) {
      const op = next().text as ArithmeticOp;
      left = { kind: "binary", op, left, right: parseFactor(), stages: [] };
    }
    return left;
  }
  const isNumber = (k: number) => tokens[k]?.kind === "int" || tokens[k]?.kind === "float";
  /** `| topk(` or `| bottomk(` at k. */
  const isRankPipe = (k: number) => isOpTok(tokens[k] as Token, "|") && tokens[k + 1]?.kind === "ident" && (tokens[k + 1]!.text === "topk" || tokens[k + 1]!.text === "bottomk");
  /** What may follow a metrics expression: the end, `with`, `)`, `| topk(`, or a threshold (`> 10`) followed by one of these. */
  const endsExpression = (k: number): boolean => {
    const t = tokens[k] as Token;
    if (t.kind === "eof" || (t.kind === "ident" && t.text === "with") || isOpTok(t, ")") || isRankPipe(k)) return true;
    if (t.kind !== "op" || !THRESHOLD_OPS.has(t.text)) return false;
    const v = isOpTok(tokens[k + 1] as Token, "-") ? k + 2 : k + 1;
    return isNumber(v) && endsExpression(v + 1);
  };
  /** factor := number | -number | '(' expr stages ')' | metrics query */
  function parseFactor(): MetricsExpr {
    const numAt = isOp("-") ? i + 1 : i;
    const after = tokens[numAt + 1] as Token;
    // A number operand is followed by an arithmetic operator or what ends an expression (`* 100 | topk(5)`,
    // `* 2 > 10`); else it starts a spanset part (`1 < count() | rate()`).
    if (isNumber(numAt) && ((after.kind === "op" && ["+", "-", "*", "/"].includes(after.text)) || endsExpression(numAt + 1))) {
      const neg = isOp("-");
      if (neg) next();
      const v = next();
      return { kind: "number", value: neg ? -(v.value as number) : (v.value as number) };
    }
    if (isOp("(")) {
      const close = closing(i);
      // Parentheses around metrics queries or numbers only, as opposed to around a spanset expression.
      const inside = tokens.slice(i + 1, close);
      const numbersOnly = inside.every((x) => x.kind === "int" || x.kind === "float" || (x.kind === "op" && ["+", "-", "*", "/", "(", ")"].includes(x.text)));
      if (close > 0 && (inside.some((_, k) => isMetricsPipe(tokens, i + 1 + k)) || numbersOnly)) {
        next();
        const e = withStages(parseSum(), parseStages());
        expectOp(")");
        return e;
      }
    }
    return { kind: "query", query: parsePipeline() };
  }

  /** `<spanset part> | fn(...) [by(...)] [| topk(k) | bottomk(k)]...` from the current token. */
  function parsePipeline(): MetricsQuery {
    const from = i;
    let split = -1;
    let depth = 0;
    for (let k = i; k < tokens.length && depth >= 0; k++) {
      const t = tokens[k] as Token;
      if (t.kind === "op" && (t.text === "(" || t.text === "{")) depth++;
      else if (t.kind === "op" && (t.text === ")" || t.text === "}")) depth--;
      else if (depth === 0 && isMetricsPipe(tokens, k)) {
        split = k;
        break;
      }
    }
    if (split < 0) fail(peek(), "a metrics query (\"{ ... } | rate()\"), a number or \"(\"");
    const query = parseSpanset(sourceOf(from, split));
    i = split + 1;
    const fnTok = next();
    const fn = fnTok.text as MetricsFn;
    expectOp("(");
    const quantiles: number[] = [];
    let field: Field | undefined;
    let compare: CompareArgs | undefined;
    if (fn === "compare") {
      // compare({ filter }[, topN[, start ns, end ns]]): the filter is a spanset filter of its own.
      const open = peek();
      if (open.kind !== "op" || open.text !== "{") fail(open, "a spanset filter { ... }");
      const close = closing(i);
      if (close < 0) fail(tokens[tokens.length - 1] as Token, "\"}\"");
      const filter = parseSpanset(sourceOf(i, close + 1));
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
    } else if (FIELD_FNS.has(fn)) {
      const f = next();
      field = attributeField(f);
      if (!field && f.kind === "ident" && INTRINSICS[f.text] === "duration") field = { kind: "intrinsic", name: "duration", pos: f.pos };
      if (!field) {
        if (f.kind === "attr" || f.kind === "ident") throw new TraceQLError(`unsupported: ${fn} of ${f.text}`, f.pos, { unsupported: `${fn}(${f.text})` });
        fail(f, "duration or an attribute");
      }
      if (fn === "quantile_over_time") {
        do {
          expectOp(",");
          const q = next();
          if ((q.kind !== "int" && q.kind !== "float") || typeof q.value !== "number" || q.value < 0 || q.value > 1) fail(q, "a quantile from 0 to 1");
          quantiles.push(q.value);
        } while (isOp(","));
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
    if (compare && by.length) throw new TraceQLError("unsupported: by() after compare()", by[0]!.pos, { unsupported: "by() after compare()" });
    // `| topk(k)` / `| bottomk(k)` belong to this query; thresholds to the expression around it.
    const stages: MetricsStage[] = [];
    while (isOp("|")) stages.push(parseStage() as MetricsStage);
    return { query, fn, quantiles, ...(field ? { field } : {}), by, stages, ignoredHints: [], ...(compare ? { compare } : {}) };
  }

  function parseHints(): MetricsHint[] {
    const hints: MetricsHint[] = [];
    if (!(peek().kind === "ident" && peek().text === "with")) return hints;
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
      if (SAMPLE_HINTS.has(name.text) && !(value === true && name.text === "sample") && !(typeof value === "number" && value > 0 && value <= 1)) {
        fail(v, name.text === "sample" ? "true or a fraction above 0, at most 1" : "a fraction above 0, at most 1");
      }
      if (name.text === "exemplars" && typeof value !== "boolean") fail(v, "true or false");
      hints.push({ name: name.text, value });
      if (!isOp(",")) break;
      next();
    }
    expectOp(")");
    return hints;
  }

  const expr = withStages(parseSum(), parseStages());
  const hints = parseHints();
  if (peek().kind !== "eof") fail(peek(), "\"by(\", \"| topk(\", a comparison, \"+ - * /\", \"with(\" or end of query");
  const queries = metricsQueries(expr);
  const compareIn = queries.find((q) => q.compare);
  if (compareIn && expr.kind !== "query") throw new TraceQLError("unsupported: compare() in arithmetic", tokens[0]!.pos, { unsupported: "compare() in arithmetic" });
  for (const q of queries) applyHints(q, hints);
  return { expr, hints };
}

/** What the hints mean for one query: a sample, exemplars off, the rest not honoured. */
function applyHints(q: MetricsQuery, hints: MetricsHint[]): void {
  for (const h of hints) {
    if (h.name === "exemplars") {
      if (h.value === false) q.exemplars = 0;
    } else if (SAMPLE_HINTS.has(h.name) && typeof h.value === "number") {
      q.sample = { by: h.name === "span_sample" ? "span" : "trace", fraction: h.value };
    } else q.ignoredHints.push(h);
  }
}

/** The queries of an expression, left to right. */
export function metricsQueries(e: MetricsExpr): MetricsQuery[] {
  if (e.kind === "query") return [e.query];
  if (e.kind === "number") return [];
  return [...metricsQueries(e.left), ...metricsQueries(e.right)];
}

/** What a metrics answer says of the hints it did not honour (empty when none). */
export function hintWarnings(mq: Pick<MetricsQuery, "ignoredHints">): string[] {
  return mq.ignoredHints.map((h) =>
    h.name === "sample" && h.value === true
      ? "query hint sample=true is not honoured: the answer counts every matching span (exact); use sample=<fraction> for a fixed sample"
      : `query hint ${h.name}=${JSON.stringify(h.value)} is not honoured: the answer counts every matching span`,
  );
}

/** What a metrics answer says of a sample it honoured (empty when none). */
export function sampleNotes(mq: Pick<MetricsQuery, "sample">): string[] {
  const s = mq.sample;
  if (!s || s.fraction === 1) return [];
  return [`sampled: counted the ${s.by === "trace" ? "spans of traces" : "spans"} whose ${s.by} id falls in a deterministic ${s.fraction} of ids; counts and sums are scaled by ${1 / s.fraction}`];
}

/**
 * Whether a trace (`by: "trace"`) or span id falls in a sample: FNV-1a of the id's text, mixed by
 * murmur3's finalizer (ids differing in their last digit land far apart), as a fraction of 2^32.
 */
export function inSample(id: string, fraction: number): boolean {
  if (fraction >= 1) return true;
  let h = 0x811c9dc5;
  for (let k = 0; k < id.length; k++) h = Math.imul(h ^ id.charCodeAt(k), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32 < fraction;
}

const STATUS_NAMES = ["unset", "ok", "error"];
const KIND_NAMES = ["unspecified", "internal", "server", "client", "producer", "consumer"];

function findAttr(list: KeyValue[] | undefined, name: string): AnyValue | undefined {
  const kv = list?.find((a) => a.key === name);
  return kv && Object.keys(kv.value).length ? kv.value : undefined;
}

/**
 * The value of a by() field on a span, as an OTLP AnyValue; undefined when missing. `scope`: the
 * span's instrumentation scope, for `instrumentation:name` / `instrumentation:version`.
 */
export function fieldValue(f: Field, span: Span, resource: Resource, scope?: InstrumentationScope): AnyValue | undefined {
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
    case "instrumentation:name":
      return scope && { stringValue: scope.name };
    case "instrumentation:version":
      return scope && { stringValue: scope.version };
    default:
      return undefined;
  }
}

export function spanLabels(by: Field[], span: Span, resource: Resource, scope?: InstrumentationScope): KeyValue[] {
  const labels: KeyValue[] = [];
  for (const f of by) {
    const value = fieldValue(f, span, resource, scope);
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

/** A matched span as the accumulator takes it, for `mq`; undefined when the function leaves it out. `scope`: the span's instrumentation scope. */
export function metricsSpan(mq: Pick<MetricsQuery, "fn" | "field" | "by">, span: Span, resource: Resource, scope?: InstrumentationScope): MetricsSpan | undefined {
  const start = BigInt(span.startTimeUnixNano);
  const base = { startMs: Number(start / 1_000_000n), durationNanos: Number(BigInt(span.endTimeUnixNano) - start), labels: spanLabels(mq.by, span, resource, scope), traceId: span.traceId, spanId: span.spanId };
  if (mq.fn === "histogram_over_time") {
    const bucket = mq.field && histogramBucketLabel(mq.field, span, resource);
    // The exemplar's value is the span's field (seconds for duration), as Tempo's.
    return bucket ? { ...base, labels: [...base.labels, bucket], exemplarValue: spanValue(mq.field!, span, resource) } : undefined;
  }
  if (mq.fn === "min_over_time" || mq.fn === "max_over_time" || mq.fn === "sum_over_time" || mq.fn === "avg_over_time" || mq.fn === "quantile_over_time") {
    const value = mq.field && spanValue(mq.field, span, resource);
    return value === undefined || Number.isNaN(value) ? undefined : { ...base, value, exemplarValue: value };
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
