/**
 * What `indexConditionOf` makes of string comparisons: `=~`, `!~` and `!=` with a string on an
 * attribute the index holds become a `stringMatch` whose test is the evaluator's regex
 * (`compileRegex`); other scopes and forms need what they needed before. Soundness over random
 * traces and queries is shared/search/index-soundness.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { IndexCondition } from "../block/attribute-index.ts";
import { indexConditionOf } from "./index-conditions.ts";
import { parseTraceQL } from "./parser.ts";

const conditionOf = (q: string): IndexCondition => indexConditionOf(parseTraceQL(q));

/** The condition with each string test replaced by what it answers for `probes`. */
function shape(c: IndexCondition, probes: string[]): unknown {
  switch (c.kind) {
    case "stringMatch":
      return { kind: c.kind, name: c.name, label: c.label, answers: probes.map((p) => c.test(p)) };
    case "and":
    case "or":
      return { kind: c.kind, of: c.of.map((x) => shape(x, probes)) };
    case "parent":
      return { kind: c.kind, of: shape(c.of, probes) };
    default:
      return c;
  }
}

describe("string comparisons as index conditions", () => {
  const probes = ["/cart", "/CART", "/cart/1", "x/cart", "", "line\nbreak"];

  it("tests a regex anchored and with RE2's leading flags, as eval.ts matches", () => {
    const cases: [string, boolean[]][] = [
      ['{ span.http.route =~ "/cart" }', [true, false, false, false, false, false]],
      ['{ span.http.route =~ "/cart.*" }', [true, false, true, false, false, false]],
      ['{ span.http.route =~ "(?i)/cart" }', [true, true, false, false, false, false]],
      ['{ span.http.route =~ ".*" }', [true, true, true, true, true, false]],
      ['{ span.http.route =~ "(?s).*" }', [true, true, true, true, true, true]],
      ['{ span.http.route =~ "/cart|x/cart" }', [true, false, false, true, false, false]],
      ['{ span.http.route !~ "/cart.*" }', [false, true, false, true, true, true]],
      ['{ span.http.route != "/cart" }', [false, true, true, true, true, true]],
    ];
    for (const [q, answers] of cases) expect(shape(conditionOf(q), probes), q).toMatchObject({ kind: "stringMatch", name: "http.route", answers });
  });

  it("takes every scope form the index holds, and a literal on the left of !=", () => {
    for (const q of ['{ .a =~ "x" }', '{ span.a =~ "x" }', '{ resource.a =~ "x" }', '{ event.a =~ "x" }', '{ "x" != .a }', '{ span.a != "x" }']) {
      expect(conditionOf(q), q).toMatchObject({ kind: "stringMatch", name: "a" });
    }
    for (const q of ['{ parent.a =~ "x" }', '{ link.a =~ "x" }', '{ instrumentation.a =~ "x" }', '{ name =~ "x" }', '{ .a =~ .b }']) {
      expect(conditionOf(q).kind, q).not.toBe("stringMatch");
    }
  });

  it("combines with the other conditions as equality does", () => {
    expect(shape(conditionOf('{ .a =~ "x" && .b = "y" }'), ["x"])).toEqual({ kind: "and", of: [{ kind: "stringMatch", name: "a", label: '=~ "x"', answers: [true] }, { kind: "pair", name: "b", value: "y" }] });
    expect(shape(conditionOf('{ .a =~ "x" || .b !~ "y" }'), ["x"])).toEqual({ kind: "or", of: [{ kind: "stringMatch", name: "a", label: '=~ "x"', answers: [true] }, { kind: "stringMatch", name: "b", label: '!~ "y"', answers: [true] }] });
    expect(shape(conditionOf('{ .a =~ "x" } >> { }'), ["x"])).toEqual({ kind: "parent", of: { kind: "stringMatch", name: "a", label: '=~ "x"', answers: [true] } });
    // Negation and != nil need nothing of the lists.
    expect(conditionOf('{ !(.a =~ "x") }')).toEqual({ kind: "all" });
    expect(conditionOf("{ .a != nil }")).toEqual({ kind: "attr", name: "a" });
    expect(conditionOf("{ .a != 3 }")).toEqual({ kind: "attr", name: "a" });
  });
});
