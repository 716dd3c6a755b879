/**
 * @module
 * TraceQL lexer: one token table, every token carries its position. Attribute references
 * (`span.x`, `resource."a b"`, `.x`) are single tokens, because TraceQL attribute names contain
 * dots and dashes that would otherwise read as operators.
 */

export interface Position {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  /** 0-based offset into the query string. */
  offset: number;
}

/** A query the engine cannot run: a syntax error, or a construct it does not support. */
export class TraceQLError extends Error {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  /** Set when the query is valid TraceQL but uses a construct this engine does not support. */
  readonly unsupported: string | undefined;
  /**
   * The message reads `<what> at <line>:<column>[, expected <expected>]`, e.g.
   * `unexpected "}" at 1:14, expected a value`.
   */
  constructor(message: string, pos: Position, detail: { expected?: string; unsupported?: string } = {}) {
    super(`${message} at ${pos.line}:${pos.column}${detail.expected ? `, expected ${detail.expected}` : ""}`);
    this.name = "TraceQLError";
    this.line = pos.line;
    this.column = pos.column;
    this.offset = pos.offset;
    this.unsupported = detail.unsupported;
  }
}

export type TokenKind =
  | "op" // operators and punctuation, from OPERATORS
  | "ident" // keywords, intrinsics (`name`, `trace:rootService`), function names
  | "attr" // `span.x`, `resource.x`, `.x` (and scopes this engine rejects later)
  | "string"
  | "int"
  | "float"
  | "duration"
  | "eof";

export interface Token {
  kind: TokenKind;
  /** The source text of the token. */
  text: string;
  pos: Position;
  /** `attr`: the scope ("" for unscoped) and the attribute name (unquoted). */
  scope?: string;
  name?: string;
  /** `string`: the unescaped value; `int`/`float`: the number; `duration`: nanoseconds. */
  value?: string | number;
}

/** The one token table: every operator and punctuation mark, longest first when scanned. */
export const OPERATORS = [
  "!>>", "!<<", "&>>", "&<<",
  "&&", "||", "=~", "!~", "!=", ">=", "<=", ">>", "<<", "!>", "!<", "&>", "&<", "&~",
  "{", "}", "(", ")", ",", "|", "=", ">", "<", "~", "!", "+", "-", "*", "/", "%", "^",
] as const;
export type Operator = (typeof OPERATORS)[number];

const BY_LENGTH = [...OPERATORS].sort((a, b) => b.length - a.length);

/** Scopes written `scope.name`. Only span/resource/unscoped are evaluated; the rest are rejected by the parser. */
const SCOPES = ["span", "resource", "event", "link", "instrumentation", "parent"];

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
/** Characters that end an unquoted attribute name. */
const ATTR_END = /[\s{}()=!<>&|~,"`+*/%^]/;

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const posAt = (offset: number): Position => ({ line, column: offset - lineStart + 1, offset });

  const readQuoted = (start: number): { value: string; end: number } => {
    const quote = src[start];
    let value = "";
    let j = start + 1;
    while (j < src.length && src[j] !== quote) {
      const c = src[j] as string;
      if (c === "\\" && quote === '"') {
        const n = src[j + 1];
        const esc: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"' };
        if (n !== undefined && n in esc) {
          value += esc[n];
          j += 2;
          continue;
        }
        throw new TraceQLError(`invalid escape "\\${n ?? ""}" in string`, posAt(j));
      }
      if (c === "\n") throw new TraceQLError("unterminated string", posAt(start));
      value += c;
      j++;
    }
    if (j >= src.length) throw new TraceQLError("unterminated string", posAt(start));
    return { value, end: j + 1 };
  };

  const readAttrName = (start: number): { name: string; end: number } => {
    if (src[start] === '"') {
      const q = readQuoted(start);
      return { name: q.value, end: q.end };
    }
    let j = start;
    while (j < src.length && !ATTR_END.test(src[j] as string)) j++;
    if (j === start) throw new TraceQLError("expected an attribute name", posAt(start));
    return { name: src.slice(start, j), end: j };
  };

  while (i < src.length) {
    const c = src[i] as string;
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = posAt(i);
    if (c === '"' || c === "`") {
      const q = readQuoted(i);
      tokens.push({ kind: "string", text: src.slice(i, q.end), pos, value: q.value });
      i = q.end;
      continue;
    }
    if (DIGIT.test(c)) {
      let j = i;
      while (j < src.length && DIGIT.test(src[j] as string)) j++;
      let isFloat = false;
      if (src[j] === "." && DIGIT.test(src[j + 1] ?? "")) {
        isFloat = true;
        j++;
        while (j < src.length && DIGIT.test(src[j] as string)) j++;
      }
      if ((src[j] === "e" || src[j] === "E") && /[0-9+-]/.test(src[j + 1] ?? "")) {
        isFloat = true;
        j += 2;
        while (j < src.length && DIGIT.test(src[j] as string)) j++;
      }
      const num = Number(src.slice(i, j));
      // A duration: one or more number+unit pairs, like Go's time.ParseDuration (`1h30m`).
      const unit = /^(ns|us|µs|ms|s|m|h)(?![A-Za-z_])/.exec(src.slice(j)) ?? /^(ns|us|µs|ms|s|m|h)(?=[0-9])/.exec(src.slice(j));
      if (unit) {
        let nanos = num * (DURATION_UNITS[unit[1] as string] as number);
        j += (unit[1] as string).length;
        for (;;) {
          const more = /^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/.exec(src.slice(j));
          if (!more) break;
          nanos += Number(more[1]) * (DURATION_UNITS[more[2] as string] as number);
          j += more[0].length;
        }
        tokens.push({ kind: "duration", text: src.slice(i, j), pos, value: Math.round(nanos) });
      } else {
        if (IDENT_START.test(src[j] ?? "")) throw new TraceQLError(`invalid number "${src.slice(i, j + 1)}"`, pos);
        tokens.push({ kind: isFloat ? "float" : "int", text: src.slice(i, j), pos, value: num });
      }
      i = j;
      continue;
    }
    if (c === ".") {
      const a = readAttrName(i + 1);
      tokens.push({ kind: "attr", text: src.slice(i, a.end), pos, scope: "", name: a.name });
      i = a.end;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i;
      while (j < src.length && IDENT_CHAR.test(src[j] as string)) j++;
      const word = src.slice(i, j);
      if (src[j] === "." && SCOPES.includes(word)) {
        const a = readAttrName(j + 1);
        tokens.push({ kind: "attr", text: src.slice(i, a.end), pos, scope: word, name: a.name });
        i = a.end;
        continue;
      }
      // Scoped intrinsics: `trace:rootService`, `span:id`, `event:name`.
      if (src[j] === ":" && IDENT_START.test(src[j + 1] ?? "")) {
        j++;
        while (j < src.length && IDENT_CHAR.test(src[j] as string)) j++;
      }
      tokens.push({ kind: "ident", text: src.slice(i, j), pos });
      i = j;
      continue;
    }
    const op = BY_LENGTH.find((o) => src.startsWith(o, i));
    if (op === undefined) throw new TraceQLError(`unexpected character "${c}"`, pos);
    tokens.push({ kind: "op", text: op, pos });
    i += op.length;
  }
  tokens.push({ kind: "eof", text: "", pos: posAt(i) });
  return tokens;
}
