/**
 * @module
 * Hand-written recursive-descent parser with precedence climbing for TraceQL.
 *
 * Precedence, loosest first:
 * - between spansets: `|` (pipeline) < `||` < `&&` < structural `>` `>>` `<` `<<` `~` (all left-assoc);
 * - inside a selector: `||` < `&&` < `!` < comparisons `= != > >= < <= =~ !~`.
 * `!` negates the comparison that follows it: `!a = b` is `!(a = b)`.
 * Valid TraceQL this engine cannot run (metrics functions, arithmetic, negated/union structural
 * operators, other scopes) fails with a TraceQLError whose `unsupported` names the construct.
 */
import type {
  AggregateFn, AttributeScope, ComparisonOp, Condition, Field, IntrinsicName, Literal, Query, SpansetExpr,
  SpansetOp, Stage, Static,
} from "./ast.ts";
import { TraceQLError, tokenize } from "./lexer.ts";
import type { Position, Token } from "./lexer.ts";

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
};

const STATUS_VALUES: Record<string, number> = { unset: 0, ok: 1, error: 2 };
const KIND_VALUES: Record<string, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

const COMPARISONS = new Set<string>(["=", "!=", ">", ">=", "<", "<=", "=~", "!~"]);
const ARITHMETIC = new Set<string>(["+", "-", "*", "/", "%", "^"]);
const SPANSET_PREC: Record<string, number> = { "||": 1, "&&": 2, ">": 3, ">>": 3, "<": 3, "<<": 3, "~": 3 };
const UNSUPPORTED_SPANSET_OPS = new Set<string>(["!>", "!>>", "!<", "!<<", "!~", "&>", "&>>", "&<", "&<<", "&~"]);
const AGGREGATES = new Set<string>(["count", "avg", "min", "max", "sum"]);
const METRICS_FUNCTIONS = new Set<string>([
  "rate", "count_over_time", "min_over_time", "max_over_time", "avg_over_time", "sum_over_time",
  "quantile_over_time", "histogram_over_time", "compare", "topk", "bottomk",
]);
const UNSUPPORTED_INTRINSICS = new Set<string>([
  "parent", "childCount", "nestedSetLeft", "nestedSetRight", "nestedSetParent", "instrumentation:name",
  "instrumentation:version", "event:name", "event:timeSinceStart", "link:traceID", "link:spanID",
  "span:childCount", "trace:rootSpan",
]);

/** Go RE2 allows a leading `(?i)`; JavaScript wants a flag. Anchored: `=~ "GET"` does not match "GET /cart". */
export function compileRegex(pattern: string): RegExp {
  let flags = "";
  let body = pattern;
  const m = /^\(\?([imsU]+)\)/.exec(body);
  if (m) {
    for (const f of m[1] as string) if (f !== "U" && !flags.includes(f)) flags += f;
    body = body.slice(m[0].length);
  }
  return new RegExp(`^(?:${body})$`, flags + "u");
}

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
    if (this.peek().kind === "eof") this.fail("a spanset selector \"{\"");
    const q = this.parsePipeline();
    const t = this.peek();
    if (t.kind !== "eof") {
      if (t.kind === "op" && UNSUPPORTED_SPANSET_OPS.has(t.text)) this.unsupported(`spanset operator "${t.text}"`, t.pos);
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
      if (UNSUPPORTED_SPANSET_OPS.has(t.text)) this.unsupported(`spanset operator "${t.text}"`, t.pos);
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
    if (t.kind === "ident" && (METRICS_FUNCTIONS.has(t.text) || AGGREGATES.has(t.text))) {
      this.unsupported(`${t.text}() outside a pipeline`, t.pos);
    }
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
      const fields: Field[] = [this.parseField()];
      while (this.isOp(",")) {
        this.next();
        fields.push(this.parseField());
      }
      this.expectOp(")", "\")\" or \",\"");
      return { kind: t.text, fields, pos: t.pos };
    }
    if (AGGREGATES.has(t.text)) {
      this.next();
      const fn = t.text as AggregateFn;
      this.expectOp("(");
      let field: Field | undefined;
      if (fn !== "count") field = this.parseField();
      this.expectOp(")", fn === "count" ? "\")\"" : "\")\"");
      const opTok = this.peek();
      if (opTok.kind !== "op" || !COMPARISONS.has(opTok.text) || opTok.text === "=~" || opTok.text === "!~") {
        if (opTok.kind === "op" && ARITHMETIC.has(opTok.text)) this.unsupported(`arithmetic operator "${opTok.text}"`, opTok.pos);
        this.fail("a comparison operator");
      }
      this.next();
      const valueTok = this.peek();
      const value = this.parseOperand();
      if (value.kind !== "literal" || value.value.type === "nil") this.fail("a number or duration", valueTok);
      return { kind: "aggregate", fn, field, op: opTok.text as ComparisonOp, value, pos: t.pos };
    }
    return this.fail("a pipeline stage");
  }

  /** A field for by()/select()/aggregates: an attribute or an intrinsic. */
  private parseField(): Field {
    const t = this.peek();
    const v = this.parseOperand();
    if (v.kind !== "attribute" && v.kind !== "intrinsic") this.fail("an attribute or intrinsic", t);
    return v;
  }

  private parseCondition(minPrec: number): Condition {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op") return left;
      if (ARITHMETIC.has(t.text)) this.unsupported(`arithmetic operator "${t.text}"`, t.pos);
      const prec = t.text === "||" ? 1 : t.text === "&&" ? 2 : COMPARISONS.has(t.text) ? 4 : undefined;
      if (prec === undefined || prec < minPrec) return left;
      this.next();
      if (prec === 4) {
        const rightTok = this.peek();
        const right = this.parseUnary();
        const op = t.text as ComparisonOp;
        if (op === "=~" || op === "!~") {
          if (right.kind !== "literal" || right.value.type !== "string") this.fail("a regular expression string", rightTok);
          try {
            compileRegex(right.value.value);
          } catch (e) {
            throw new TraceQLError(`invalid regular expression: ${(e as Error).message}`, rightTok.pos);
          }
        }
        left = { kind: "comparison", op, left, right, pos: t.pos };
      } else {
        const right = this.parseCondition(prec + 1);
        left = { kind: "logical", op: t.text as "&&" | "||", left, right, pos: t.pos };
      }
    }
  }

  private parseUnary(): Condition {
    const t = this.peek();
    if (t.kind === "op" && t.text === "!") {
      this.next();
      return { kind: "not", operand: this.parseCondition(3), pos: t.pos };
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
        if (scope !== "span" && scope !== "resource" && scope !== "") this.unsupported(`attribute scope "${scope}."`, t.pos);
        return { kind: "attribute", scope: scope as AttributeScope, name: t.name as string, pos: t.pos };
      }
      case "op": {
        if (t.text === "-") {
          const n = this.peek();
          if (n.kind === "int" || n.kind === "float" || n.kind === "duration") {
            this.next();
            return lit({ type: n.kind, value: -(n.value as number) });
          }
        }
        break;
      }
      case "ident": {
        const word = t.text;
        if (word === "true" || word === "false") return lit({ type: "bool", value: word === "true" });
        if (word === "nil") return lit({ type: "nil" });
        if (word in STATUS_VALUES) return lit({ type: "status", value: STATUS_VALUES[word] as number });
        if (word in KIND_VALUES) return lit({ type: "kind", value: KIND_VALUES[word] as number });
        const intrinsic = INTRINSICS[word];
        if (intrinsic) return { kind: "intrinsic", name: intrinsic, pos: t.pos };
        if (UNSUPPORTED_INTRINSICS.has(word) || word.includes(":")) this.unsupported(`intrinsic "${word}"`, t.pos);
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

/** Parses a TraceQL query; throws TraceQLError with the position of the first problem. */
export function parseTraceQL(src: string): Query {
  return new Parser(src).parseQuery();
}
