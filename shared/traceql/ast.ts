/**
 * @module
 * The TraceQL syntax tree: discriminated unions on `kind`, types only. Positions point at the
 * token that starts (or, for binary nodes, names the operator of) each node.
 */
import type { ArithmeticOp } from "../query/arithmetic.ts";
import type { Position } from "./lexer.ts";

/** The intrinsics this engine evaluates, under their canonical names. */
export type IntrinsicName =
  | "name"
  | "status"
  | "statusMessage"
  | "duration"
  | "kind"
  | "span:id"
  | "span:parentID"
  | "trace:rootService"
  | "trace:rootName"
  | "trace:duration"
  | "trace:id"
  | "span:childCount"
  | "nestedSetLeft"
  | "nestedSetRight"
  | "nestedSetParent"
  | "event:name"
  | "event:timeSinceStart"
  | "link:traceID"
  | "link:spanID"
  | "instrumentation:name"
  | "instrumentation:version"
  /** The parent span itself: only `parent = nil` (a root span) and `parent != nil` are defined. */
  | "parent";

/**
 * `span.x` → "span", `resource.x` → "resource", `.x` → "" (span first, then resource);
 * `event.x`, `link.x` (any of the span's events or links), `instrumentation.x` (the span's
 * scope); `parent.x`, `parent.span.x`, `parent.resource.x` (the parent span's, as "" / span /
 * resource would read it).
 */
export type AttributeScope = "span" | "resource" | "" | "event" | "link" | "instrumentation" | "parent" | "parent.span" | "parent.resource";

export interface AttributeField {
  kind: "attribute";
  scope: AttributeScope;
  name: string;
  pos: Position;
}

export interface IntrinsicField {
  kind: "intrinsic";
  name: IntrinsicName;
  pos: Position;
}

export type Field = AttributeField | IntrinsicField;

export type Static =
  | { type: "string"; value: string }
  | { type: "int"; value: number }
  | { type: "float"; value: number }
  /** Nanoseconds. */
  | { type: "duration"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "nil" }
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  | { type: "status"; value: number }
  /** OTLP span kind: 0 unspecified … 5 consumer. */
  | { type: "kind"; value: number };

export interface Literal {
  kind: "literal";
  value: Static;
  pos: Position;
}

export type ComparisonOp = "=" | "!=" | ">" | ">=" | "<" | "<=" | "=~" | "!~";
export type LogicalOp = "&&" | "||";
export type { ArithmeticOp } from "../query/arithmetic.ts";

/** A condition inside `{ }`. */
export type Condition =
  | Field
  | Literal
  | { kind: "not"; operand: Condition; pos: Position }
  /** Unary minus of a field or expression (a minus before a number literal folds into it). */
  | { kind: "negate"; operand: Condition; pos: Position }
  | { kind: "arithmetic"; op: ArithmeticOp; left: Condition; right: Condition; pos: Position }
  | { kind: "logical"; op: LogicalOp; left: Condition; right: Condition; pos: Position }
  | { kind: "comparison"; op: ComparisonOp; left: Condition; right: Condition; pos: Position };

export type StructuralOp = ">" | ">>" | "<" | "<<" | "~";
/** `!>` …: the right side's spans NOT so related to any left span. */
export type NegatedStructuralOp = "!>" | "!>>" | "!<" | "!<<" | "!~";
/** `&>` …: the related spans of both sides. */
export type UnionStructuralOp = "&>" | "&>>" | "&<" | "&<<" | "&~";
export type SpansetOp = LogicalOp | StructuralOp | NegatedStructuralOp | UnionStructuralOp;

export type AggregateFn = "count" | "avg" | "min" | "max" | "sum";

/** The comparisons a scalar filter takes (no regexes). */
export type ScalarComparisonOp = "=" | "!=" | ">" | ">=" | "<" | "<=";

/** A number computed from spansets: what a scalar filter compares. */
export type ScalarExpr =
  /** A number or duration. */
  | Literal
  /** `count()`, `avg(duration)`, `max(.a + 1)`: over the spans of the spanset at hand. */
  | { kind: "aggregate"; fn: AggregateFn; field: Condition | undefined; pos: Position }
  | { kind: "scalarArithmetic"; op: ArithmeticOp; left: ScalarExpr; right: ScalarExpr; pos: Position }
  /** `({ .a } | by(name) | count())`: the aggregate of each spanset the pipeline yields. */
  | { kind: "scalarPipeline"; pipeline: SpansetExpr; fn: AggregateFn; field: Condition | undefined; pos: Position };

export type Stage =
  /** `| { … }` or `| ({ … } > { … })`: filters the spans of each spanset. */
  | { kind: "filter"; expr: SpansetExpr; pos: Position }
  /**
   * `| count() > 3`, `| avg(duration) >= 1s`, `| max(.a + 1) > 3`: keeps the spansets whose
   * aggregate compares true with the number, labelled with the aggregate's value.
   */
  | { kind: "aggregate"; fn: AggregateFn; field: Condition | undefined; op: ComparisonOp; value: Literal; pos: Position }
  /** Any other scalar filter (`count() + 1 > 2`, `2 < count()`, pipelines compared): keeps the spansets it holds for. */
  | { kind: "scalarFilter"; op: ScalarComparisonOp; left: ScalarExpr; right: ScalarExpr; pos: Position }
  /** `by(f)`, `by(.a * 2)`: splits each spanset by the value. */
  | { kind: "by"; fields: Condition[]; pos: Position }
  | { kind: "select"; fields: Field[]; pos: Position }
  /** Merges the spansets into one (undoes by()). */
  | { kind: "coalesce"; pos: Position };

export type SpansetExpr =
  /**
   * `{}` (cond undefined) or `{ cond }`. `implicit`: the `{ }` a pipeline that starts with a
   * stage (`count() > 2 | { .a }`, `select(.a)`) reads, which is not printed.
   */
  | { kind: "selector"; cond: Condition | undefined; pos: Position; implicit?: true }
  | { kind: "spansetOp"; op: SpansetOp; left: SpansetExpr; right: SpansetExpr; pos: Position }
  | { kind: "pipeline"; source: SpansetExpr; stages: Stage[]; pos: Position };

/** `with(name = value, …)` after a query: Tempo's query hints. */
export interface QueryHint {
  name: string;
  value: string | number | boolean;
}

/** A whole query; `hints` when it ends in `with(…)`. */
export type Query = SpansetExpr & { hints?: QueryHint[] };
