/**
 * @module
 * The fields (attributes and intrinsics) a condition reads, in the order they appear: what the
 * engine returns with each matched span, and what decides whether the metrics rows can answer.
 */
import type { Condition, Field } from "./ast.ts";

export function conditionFields(c: Condition, out: Field[] = []): Field[] {
  switch (c.kind) {
    case "attribute":
    case "intrinsic":
      out.push(c);
      break;
    case "literal":
      break;
    case "not":
    case "negate":
      conditionFields(c.operand, out);
      break;
    default:
      conditionFields(c.left, out);
      conditionFields(c.right, out);
  }
  return out;
}
