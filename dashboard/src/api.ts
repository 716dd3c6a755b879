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

export async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {}, init: RequestInit = {}): Promise<T> {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
  const res = await fetch(url, { ...init, credentials: "same-origin", headers: { accept: "application/json", "x-edgetrace-tenant": tenantId(), ...(init.headers ?? {}) } });
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
