import { describe, expect, it } from "vitest";
import { ParamError } from "../http/params.ts";
import { DEFAULT_LIMIT, MAX_LIMIT } from "./search-params.ts";
import { parseRfc3339, parseV3Dependencies, parseV3FindTraces } from "./v3-params.ts";

const MIN = "2024-05-01T12:00:00Z";
const MAX = "2024-05-01T13:00:00Z";
const base = { "query.serviceName": "cart", "query.startTimeMin": MIN, "query.startTimeMax": MAX };

function refusal(q: Record<string, string>): string {
  try {
    parseV3FindTraces(q);
  } catch (err) {
    expect(err).toBeInstanceOf(ParamError);
    expect(err).toMatchObject({ status: 400, code: "invalid_query" });
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(q)}`);
}

describe("parseRfc3339", () => {
  it("reads RFC 3339 with fractions up to nanoseconds and offsets", () => {
    expect(parseRfc3339("2024-05-01T12:00:00Z", "t")).toBe(Date.UTC(2024, 4, 1, 12));
    expect(parseRfc3339("2024-05-01T12:00:00.5Z", "t")).toBe(Date.UTC(2024, 4, 1, 12) + 500);
    expect(parseRfc3339("2024-05-01T12:00:00.123456789Z", "t")).toBeCloseTo(Date.UTC(2024, 4, 1, 12) + 123.456789, 6);
    expect(parseRfc3339("2024-05-01T14:30:00+02:30", "t")).toBe(Date.UTC(2024, 4, 1, 12));
    expect(parseRfc3339("2024-05-01T09:00:00-03:00", "t")).toBe(Date.UTC(2024, 4, 1, 12));
    expect(parseRfc3339("0001-01-01T00:00:00Z", "t")).toBe(-62135596800000);
  });

  it("refuses what is not RFC 3339, naming the parameter", () => {
    for (const v of ["yesterday", "2024-05-01", "2024-05-01 12:00:00Z", "2024-05-01T12:00:00", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:00:00.1234567890Z", "1714564800"]) {
      expect(() => parseRfc3339(v, "query.startTimeMin"), v).toThrow(/query\.startTimeMin/);
    }
  });
});

describe("parseV3FindTraces", () => {
  it("reads the OpenAPI's camelCase parameters", () => {
    const s = parseV3FindTraces({
      ...base,
      "query.operationName": "GET /cart",
      "query.attributes": JSON.stringify({ "http.status_code": "500", error: "true" }),
      "query.durationMin": "1.5s",
      "query.durationMax": "2s",
      "query.searchDepth": "20",
      "query.rawTraces": "true",
    });
    expect(s).toEqual({
      query: { service: "cart", operation: "GET /cart", tags: [["http.status_code", "500"], ["error", "true"]], minDurationNanos: 1_500_000_000n, maxDurationNanos: 2_000_000_000n },
      startMs: Date.UTC(2024, 4, 1, 12),
      endMs: Date.UTC(2024, 4, 1, 13) - 1,
      limit: 20,
      rawTraces: true,
    });
  });

  it("reads the snake_case aliases, the canonical name winning", () => {
    const s = parseV3FindTraces({
      "query.service_name": "cart",
      "query.operation_name": "op",
      "query.start_time_min": MIN,
      "query.start_time_max": MAX,
      "query.duration_min": "10ms",
      "query.duration_max": "0.5s",
      "query.search_depth": "7",
      "query.raw_traces": "false",
    });
    expect(s.query).toEqual({ service: "cart", operation: "op", tags: [], minDurationNanos: 10_000_000n, maxDurationNanos: 500_000_000n });
    expect(s.limit).toBe(7);
    expect(s.rawTraces).toBe(false);
    expect(parseV3FindTraces({ ...base, "query.service_name": "other" }).query.service).toBe("cart");
    expect(parseV3FindTraces({ ...base, "query.num_traces": "3" }).limit).toBe(3);
  });

  it("reads attributes as JSON or as grpc-gateway's map entries", () => {
    expect(parseV3FindTraces({ ...base, "query.attributes[http.status_code]": "500", "query.attributes[a b]": "x y" }).query.tags).toEqual([["http.status_code", "500"], ["a b", "x y"]]);
    expect(parseV3FindTraces({ ...base, "query.attributes": '{"k":"json"}', "query.attributes[k]": "map" }).query.tags).toEqual([["k", "map"]]);
  });

  it("defaults and clamps the search depth", () => {
    expect(parseV3FindTraces(base).limit).toBe(DEFAULT_LIMIT);
    expect(parseV3FindTraces({ ...base, "query.searchDepth": "0" }).limit).toBe(DEFAULT_LIMIT);
    expect(parseV3FindTraces({ ...base, "query.searchDepth": "100000" }).limit).toBe(MAX_LIMIT);
    expect(parseV3FindTraces(base).rawTraces).toBe(false);
  });

  it("refuses bad parameters with a message naming them", () => {
    expect(refusal({ "query.startTimeMin": MIN, "query.startTimeMax": MAX })).toMatch(/query\.serviceName is required/);
    expect(refusal({ "query.serviceName": "a", "query.startTimeMax": MAX })).toMatch(/query\.startTimeMin and query\.startTimeMax are required/);
    expect(refusal({ ...base, "query.startTimeMin": "yesterday" })).toMatch(/query\.startTimeMin/);
    expect(refusal({ "query.serviceName": "a", "query.start_time_min": MIN, "query.start_time_max": "soon" })).toMatch(/query\.start_time_max/);
    expect(refusal({ ...base, "query.startTimeMin": MAX, "query.startTimeMax": MIN })).toMatch(/query\.startTimeMax must be after query\.startTimeMin/);
    expect(refusal({ ...base, "query.durationMin": "soon" })).toMatch(/query\.durationMin/);
    expect(refusal({ ...base, "query.duration_max": "-1s" })).toMatch(/query\.duration_max/);
    expect(refusal({ ...base, "query.durationMin": "2s", "query.durationMax": "1s" })).toMatch(/query\.durationMin must not be greater than query\.durationMax/);
    expect(refusal({ ...base, "query.searchDepth": "-1" })).toMatch(/query\.searchDepth/);
    expect(refusal({ ...base, "query.searchDepth": "ten" })).toMatch(/query\.searchDepth/);
    expect(refusal({ ...base, "query.rawTraces": "yes" })).toMatch(/query\.rawTraces/);
    expect(refusal({ ...base, "query.attributes": "{" })).toMatch(/query\.attributes/);
    expect(refusal({ ...base, "query.attributes": "[]" })).toMatch(/query\.attributes/);
    expect(refusal({ ...base, "query.attributes": '{"code":500}' })).toMatch(/query\.attributes: the value of "code" must be a string/);
    expect(refusal({ ...base, "query.filter": '{"op":"eq","args":[]}' })).toMatch(/query\.filter is not supported/);
  });
});

describe("parseV3Dependencies", () => {
  const WEEK = 7 * 24 * 3_600_000;
  it("reads startTime/endTime and their aliases", () => {
    expect(parseV3Dependencies({ startTime: MIN, endTime: MAX }, WEEK)).toEqual({ startMs: Date.UTC(2024, 4, 1, 12), endMs: Date.UTC(2024, 4, 1, 13) });
    expect(parseV3Dependencies({ start_time: MIN, end_time: MAX }, WEEK)).toEqual({ startMs: Date.UTC(2024, 4, 1, 12), endMs: Date.UTC(2024, 4, 1, 13) });
  });

  it("refuses a missing, malformed, empty, reversed or too long window", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /startTime is required/],
      [{ endTime: MAX }, /startTime is required/],
      [{ startTime: MIN }, /endTime is required/],
      [{ startTime: "x", endTime: MAX }, /startTime/],
      [{ start_time: MIN, end_time: "x" }, /end_time/],
      [{ startTime: MIN, endTime: MIN }, /endTime must be after startTime/],
      [{ startTime: MAX, endTime: MIN }, /endTime must be after startTime/],
      [{ startTime: "2024-05-01T00:00:00Z", endTime: "2024-05-09T00:00:00Z" }, /at most 168 hours/],
    ];
    for (const [q, message] of cases) expect(() => parseV3Dependencies(q, WEEK), JSON.stringify(q)).toThrow(message);
  });
});
