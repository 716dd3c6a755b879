/**
 * @module
 * One error type for every worker. Handlers throw it; each app's single `onError` turns it into a
 * response. `retryAfterSeconds` marks the failures a client may retry (storage trouble, rate
 * limits); everything about bad data is a 4xx that must not be retried.
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
