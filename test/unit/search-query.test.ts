/**
 * The search page's query building (dashboard/src/search/query.ts, pure) against the real TraceQL
 * parser: whatever a user types into the fields, hostile quoting included, becomes a query that
 * parses and says exactly what was typed; and the page URL round-trips.
 */
import { describe, expect, it } from "vitest";
import { buildTraceQL, defaultQuery, fromParams, searchOrder, suggestions, toParams, type SearchQuery } from "../../dashboard/src/search/query.ts";
import { parseTraceQL } from "../../shared/traceql/parser.ts";

const query = (over: Partial<SearchQuery>): SearchQuery => ({ ...defaultQuery(), ...over });

describe("search page query building", () => {
  it("builds one spanset for service, operation, tags and durations, and an error spanset", () => {
    const q = query({ service: "checkout", operation: "POST /orders", tags: [{ key: "http.status_code", value: "500" }], minDuration: "100ms", errorsOnly: true });
    expect(buildTraceQL(q, new Map([["http.status_code", new Set(["int"])]]))).toBe('{ resource.service.name = "checkout" && name = "POST /orders" && (.http.status_code = 500 || .http.status_code = "500") && duration >= 100ms } && { status = error }');
    expect(buildTraceQL(defaultQuery())).toBe("{ }");
  });

  it("a value that reads as a number or boolean matches it and the string, unless the tag holds only strings", () => {
    const q = (value: string) => query({ tags: [{ key: "k", value }] });
    const both = '{ (.k = 500 || .k = "500") }';
    // Known as an int, as int and string, or not known yet: both.
    expect(buildTraceQL(q("500"), new Map([["k", new Set(["int"])]]))).toBe(both);
    expect(buildTraceQL(q("500"), new Map([["k", new Set(["int", "string"])]]))).toBe(both);
    expect(buildTraceQL(q("500"))).toBe(both);
    expect(buildTraceQL(q("-1.5"))).toBe('{ (.k = -1.5 || .k = "-1.5") }');
    expect(buildTraceQL(q("true"))).toBe('{ (.k = true || .k = "true") }');
    expect(buildTraceQL(q("500"), new Map([["k", new Set(["string"])]]))).toBe('{ .k = "500" }');
    expect(buildTraceQL(q("5xx"))).toBe('{ .k = "5xx" }');
    for (const v of ["500", "-1.5", "true"]) expect(() => parseTraceQL(buildTraceQL(q(v)))).not.toThrow();
  });

  it("suggests a value once, with its types when it is not only a string", () => {
    const values = [
      { type: "int", value: "500" },
      { type: "string", value: "500" },
      { type: "string", value: "ok" },
      { type: "int", value: "200" },
    ];
    expect(suggestions(values)).toEqual([{ value: "500", label: "500 (int or string)" }, { value: "ok" }, { value: "200", label: "200 (int)" }]);
  });

  it("quotes hostile values and keys so they parse as the literal text typed", () => {
    const hostile = ['" } || { true', "back\\slash", 'x" && name = "y', "new\nline\ttab", "<img src=x onerror=alert(1)>"];
    for (const value of hostile) {
      const q = query({ service: value, tags: [{ key: 'weird "key" }', value }] });
      const ast = parseTraceQL(buildTraceQL(q));
      // The exact strings survive as single literals: a break-out would have split them.
      expect(JSON.stringify(ast)).toContain(JSON.stringify(value));
      expect(JSON.stringify(ast)).toContain(JSON.stringify('weird "key" }'));
    }
  });

  it("asks the server for the slowest or most failing of the window only when sorted that way down", () => {
    expect(searchOrder({ key: "duration", desc: true })).toBe("duration");
    expect(searchOrder({ key: "errors", desc: true })).toBe("errors");
    expect(searchOrder({ key: "duration", desc: false })).toBe("start");
    expect(searchOrder({ key: "spans", desc: true })).toBe("start");
    expect(searchOrder({ key: "start", desc: true })).toBe("start");
    const q = query({ sort: { key: "errors", desc: true } });
    expect(fromParams(new URLSearchParams(toParams(q).toString()))).toEqual(q);
  });

  it("round-trips through the page URL", () => {
    const q = query({ service: "a&b=c", operation: "GET /x?y", tags: [{ key: "k", value: "v=w" }], maxDuration: "2s", errorsOnly: true, range: "24h", limit: 50 });
    expect(fromParams(new URLSearchParams(toParams(q).toString()))).toEqual(q);
    const t = query({ mode: "traceql", traceql: '{ .a = "b" } >> { status = error }', range: "7d" });
    expect(fromParams(new URLSearchParams(toParams(t).toString()))).toEqual(t);
  });
});
