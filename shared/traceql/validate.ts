/**
 * @module
 * Tempo's validation of a parsed query (its ast_validate.go rules, our wording): every spanset
 * filter is boolean (a bare attribute passes: its type is only known per span), both sides of a
 * binary operator have matching types (numbers, durations and attributes match each other),
 * each operator is legal for its operand types (`nil`, statuses and kinds take only `=`/`!=`,
 * booleans also `&&`/`||`, strings comparisons and regexes, numbers everything but `&&`/`||`),
 * `!` takes a boolean, unary `-` a number, and a regex literal compiles. `nil` is compared only
 * with a field (an attribute or an intrinsic such as `span:parentID`, which the dashboard's root
 * span test uses; newer Tempo accepts nil against any type, the issue asks for fields only).
 */
import type { AggregateFn, Condition, IntrinsicName, Query, ScalarExpr, SpansetExpr } from "./ast.ts";
import { conditionFields } from "./fields.ts";
import { TraceQLError } from "./lexer.ts";
import type { Position } from "./lexer.ts";
import { formatStatic } from "./stringify.ts";

/**
 * The type an expression is known to have before evaluation; "attribute" is any (known per span),
 * "span" the `parent` intrinsic, which only `= nil` and `!= nil` take.
 */
type ImpliedType = "bool" | "int" | "float" | "duration" | "string" | "nil" | "status" | "kind" | "span" | "attribute";

const INTRINSIC_TYPES: Record<IntrinsicName, ImpliedType> = {
  name: "string",
  status: "status",
  statusMessage: "string",
  duration: "duration",
  kind: "kind",
  "span:id": "string",
  "span:parentID": "string",
  "trace:rootService": "string",
  "trace:rootName": "string",
  "trace:duration": "duration",
  "trace:id": "string",
  "span:childCount": "int",
  nestedSetLeft: "int",
  nestedSetRight: "int",
  nestedSetParent: "int",
  "event:name": "string",
  "event:timeSinceStart": "duration",
  "link:traceID": "string",
  "link:spanID": "string",
  "instrumentation:name": "string",
  "instrumentation:version": "string",
  parent: "span",
};

const NUMERIC = new Set<ImpliedType>(["int", "float", "duration"]);
const COMPARE = ["=", "!=", ">", ">=", "<", "<="];
const LEGAL: Record<Exclude<ImpliedType, "attribute">, Set<string>> = {
  bool: new Set(["&&", "||", "=", "!="]),
  int: new Set(["+", "-", "*", "/", "%", "^", ...COMPARE]),
  float: new Set(["+", "-", "*", "/", "%", "^", ...COMPARE]),
  duration: new Set(["+", "-", "*", "/", "%", "^", ...COMPARE]),
  string: new Set([...COMPARE, "=~", "!~"]),
  nil: new Set(["=", "!="]),
  status: new Set(["=", "!="]),
  kind: new Set(["=", "!="]),
  span: new Set(),
};

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

const matching = (a: ImpliedType, b: ImpliedType): boolean =>
  a === "attribute" || b === "attribute" || a === b || (NUMERIC.has(a) && NUMERIC.has(b));

const legal = (op: string, t: ImpliedType): boolean => t === "attribute" || LEGAL[t].has(op);

function typeOf(c: Condition): ImpliedType {
  switch (c.kind) {
    case "literal":
      return c.value.type;
    case "attribute":
      return "attribute";
    case "intrinsic":
      return INTRINSIC_TYPES[c.name];
    case "not": {
      const t = typeOf(c.operand);
      if (t !== "bool" && t !== "attribute") throw new TraceQLError(`"!" needs a boolean, not ${t}`, c.pos);
      return "bool";
    }
    case "negate": {
      const t = typeOf(c.operand);
      if (!NUMERIC.has(t) && t !== "attribute") throw new TraceQLError(`"-" needs a number, not ${t}`, c.pos);
      return t;
    }
    case "logical":
    case "comparison":
    case "arithmetic": {
      if (c.kind === "comparison" && (c.op === "=~" || c.op === "!~")) checkRegex(c.right);
      const l = typeOf(c.left);
      const r = typeOf(c.right);
      if (l === "nil" || r === "nil") {
        const other = l === "nil" ? c.right : c.left;
        if (other.kind !== "attribute" && other.kind !== "intrinsic") throw new TraceQLError("nil can only be compared with an attribute or intrinsic", c.pos);
        if (c.op !== "=" && c.op !== "!=") throw new TraceQLError(`"${c.op}" is not defined for nil`, c.pos);
        return "bool";
      }
      if (!matching(l, r)) throw new TraceQLError(`"${c.op}" between different types (${l} and ${r})`, c.pos);
      if (!legal(c.op, l) || !legal(c.op, r)) throw new TraceQLError(`"${c.op}" is not defined for ${l === "attribute" ? r : l}`, c.pos);
      if (c.kind !== "arithmetic") return "bool";
      return l === "attribute" ? r : l;
    }
  }
}

function checkRegex(right: Condition): void {
  if (right.kind !== "literal") return;
  if (right.value.type !== "string") {
    throw new TraceQLError(`unexpected "${formatStatic(right.value)}"`, right.pos, { expected: "a regular expression string" });
  }
  try {
    compileRegex(right.value.value);
  } catch (e) {
    throw new TraceQLError(`invalid regular expression: ${(e as Error).message}`, right.pos);
  }
}

/** An aggregate's argument: a number (or an attribute) read from the span, as Tempo requires. */
function checkAggregate(fn: AggregateFn, field: Condition | undefined, pos: Position): void {
  if (!field) return;
  const t = typeOf(field);
  if (!NUMERIC.has(t) && t !== "attribute") throw new TraceQLError(`${fn}() needs a number, not ${t}`, field.pos);
  if (!conditionFields(field).length) throw new TraceQLError(`${fn}() must read a field of the span`, pos);
}

function validateScalar(e: ScalarExpr): void {
  switch (e.kind) {
    case "literal":
      return;
    case "aggregate":
      checkAggregate(e.fn, e.field, e.pos);
      return;
    case "scalarPipeline":
      validateSpanset(e.pipeline);
      checkAggregate(e.fn, e.field, e.pos);
      return;
    case "scalarArithmetic":
      validateScalar(e.left);
      validateScalar(e.right);
  }
}

function validateSpanset(e: SpansetExpr): void {
  switch (e.kind) {
    case "selector": {
      if (!e.cond) return;
      const t = typeOf(e.cond);
      if (t !== "bool" && t !== "attribute") throw new TraceQLError(`a spanset filter must be a boolean expression, not ${t}`, e.cond.pos);
      return;
    }
    case "spansetOp":
      validateSpanset(e.left);
      validateSpanset(e.right);
      return;
    case "pipeline":
      validateSpanset(e.source);
      for (const s of e.stages) {
        if (s.kind === "filter") validateSpanset(s.expr);
        else if (s.kind === "aggregate") checkAggregate(s.fn, s.field, s.pos);
        else if (s.kind === "scalarFilter") {
          validateScalar(s.left);
          validateScalar(s.right);
        } else if (s.kind === "by") {
          for (const f of s.fields) {
            typeOf(f);
            // Tempo: a grouping must read the span (`by(1)` groups nothing).
            if (!conditionFields(f).length) throw new TraceQLError("by() must read a field of the span", f.pos);
          }
        }
      }
  }
}

/** Returns the query when valid; throws TraceQLError (with the offending node's position) when not. */
export function validateQuery(q: Query): Query {
  validateSpanset(q);
  return q;
}
