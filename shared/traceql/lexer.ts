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

/** Scopes written `scope.name`; `parent.` may be followed by `span.` or `resource.` (scope "parent.span"). */
const SCOPES = ["span", "resource", "event", "link", "instrumentation", "parent"];

const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
/** Characters that end an unquoted attribute name, as in Tempo: `+`, `-`, `/`, `:`, `*`, `%` do not. */
const ATTR_END = /[\s{}()=~!<>&|^,]/;
/** Characters Tempo reads after a number to try it as a duration (digits, `.` and unit letters). */
const DURATION_RUN = /^[0-9.nsumhµdwy]+/;

/** Go's time.ParseDuration units (fractions allowed). */
const GO_UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const DAY = 86_400e9;
/** Prometheus duration units (whole numbers, largest first, each once). */
const PROM_UNITS: [string, number][] = [["y", 365 * DAY], ["w", 7 * DAY], ["d", DAY], ["h", 3600e9], ["m", 60e9], ["s", 1e9], ["ms", 1e6]];

/**
 * A duration as Tempo reads one: Prometheus's form (`1d`, `2w`, `1y2d`) first, then Go's
 * (`1.5s`, `1h30m`, `250us`). Undefined when neither reads the whole text.
 */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const prom = /^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/.exec(text);
  if (prom && text !== "") {
    let nanos = 0;
    PROM_UNITS.forEach(([, size], k) => {
      if (prom[k + 1] !== undefined) nanos += Number(prom[k + 1]) * size;
    });
    return nanos;
  }
  const part = /^([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)/;
  let rest = text;
  let nanos = 0;
  if (rest === "") return undefined;
  while (rest !== "") {
    const m = part.exec(rest);
    if (!m || !/[0-9]/.test(m[1] as string)) return undefined;
    nanos += Number(m[1]) * (GO_UNITS[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return Math.round(nanos);
}

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
        const esc: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", "\\": "\\", '"': '"' };
        if (n !== undefined && n in esc) {
          value += esc[n];
          j += 2;
          continue;
        }
        // \xHH, \uHHHH, \UHHHHHHHH as in Go.
        const hex = n === "x" ? 2 : n === "u" ? 4 : n === "U" ? 8 : 0;
        const digits = src.slice(j + 2, j + 2 + hex);
        if (hex && /^[0-9a-fA-F]+$/.test(digits) && digits.length === hex) {
          value += String.fromCodePoint(Number.parseInt(digits, 16));
          j += 2 + hex;
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

  /** A quoted part of an attribute name: only `\\` and `\"` escape, as in Tempo. */
  const readQuotedAttr = (start: number): { value: string; end: number } => {
    let value = "";
    let j = start + 1;
    while (j < src.length && src[j] !== '"') {
      if (src[j] === "\\") {
        const n = src[j + 1];
        if (n !== "\\" && n !== '"') throw new TraceQLError("invalid escape sequence in attribute name", posAt(j));
        value += n;
        j += 2;
        continue;
      }
      value += src[j];
      j++;
    }
    if (j >= src.length) throw new TraceQLError("unterminated attribute name", posAt(start));
    return { value, end: j + 1 };
  };

  /** Unquoted runs and quoted parts, in any mix: `.foo."bar baz".qux` is `foo.bar baz.qux`. */
  const readAttrName = (start: number): { name: string; end: number } => {
    let name = "";
    let j = start;
    for (;;) {
      const c = src[j];
      if (c === undefined) break;
      if (c === '"') {
        const q = readQuotedAttr(j);
        name += q.value;
        j = q.end;
      } else if (!ATTR_END.test(c)) {
        name += c;
        j++;
      } else break;
    }
    if (j === start) throw new TraceQLError("expected an attribute name", posAt(start));
    return { name, end: j };
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
    // Numbers as Go's scanner reads them: `1`, `1.5`, `.5`, `1.`, `1e3`; then Tempo's duration test.
    if (DIGIT.test(c) || (c === "." && DIGIT.test(src[i + 1] ?? ""))) {
      let j = i;
      while (j < src.length && DIGIT.test(src[j] as string)) j++;
      let isFloat = false;
      if (src[j] === ".") {
        isFloat = true;
        j++;
        while (j < src.length && DIGIT.test(src[j] as string)) j++;
      }
      if ((src[j] === "e" || src[j] === "E") && /^[+-]?[0-9]/.test(src.slice(j + 1, j + 3))) {
        isFloat = true;
        j += /[+-]/.test(src[j + 1] as string) ? 2 : 1;
        while (j < src.length && DIGIT.test(src[j] as string)) j++;
      }
      const numText = src.slice(i, j);
      const run = DURATION_RUN.exec(src.slice(j));
      const nanos = run ? parseDuration(numText + run[0]) : undefined;
      if (run && nanos !== undefined) {
        j += run[0].length;
        tokens.push({ kind: "duration", text: src.slice(i, j), pos, value: nanos });
      } else {
        if (IDENT_START.test(src[j] ?? "")) throw new TraceQLError(`invalid number "${src.slice(i, j + 1)}"`, pos);
        tokens.push({ kind: isFloat ? "float" : "int", text: numText, pos, value: Number(numText) });
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
        const inner = word === "parent" ? ["span.", "resource."].find((x) => src.startsWith(x, j + 1)) : undefined;
        if (inner) {
          const a = readAttrName(j + 1 + inner.length);
          tokens.push({ kind: "attr", text: src.slice(i, a.end), pos, scope: `parent.${inner.slice(0, -1)}`, name: a.name });
          i = a.end;
          continue;
        }
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
