import { describe, expect, it } from "vitest";
import { parseFails, unsupported, valid } from "../../test/support/traceql-examples.ts";
import { TraceQLError, compileTraceQL, parseTraceQL, stringify, tokenize } from "./index.ts";

/** The tree without positions, for comparing parses. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "pos").map(([k, x]) => [k, shape(x)]));
  }
  return v;
}

const p = (q: string) => shape(parseTraceQL(q));

/** What compiling `q` throws, which must be a TraceQLError. */
function compileError(q: string): TraceQLError {
  let err: unknown;
  try {
    compileTraceQL(q);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TraceQLError);
  return err as TraceQLError;
}

describe("TraceQL parser", () => {
  it.each(valid)("parses, compiles and round-trips %s", (q) => {
    const ast = parseTraceQL(q);
    expect(() => compileTraceQL(q)).not.toThrow();
    const printed = stringify(ast);
    expect(shape(parseTraceQL(printed))).toEqual(shape(ast));
    expect(stringify(parseTraceQL(printed))).toBe(printed);
  });

  it.each(parseFails)("rejects %j", (q, message) => {
    const err = compileError(q);
    expect(err.message).toContain(message);
    expect(err.unsupported).toBeUndefined();
  });

  it.each(unsupported)("names the unsupported construct in %j", (q, construct) => {
    const err = compileError(q);
    expect(err.message).toContain(construct);
    expect(err.unsupported).toBe(construct);
  });

  it("reports line, column and offset", () => {
    try {
      parseTraceQL("{ span.x = 1 }\n  && { span.y = }");
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ line: 2, column: 17, offset: 31 });
    }
    expect(() => parseTraceQL("{ } | rate()")).toThrow(expect.objectContaining({ unsupported: "metrics function rate()", column: 7 }));
  });

  it("refuses nesting past 100 levels with a TraceQLError, not a stack overflow", () => {
    for (const q of ["(".repeat(5000) + "{ }", "{ " + "!".repeat(5000) + "true }", "{ .a" + " ^ 2".repeat(5000) + " > 1 }", "(".repeat(5000) + "count() > 1", "{ " + "(".repeat(5000) + ".a }"]) {
      expect(compileError(q).message).toContain("query nested deeper than 100 levels");
    }
    expect(() => parseTraceQL("(".repeat(40) + "{ .a }" + ")".repeat(40) + " | " + "(".repeat(40) + "count()" + ")".repeat(40) + " > 1")).not.toThrow();
  });

  it("reads a pipeline that starts with a stage as one over an implicit { }", () => {
    expect(parseTraceQL("count() > 2 | { .a }")).toMatchObject({ kind: "pipeline", source: { kind: "selector", cond: undefined, implicit: true }, stages: [{ kind: "aggregate", fn: "count" }, { kind: "filter" }] });
    expect(stringify(parseTraceQL("select(.a, .b)"))).toBe("select(.a, .b)");
    expect(p("({ .a } | count()) > 1")).toMatchObject({ kind: "pipeline", stages: [{ kind: "scalarFilter", op: ">", left: { kind: "scalarPipeline", fn: "count", pipeline: { kind: "selector" } }, right: { kind: "literal" } }] });
    expect(p("{ } | count() + 1 * 2 > 3")).toEqual(p("{ } | count() + (1 * 2) > 3"));
    expect(p("{ } | 2 ^ 3 ^ 2 = count()")).toEqual(p("{ } | 2 ^ (3 ^ 2) = count()"));
    expect(parseTraceQL("{ } with(sample=0.1, most_recent=true, mode=\"x\", window=5m)").hints).toEqual([
      { name: "sample", value: 0.1 }, { name: "most_recent", value: true }, { name: "mode", value: "x" }, { name: "window", value: "5m" },
    ]);
  });

  it("puts && and || on one level, left to right, as Tempo does", () => {
    expect(p("{ .a = 1 || .b = 2 && .c = 3 }")).toEqual(p("{ (.a = 1 || .b = 2) && .c = 3 }"));
    expect(p("{ .a = 1 && .b = 2 || .c = 3 }")).toEqual(p("{ (.a = 1 && .b = 2) || .c = 3 }"));
    expect(p("{ .a = 1 || .b = 2 || .c = 3 }")).toEqual(p("{ (.a = 1 || .b = 2) || .c = 3 }"));
  });

  it("binds unary operators as Tempo does: tighter than comparisons and + -, looser than * / % ^", () => {
    expect(p("{ !.a = true }")).toEqual(p("{ (!.a) = true }"));
    expect(p("{ !.a && .b }")).toEqual(p("{ (!.a) && .b }"));
    expect(p("{ -.a + 1 = 2 }")).toEqual(p("{ (-.a) + 1 = 2 }"));
    expect(p("{ -.a * 2 = 2 }")).toEqual(p("{ -(.a * 2) = 2 }"));
    expect(p("{ .a + .b * .c ^ 2 ^ 3 = 1 }")).toEqual(p("{ .a + (.b * (.c ^ (2 ^ 3))) = 1 }"));
    expect(p("{ .a - .b - .c = 1 }")).toEqual(p("{ (.a - .b) - .c = 1 }"));
    expect(p("{ -2 = .a }")).toMatchObject({ cond: { left: { kind: "literal", value: { type: "int", value: -2 } } } });
  });

  it("orders spanset operators: structural > && = || > |", () => {
    expect(p("{ } && { } > { }")).toEqual(p("{ } && ({ } > { })"));
    expect(p("{ } > { } || { } && { }")).toEqual(p("(({ } > { }) || { }) && { }"));
    expect(p("{ } > { } >> { }")).toEqual(p("({ } > { }) >> { }"));
    expect(p("{ } ~ { } < { }")).toEqual(p("({ } ~ { }) < { }"));
    expect(p("{ } !> { } &>> { } || { }")).toEqual(p("(({ } !> { }) &>> { }) || { }"));
    expect(p("{ } && { } | count() > 1")).toEqual(p("({ } && { }) | count() > 1"));
    const q = parseTraceQL("{ .a = 1 } > { .b = 2 } && { .c = 3 }");
    expect(q).toMatchObject({ kind: "spansetOp", op: "&&", left: { kind: "spansetOp", op: ">" } });
  });

  it("reads literals and attribute names", () => {
    expect(p("{ duration > 1.5s }")).toMatchObject({ cond: { right: { value: { type: "duration", value: 1_500_000_000 } } } });
    expect(p("{ duration > 1h30m }")).toMatchObject({ cond: { right: { value: { type: "duration", value: 5_400_000_000_000 } } } });
    expect(p("{ duration > 100us }")).toMatchObject({ cond: { right: { value: { value: 100_000 } } } });
    expect(p('{ span."a b.c" = nil }')).toMatchObject({ cond: { left: { kind: "attribute", scope: "span", name: "a b.c" }, right: { value: { type: "nil" } } } });
    expect(p("{ .http.x-forwarded-for != nil }")).toMatchObject({ cond: { left: { scope: "", name: "http.x-forwarded-for" } } });
    expect(p("{ rootServiceName = \"a\" }")).toEqual(p('{ trace:rootService = "a" }'));
    expect(p("{ status = error }")).toMatchObject({ cond: { left: { kind: "intrinsic", name: "status" }, right: { value: { type: "status", value: 2 } } } });
    expect(p("{ kind = consumer }")).toMatchObject({ cond: { right: { value: { type: "kind", value: 5 } } } });
    expect(stringify(parseTraceQL("{ duration > 1500ms }"))).toBe("{ duration > 1500ms }");
  });

  it("tokenizes with positions", () => {
    const t = tokenize('{ span.x >= "y" }\n| count()');
    expect(t.map((x) => [x.kind, x.text, x.pos.line, x.pos.column])).toEqual([
      ["op", "{", 1, 1], ["attr", "span.x", 1, 3], ["op", ">=", 1, 10], ["string", '"y"', 1, 13], ["op", "}", 1, 17],
      ["op", "|", 2, 1], ["ident", "count", 2, 3], ["op", "(", 2, 8], ["op", ")", 2, 9], ["eof", "", 2, 10],
    ]);
  });
});
