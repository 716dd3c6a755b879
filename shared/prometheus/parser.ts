/**
 * @module
 * The part of PromQL that Grafana's Tempo datasource sends for the Service Graph and its span-metrics
 * table (and the links it builds from them), parsed into a small tree. Covered: selectors with a
 * metric name and/or `{label op "value", ...}` (= != =~ !~), range selectors `[5m]`, number
 * literals, `rate`/`increase`/`histogram_quantile`, the aggregations `sum avg min max count group
 * topk bottomk` with `by`/`without` before or after the body, `+ - * / %` and `or`, parentheses and
 * unary minus. Anything else (other functions, `offset`, `@`, subqueries, comparisons, `and`,
 * `unless`, `on`/`ignoring`/`group_left`) is a `PromQLError` naming it, which the API answers with
 * Prometheus' `bad_data` error. Keywords are case-insensitive as in Prometheus (Grafana joins
 * alternatives with ` OR `).
 */

export class PromQLError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PromQLError";
  }
}

export type MatchOp = "=" | "!=" | "=~" | "!~";
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

export type AggOp = "sum" | "avg" | "min" | "max" | "count" | "group" | "topk" | "bottomk";
export type BinOp = "+" | "-" | "*" | "/" | "%" | "or";

export type Expr =
  | { type: "number"; value: number }
  | { type: "selector"; matchers: Matcher[]; rangeSeconds?: number }
  | { type: "call"; fn: "rate" | "increase" | "histogram_quantile"; args: Expr[] }
  | { type: "aggregate"; op: AggOp; by?: string[]; without?: string[]; param?: Expr; expr: Expr }
  | { type: "binary"; op: BinOp; lhs: Expr; rhs: Expr }
  | { type: "neg"; expr: Expr };

const AGG_OPS = new Set<string>(["sum", "avg", "min", "max", "count", "group", "topk", "bottomk"]);
const FUNCTIONS = new Set<string>(["rate", "increase", "histogram_quantile"]);
/** Aggregations Prometheus has that are not served, so the error can say "unsupported" rather than "unknown". */
const OTHER_AGGS = new Set(["stddev", "stdvar", "quantile", "count_values", "limitk", "limit_ratio"]);

type Tok = { kind: "num" | "str" | "ident" | "dur" | "op" | "eof"; text: string; pos: number; value?: number };

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** `1h30m`, `90s`, `500ms` in seconds; undefined when `text` is not a PromQL duration. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+)(ms|s|m|h|d|w|y)/y;
  let at = 0;
  let total = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  return text.length > 0 ? total : undefined;
}

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "#") throw new PromQLError(`comments are not supported (position ${i})`);
    if (ch === '"' || ch === "'" || ch === "`") {
      const start = i;
      let out = "";
      i++;
      while (i < src.length && src[i] !== ch) {
        if (src[i] === "\\" && ch !== "`") {
          const next = src[i + 1];
          const esc: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'" };
          if (next === undefined || esc[next] === undefined) throw new PromQLError(`unsupported escape in string at position ${i}`);
          out += esc[next];
          i += 2;
          continue;
        }
        out += src[i];
        i++;
      }
      if (i >= src.length) throw new PromQLError(`unterminated string starting at position ${start}`);
      i++;
      toks.push({ kind: "str", text: out, pos: start });
      continue;
    }
    const num = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+|[iI][nN][fF]\b|[nN][aA][nN]\b/y;
    const dur = /(?:\d+(?:ms|s|m|h|d|w|y))+/y;
    dur.lastIndex = i;
    const d = /[\d]/.test(ch) ? dur.exec(src) : null;
    if (d && !/[\w.]/.test(src[dur.lastIndex] ?? "")) {
      toks.push({ kind: "dur", text: d[0], pos: i, value: parseDuration(d[0]) });
      i = dur.lastIndex;
      continue;
    }
    num.lastIndex = i;
    const n = /[\d.]/.test(ch) ? num.exec(src) : null;
    if (n) {
      toks.push({ kind: "num", text: n[0], pos: i, value: Number(n[0]) });
      i = num.lastIndex;
      continue;
    }
    const id = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
    id.lastIndex = i;
    const w = id.exec(src);
    if (w) {
      toks.push({ kind: "ident", text: w[0], pos: i });
      i = id.lastIndex;
      continue;
    }
    const op = ["=~", "!~", "!=", "==", ">=", "<=", "(", ")", "{", "}", "[", "]", ",", "=", "+", "-", "*", "/", "%", "^", ">", "<", "@", ":"].find((o) => src.startsWith(o, i));
    if (!op) throw new PromQLError(`unexpected character ${JSON.stringify(ch)} at position ${i}`);
    toks.push({ kind: "op", text: op, pos: i });
    i += op.length;
  }
  toks.push({ kind: "eof", text: "", pos: src.length });
  return toks;
}

class Parser {
  #toks: Tok[];
  #at = 0;
  constructor(toks: Tok[]) {
    this.#toks = toks;
  }

  get peek(): Tok {
    return this.#toks[this.#at]!;
  }
  next(): Tok {
    return this.#toks[this.#at++]!;
  }
  isOp(text: string): boolean {
    return this.peek.kind === "op" && this.peek.text === text;
  }
  isWord(word: string): boolean {
    return this.peek.kind === "ident" && this.peek.text.toLowerCase() === word;
  }
  expect(text: string): void {
    if (!this.isOp(text)) throw this.unexpected(`expected "${text}"`);
    this.#at++;
  }
  unexpected(what: string): PromQLError {
    const t = this.peek;
    return new PromQLError(`${what} at position ${t.pos}, found ${t.kind === "eof" ? "end of query" : JSON.stringify(t.text)}`);
  }

  parse(): Expr {
    const e = this.orExpr();
    if (this.peek.kind !== "eof") {
      const t = this.peek;
      if (t.kind === "ident" && ["and", "unless"].includes(t.text.toLowerCase())) throw new PromQLError(`unsupported: the "${t.text}" operator (position ${t.pos})`);
      if (t.kind === "ident" && t.text.toLowerCase() === "offset") throw new PromQLError(`unsupported: the offset modifier (position ${t.pos})`);
      if (t.kind === "op" && ["==", "!=", ">", "<", ">=", "<=", "^", "@"].includes(t.text)) throw new PromQLError(`unsupported: the "${t.text}" operator (position ${t.pos})`);
      throw this.unexpected("unexpected input");
    }
    return e;
  }

  orExpr(): Expr {
    let lhs = this.addExpr();
    while (this.isWord("or")) {
      this.next();
      this.noMatching();
      lhs = { type: "binary", op: "or", lhs, rhs: this.addExpr() };
    }
    return lhs;
  }

  addExpr(): Expr {
    let lhs = this.mulExpr();
    while (this.isOp("+") || this.isOp("-")) {
      const op = this.next().text as BinOp;
      this.noMatching();
      lhs = { type: "binary", op, lhs, rhs: this.mulExpr() };
    }
    return lhs;
  }

  mulExpr(): Expr {
    let lhs = this.unary();
    while (this.isOp("*") || this.isOp("/") || this.isOp("%")) {
      const op = this.next().text as BinOp;
      this.noMatching();
      lhs = { type: "binary", op, lhs, rhs: this.unary() };
    }
    return lhs;
  }

  /** `on(...)`, `ignoring(...)`, `bool` and group modifiers after an operator are not served. */
  noMatching(): void {
    for (const w of ["on", "ignoring", "bool", "group_left", "group_right"]) {
      if (this.isWord(w)) throw new PromQLError(`unsupported: "${this.peek.text}" vector matching (position ${this.peek.pos})`);
    }
  }

  unary(): Expr {
    if (this.isOp("-")) {
      this.next();
      const e = this.unary();
      return e.type === "number" ? { type: "number", value: -e.value } : { type: "neg", expr: e };
    }
    if (this.isOp("+")) {
      this.next();
      return this.unary();
    }
    return this.postfix(this.primary());
  }

  /** A range `[5m]` after a selector; a subquery, `offset` or `@` is refused. */
  postfix(e: Expr): Expr {
    if (this.isOp("[")) {
      const at = this.peek.pos;
      this.next();
      const d = this.next();
      if (d.kind !== "dur" || d.value === undefined || d.value <= 0) throw new PromQLError(`expected a duration like 5m in the range at position ${d.pos}${d.text.startsWith("$") || d.text === "" ? "" : ""}`);
      if (this.isOp(":") || this.peek.text.startsWith(":")) throw new PromQLError(`unsupported: subqueries (position ${at})`);
      this.expect("]");
      if (e.type !== "selector" || e.rangeSeconds !== undefined) throw new PromQLError(`a range [${d.text}] must follow a series selector (position ${at})`);
      e = { ...e, rangeSeconds: d.value };
    }
    if (this.isWord("offset")) throw new PromQLError(`unsupported: the offset modifier (position ${this.peek.pos})`);
    if (this.isOp("@")) throw new PromQLError(`unsupported: the @ modifier (position ${this.peek.pos})`);
    return e;
  }

  primary(): Expr {
    const t = this.peek;
    if (t.kind === "num") {
      this.next();
      return { type: "number", value: t.value! };
    }
    if (t.kind === "op" && t.text === "(") {
      this.next();
      const e = this.orExpr();
      this.expect(")");
      return e;
    }
    if (t.kind === "op" && t.text === "{") return this.selector(undefined);
    if (t.kind === "str") throw new PromQLError(`unsupported: string literals (position ${t.pos})`);
    if (t.kind === "ident") {
      const word = t.text.toLowerCase();
      if (AGG_OPS.has(word)) return this.aggregate();
      if (OTHER_AGGS.has(word)) throw new PromQLError(`unsupported aggregation "${t.text}" (position ${t.pos})`);
      const after = this.#toks[this.#at + 1]!;
      if (after.kind === "op" && after.text === "(") {
        if (!FUNCTIONS.has(t.text)) throw new PromQLError(`unsupported function "${t.text}" (position ${t.pos}); served: rate, increase, histogram_quantile`);
        return this.call();
      }
      this.next();
      return this.selector(t.text);
    }
    if (t.kind === "op" && t.text === "$") throw this.unexpected("a Grafana variable was not replaced");
    throw this.unexpected("expected an expression");
  }

  selector(name: string | undefined): Expr {
    const matchers: Matcher[] = name ? [{ name: "__name__", op: "=", value: name }] : [];
    if (this.isOp("{")) {
      this.next();
      while (!this.isOp("}")) {
        const l = this.next();
        if (l.kind !== "ident") throw new PromQLError(`expected a label name at position ${l.pos}`);
        const op = this.next();
        if (op.kind !== "op" || !["=", "!=", "=~", "!~"].includes(op.text)) throw new PromQLError(`expected one of = != =~ !~ after label ${l.text} at position ${op.pos}`);
        const v = this.next();
        if (v.kind !== "str") throw new PromQLError(`expected a quoted label value at position ${v.pos}`);
        matchers.push({ name: l.text, op: op.text as MatchOp, value: v.text });
        if (this.isOp(",")) this.next();
        else if (!this.isOp("}")) throw this.unexpected(`expected "," or "}"`);
      }
      this.next();
    }
    for (const m of matchers) if (m.op === "=~" || m.op === "!~") compileRegex(m.value);
    // As Prometheus: a selector that would match every series is refused.
    if (!matchers.some((m) => !matches(m, ""))) throw new PromQLError("vector selector must contain at least one non-empty matcher");
    return { type: "selector", matchers };
  }

  call(): Expr {
    const fn = this.next().text as "rate" | "increase" | "histogram_quantile";
    this.expect("(");
    const args: Expr[] = [];
    while (!this.isOp(")")) {
      args.push(this.orExpr());
      if (this.isOp(",")) this.next();
      else if (!this.isOp(")")) throw this.unexpected(`expected "," or ")"`);
    }
    this.next();
    const want = fn === "histogram_quantile" ? 2 : 1;
    if (args.length !== want) throw new PromQLError(`${fn}() takes ${want} argument${want > 1 ? "s" : ""}, got ${args.length}`);
    if (fn !== "histogram_quantile" && (args[0]!.type !== "selector" || args[0]!.rangeSeconds === undefined)) {
      throw new PromQLError(`${fn}() needs a range selector like metric[5m]`);
    }
    return { type: "call", fn, args };
  }

  grouping(): string[] {
    this.expect("(");
    const labels: string[] = [];
    while (!this.isOp(")")) {
      const l = this.next();
      if (l.kind !== "ident") throw new PromQLError(`expected a label name at position ${l.pos}`);
      labels.push(l.text);
      if (this.isOp(",")) this.next();
      else if (!this.isOp(")")) throw this.unexpected(`expected "," or ")"`);
    }
    this.next();
    return labels;
  }

  aggregate(): Expr {
    const op = this.next().text.toLowerCase() as AggOp;
    let by: string[] | undefined;
    let without: string[] | undefined;
    const mods = () => {
      if (this.isWord("by")) {
        this.next();
        by = this.grouping();
      } else if (this.isWord("without")) {
        this.next();
        without = this.grouping();
      }
    };
    mods();
    this.expect("(");
    let param: Expr | undefined;
    if (op === "topk" || op === "bottomk") {
      param = this.orExpr();
      this.expect(",");
    }
    const expr = this.orExpr();
    this.expect(")");
    if (by === undefined && without === undefined) mods();
    return { type: "aggregate", op, by, without, param, expr };
  }
}

const REGEXES = new Map<string, RegExp>();
/** Far above what Grafana sends (five escaped span names joined with |). */
const MAX_REGEX_LENGTH = 16_384;

/** A label regex as Prometheus anchors it; an invalid one is a PromQLError. */
export function compileRegex(source: string): RegExp {
  const cached = REGEXES.get(source);
  if (cached) return cached;
  // Prometheus' regexes are RE2: no backreferences or lookaround, which here could also backtrack without bound.
  if (/(?:^|[^\\])(?:\\\\)*\\(?:[1-9]|k<)|\(\?<?[=!]/.test(source)) throw new PromQLError(`unsupported regular expression ${JSON.stringify(source)}: backreferences and lookaround are not RE2`);
  if (source.length > MAX_REGEX_LENGTH) throw new PromQLError(`regular expression longer than ${MAX_REGEX_LENGTH} characters`);
  try {
    const re = new RegExp(`^(?:${source})$`, "s");
    if (REGEXES.size > 1000) REGEXES.clear();
    REGEXES.set(source, re);
    return re;
  } catch {
    throw new PromQLError(`invalid regular expression ${JSON.stringify(source)}`);
  }
}

/** Whether a label's value (the empty string when the series lacks it) satisfies the matcher. */
export function matches(m: Matcher, value: string): boolean {
  switch (m.op) {
    case "=":
      return value === m.value;
    case "!=":
      return value !== m.value;
    case "=~":
      return compileRegex(m.value).test(value);
    case "!~":
      return !compileRegex(m.value).test(value);
  }
}

export function parsePromQL(src: string): Expr {
  if (/\$\{?\w/.test(src.replace(/"(?:[^"\\]|\\.)*"/g, ""))) {
    throw new PromQLError("the query still holds a Grafana variable ($...): it was not interpolated");
  }
  return new Parser(lex(src)).parse();
}
