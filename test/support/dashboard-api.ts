/**
 * @module
 * The dashboard worker's query APIs as the workerd tests call them: readers' keys and a GET.
 */
import { exports } from "cloudflare:workers";
import { tenantWithKey } from "./store-assembled.ts";

export type Reader = Awaited<ReturnType<typeof tenantWithKey>>;

/** Two new tenants with a read key each: the one a test stores for, and another that must see none of it. */
export async function twoReaders(): Promise<[Reader, Reader]> {
  return [await tenantWithKey(["read"]), await tenantWithKey(["read"])];
}

/**
 * GET `path` from the dashboard worker with `key` as a bearer token (none: no authorization header).
 * `body` is the text parsed as JSON where `json` says it is: `"object"`, where the text starts with
 * "{"; `"content-type"`, where the answer's content type says JSON (for answers that are arrays).
 */
export async function dashboardGet(path: string, key?: string, json: "object" | "content-type" = "object") {
  const res = await exports.default.fetch(`http://localhost${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const text = await res.text();
  const contentType = res.headers.get("content-type") ?? "";
  const isJson = json === "object" ? text.startsWith("{") : contentType.includes("application/json");
  return { status: res.status, contentType, body: isJson ? JSON.parse(text) : text };
}
