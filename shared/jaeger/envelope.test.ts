import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { errorHandler } from "../http/error-handler.ts";
import { ApiError } from "../http/errors.ts";
import { envelope, errorEnvelope, jaegerError, v3Error } from "./envelope.ts";

describe("Jaeger's answer shapes", () => {
  it("wraps v1 answers and errors in the envelope", () => {
    expect(envelope(["a", "b"], 2)).toEqual({ data: ["a", "b"], total: 2, limit: 0, offset: 0, errors: null });
    expect(envelope([])).toEqual({ data: [], total: 0, limit: 0, offset: 0, errors: null });
    expect(errorEnvelope(404, "trace not found")).toEqual({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: "trace not found" }] });
  });

  it("writes api_v3 errors as the gateway does, an unlisted status as Internal", () => {
    expect(v3Error(400, "bad")).toEqual({ error: { grpcCode: 3, httpCode: 400, message: "bad", httpStatus: "Bad Request" } });
    expect(v3Error(503, "later")).toEqual({ error: { grpcCode: 14, httpCode: 503, message: "later", httpStatus: "Service Unavailable" } });
    expect(v3Error(500, "oops")).toEqual({ error: { grpcCode: 13, httpCode: 500, message: "oops", httpStatus: "Internal Server Error" } });
  });

  it("answers errors under /api/v3/ in the gateway's shape and elsewhere in the envelope, with Retry-After", async () => {
    const app = new Hono()
      .get("/jaeger/*", () => {
        throw new ApiError(429, "rate_limited", "slow down", 3);
      })
      .onError(errorHandler("test", jaegerError));
    const v1 = await app.request("/jaeger/api/services");
    expect(v1.status).toBe(429);
    expect(v1.headers.get("retry-after")).toBe("3");
    expect(await v1.json()).toEqual(errorEnvelope(429, "slow down"));
    const v3 = await app.request("/jaeger/api/v3/services");
    expect(v3.status).toBe(429);
    expect(v3.headers.get("retry-after")).toBe("3");
    expect(await v3.json()).toEqual(v3Error(429, "slow down"));
  });
});
