import { describe, expect, it } from "vitest";
import { parseLogfmt, tagsMatcher } from "../search/tags-matcher.ts";
import { DEFAULT_LIMIT, JaegerSearchError, MAX_LIMIT, parseJaegerSearch } from "./search-params.ts";

const NOW = 1_700_000_000_000;

describe("parseJaegerSearch", () => {
  it("maps service, operation and tags to legacy tags, quoting what needs it", () => {
    const s = parseJaegerSearch({ service: "cart", operation: "GET /cart", tags: JSON.stringify({ "http.status_code": 500, note: 'say "hi"\n', "service.name": "other" }) }, NOW);
    expect(parseLogfmt(s.tags.tags!)).toEqual([
      ["http.status_code", "500"],
      ["note", 'say "hi"\n'],
      ["service.name", "cart"],
      ["name", "GET /cart"],
    ]);
    expect(() => tagsMatcher(s.tags)).not.toThrow();
  });

  it("defaults to the last hour and limit 100", () => {
    expect(parseJaegerSearch({ service: "a" }, NOW)).toEqual({ tags: { tags: "service.name=a" }, startMs: NOW - 3_600_000, endMs: NOW, limit: DEFAULT_LIMIT });
    expect(parseJaegerSearch({ service: "a", lookback: "2h" }, NOW).startMs).toBe(NOW - 7_200_000);
    expect(parseJaegerSearch({ service: "a", lookback: "custom", start: "1000000", end: "2000500" }, NOW)).toMatchObject({ startMs: 1000, endMs: 2001 });
    expect(parseJaegerSearch({ service: "a", limit: "20" }, NOW).limit).toBe(20);
    expect(parseJaegerSearch({ service: "a", limit: "0" }, NOW).limit).toBe(DEFAULT_LIMIT);
    expect(parseJaegerSearch({ service: "a", limit: "100000" }, NOW).limit).toBe(MAX_LIMIT);
    expect(parseJaegerSearch({ service: "a", minDuration: "1.2s", maxDuration: "" }, NOW).tags).toEqual({ tags: "service.name=a", minDuration: "1.2s" });
  });

  it("refuses bad parameters", () => {
    for (const q of [{}, { service: "" }, { service: "a", tags: "[1]" }, { service: "a", tags: "{" }, { service: "a", tags: '{"a":{}}' }, { service: "a", tags: '{"a b":"x"}' }, { service: "a", start: "x" }, { service: "a", start: "5000", end: "1000" }, { service: "a", limit: "-1" }, { service: "a", lookback: "soon" }]) {
      expect(() => parseJaegerSearch(q, NOW), JSON.stringify(q)).toThrow(JaegerSearchError);
    }
  });
});
