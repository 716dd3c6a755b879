/**
 * @module
 * Hand-written recursive-descent parser with precedence climbing for TraceQL.
 *
 * Precedence is Tempo's (its expr.y), loosest first, all left-associative but `^`:
 * - between spansets: `|` (pipeline) < `&&` `||` (one level: `a || b && c` is `(a || b) && c`)
 *   < every structural operator (`>` `>>` `<` `<<` `~`, negated `!>` …, union `&>` …);
 * - inside a selector: `&&` `||` (one level) < comparisons < `+ -` < unary `!` `-` < `* / %` < `^`,
 *   so `!a = b` is `(!a) = b` and `-a * b` is `-(a * b)`.
 * Types are checked after parsing (validate.ts). Valid TraceQL this engine cannot run (metrics
 * functions, other scopes) fails with a TraceQLError whose `unsupported` names the construct.
 */
import type {
  AggregateFn, ArithmeticOp, AttributeScope, ComparisonOp, Condition, Field, IntrinsicName, Literal, Query, SpansetExpr,
  SpansetOp, Stage, Static,
} from "./ast.ts";
import { conditionFields } from "./fields.ts";
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
};

const SCOPES = new Set<string>(["span", "resource", "", "event", "link", "instrumentation", "parent", "parent.span", "parent.resource"]);

const STATUS_VALUES: Record<string, number> = { unset: 0, ok: 1, error: 2 };
const KIND_VALUES: Record<string, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

const COMPARISONS = new Set<string>(["=", "!=", ">", ">=", "<", "<=", "=~", "!~"]);
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
const UNSUPPORTED_INTRINSICS = new Set<string>(["parent", "trace:rootSpan"]);

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

  parseQuery(): Query {
    const first = this.peek();
    if (first.kind === "eof") this.fail("a spanset selector \"{\"");
    // Tempo lets a pipeline start with a scalar filter, by() or select(): valid, not run here.
    if (first.kind === "ident" && (AGGREGATES.has(first.text) || first.text === "by" || first.text === "select")) {
      this.unsupported(`a pipeline starting with ${first.text}()`, first.pos);
    }
    const q = this.parsePipeline();
    const t = this.peek();
    if (t.kind !== "eof") {
      if (t.kind === "ident" && t.text === "with") this.unsupported("query hints with()", t.pos);
      this.fail("a spanset operator or \"|\"");
    }
    return q;
  }

  private parsePipeline(): SpansetExpr {
    const source = this.parseSpanset(1);
    if (!this.isOp("|")) return source;
    const stages: Stage[] = [];
    while (this.isOp("|")) {
      this.next();
      stages.push(this.parseStage());
    }
    return { kind: "pipeline", source, stages, pos: source.pos };
  }

  private parseSpanset(minPrec: number): SpansetExpr {
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
    if (t.kind === "op" && (t.text === "{" || t.text === "(")) {
      return { kind: "filter", expr: this.parseSpanset(1), pos: t.pos };
    }
    if (t.kind !== "ident") return this.fail("a pipeline stage");
    if (METRICS_FUNCTIONS.has(t.text)) this.unsupported(`metrics function ${t.text}()`, t.pos);
    if (t.text === "coalesce") this.unsupported("coalesce()", t.pos);
    if (t.text === "with") this.unsupported("query hints with()", t.pos);
    if (t.text === "by" || t.text === "select") {
      this.next();
      this.expectOp("(");
      const fields: Field[] = [this.parseField(t.text === "by")];
      while (this.isOp(",")) {
        this.next();
        fields.push(this.parseField(t.text === "by"));
      }
      this.expectOp(")", "\")\" or \",\"");
      return { kind: t.text, fields, pos: t.pos };
    }
    if (AGGREGATES.has(t.text)) {
      this.next();
      const fn = t.text as AggregateFn;
      this.expectOp("(");
      let field: Field | undefined;
      if (fn !== "count") field = this.parseField(true);
      this.expectOp(")", fn === "count" ? "\")\"" : "\")\"");
      const opTok = this.peek();
      if (opTok.kind !== "op" || !COMPARISONS.has(opTok.text) || opTok.text === "=~" || opTok.text === "!~") {
        if (opTok.kind === "op" && ARITHMETIC.has(opTok.text)) this.unsupported(`arithmetic operator "${opTok.text}"`, opTok.pos);
        this.fail("a comparison operator");
      }
      this.next();
      const valueTok = this.peek();
      const value = this.parseUnary();
      // Scalar filters compare numbers: Tempo's grammar takes no string, status or kind here.
      const numeric = value.kind === "literal" && (value.value.type === "int" || value.value.type === "float" || value.value.type === "duration");
      if (!numeric) this.fail("a number or duration", valueTok);
      return { kind: "aggregate", fn, field, op: opTok.text as ComparisonOp, value, pos: t.pos };
    }
    return this.fail("a pipeline stage");
  }

  /** A field for by()/select()/aggregates: an attribute or an intrinsic. */
  /** A field for by()/select()/aggregates; by() and aggregates also take expressions in Tempo. */
  private parseField(expressions: boolean): Field {
    const t = this.peek();
    const v = expressions ? this.parseCondition(1) : this.parseOperand();
    if (v.kind === "attribute" || v.kind === "intrinsic") return v;
    if (!expressions) return this.fail("an attribute or intrinsic", t);
    if (!conditionFields(v).length) throw new TraceQLError("a grouping or aggregate expression must read a field of the span", t.pos);
    return this.unsupported("expressions in by() and aggregates", t.pos);
  }

  private parseCondition(minPrec: number): Condition {
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
        if (word in STATUS_VALUES) return lit({ type: "status", value: STATUS_VALUES[word] as number });
        if (word in KIND_VALUES) return lit({ type: "kind", value: KIND_VALUES[word] as number });
        const intrinsic = INTRINSICS[word];
        if (intrinsic) return { kind: "intrinsic", name: intrinsic, pos: t.pos };
        if (UNSUPPORTED_INTRINSICS.has(word)) this.unsupported(`intrinsic "${word}"`, t.pos);
        if (word === "coalesce") this.unsupported("coalesce()", t.pos);
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
