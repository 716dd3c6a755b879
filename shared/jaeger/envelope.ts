/**
 * @module
 * The shapes of Jaeger's answers. The HTTP JSON API (v1) wraps everything in `{data, total, limit,
 * offset, errors}`, errors included (`{data: null, errors: [{code, msg}]}` with the HTTP status),
 * which the Jaeger UI shows as is. api_v3's errors take its HTTP gateway's shape `{error:
 * {grpcCode, httpCode, httpStatus, message}}`. `jaegerError` is the error shape of the Jaeger
 * routes' error handler (shared/http/error-handler.ts): api_v3's under `/api/v3/`, v1's elsewhere.
 */
import type { Context, Env } from "hono";
import type { ApiError } from "../http/errors.ts";

/** A v1 answer: `data`, with `total` for lists. */
export function envelope<T>(data: T, total = 0) {
  return { data, total, limit: 0, offset: 0, errors: null };
}

/** A v1 error answer. */
export function errorEnvelope(status: number, msg: string) {
  return { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: status, msg }] };
}

/** gRPC codes of the HTTP statuses we answer, for api_v3's gateway errors. */
const GRPC_CODES: Record<number, [number, string]> = {
  400: [3, "Bad Request"],
  401: [16, "Unauthorized"],
  403: [7, "Forbidden"],
  404: [5, "Not Found"],
  429: [8, "Too Many Requests"],
  503: [14, "Service Unavailable"],
};

/** An api_v3 error answer, as Jaeger's HTTP gateway writes it. */
export function v3Error(status: number, message: string) {
  const [grpcCode, httpStatus] = GRPC_CODES[status] ?? [13, "Internal Server Error"];
  return { error: { grpcCode, httpCode: status, message, httpStatus } };
}

/** The Jaeger routes' error shape: api_v3's gateway error under `/api/v3/`, the v1 envelope elsewhere. */
export function jaegerError<E extends Env>(c: Context<E>, err: ApiError, headers: Record<string, string>): Response {
  const body = c.req.path.includes("/api/v3/") ? v3Error(err.status, err.message) : errorEnvelope(err.status, err.message);
  return c.json(body, err.status, headers);
}
