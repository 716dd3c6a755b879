/**
 * @module
 * Prints a syntax tree back as TraceQL. Nested binary nodes are parenthesized, so that
 * `parseTraceQL(stringify(q))` gives back `q` (positions aside) whatever the precedence.
 */
import type { AggregateFn, Condition, Field, Query, QueryHint, ScalarExpr, SpansetExpr, Stage, Static } from "./ast.ts";

const STATUS_NAMES = ["unset", "ok", "error"];
const KIND_NAMES = ["unspecified", "internal", "server", "client", "producer", "consumer"];
const UNITS: [string, number][] = [["h", 3600e9], ["m", 60e9], ["s", 1e9], ["ms", 1e6], ["us", 1e3]];

export function formatDuration(nanos: number): string {
  const sign = nanos < 0 ? "-" : "";
  const abs = Math.abs(nanos);
  for (const [unit, size] of UNITS) if (abs !== 0 && abs % size === 0) return `${sign}${abs / size}${unit}`;
  return `${sign}${abs}ns`;
}

function quoteString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r")}"`;
}

export function formatStatic(v: Static): string {
  switch (v.type) {
    case "string":
      return quoteString(v.value);
    case "int":
      // Tempo's names for the 64-bit bounds (maxInt is 2^63 as a double).
      return v.value === -(2 ** 63) ? "minInt" : v.value === 2 ** 63 ? "maxInt" : String(v.value);
    case "float":
      return Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value);
    case "duration":
      return formatDuration(v.value);
    case "bool":
      return String(v.value);
    case "nil":
      return "nil";
    case "status":
      return STATUS_NAMES[v.value] ?? String(v.value);
    case "kind":
      return KIND_NAMES[v.value] ?? String(v.value);
  }
}

export function formatField(f: Field): string {
  if (f.kind === "intrinsic") return f.name;
  // Bare when the lexer reads it back whole (an unscoped name must not look like a number).
  const bare =
    /^[^\s{}()=~!<>&|^,"]+$/.test(f.name) && !(f.scope === "" && /^[0-9]/.test(f.name)) && !(f.scope === "parent" && /^(span|resource)\./.test(f.name));
  const name = bare ? f.name : `"${f.name.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  return f.scope === "" ? `.${name}` : `${f.scope}.${name}`;
}

export function formatCondition(c: Condition, nested = false): string {
  switch (c.kind) {
    case "attribute":
    case "intrinsic":
      return formatField(c);
    case "literal":
      return formatStatic(c.value);
    case "not":
      return `!(${formatCondition(c.operand)})`;
    case "negate":
      return `-(${formatCondition(c.operand)})`;
    case "logical":
    case "arithmetic":
    case "comparison": {
      const s = `${formatCondition(c.left, true)} ${c.op} ${formatCondition(c.right, true)}`;
      return nested ? `(${s})` : s;
    }
  }
}

function formatAggregate(fn: AggregateFn, field: Condition | undefined): string {
  return `${fn}(${field ? formatCondition(field) : ""})`;
}

function formatScalar(e: ScalarExpr, nested = false): string {
  switch (e.kind) {
    case "literal":
      return formatStatic(e.value);
    case "aggregate":
      return formatAggregate(e.fn, e.field);
    case "scalarPipeline":
      return `(${formatSpanset(e.pipeline)} | ${formatAggregate(e.fn, e.field)})`;
    case "scalarArithmetic": {
      const s = `${formatScalar(e.left, true)} ${e.op} ${formatScalar(e.right, true)}`;
      return nested ? `(${s})` : s;
    }
  }
}

function formatStage(s: Stage): string {
  switch (s.kind) {
    case "filter":
      return formatSpanset(s.expr);
    case "aggregate":
      return `${formatAggregate(s.fn, s.field)} ${s.op} ${formatStatic(s.value.value)}`;
    case "scalarFilter":
      return `${formatScalar(s.left)} ${s.op} ${formatScalar(s.right)}`;
    case "by":
      return `by(${s.fields.map((f) => formatCondition(f)).join(", ")})`;
    case "select":
      return `select(${s.fields.map(formatField).join(", ")})`;
    case "coalesce":
      return "coalesce()";
  }
}

function formatSpanset(e: SpansetExpr, nested = false): string {
  switch (e.kind) {
    case "selector":
      return e.cond ? `{ ${formatCondition(e.cond)} }` : "{ }";
    case "spansetOp": {
      const s = `${formatSpanset(e.left, true)} ${e.op} ${formatSpanset(e.right, true)}`;
      return nested ? `(${s})` : s;
    }
    case "pipeline": {
      // A pipeline that starts with a stage reads an implicit `{ }`, not printed.
      const source = e.source.kind === "selector" && e.source.implicit ? [] : [formatSpanset(e.source, true)];
      const s = [...source, ...e.stages.map(formatStage)].join(" | ");
      return nested ? `(${s})` : s;
    }
  }
}

function formatHintValue(v: QueryHint["value"]): string {
  if (typeof v === "string") return /^[0-9.]+[a-zµ]+$/.test(v) ? v : quoteString(v);
  return String(v);
}

export function stringify(q: Query): string {
  const hints = q.hints?.length ? ` with(${q.hints.map((h) => `${h.name}=${formatHintValue(h.value)}`).join(", ")})` : "";
  return formatSpanset(q) + hints;
}
