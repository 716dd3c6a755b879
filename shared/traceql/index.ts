/**
 * @module
 * TraceQL: lexer → parser → validator (types) → evaluator. `compileTraceQL` is the entry point for search.
 */
export type * from "./ast.ts";
export { TraceQLError, tokenize } from "./lexer.ts";
export type { Position, Token } from "./lexer.ts";
export { parseTraceQL, parseTraceQLSyntax } from "./parser.ts";
export { validateQuery } from "./validate.ts";
export { stringify } from "./stringify.ts";
export { compileTraceQL, compileQuery, searchHintWarnings } from "./eval.ts";
export type { CompileOptions } from "./eval.ts";
