/**
 * @module
 * Number arithmetic as both query languages define it (IEEE doubles: `/` by zero is ±Infinity or
 * NaN, `%` takes the dividend's sign), shared by the TraceQL and PromQL evaluators.
 */

export type ArithmeticOp = "+" | "-" | "*" | "/" | "%" | "^";

export function applyArithmetic(op: ArithmeticOp, a: number, b: number): number {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return a / b;
    case "%":
      return a % b;
    case "^":
      return a ** b;
  }
}
