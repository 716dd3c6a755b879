/**
 * @module
 * Evaluates a parsed TraceQL query as a `TraceMatcher`: a sound prune on the trace's summary row,
 * then the full evaluation over the decoded trace (span tree, spansets and structural operators
 * in span-tree.ts → selectors → pipeline stages).
 *
 * Comparison semantics follow Tempo: a missing attribute makes every comparison false except
 * `= nil` (so `!=` against a missing attribute is false too); values of different types never
 * compare equal (false, not an error); ints, floats and durations compare as numbers; regexes are
 * fully anchored. Arithmetic takes numbers and durations only (anything else gives nil), and `!`
 * is true only of a false boolean.
 */
import type { TraceFacts } from "../block/summarize.ts";
import { conditionFields } from "./fields.ts";
import { indexConditionOf } from "./index-conditions.ts";
import type { KeyValue, ResourceSpans } from "../model/span.ts";
import { type Ctx, fromStatic, hexKey, perElement, readField, toAnyValue, type Value } from "./field-values.ts";
import type { SpanMatch, SpansetMatch, TraceMatcher } from "../search/matcher.ts";
import { applyArithmetic } from "../query/arithmetic.ts";
import type { AggregateFn, ComparisonOp, Condition, Field, Query, ScalarExpr, SpansetExpr, Stage } from "./ast.ts";
import { compileRegex, parseTraceQL } from "./parser.ts";
import { buildIndex, structural, union, type SpanNode, type Spanset, type SpansetFn as TreeSpansetFn } from "./span-tree.ts";
import { formatCondition } from "./stringify.ts";

const isNumeric = (v: Value): v is { type: "number" | "duration"; value: number } => v.type === "number" || v.type === "duration";

function ordered(op: ComparisonOp, a: number | string, b: number | string): boolean {
  switch (op) {
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    default:
      return false;
  }
}

function compareValues(op: ComparisonOp, a: Value, b: Value): boolean {
  if (isNumeric(a) && isNumeric(b)) return ordered(op, a.value, b.value);
  if (a.type !== b.type || a.type === "other") return false;
  if (a.type === "string") return ordered(op, a.value, (b as { value: string }).value);
  // bool, status, kind: equality only.
  const eq = a.value === (b as { value: unknown }).value;
  return op === "=" ? eq : op === "!=" ? !eq : false;
}

type ValueFn = (node: SpanNode | undefined, ctx: Ctx) => Value | undefined;
type CondFn = (node: SpanNode | undefined, ctx: Ctx) => boolean;

const ID_INTRINSICS = new Set(["trace:id", "span:id", "span:parentID", "link:traceID", "link:spanID"]);
const isId = (c: Condition): boolean => c.kind === "intrinsic" && ID_INTRINSICS.has(c.name);

/** `idContext`: the literal is compared with an id, which compare as hex without leading zeros. */
function compileValue(c: Condition, idContext = false): ValueFn {
  switch (c.kind) {
    case "literal": {
      const v = idContext && c.value.type === "string" ? { type: "string" as const, value: hexKey(c.value.value) } : fromStatic(c.value);
      return () => v;
    }
    case "attribute":
    case "intrinsic":
      return (node, ctx) => readField(c, node, ctx);
    case "negate": {
      const v = compileValue(c.operand);
      return (node, ctx) => {
        const x = v(node, ctx);
        return x !== undefined && isNumeric(x) ? { type: x.type, value: -x.value } : undefined;
      };
    }
    case "arithmetic": {
      const l = compileValue(c.left);
      const r = compileValue(c.right);
      const op = c.op;
      // Numbers only (a string attribute gives nil); the left side's type, as in Tempo.
      return (node, ctx) => {
        const a = l(node, ctx);
        const b = r(node, ctx);
        if (a === undefined || b === undefined || !isNumeric(a) || !isNumeric(b)) return undefined;
        return { type: a.type, value: applyArithmetic(op, a.value, b.value) };
      };
    }
    default: {
      const f = compileCondition(c);
      return (node, ctx) => ({ type: "bool", value: f(node, ctx) });
    }
  }
}

/** A condition; each comparison on event or link fields is tried per event (link), see field-values.ts. */
function compileCondition(c: Condition): CondFn {
  const f = compileConditionOnce(c);
  return c.kind === "logical" ? f : perElement(c, f);
}

function compileConditionOnce(c: Condition): CondFn {
  switch (c.kind) {
    case "not": {
      // True only when the operand is a false boolean: `!.a` is false where `.a` is missing or no boolean.
      const v = compileValue(c.operand);
      return (n, ctx) => {
        const x = v(n, ctx);
        return x !== undefined && x.type === "bool" && !x.value;
      };
    }
    case "logical": {
      const l = compileCondition(c.left);
      const r = compileCondition(c.right);
      return c.op === "&&" ? (n, ctx) => l(n, ctx) && r(n, ctx) : (n, ctx) => l(n, ctx) || r(n, ctx);
    }
    case "comparison": {
      const op = c.op;
      const left = compileValue(c.left);
      if (op === "=~" || op === "!~") {
        if (c.right.kind === "literal" && c.right.value.type === "string") {
          const re = compileRegex(c.right.value.value);
          return (n, ctx) => {
            const v = left(n, ctx);
            return v !== undefined && v.type === "string" && re.test(v.value) === (op === "=~");
          };
        }
        // `.a =~ .b`: the pattern is read per span; one that does not compile matches nothing.
        const pattern = compileValue(c.right);
        const cache = new Map<string, RegExp | undefined>();
        return (n, ctx) => {
          const v = left(n, ctx);
          const p = pattern(n, ctx);
          if (v === undefined || v.type !== "string" || p === undefined || p.type !== "string") return false;
          if (!cache.has(p.value)) {
            let re: RegExp | undefined;
            try {
              re = compileRegex(p.value);
            } catch {
              re = undefined;
            }
            cache.set(p.value, re);
          }
          const re = cache.get(p.value);
          return re !== undefined && re.test(v.value) === (op === "=~");
        };
      }
      const leftNil = c.left.kind === "literal" && c.left.value.type === "nil";
      const rightNil = c.right.kind === "literal" && c.right.value.type === "nil";
      if (leftNil || rightNil) {
        const other = compileValue(leftNil ? c.right : c.left);
        if (op === "=") return (n, ctx) => other(n, ctx) === undefined;
        if (op === "!=") return (n, ctx) => other(n, ctx) !== undefined;
        return () => false;
      }
      const rootTest = rootOnlyComparison(c);
      if (rootTest) return rootTest;
      const right = compileValue(c.right, isId(c.left));
      const left2 = isId(c.right) ? compileValue(c.left, true) : left;
      return (n, ctx) => {
        const a = left2(n, ctx);
        const b = right(n, ctx);
        return a !== undefined && b !== undefined && compareValues(op, a, b);
      };
    }
    default: {
      const v = compileValue(c);
      return (n, ctx) => {
        const x = v(n, ctx);
        return x !== undefined && x.type === "bool" && x.value;
      };
    }
  }
}

/**
 * `nestedSetParent < 0`, Grafana Traces Drilldown's test for a root span, without numbering the
 * trace's nested sets: a root (no parent id) has -1 and every other span 0 or more, so when the
 * literal puts all of 0, 1, 2... on one side of the comparison, the parent id decides. Undefined
 * for any other comparison.
 */
function rootOnlyComparison(c: Extract<Condition, { kind: "comparison" }>): CondFn | undefined {
  if (c.left.kind !== "intrinsic" || c.left.name !== "nestedSetParent" || c.right.kind !== "literal") return undefined;
  const literal = fromStatic(c.right.value);
  if (literal === undefined || !isNumeric(literal)) return undefined;
  const limit = literal.value;
  const op = c.op;
  const nonRoots = ordered(op, 0, limit);
  if (!(limit < 0 || (limit === 0 && (op === "<" || op === ">=")))) return undefined;
  const roots = ordered(op, -1, limit);
  return (n) => n !== undefined && (n.span.parentSpanId === "" ? roots : nonRoots);
}

type SpansetFn = TreeSpansetFn<Ctx>;

function compileSpanset(e: SpansetExpr): SpansetFn {
  switch (e.kind) {
    case "selector": {
      if (!e.cond) return (input) => (input.spans.length ? [input] : []);
      const cond = compileCondition(e.cond);
      return (input, ctx) => {
        const spans = input.spans.filter((n) => cond(n, ctx));
        return spans.length ? [{ spans, attributes: input.attributes }] : [];
      };
    }
    case "spansetOp": {
      const l = compileSpanset(e.left);
      const r = compileSpanset(e.right);
      const op = e.op;
      if (op === "&&") {
        return (input, ctx) => {
          const a = l(input, ctx);
          if (!a.length) return [];
          const b = r(input, ctx);
          return b.length ? union([...a, ...b]) : [];
        };
      }
      if (op === "||") return (input, ctx) => union([...l(input, ctx), ...r(input, ctx)]);
      return structural(op, l, r);
    }
    case "pipeline": {
      const source = compileSpanset(e.source);
      const stages = e.stages.map(compileStage);
      return (input, ctx) => {
        let sets = source(input, ctx);
        for (const st of stages) {
          if (!sets.length) break;
          sets = st(sets, ctx);
        }
        return sets;
      };
    }
  }
}

type StageFn = (sets: Spanset[], ctx: Ctx) => Spanset[];

type NumericValue = { type: "number" | "duration"; value: number };

/**
 * An aggregate over a spanset's spans: count() always, the others over the spans whose argument
 * is a number or duration (none: no value). A duration argument gives a duration.
 */
function compileAggregate(fn: AggregateFn, field: Condition | undefined): (set: Spanset, ctx: Ctx) => NumericValue | undefined {
  if (fn === "count" || !field) return (set) => ({ type: "number", value: set.spans.length });
  const read = compileValue(field);
  return (set, ctx) => {
    const nums: number[] = [];
    let duration = false;
    for (const n of set.spans) {
      const v = read(n, ctx);
      if (v !== undefined && isNumeric(v)) {
        nums.push(v.value);
        duration ||= v.type === "duration";
      }
    }
    if (!nums.length) return undefined;
    const sum = nums.reduce((a, b) => a + b, 0);
    const x = fn === "sum" ? sum : fn === "avg" ? sum / nums.length : fn === "min" ? Math.min(...nums) : Math.max(...nums);
    return { type: duration ? "duration" : "number", value: x };
  };
}

/**
 * A scalar expression on one spanset: its values. An aggregate gives one (none when it has no
 * numbers to aggregate), a scalar pipeline one per spanset it yields from the spanset (none when
 * it yields none), arithmetic every combination of its sides' values.
 */
function compileScalar(e: ScalarExpr): (set: Spanset, ctx: Ctx) => NumericValue[] {
  switch (e.kind) {
    case "literal": {
      const v = fromStatic(e.value);
      const out = v !== undefined && isNumeric(v) ? [v] : [];
      return () => out;
    }
    case "aggregate": {
      const agg = compileAggregate(e.fn, e.field);
      return (set, ctx) => {
        const v = agg(set, ctx);
        return v ? [v] : [];
      };
    }
    case "scalarPipeline": {
      const run = compileSpanset(e.pipeline);
      const agg = compileAggregate(e.fn, e.field);
      return (set, ctx) => run(set, ctx).flatMap((s) => agg(s, ctx) ?? []);
    }
    case "scalarArithmetic": {
      const l = compileScalar(e.left);
      const r = compileScalar(e.right);
      const op = e.op;
      return (set, ctx) => {
        const rs = r(set, ctx);
        return l(set, ctx).flatMap((a) => rs.map((b): NumericValue => ({ type: a.type, value: applyArithmetic(op, a.value, b.value) })));
      };
    }
  }
}

function compileStage(s: Stage): StageFn {
  switch (s.kind) {
    case "filter": {
      const f = compileSpanset(s.expr);
      return (sets, ctx) => sets.flatMap((set) => f(set, ctx));
    }
    case "select":
      // select() only chooses which attributes are returned; that is collected at compile time.
      return (sets) => sets;
    case "coalesce":
      // Tempo: every spanset's spans in one spanset, without the by() and aggregate labels.
      return (sets) => {
        const merged = union(sets);
        return merged.map((m) => ({ spans: m.spans, attributes: [] }));
      };
    case "by": {
      const key = `by(${s.fields.map((f) => formatCondition(f)).join(", ")})`;
      const reads = s.fields.map((f) => compileValue(f));
      return (sets, ctx) => {
        const out: Spanset[] = [];
        for (const set of sets) {
          const groups = new Map<string, Spanset>();
          for (const n of set.spans) {
            const values = reads.map((read) => read(n, ctx));
            const k = JSON.stringify(values);
            let g = groups.get(k);
            if (!g) {
              const attrs = [...set.attributes];
              // Tempo labels a group by its value; with several fields, by the first non-nil one.
              const v = values.find((x) => x !== undefined);
              if (v !== undefined) attrs.push({ key, value: toAnyValue(v) });
              groups.set(k, (g = { spans: [], attributes: attrs }));
            }
            g.spans.push(n);
          }
          out.push(...groups.values());
        }
        return out;
      };
    }
    case "aggregate": {
      const key = `${s.fn}(${s.field ? formatCondition(s.field) : ""})`;
      const target = fromStatic(s.value.value);
      const agg = compileAggregate(s.fn, s.field);
      const op = s.op;
      return (sets, ctx) =>
        sets.flatMap((set) => {
          const result = agg(set, ctx);
          if (result === undefined || target === undefined || !compareValues(op, result, target)) return [];
          return [{ spans: set.spans, attributes: [...set.attributes, { key, value: toAnyValue(result) }] }];
        });
    }
    case "scalarFilter": {
      const l = compileScalar(s.left);
      const r = compileScalar(s.right);
      const op = s.op;
      // Holds when some value of the left compares true with some value of the right.
      return (sets, ctx) =>
        sets.filter((set) => {
          const rs = r(set, ctx);
          return rs.length > 0 && l(set, ctx).some((a) => rs.some((b) => compareValues(op, a, b)));
        });
    }
  }
}

/** Fields the query names (conditions, by, aggregates, select), to be returned with each span; `selected`: select()'s. */
function referencedFields(q: Query): { fields: Field[]; selected: Set<Field> } {
  const out: Field[] = [];
  const selected = new Set<Field>();
  const scalar = (e: ScalarExpr): void => {
    if (e.kind === "aggregate" || e.kind === "scalarPipeline") {
      if (e.kind === "scalarPipeline") spanset(e.pipeline);
      if (e.field) conditionFields(e.field, out);
    } else if (e.kind === "scalarArithmetic") {
      scalar(e.left);
      scalar(e.right);
    }
  };
  const spanset = (e: SpansetExpr): void => {
    if (e.kind === "selector") {
      if (e.cond) conditionFields(e.cond, out);
    } else if (e.kind === "spansetOp") {
      spanset(e.left);
      spanset(e.right);
    } else {
      spanset(e.source);
      for (const st of e.stages) {
        if (st.kind === "filter") spanset(st.expr);
        else if (st.kind === "aggregate") {
          if (st.field) conditionFields(st.field, out);
        } else if (st.kind === "scalarFilter") {
          scalar(st.left);
          scalar(st.right);
        } else if (st.kind === "by") for (const f of st.fields) conditionFields(f, out);
        else if (st.kind === "select") {
          out.push(...st.fields);
          for (const f of st.fields) selected.add(f);
        }
      }
    }
  };
  spanset(q);
  return { fields: out, selected };
}

/** Intrinsics returned as span attributes (name and duration already have their own fields). */
const RETURNED_INTRINSICS = new Set(["status", "statusMessage", "kind"]);
/** Intrinsics select() cannot return as attributes: their own fields, or no value. */
const UNSELECTABLE_INTRINSICS = new Set(["name", "duration", "parent"]);

function spanAttributes(fields: Field[], selected: Set<Field>, n: SpanNode, ctx: Ctx): KeyValue[] {
  const out: KeyValue[] = [];
  const seen = new Set<string>();
  for (const f of fields) {
    if (f.kind === "intrinsic" && !RETURNED_INTRINSICS.has(f.name) && !(selected.has(f) && !UNSELECTABLE_INTRINSICS.has(f.name))) continue;
    const key = f.name;
    if (seen.has(key)) continue;
    const v = readField(f, n, ctx);
    if (v === undefined) continue;
    seen.add(key);
    out.push({ key, value: toAnyValue(v) });
  }
  return out;
}

// ---- Summary pruning ----------------------------------------------------------------------

type SummaryPred = (s: TraceFacts) => boolean;

const TRACE_INTRINSICS = new Set(["trace:rootService", "trace:rootName", "trace:duration", "trace:id"]);

/** True when a condition reads nothing but trace-level intrinsics and literals. */
function traceLevelOnly(c: Condition): boolean {
  switch (c.kind) {
    case "attribute":
      return false;
    case "intrinsic":
      return TRACE_INTRINSICS.has(c.name);
    case "literal":
      return true;
    case "not":
    case "negate":
      return traceLevelOnly(c.operand);
    default:
      return traceLevelOnly(c.left) && traceLevelOnly(c.right);
  }
}

const summaryCtx = (summary: TraceFacts): Ctx => ({ summary });

/**
 * A necessary condition, on the summary, for some span to satisfy `c`; undefined when none is
 * known. Sound: it never rejects a trace that has a matching span.
 */
function conditionPrune(c: Condition): SummaryPred | undefined {
  if (traceLevelOnly(c)) {
    const f = compileCondition(c);
    return (s) => f(undefined, summaryCtx(s));
  }
  if (c.kind === "logical") {
    const l = conditionPrune(c.left);
    const r = conditionPrune(c.right);
    if (c.op === "||") return l && r ? (s) => l(s) || r(s) : undefined;
    // Both halves hold on one span: `resource.service.name = "x" && status = error` needs an error in x.
    const svc = serviceTest(c.left) ?? serviceTest(c.right);
    const err = hasErrorTest(c.left) || hasErrorTest(c.right);
    const both: SummaryPred | undefined = svc && err ? (s) => s.services.some((x) => x.errorCount > 0 && svc(x.serviceName)) : undefined;
    const preds = [l, r, both].filter((p): p is SummaryPred => p !== undefined);
    return preds.length ? (s) => preds.every((p) => p(s)) : undefined;
  }
  const svc = serviceTest(c);
  if (svc) return (s) => s.services.some((x) => x.spanCount > 0 && svc(x.serviceName));
  if (hasErrorTest(c)) return (s) => s.errorCount > 0;
  // A span lasts no longer than its trace: `duration > d` needs `trace duration > d`.
  if (c.kind === "comparison" && (c.op === ">" || c.op === ">=") && c.left.kind === "intrinsic" && c.left.name === "duration" && c.right.kind === "literal") {
    const d = fromStatic(c.right.value);
    if (d && isNumeric(d)) {
      const op = c.op;
      return (s) => compareValues(op, { type: "duration", value: Number(s.durationNanos) }, d);
    }
  }
  return undefined;
}

/** `resource.service.name = "x"` / `=~ "re"` as a test on a service name. */
function serviceTest(c: Condition): ((name: string) => boolean) | undefined {
  if (c.kind !== "comparison" || c.left.kind !== "attribute" || c.left.scope !== "resource" || c.left.name !== "service.name") return undefined;
  if (c.right.kind !== "literal" || c.right.value.type !== "string") return undefined;
  const v = c.right.value.value;
  if (c.op === "=") return (name) => name === v;
  if (c.op === "=~") {
    const re = compileRegex(v);
    return (name) => re.test(name);
  }
  return undefined;
}

function hasErrorTest(c: Condition): boolean {
  return (
    c.kind === "comparison" && c.op === "=" && c.left.kind === "intrinsic" && c.left.name === "status" &&
    c.right.kind === "literal" && c.right.value.type === "status" && c.right.value.value === 2
  );
}

/** A necessary condition on the summary for the expression to yield a spanset. */
function spansetPrune(e: SpansetExpr): SummaryPred {
  switch (e.kind) {
    case "selector": {
      const p = e.cond ? conditionPrune(e.cond) : undefined;
      return p ? (s) => s.spanCount > 0 && p(s) : (s) => s.spanCount > 0;
    }
    case "spansetOp": {
      const l = spansetPrune(e.left);
      const r = spansetPrune(e.right);
      // `||` needs either side; a negated structural operator only its right; the rest both.
      if (e.op === "||") return (s) => l(s) || r(s);
      return e.op.startsWith("!") ? r : (s) => l(s) && r(s);
    }
    case "pipeline": {
      // Stages only filter, split or label the spansets of the source; a scalar filter also needs
      // each wrapped pipeline it reads to yield a spanset.
      const preds = [spansetPrune(e.source), ...e.stages.flatMap((s) => (s.kind === "scalarFilter" ? [...scalarPrunes(s.left), ...scalarPrunes(s.right)] : []))];
      return preds.length === 1 ? (preds[0] as SummaryPred) : (s) => preds.every((p) => p(s));
    }
  }
}

/** The summary conditions of the pipelines a scalar expression wraps. */
function scalarPrunes(e: ScalarExpr): SummaryPred[] {
  if (e.kind === "scalarPipeline") return [spansetPrune(e.pipeline)];
  if (e.kind === "scalarArithmetic") return [...scalarPrunes(e.left), ...scalarPrunes(e.right)];
  return [];
}

/** A query decided by the summary alone: one selector on trace-level intrinsics. */
function isSummaryOnly(q: Query): boolean {
  return q.kind === "selector" && (q.cond === undefined || traceLevelOnly(q.cond));
}

/**
 * What a search answer says of the query's `with(...)` hints: none changes what search reads
 * (sampling, exemplars and the rest are not honoured); `most_recent` is what search does anyway.
 */
export function searchHintWarnings(q: Query): string[] {
  return (q.hints ?? []).map((h) =>
    h.name === "most_recent"
      ? `query hint most_recent=${JSON.stringify(h.value)}: search answers the newest traces first whatever the hint`
      : `query hint ${h.name}=${JSON.stringify(h.value)} is not honoured: search reads every matching trace`,
  );
}

export interface CompileOptions {
  /** Spans returned per spanset (Tempo's `spss`); default 3. */
  spss?: number;
}

/** Parses and compiles a query; throws TraceQLError (with position) when it cannot. */
export function compileTraceQL(query: string, options: CompileOptions = {}): TraceMatcher {
  const ast = parseTraceQL(query);
  return compileQuery(ast, options);
}

/** A compiled query: search's `TraceMatcher`, and the matching span nodes for scans that count spans. */
export interface QueryMatcher extends TraceMatcher {
  /**
   * Each matching spanset's spans (undefined when none), without the answer `match` builds
   * (attributes, durations, text of every span).
   */
  matchNodes(trace: ResourceSpans[], summary: TraceFacts): SpanNode[][] | undefined;
}

export function compileQuery(ast: Query, options: CompileOptions = {}): QueryMatcher {
  const spss = options.spss ?? 3;
  const run = compileSpanset(ast);
  const prune = spansetPrune(ast);
  const { fields, selected } = referencedFields(ast);
  const summaryOnly = isSummaryOnly(ast);
  const evaluate = (trace: ResourceSpans[], ctx: Ctx) => run({ spans: buildIndex(trace), attributes: [] }, ctx).filter((s) => s.spans.length > 0);
  return {
    summaryOnly,
    indexCondition: indexConditionOf(ast),
    mayMatch: prune,
    match(trace: ResourceSpans[], summary: TraceFacts): SpansetMatch[] | undefined {
      const ctx: Ctx = { summary };
      const sets = evaluate(trace, ctx);
      if (!sets.length) return undefined;
      return sets.map((set) => {
        const spans: SpanMatch[] = set.spans.slice(0, Math.max(0, spss)).map((n) => ({
          spanID: n.span.spanId,
          name: n.span.name,
          startTimeUnixNano: n.span.startTimeUnixNano,
          durationNanos: n.durationNanos.toString(),
          attributes: spanAttributes(fields, selected, n, ctx),
        }));
        const m: SpansetMatch = { spans, matched: set.spans.length };
        if (set.attributes.length) m.attributes = set.attributes;
        return m;
      });
    },
    matchNodes(trace: ResourceSpans[], summary: TraceFacts) {
      const sets = evaluate(trace, { summary });
      return sets.length ? sets.map((s) => s.spans) : undefined;
    },
  };
}
