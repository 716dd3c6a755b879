/**
 * @module
 * The client pages' way to the query APIs: same-origin fetches with the session cookie, the
 * project named in `x-edgetrace-tenant` (the page's `data-tenant`), errors turned into exceptions
 * that carry the server's message (and, for TraceQL, its position).
 */

export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, message: string, body: unknown) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The project this page is about, from the server-rendered root element. */
export function tenantId(): string {
  const id = document.getElementById("app")?.dataset.tenant;
  if (!id) throw new Error("page has no data-tenant");
  return id;
}

/** How often a read answered 503 (storage briefly unavailable, nothing done) is asked again. */
const RETRIES_AFTER_503 = 3;
/** The longest a page waits before asking again, whatever Retry-After says. */
const MAX_RETRY_WAIT_MS = 5_000;

/** Milliseconds a 503's Retry-After asks for (delta seconds; 1 s when absent or a date). */
export function retryWaitMs(retryAfter: string | null): number {
  const seconds = retryAfter && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : 1;
  return Math.min(seconds * 1000, MAX_RETRY_WAIT_MS);
}

function pause(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
}

/**
 * A GET of one of the query APIs. A 503 (the APIs' answer to transient storage trouble, always
 * with Retry-After) is asked again after the wait it names, a few times, as a person would reload:
 * an on-call engineer should not see a lock that cleared in a second.
 */
export async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {}, init: RequestInit = {}): Promise<T> {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
  const request = () => fetch(url, { ...init, credentials: "same-origin", headers: { accept: "application/json", "x-edgetrace-tenant": tenantId(), ...(init.headers ?? {}) } });
  let res = await request();
  for (let retry = 0; res.status === 503 && retry < RETRIES_AFTER_503; retry++) {
    await res.body?.cancel();
    await pause(retryWaitMs(res.headers.get("retry-after")), init.signal);
    res = await request();
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // plain-text errors (Zipkin's) stay text
  }
  if (!res.ok) {
    const message = typeof body === "object" && body && "message" in body ? String((body as { message: unknown }).message) : typeof body === "string" && body ? body : `HTTP ${res.status}`;
    throw new ApiError(res.status, message, body);
  }
  return body as T;
}

/** A link within this project's pages. */
export function projectHref(path: string): string {
  return `/app/t/${tenantId()}${path}`;
}
