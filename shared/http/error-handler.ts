/**
 * @module
 * The one `onError` of every app, made by `errorHandler`: any thrown value becomes an ApiError
 * (errors.ts `apiErrorOf`: transient storage trouble a retryable 503, anything unknown a 500, which
 * is logged), a retryable error gets `Retry-After`, and the protocol writes the body in its own
 * shape. The shapes: Tempo's and Prometheus' JSON (`jsonError`, also every other JSON API), Zipkin's
 * plain text (`textError`), Jaeger's envelopes (shared/jaeger/envelope.ts), OTLP's protobuf
 * `Status` (workers/ingest/app.ts) and the dashboard's pages (workers/dashboard/app.ts).
 */
import type { Context, Env, ErrorHandler } from "hono";
import { ApiError, apiErrorOf, errorBody } from "./errors.ts";

/** Writes an error in one protocol's shape; `headers` (Retry-After, when retryable) go on the answer. */
export type ErrorShape<E extends Env = Env> = (c: Context<E>, err: ApiError, headers: Record<string, string>) => Response | Promise<Response>;

/** The error handler of an app whose errors take `shape`; `label` names the app in the log. */
export function errorHandler<E extends Env = Env>(label: string, shape: ErrorShape<E>): ErrorHandler<E> {
  return function onError(err, c) {
    const apiError = apiErrorOf(err);
    if (!(err instanceof ApiError)) console.error(`${label}: unexpected error`, err);
    const headers: Record<string, string> = {};
    if (apiError.retryAfterSeconds !== undefined) headers["retry-after"] = String(apiError.retryAfterSeconds);
    return shape(c, apiError, headers);
  };
}

/** The JSON error of Tempo, Prometheus and every other JSON API: `{code, error, message}` (errors.ts `errorBody`). */
export function jsonError<E extends Env>(c: Context<E>, err: ApiError, headers: Record<string, string>): Response {
  return c.json(errorBody(err), err.status, headers);
}

/** Zipkin's error: the message as plain text, as Zipkin's server answers it. */
export function textError<E extends Env>(c: Context<E>, err: ApiError, headers: Record<string, string>): Response {
  return c.text(err.message, err.status, headers);
}
