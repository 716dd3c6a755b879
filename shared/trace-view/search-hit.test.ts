import { describe, expect, it } from "vitest";
import { nanosToMs, summarizeHit } from "./search-hit.ts";

describe("summarizeHit", () => {
  it("sums the services' spans and errors, most spans first, and keeps sub-millisecond starts", () => {
    const s = summarizeHit({
      rootServiceName: "web",
      rootTraceName: "GET /",
      startTimeUnixNano: "1700000000123456789",
      durationMs: 2600,
      serviceStats: { db: { spanCount: 3 }, web: { spanCount: 5, errorCount: 1 }, api: { spanCount: 3, errorCount: 2 } },
    });
    expect(s).toEqual({
      rootService: "web", rootName: "GET /", startMs: 1700000000123 + 0.456789, durationMs: 2600, spans: 11, errors: 3,
      services: [{ name: "web", spans: 5, errors: 1 }, { name: "api", spans: 3, errors: 2 }, { name: "db", spans: 3, errors: 0 }],
    });
  });
  it("reads a hit without duration or stats as zero", () => {
    expect(summarizeHit({ rootServiceName: "", rootTraceName: "", startTimeUnixNano: "0" })).toMatchObject({ durationMs: 0, spans: 0, errors: 0, services: [] });
    expect(nanosToMs("1000000")).toBe(1);
  });
});
