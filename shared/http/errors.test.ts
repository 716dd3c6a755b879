import { describe, expect, it } from "vitest";
import { ApiError, apiErrorOf, isTransientStorageError } from "./errors.ts";

describe("apiErrorOf: what an error handler answers", () => {
  it("answers transient storage trouble with a retryable 503, found anywhere in the cause chain", () => {
    const busy = new Error("Failed query: select 1", { cause: new Error("D1_ERROR: Failed to get session commit token: internal error") });
    for (const err of [
      busy,
      new Error("D1_ERROR: database is locked: SQLITE_BUSY"),
      new Error("D1_ERROR: Network connection lost."),
      new Error("D1 DB is overloaded. Too many requests queued."),
      new Error("Durable Object reset because its code was updated."),
      new Error("Internal error in D1 DB storage caused object to be reset."),
    ]) {
      expect(isTransientStorageError(err)).toBe(true);
      const e = apiErrorOf(err);
      expect({ status: e.status, code: e.code, retry: e.retryAfterSeconds }).toEqual({ status: 503, code: "storage_unavailable", retry: 1 });
    }
  });

  it("keeps an ApiError as it is and answers anything else with a 500", () => {
    const bad = new ApiError(400, "invalid", "no");
    expect(apiErrorOf(bad)).toBe(bad);
    for (const err of [new TypeError("x is undefined"), new Error("D1_ERROR: no such table: blocks"), "boom", undefined]) {
      expect(isTransientStorageError(err)).toBe(false);
      expect(apiErrorOf(err).status).toBe(500);
    }
  });
});
