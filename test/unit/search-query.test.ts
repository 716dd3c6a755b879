/**
 * The search page's query building (dashboard/src/search/query.ts, pure) against the real TraceQL
 * parser: whatever a user types into the fields, hostile quoting included, becomes a query that
 * parses and says exactly what was typed; and the page URL round-trips.
 */
import { describe, expect, it } from "vitest";
import { buildTraceQL, defaultQuery, fromParams, toParams, type SearchQuery } from "../../dashboard/src/search/query.ts";
import { parseTraceQL } from "../../shared/traceql/parser.ts";

const query = (over: Partial<SearchQuery>): SearchQuery => ({ ...defaultQuery(), ...over });

describe("search page query building", () => {
  it("builds one spanset for service, operation, tags and durations, and an error spanset", () => {
    const q = query({ service: "checkout", operation: "POST /orders", tags: [{ key: "http.status_code", value: "500" }], minDuration: "100ms", errorsOnly: true });
    expect(buildTraceQL(q, new Map([["http.status_code", new Set(["int"])]]))).toBe('{ resource.service.name = "checkout" && name = "POST /orders" && .http.status_code = 500 && duration >= 100ms } && { status = error }');
    expect(buildTraceQL(defaultQuery())).toBe("{ }");
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

  it("round-trips through the page URL", () => {
    const q = query({ service: "a&b=c", operation: "GET /x?y", tags: [{ key: "k", value: "v=w" }], maxDuration: "2s", errorsOnly: true, range: "24h", limit: 50 });
    expect(fromParams(new URLSearchParams(toParams(q).toString()))).toEqual(q);
    const t = query({ mode: "traceql", traceql: '{ .a = "b" } >> { status = error }', range: "7d" });
    expect(fromParams(new URLSearchParams(toParams(t).toString()))).toEqual(t);
  });
});
