/**
 * @module
 * Hand-written recursive-descent parser with precedence climbing for TraceQL.
 *
 * Precedence is Tempo's (its expr.y), loosest first, all left-associative but `^`:
 * - between spansets: `|` (pipeline) < `&&` `||` (one level: `a || b && c` is `(a || b) && c`)
 *   < every structural operator (`>` `>>` `<` `<<` `~`, negated `!>` …, union `&>` …);
 * - inside a selector: `&&` `||` (one level) < comparisons < `+ -` < unary `!` `-` < `* / %` < `^`,
 *   so `!a = b` is `(!a) = b` and `-a * b` is `-(a * b)`.
 * Pipelines (Tempo's grammar): a pipeline starts with a spanset expression, a scalar filter,
 * `by()` or `select()` (the last three read the whole trace, an implicit `{ }`); its stages are
 * spanset filters, scalar filters, `by()`, `select()` and `coalesce()`. A scalar filter compares
 * two scalar expressions (aggregates and numbers under `+ - * / % ^`); at the root only, wrapped
 * scalar pipelines `({ ... } | count())` may be compared with each other or with one number.
 * Where a `(` may open either a spanset or a scalar, both readings are tried. A query may end in
 * `with(name = value, ...)` hints.
 * Types are checked after parsing (validate.ts). Valid TraceQL this engine cannot run (metrics
 * functions outside the metrics path) fails with a TraceQLError whose `unsupported` names the construct.
 */
import type {
  AggregateFn, ArithmeticOp, AttributeScope, ComparisonOp, Condition, Field, IntrinsicName, Literal, Query, QueryHint,
  ScalarComparisonOp, ScalarExpr, SpansetExpr, SpansetOp, Stage, Static,
} from "./ast.ts";
import { TraceQLError, tokenize } from "./lexer.ts";
import type { Position, Token } from "./lexer.ts";
import { validateQuery } from "./validate.ts";

export { compileRegex } from "./validate.ts";

/** Every name an intrinsic is written under, including Tempo's older ones. */
const INTRINSICS: Record<string, IntrinsicName> = {
  name: "name",
  "span:name": "name",
  status: "status",
  "span:status": "status",
  statusMessage: "statusMessage",
  "span:statusMessage": "statusMessage",
  duration: "duration",
  "span:duration": "duration",
  kind: "kind",
  "span:kind": "kind",
  "span:id": "span:id",
  "span:parentID": "span:parentID",
  "trace:rootService": "trace:rootService",
  rootServiceName: "trace:rootService",
  "trace:rootName": "trace:rootName",
  rootName: "trace:rootName",
  "trace:duration": "trace:duration",
  traceDuration: "trace:duration",
  "trace:id": "trace:id",
  "span:childCount": "span:childCount",
  childCount: "span:childCount",
  nestedSetLeft: "nestedSetLeft",
  nestedSetRight: "nestedSetRight",
  nestedSetParent: "nestedSetParent",
  "event:name": "event:name",
  "event:timeSinceStart": "event:timeSinceStart",
  "link:traceID": "link:traceID",
  "link:spanID": "link:spanID",
  "instrumentation:name": "instrumentation:name",
  "instrumentation:version": "instrumentation:version",
  parent: "parent",
};

const SCOPES = new Set<string>(["span", "resource", "", "event", "link", "instrumentation", "parent", "parent.span", "parent.resource"]);

const STATUS_VALUES: Record<string, number> = { unset: 0, ok: 1, error: 2 };
/**
 * Tempo's `minInt` and `maxInt`: the 64-bit integer bounds, as the doubles every int here is
 * (so maxInt reads as 2^63, the nearest double to 2^63 - 1).
 */
export const INT_BOUNDS: Record<string, number> = { minInt: -(2 ** 63), maxInt: 2 ** 63 - 1 };
const KIND_VALUES: Record<string, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

const SCALAR_COMPARISONS = new Set<string>(["=", "!=", ">", ">=", "<", "<="]);
const ARITHMETIC = new Set<string>(["+", "-", "*", "/", "%", "^"]);
const STRUCTURAL = [">", ">>", "<", "<<", "~", "!>", "!>>", "!<", "!<<", "!~", "&>", "&>>", "&<", "&<<", "&~"];
const SPANSET_PREC: Record<string, number> = { "||": 1, "&&": 1, ...Object.fromEntries(STRUCTURAL.map((op) => [op, 2])) };
/** Inside a selector; `^` is the one right-associative level. */
const CONDITION_PREC: Record<string, number> = {
  "||": 1, "&&": 1, "=": 2, "!=": 2, ">": 2, ">=": 2, "<": 2, "<=": 2, "=~": 2, "!~": 2,
  "+": 3, "-": 3, "*": 4, "/": 4, "%": 4, "^": 5,
};
/** Unary `!` and `-` bind tighter than `+ -` and looser than `* / % ^`, as in Tempo. */
const UNARY_OPERAND_PREC = 4;
const AGGREGATES = new Set<string>(["count", "avg", "min", "max", "sum"]);
const METRICS_FUNCTIONS = new Set<string>([
  "rate", "count_over_time", "min_over_time", "max_over_time", "avg_over_time", "sum_over_time",
  "quantile_over_time", "histogram_over_time", "compare", "topk", "bottomk",
]);

/** Nesting (parentheses, unary operators, `^` chains) a query may have: deep enough for any real query. */
const MAX_NESTING = 100;

function describe(t: Token): string {
  return t.kind === "eof" ? "end of query" : `"${t.text}"`;
}

class Parser {
  private readonly tokens: Token[];
  private i = 0;
  constructor(src: string) {
    this.tokens = tokenize(src);
  }

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.i++;
    return t;
  }
  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === "op" && t.text === text;
  }
  private fail(expected: string, t: Token = this.peek()): never {
    throw new TraceQLError(`unexpected ${describe(t)}`, t.pos, { expected });
  }
  private unsupported(construct: string, pos: Position): never {
    throw new TraceQLError(`unsupported: ${construct}`, pos, { unsupported: construct });
  }
  private expectOp(text: string, expected = `"${text}"`): Token {
    if (!this.isOp(text)) this.fail(expected);
    return this.next();
  }

  private depth = 0;

  /** One level deeper in the query's nesting; past MAX_NESTING a clear error, not a stack overflow. */
  private nested<T>(parse: () => T): T {
    if (this.depth >= MAX_NESTING) throw new TraceQLError(`query nested deeper than ${MAX_NESTING} levels`, this.peek().pos);
    this.depth++;
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  /** Results by rule and start token: a `(` read both ways would otherwise be re-read at every depth. */
  private readonly memo = new Map<string, { end: number; value: unknown } | { error: TraceQLError }>();

  /** `parse` at the current token, remembered (packrat): the same rule at the same token gives the same answer. */
  private memoized<T>(rule: string, parse: () => T): T {
    const key = `${rule}@${this.i}`;
    const hit = this.memo.get(key);
    if (hit) {
      if ("error" in hit) throw hit.error;
      this.i = hit.end;
      return hit.value as T;
    }
    try {
      const value = parse();
      this.memo.set(key, { end: this.i, value });
      return value;
    } catch (e) {
      if (e instanceof TraceQLError) this.memo.set(key, { error: e });
      throw e;
    }
  }

  /** Runs `parse`; on a TraceQLError puts the position back and returns the error instead. */
  private attempt<T>(parse: () => T): T | TraceQLError {
    const saved = this.i;
    try {
      return parse();
    } catch (e) {
      if (!(e instanceof TraceQLError)) throw e;
      this.i = saved;
      return e;
    }
  }

  /** Of two failed readings, the one that got further (its error says the most). */
  private static further(a: TraceQLError, b: TraceQLError): TraceQLError {
    return b.offset > a.offset ? b : a;
  }

  parseQuery(): Query {
    const first = this.peek();
    if (first.kind === "eof") this.fail("a spanset selector \"{\"");
    const q: Query = this.parseRoot();
    const t = this.peek();
    if (t.kind === "ident" && t.text === "with") {
      const hints = this.parseHints();
      if (this.peek().kind !== "eof") this.fail("end of query");
      return { ...q, hints };
    }
    if (t.kind !== "eof") this.fail("a spanset operator or \"|\"");
    return q;
  }

  /** A spanset pipeline, or (Tempo's root-only form) scalar pipelines compared: `({ .a } | count()) > ({ .b } | count())`. */
  private parseRoot(): SpansetExpr {
    const atEnd = () => {
      const t = this.peek();
      return t.kind === "eof" || (t.kind === "ident" && t.text === "with");
    };
    const spansets = this.attempt(() => {
      const e = this.parsePipeline();
      if (!atEnd()) this.fail("a spanset operator or \"|\"");
      return e;
    });
    if (!(spansets instanceof TraceQLError)) return spansets;
    if (!this.isOp("(")) throw spansets;
    const scalar = this.attempt(() => {
      const e = this.parseScalarPipelineFilter();
      if (!atEnd()) this.fail("end of query");
      return e;
    });
    if (!(scalar instanceof TraceQLError)) return scalar;
    throw Parser.further(spansets, scalar);
  }

  /** `with(name = value, ...)`: Tempo's query hints. */
  private parseHints(): QueryHint[] {
    this.next();
    this.expectOp("(");
    const hints: QueryHint[] = [];
    for (;;) {
      const name = this.next();
      if (name.kind !== "ident") this.fail("a hint name", name);
      this.expectOp("=");
      const v = this.next();
      let value: string | number | boolean;
      if (v.kind === "ident" && (v.text === "true" || v.text === "false")) value = v.text === "true";
      else if ((v.kind === "int" || v.kind === "float" || v.kind === "string") && v.value !== undefined) value = v.value;
      else if (v.kind === "duration") value = v.text;
      else return this.fail("a hint value", v);
      hints.push({ name: name.text, value });
      if (!this.isOp(",")) break;
      this.next();
    }
    this.expectOp(")", "\")\" or \",\"");
    return hints;
  }

  /**
   * `source | stage | ...`. A pipeline may start with a scalar filter, by() or select(), which
   * then read every span of the trace (an implicit `{ }`).
   */
  private parsePipeline(): SpansetExpr {
    return this.memoized("pipeline", () => this.parsePipelineAt());
  }

  private parsePipelineAt(): SpansetExpr {
    const first = this.peek();
    let source: SpansetExpr;
    const stages: Stage[] = [];
    if (first.kind === "op" && first.text === "{") source = this.parseSpanset(1);
    else if (first.kind === "op" && first.text === "(") {
      // `({ .a } | count() > 1)` or `(count() + 1) > 2 | { }`: a spanset, else a scalar filter.
      const spanset = this.attempt(() => this.parseSpanset(1));
      if (spanset instanceof TraceQLError) {
        const scalar = this.attempt(() => this.parseScalarFilter());
        if (scalar instanceof TraceQLError) throw Parser.further(spanset, scalar);
        source = { kind: "selector", cond: undefined, pos: first.pos, implicit: true };
        stages.push(scalar);
      } else source = spanset;
    } else if (first.kind === "ident" && first.text === "coalesce") {
      return this.fail("a spanset selector \"{\" (a pipeline cannot start with coalesce())");
    } else if (this.startsStage(first)) {
      source = { kind: "selector", cond: undefined, pos: first.pos, implicit: true };
      stages.push(this.parseStage());
    } else source = this.parseSpanset(1);
    if (!stages.length && !this.isOp("|")) return source;
    while (this.isOp("|")) {
      this.next();
      stages.push(this.parseStage());
    }
    return { kind: "pipeline", source, stages, pos: source.pos };
  }

  /** A token that starts a stage other than a spanset filter. */
  private startsStage(t: Token): boolean {
    if (t.kind === "ident") return AGGREGATES.has(t.text) || t.text === "by" || t.text === "select" || t.text in INT_BOUNDS;
    return t.kind === "int" || t.kind === "float" || t.kind === "duration" || (t.kind === "op" && t.text === "-");
  }

  private parseSpanset(minPrec: number): SpansetExpr {
    return this.memoized(`spanset${minPrec}`, () => this.nested(() => this.parseSpansetAt(minPrec)));
  }

  private parseSpansetAt(minPrec: number): SpansetExpr {
    let left = this.parseSpansetPrimary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op") return left;
      const prec = SPANSET_PREC[t.text];
      if (prec === undefined || prec < minPrec) return left;
      this.next();
      const right = this.parseSpanset(prec + 1);
      left = { kind: "spansetOp", op: t.text as SpansetOp, left, right, pos: t.pos };
    }
  }

  private parseSpansetPrimary(): SpansetExpr {
    const t = this.peek();
    if (t.kind === "op" && t.text === "(") {
      this.next();
      const inner = this.parsePipeline();
      this.expectOp(")", "\")\" or a spanset operator");
      return inner;
    }
    if (t.kind === "op" && t.text === "{") {
      this.next();
      if (this.isOp("}")) {
        this.next();
        return { kind: "selector", cond: undefined, pos: t.pos };
      }
      const cond = this.parseCondition(1);
      this.expectOp("}", "\"}\" or an operator");
      return { kind: "selector", cond, pos: t.pos };
    }
    if (t.kind === "ident" && METRICS_FUNCTIONS.has(t.text)) this.unsupported(`${t.text}() outside a pipeline`, t.pos);
    return this.fail("a spanset selector \"{\"");
  }

  private parseStage(): Stage {
    const t = this.peek();
    if (t.kind === "op" && t.text === "{") return { kind: "filter", expr: this.parseSpanset(1), pos: t.pos };
    if (t.kind === "op" && t.text === "(") {
      const filter = this.attempt(() => this.parseSpanset(1));
      if (!(filter instanceof TraceQLError)) return { kind: "filter", expr: filter, pos: t.pos };
      const scalar = this.attempt(() => this.parseScalarFilter());
      if (scalar instanceof TraceQLError) throw Parser.further(filter, scalar);
      return scalar;
    }
    if (t.kind === "ident" && METRICS_FUNCTIONS.has(t.text)) this.unsupported(`metrics function ${t.text}()`, t.pos);
    if (t.kind === "ident" && t.text === "coalesce") {
      this.next();
      this.expectOp("(");
      this.expectOp(")");
      return { kind: "coalesce", pos: t.pos };
    }
    if (t.kind === "ident" && t.text === "by") {
      this.next();
      this.expectOp("(");
      const fields: Condition[] = [this.parseCondition(1)];
      while (this.isOp(",")) {
        this.next();
        fields.push(this.parseCondition(1));
      }
      this.expectOp(")", "\")\" or \",\"");
      return { kind: "by", fields, pos: t.pos };
    }
    if (t.kind === "ident" && t.text === "select") {
      this.next();
      this.expectOp("(");
      const fields: Field[] = [this.parseField()];
      while (this.isOp(",")) {
        this.next();
        fields.push(this.parseField());
      }
      this.expectOp(")", "\")\" or \",\"");
      return { kind: "select", fields, pos: t.pos };
    }
    if (this.startsStage(t)) return this.parseScalarFilter();
    return this.fail("a pipeline stage");
  }

  /** select()'s arguments: an attribute or an intrinsic (Tempo takes no expressions there). */
  private parseField(): Field {
    const t = this.peek();
    const v = this.parseOperand();
    if (v.kind === "attribute" || v.kind === "intrinsic") return v;
    return this.fail("an attribute or intrinsic", t);
  }

  /** `count() > 2`, `avg(duration) + 1s <= max(duration)`: two scalar expressions compared. */
  private parseScalarFilter(): Stage {
    return this.memoized("scalarFilter", () => this.parseScalarFilterAt());
  }

  private parseScalarFilterAt(): Stage {
    const t = this.peek();
    const left = this.parseScalar(3, false);
    const op = this.scalarComparison();
    const right = this.parseScalar(3, false);
    if (left.kind === "aggregate" && right.kind === "literal") {
      return { kind: "aggregate", fn: left.fn, field: left.field, op, value: right, pos: left.pos };
    }
    return { kind: "scalarFilter", op, left, right, pos: t.pos };
  }

  private scalarComparison(): ScalarComparisonOp {
    const t = this.peek();
    if (t.kind !== "op" || !SCALAR_COMPARISONS.has(t.text)) this.fail("a comparison operator");
    this.next();
    return t.text as ScalarComparisonOp;
  }

  /**
   * Tempo's root-only form: arithmetic over wrapped scalar pipelines `({ ... } | count())`,
   * compared with another such expression or with one number.
   */
  private parseScalarPipelineFilter(): SpansetExpr {
    const t = this.peek();
    const left = this.parseScalar(3, true);
    const op = this.scalarComparison();
    const n = this.peek();
    const right = n.kind === "op" && n.text === "(" ? this.parseScalar(3, true) : this.parseNumber();
    const stage: Stage = { kind: "scalarFilter", op, left, right, pos: t.pos };
    return { kind: "pipeline", source: { kind: "selector", cond: undefined, pos: t.pos, implicit: true }, stages: [stage], pos: t.pos };
  }

  /**
   * A scalar expression by precedence climbing (`+ -` < `* / %` < `^`). `pipelines`: its operands
   * are wrapped scalar pipelines (the root form); otherwise aggregates and numbers.
   */
  private parseScalar(minPrec: number, pipelines: boolean): ScalarExpr {
    return this.memoized(`scalar${minPrec}${pipelines ? "p" : ""}`, () => this.nested(() => this.parseScalarAt(minPrec, pipelines)));
  }

  private parseScalarAt(minPrec: number, pipelines: boolean): ScalarExpr {
    let left = pipelines ? this.parseScalarPipelinePrimary() : this.parseScalarPrimary();
    for (;;) {
      const t = this.peek();
      const prec = t.kind === "op" && ARITHMETIC.has(t.text) ? CONDITION_PREC[t.text] : undefined;
      if (prec === undefined || prec < minPrec) return left;
      this.next();
      const right = this.parseScalar(t.text === "^" ? prec : prec + 1, pipelines);
      left = { kind: "scalarArithmetic", op: t.text as ArithmeticOp, left, right, pos: t.pos };
    }
  }

  private parseScalarPrimary(): ScalarExpr {
    const t = this.peek();
    if (t.kind === "op" && t.text === "(") {
      this.next();
      const inner = this.parseScalar(3, false);
      this.expectOp(")", "\")\" or an operator");
      return inner;
    }
    if (t.kind === "ident" && AGGREGATES.has(t.text)) {
      const a = this.parseAggregate();
      return { kind: "aggregate", ...a, pos: t.pos };
    }
    return this.parseNumber();
  }

  /** A number or duration, with an optional minus (Tempo's scalar statics: no strings, statuses or kinds). */
  private parseNumber(): Literal {
    const t = this.peek();
    const neg = t.kind === "op" && t.text === "-";
    if (neg) this.next();
    const v = this.next();
    if ((v.kind === "int" || v.kind === "float" || v.kind === "duration") && typeof v.value === "number") {
      return { kind: "literal", value: { type: v.kind, value: neg ? -v.value : v.value }, pos: t.pos };
    }
    if (v.kind === "ident" && v.text in INT_BOUNDS) return { kind: "literal", value: { type: "int", value: (neg ? -1 : 1) * (INT_BOUNDS[v.text] as number) }, pos: t.pos };
    return this.fail("an aggregate such as count() or a number", v);
  }

  /** `count()`, `avg(expr)`; the expression's type is checked by the validator. */
  private parseAggregate(): { fn: AggregateFn; field: Condition | undefined } {
    const fn = this.next().text as AggregateFn;
    this.expectOp("(");
    const field = fn === "count" ? undefined : this.parseCondition(1);
    this.expectOp(")");
    return { fn, field };
  }

  /** `( pipeline | aggregate )` or `( scalar pipeline expression )`. */
  private parseScalarPipelinePrimary(): ScalarExpr {
    const open = this.expectOp("(");
    const wrapped = this.attempt((): ScalarExpr => {
      const pipeline = this.parsePipelineUntilAggregate();
      return { kind: "scalarPipeline", pipeline: pipeline.pipeline, fn: pipeline.fn, field: pipeline.field, pos: open.pos };
    });
    if (!(wrapped instanceof TraceQLError)) {
      this.expectOp(")");
      return wrapped;
    }
    const nested = this.attempt(() => this.parseScalar(3, true));
    if (nested instanceof TraceQLError) throw Parser.further(wrapped, nested);
    this.expectOp(")", "\")\" or an operator");
    return nested;
  }

  /** A spanset pipeline whose last stage is a bare aggregate followed by `)`. */
  private parsePipelineUntilAggregate(): { pipeline: SpansetExpr; fn: AggregateFn; field: Condition | undefined } {
    // Parse the pipeline stage by stage, stopping at `| agg(...)` directly before `)`.
    const first = this.peek();
    let source: SpansetExpr;
    const stages: Stage[] = [];
    if (first.kind === "op" && (first.text === "{" || first.text === "(")) source = this.parseSpanset(1);
    else if (this.startsStage(first)) {
      source = { kind: "selector", cond: undefined, pos: first.pos, implicit: true };
      stages.push(this.parseStage());
    } else return this.fail("a spanset selector \"{\"");
    for (;;) {
      this.expectOp("|", "\"|\" and an aggregate");
      const t = this.peek();
      if (t.kind === "ident" && AGGREGATES.has(t.text)) {
        const saved = this.i;
        const a = this.parseAggregate();
        if (this.isOp(")")) {
          const pipeline: SpansetExpr = stages.length ? { kind: "pipeline", source, stages, pos: source.pos } : source;
          return { pipeline, ...a };
        }
        this.i = saved;
      }
      stages.push(this.parseStage());
    }
  }

  private parseCondition(minPrec: number): Condition {
    return this.nested(() => this.parseConditionAt(minPrec));
  }

  private parseConditionAt(minPrec: number): Condition {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      const prec = t.kind === "op" ? CONDITION_PREC[t.text] : undefined;
      if (prec === undefined || prec < minPrec) return left;
      this.next();
      const right = this.parseCondition(t.text === "^" ? prec : prec + 1);
      const op = t.text;
      if (op === "&&" || op === "||") left = { kind: "logical", op, left, right, pos: t.pos };
      else if (prec === 2) left = { kind: "comparison", op: op as ComparisonOp, left, right, pos: t.pos };
      else left = { kind: "arithmetic", op: op as ArithmeticOp, left, right, pos: t.pos };
    }
  }

  private parseUnary(): Condition {
    const t = this.peek();
    if (t.kind === "op" && t.text === "!") {
      this.next();
      return { kind: "not", operand: this.parseCondition(UNARY_OPERAND_PREC), pos: t.pos };
    }
    if (t.kind === "op" && t.text === "-") {
      this.next();
      const operand = this.parseCondition(UNARY_OPERAND_PREC);
      // `-3` is a literal; `-.a` and `-(2 ^ 2)` are expressions.
      if (operand.kind === "literal" && (operand.value.type === "int" || operand.value.type === "float" || operand.value.type === "duration")) {
        return { kind: "literal", value: { type: operand.value.type, value: -operand.value.value }, pos: t.pos };
      }
      return { kind: "negate", operand, pos: t.pos };
    }
    if (t.kind === "op" && t.text === "(") {
      this.next();
      const inner = this.parseCondition(1);
      this.expectOp(")", "\")\" or an operator");
      return inner;
    }
    return this.parseOperand();
  }

  /** A literal, an attribute or an intrinsic. */
  private parseOperand(): Condition {
    const t = this.next();
    const lit = (value: Static): Literal => ({ kind: "literal", value, pos: t.pos });
    switch (t.kind) {
      case "string":
        return lit({ type: "string", value: t.value as string });
      case "int":
        return lit({ type: "int", value: t.value as number });
      case "float":
        return lit({ type: "float", value: t.value as number });
      case "duration":
        return lit({ type: "duration", value: t.value as number });
      case "attr": {
        const scope = t.scope as string;
        if (!SCOPES.has(scope)) this.unsupported(`attribute scope "${scope}."`, t.pos);
        return { kind: "attribute", scope: scope as AttributeScope, name: t.name as string, pos: t.pos };
      }
      case "ident": {
        const word = t.text;
        if (word === "true" || word === "false") return lit({ type: "bool", value: word === "true" });
        if (word === "nil") return lit({ type: "nil" });
        if (word in INT_BOUNDS) return lit({ type: "int", value: INT_BOUNDS[word] as number });
        if (word in STATUS_VALUES) return lit({ type: "status", value: STATUS_VALUES[word] as number });
        if (word in KIND_VALUES) return lit({ type: "kind", value: KIND_VALUES[word] as number });
        const intrinsic = INTRINSICS[word];
        if (intrinsic) return { kind: "intrinsic", name: intrinsic, pos: t.pos };
        if (METRICS_FUNCTIONS.has(word) || AGGREGATES.has(word)) this.unsupported(`${word}() inside a selector`, t.pos);
        throw new TraceQLError(`unknown identifier "${word}"`, t.pos, { expected: "a value" });
      }
      default:
        break;
    }
    return this.fail("a value", t);
  }
}

/** Parses without the type checks: what Tempo's parser alone refuses. */
export function parseTraceQLSyntax(src: string): Query {
  return new Parser(src).parseQuery();
}

/** Parses and validates a TraceQL query; throws TraceQLError with the position of the first problem. */
export function parseTraceQL(src: string): Query {
  return validateQuery(parseTraceQLSyntax(src));
}
