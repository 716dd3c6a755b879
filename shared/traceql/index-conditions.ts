/**
 * @module
 * Compiles a TraceQL query into the condition a block's or segment's attribute index can test
 * (shared/block/attribute-index.ts), the way Tempo's engine hands its storage the conditions of a
 * `FetchSpansRequest`: a necessary condition, so a block or segment that fails it holds no span
 * of a matching trace and is not read.
 *
 * Inside a selector `&&` needs both sides, `||` either; a comparison of an attribute or an
 * intrinsic with a literal becomes a name, pair, numeric-range, span-name, kind, status or
 * duration test; `=~`, `!~` and `!=` of an attribute with a string become a test of the index's
 * string lists with the evaluator's own regex (`compileRegex`: anchored, RE2's `(?i)`), since
 * only a string value can make them true; anything else (negation, `nil` equality, field against
 * field) needs nothing. Across spansets `&&` and the structural operators need both sides in the trace, `||`
 * either; a pipeline needs what its source needs (its stages only filter) and what the wrapped
 * pipelines of its scalar filters need (`({ .a } | count()) > 1` needs an `.a`). The parent side of
 * `>`, `>>`, `<`, `<<` must be met by a span that is some span's parent: the index keeps the
 * names, values and span names of those spans apart, so `{ .db.system = "redis" } >> {...}` skips
 * segments whose redis spans are all leaves.
 *
 * The index holds span, resource and event attributes (names, pairs, numeric ranges), span names,
 * kinds, statuses and durations, nothing else: `event.x` is tested like a span attribute, while
 * `link.x`, `instrumentation.x`, `parent.x` and the intrinsics of events, links, instrumentation,
 * ids, child counts and nested sets need nothing (they never prune).
 */
import { ALL, allOf, anyOf, type IndexCondition, type NumericOp } from "../block/attribute-index.ts";
import type { AttributeScope, ComparisonOp, Condition, ScalarExpr, SpansetExpr, Static } from "./ast.ts";
import { formatStatic } from "./stringify.ts";
import { compileRegex } from "./validate.ts";

/** Scopes whose attributes the index holds (names, pairs, numeric ranges). */
const INDEXED_SCOPES = new Set<AttributeScope>(["", "span", "resource", "event"]);

/** Spanset operators after which both sides are in the trace with no more said of either. */
const BOTH_SIDES = new Set(["&&", "~"]);

export function indexConditionOf(e: SpansetExpr): IndexCondition {
  switch (e.kind) {
    case "selector":
      return e.cond ? conditionOf(e.cond) : ALL;
    case "pipeline": {
      // Stages only narrow the source's spans; a scalar filter also needs each wrapped pipeline
      // it reads to yield a spanset (one that yields none gives no value, and the filter fails).
      const scalars = e.stages.flatMap((s) => (s.kind === "scalarFilter" ? [scalarConditionOf(s.left), scalarConditionOf(s.right)] : []));
      return scalars.length ? allOf([indexConditionOf(e.source), ...scalars]) : indexConditionOf(e.source);
    }
    case "spansetOp":
      if (e.op === "||") return anyOf([indexConditionOf(e.left), indexConditionOf(e.right)]);
      // `{A} !> {B}` can match with no A span at all: only B is needed. A union needs the relation.
      if (e.op.startsWith("!")) return indexConditionOf(e.right);
      if (e.op.startsWith("&") && e.op !== "&&") return allOf([indexConditionOf(e.left), indexConditionOf(e.right)]);
      // `{A} > {B}` and `>>`: an A span has a child; `<`, `<<`: a B span has. Only a selector's
      // condition is one span's, so only then is it a parent's.
      if (e.op === ">" || e.op === ">>") return allOf([parentOf(e.left), indexConditionOf(e.right)]);
      if (e.op === "<" || e.op === "<<") return allOf([indexConditionOf(e.left), parentOf(e.right)]);
      if (BOTH_SIDES.has(e.op)) return allOf([indexConditionOf(e.left), indexConditionOf(e.right)]);
      return ALL;
  }
}

/** What a scalar expression needs to have a value: the conditions of the pipelines it wraps. */
function scalarConditionOf(e: ScalarExpr): IndexCondition {
  switch (e.kind) {
    case "scalarPipeline":
      return indexConditionOf(e.pipeline);
    case "scalarArithmetic":
      return allOf([scalarConditionOf(e.left), scalarConditionOf(e.right)]);
    default:
      return ALL;
  }
}

/** A spanset's condition, required of a span that is some span's parent when the spanset is one selector. */
function parentOf(e: SpansetExpr): IndexCondition {
  const c = indexConditionOf(e);
  return e.kind === "selector" && c.kind !== "all" && c.kind !== "none" ? { kind: "parent", of: c } : c;
}

const FLIPPED: Partial<Record<ComparisonOp, ComparisonOp>> = { "=": "=", "!=": "!=", ">": "<", ">=": "<=", "<": ">", "<=": ">=" };
const ORDERED = new Set<ComparisonOp>(["=", ">", ">=", "<", "<="]);

function conditionOf(c: Condition): IndexCondition {
  switch (c.kind) {
    case "logical":
      return c.op === "&&" ? allOf([conditionOf(c.left), conditionOf(c.right)]) : anyOf([conditionOf(c.left), conditionOf(c.right)]);
    case "attribute":
      // A bare attribute is true only when it is a true boolean: it must at least be there.
      return INDEXED_SCOPES.has(c.scope) ? { kind: "attr", name: c.name } : ALL;
    case "comparison": {
      if (c.right.kind === "literal" && (c.left.kind === "attribute" || c.left.kind === "intrinsic")) return comparisonOf(c.left, c.op, c.right.value);
      const flipped = FLIPPED[c.op];
      if (flipped && c.left.kind === "literal" && (c.right.kind === "attribute" || c.right.kind === "intrinsic")) return comparisonOf(c.right, flipped, c.left.value);
      return ALL;
    }
    default:
      return ALL;
  }
}

function comparisonOf(field: Extract<Condition, { kind: "attribute" | "intrinsic" }>, op: ComparisonOp, value: Static): IndexCondition {
  if (field.kind === "attribute") {
    if (!INDEXED_SCOPES.has(field.scope)) return ALL;
    const name = field.name;
    if (value.type === "nil") return op === "!=" ? { kind: "attr", name } : ALL;
    // Any comparison that can be true reads a value of the attribute.
    if (op === "=" && value.type === "string") return { kind: "pair", name, value: value.value };
    if (op === "=" && value.type === "bool") return { kind: "pair", name, value: value.value ? "true" : "false" };
    // eval.ts: a regex, and `!=` between a value and a string, are true only of a string value.
    if (value.type === "string" && (op === "=~" || op === "!~" || op === "!=")) return stringMatchOf(name, op, value.value);
    if ((value.type === "int" || value.type === "float" || value.type === "duration") && ORDERED.has(op)) return { kind: "numeric", name, op: op as NumericOp, value: value.value };
    return { kind: "attr", name };
  }
  switch (field.name) {
    case "name":
      return op === "=" && value.type === "string" ? { kind: "spanName", value: value.value } : ALL;
    case "status":
      return op === "=" && value.type === "status" ? { kind: "status", value: value.value } : ALL;
    case "kind":
      return op === "=" && value.type === "kind" ? { kind: "spanKind", value: value.value } : ALL;
    case "duration":
      if ((value.type === "duration" || value.type === "int" || value.type === "float") && Number.isSafeInteger(value.value) && ORDERED.has(op)) {
        return { kind: "duration", op: op as NumericOp, nanos: BigInt(value.value) };
      }
      return ALL;
    default:
      return ALL;
  }
}

function stringMatchOf(name: string, op: "=~" | "!~" | "!=", literal: string): IndexCondition {
  const label = `${op} ${formatStatic({ type: "string", value: literal })}`;
  if (op === "!=") return { kind: "stringMatch", name, label, test: (v) => v !== literal };
  // The same compiled regex eval.ts builds for this literal; one that does not compile fails the
  // query there, before any index is asked.
  let re: RegExp;
  try {
    re = compileRegex(literal);
  } catch {
    return { kind: "attr", name };
  }
  return { kind: "stringMatch", name, label, test: op === "=~" ? (v) => re.test(v) : (v) => !re.test(v) };
}
