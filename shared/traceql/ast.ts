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
  | "instrumentation:version";

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

export type Stage =
  /** `| { … }` or `| ({ … } > { … })`: filters the spans of each spanset. */
  | { kind: "filter"; expr: SpansetExpr; pos: Position }
  /** `| count() > 3`, `| avg(duration) >= 1s`: keeps the spansets whose aggregate compares true. */
  | { kind: "aggregate"; fn: AggregateFn; field: Field | undefined; op: ComparisonOp; value: Literal; pos: Position }
  | { kind: "by"; fields: Field[]; pos: Position }
  | { kind: "select"; fields: Field[]; pos: Position };

export type SpansetExpr =
  /** `{}` (cond undefined) or `{ cond }`. */
  | { kind: "selector"; cond: Condition | undefined; pos: Position }
  | { kind: "spansetOp"; op: SpansetOp; left: SpansetExpr; right: SpansetExpr; pos: Position }
  | { kind: "pipeline"; source: SpansetExpr; stages: Stage[]; pos: Position };

/** A whole query. */
export type Query = SpansetExpr;
