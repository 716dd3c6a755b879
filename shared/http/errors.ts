/**
 * @module
 * One error type for every worker. Handlers throw it; each app's single `onError` (made by
 * error-handler.ts `errorHandler`, in the protocol's body shape) turns it into a response.
 * `retryAfterSeconds` marks the failures a client may retry (storage trouble, rate limits);
 * everything about bad data is a 4xx that must not be retried.
 */
export class ApiError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503;
  readonly code: string;
  readonly retryAfterSeconds: number | undefined;
  constructor(status: ApiError["status"], code: string, message: string, retryAfterSeconds?: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** google.rpc.Code for an HTTP status, as the OTLP spec maps them (Status.code in error bodies). */
export function grpcCodeForHttpStatus(status: number): number {
  switch (status) {
    case 400: return 3; // INVALID_ARGUMENT
    case 401: return 16; // UNAUTHENTICATED
    case 403: return 7; // PERMISSION_DENIED
    case 404: return 5; // NOT_FOUND
    case 409: return 6; // ALREADY_EXISTS
    case 413: return 11; // OUT_OF_RANGE
    case 429: return 8; // RESOURCE_EXHAUSTED
    case 503: return 14; // UNAVAILABLE
    default: return status >= 500 ? 13 : 2; // INTERNAL : UNKNOWN
  }
}

/** The JSON body of every error: a superset of google.rpc.Status's JSON form. */
export function errorBody(err: ApiError): { code: number; error: string; message: string } {
  return { code: grpcCodeForHttpStatus(err.status), error: err.code, message: err.message };
}

/**
 * Storage trouble a retry may get past: SQLite busy or locked (local D1 and libSQL do not wait for
 * a lock), D1's documented transient failures (connection lost, overloaded, its object reset), R2
 * and Durable Object resets. Looked for in the whole cause chain: drizzle wraps D1's error in
 * "Failed query: ...", and local D1 reports a lock met while taking its bookmark only as "Failed to
 * get session commit token".
 */
const TRANSIENT = /SQLITE_BUSY|SQLITE_LOCKED|database is locked|session commit token|Network connection lost|overloaded|Too many requests queued|transient issue|reset because its code was updated|caused object to be reset|exceeded timeout|Durable Object reset|temporarily unavailable/i;

export function isTransientStorageError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e != null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (TRANSIENT.test(String((e as Error)?.message ?? e))) return true;
  }
  return false;
}

/** Seconds a client is asked to wait after transient storage trouble. */
export const STORAGE_RETRY_AFTER_SECONDS = 1;

/**
 * The ApiError an error handler answers for any thrown value: an ApiError as it is, transient
 * storage trouble as a retryable 503 (OTLP exporters retry 503, never 500), anything else 500.
 */
export function apiErrorOf(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isTransientStorageError(err)) return new ApiError(503, "storage_unavailable", "Storage is briefly unavailable; retry shortly", STORAGE_RETRY_AFTER_SECONDS);
  return new ApiError(500, "internal", "Internal error");
}
