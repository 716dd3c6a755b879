import { describe, expect, it } from "vitest";
import { ParamError } from "../http/params.ts";
import { DEFAULT_LIMIT, MAX_LIMIT, parseJaegerSearch } from "./search-params.ts";

const NOW = 1_700_000_000_000;

describe("parseJaegerSearch", () => {
  it("reads service, operation and tags; service says service.name", () => {
    const s = parseJaegerSearch({ service: "cart", operation: "GET /cart", tags: JSON.stringify({ "http.status_code": 500, note: 'say "hi"\n', "service.name": "other", "a b": true }) }, NOW);
    expect(s.query).toEqual({
      service: "cart",
      operation: "GET /cart",
      tags: [
        ["http.status_code", "500"],
        ["note", 'say "hi"\n'],
        ["a b", "true"],
      ],
    });
  });

  it("defaults to the last hour and limit 100", () => {
    expect(parseJaegerSearch({ service: "a" }, NOW)).toEqual({ query: { service: "a", tags: [] }, startMs: NOW - 3_600_000, endMs: NOW, limit: DEFAULT_LIMIT });
    expect(parseJaegerSearch({ service: "a", lookback: "2h" }, NOW).startMs).toBe(NOW - 7_200_000);
    expect(parseJaegerSearch({ service: "a", lookback: "custom", start: "1000000", end: "2000500" }, NOW)).toMatchObject({ startMs: 1000, endMs: 2001 });
    expect(parseJaegerSearch({ service: "a", limit: "20" }, NOW).limit).toBe(20);
    expect(parseJaegerSearch({ service: "a", limit: "0" }, NOW).limit).toBe(DEFAULT_LIMIT);
    expect(parseJaegerSearch({ service: "a", limit: "100000" }, NOW).limit).toBe(MAX_LIMIT);
  });

  it("reads durations as nanoseconds", () => {
    expect(parseJaegerSearch({ service: "a", minDuration: "1.2s", maxDuration: "" }, NOW).query).toEqual({ service: "a", tags: [], minDurationNanos: 1_200_000_000n });
    expect(parseJaegerSearch({ service: "a", minDuration: "1ms", maxDuration: "1ms" }, NOW).query).toMatchObject({ minDurationNanos: 1_000_000n, maxDurationNanos: 1_000_000n });
  });

  it("refuses bad parameters", () => {
    for (const q of [{}, { service: "" }, { service: "a", tags: "[1]" }, { service: "a", tags: "{" }, { service: "a", tags: '{"a":{}}' }, { service: "a", start: "x" }, { service: "a", start: "5000", end: "1000" }, { service: "a", limit: "-1" }, { service: "a", lookback: "soon" }, { service: "a", minDuration: "soon" }, { service: "a", minDuration: "2s", maxDuration: "1s" }]) {
      expect(() => parseJaegerSearch(q, NOW), JSON.stringify(q)).toThrow(ParamError);
    }
    expect(() => parseJaegerSearch({ service: "a", maxDuration: "-1s" }, NOW)).toThrow(/maxDuration/);
  });
});
