import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorHandler, jsonError, textError, type ErrorShape } from "./error-handler.ts";
import { ApiError } from "./errors.ts";

/** An app whose one route throws `thrown`, answering errors with `shape`. */
function appThrowing(thrown: unknown, shape: ErrorShape) {
  return new Hono()
    .get("/x", () => {
      throw thrown;
    })
    .onError(errorHandler("test", shape));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("errorHandler: the one onError, parameterised by the protocol's body shape", () => {
  it("hands an ApiError to the shape as it is, with no Retry-After and no log", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const seen: [ApiError, Record<string, string>][] = [];
    const bad = new ApiError(400, "invalid_parameter", "limit: no");
    const res = await appThrowing(bad, (c, err, headers) => {
      seen.push([err, headers]);
      return c.text("shaped", err.status, headers);
    }).request("/x");
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("shaped");
    expect(seen).toEqual([[bad, {}]]);
    expect(seen[0]![0]).toBe(bad);
    expect(log).not.toHaveBeenCalled();
  });

  it("answers transient storage trouble with a retryable 503 and Retry-After, logged", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await appThrowing(new Error("D1_ERROR: database is locked: SQLITE_BUSY"), jsonError).request("/x");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toEqual({ code: 14, error: "storage_unavailable", message: "Storage is briefly unavailable; retry shortly" });
    expect(log).toHaveBeenCalledWith("test: unexpected error", expect.any(Error));
  });

  it("answers anything else with a 500 that says nothing of the cause", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await appThrowing(new TypeError("secret detail"), jsonError).request("/x");
    expect(res.status).toBe(500);
    expect(res.headers.get("retry-after")).toBeNull();
    expect(await res.json()).toEqual({ code: 13, error: "internal", message: "Internal error" });
  });

  it("keeps a rate limit's own Retry-After", async () => {
    const res = await appThrowing(new ApiError(429, "rate_limited", "slow down", 7), jsonError).request("/x");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(await res.json()).toEqual({ code: 8, error: "rate_limited", message: "slow down" });
  });

  it("jsonError writes {code, error, message}; textError the message as plain text", async () => {
    const json = await appThrowing(new ApiError(404, "trace_not_found", "trace x not found"), jsonError).request("/x");
    expect(json.headers.get("content-type")).toContain("application/json");
    expect(await json.json()).toEqual({ code: 5, error: "trace_not_found", message: "trace x not found" });
    vi.spyOn(console, "error").mockImplementation(() => {});
    const text = await appThrowing(new Error("Network connection lost"), textError).request("/x");
    expect(text.status).toBe(503);
    expect(text.headers.get("content-type")).toContain("text/plain");
    expect(text.headers.get("retry-after")).toBe("1");
    expect(await text.text()).toBe("Storage is briefly unavailable; retry shortly");
  });
});
