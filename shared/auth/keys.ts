/**
 * @module
 * API key secrets: how they are made, hashed and read off a request. Pure WebCrypto, so the same
 * code runs in every worker and in Node.
 */
import { base64url, toHex } from "../encoding/base64.ts";

export const SCOPES = ["ingest", "read", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Secrets look like `et_<43 base64url chars>`: 256 random bits, recognisable in a leak scan. */
const SECRET_PREFIX = "et_";

export function generateSecret(): string {
  return SECRET_PREFIX + base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** A short random id with a type prefix, e.g. `tn_8f3k2...`. */
export function generateId(kind: "tn" | "key" | "usr"): string {
  return `${kind}_${base64url(crypto.getRandomValues(new Uint8Array(12)))}`;
}

/** Lowercase hex SHA-256: the only form in which a secret is stored. */
export async function hashSecret(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  return toHex(new Uint8Array(digest));
}

/** What the UI shows to tell keys apart; long enough to recognise, far too short to use. */
export function secretPrefix(secret: string): string {
  return secret.slice(0, SECRET_PREFIX.length + 6);
}

/**
 * Reads a key from `Authorization: Bearer <key>`, `x-api-key: <key>` (what
 * OTEL_EXPORTER_OTLP_HEADERS sets), or HTTP Basic with the key as password (how Grafana
 * datasources send credentials).
 */
export function readKeyFromHeaders(headers: Headers): string | undefined {
  const apiKey = headers.get("x-api-key")?.trim();
  if (apiKey) return apiKey;
  const auth = headers.get("authorization")?.trim();
  if (!auth) return undefined;
  const space = auth.indexOf(" ");
  if (space < 0) return undefined;
  const scheme = auth.slice(0, space).toLowerCase();
  const value = auth.slice(space + 1).trim();
  if (scheme === "bearer") return value || undefined;
  if (scheme === "basic") {
    try {
      const decoded = atob(value);
      const colon = decoded.indexOf(":");
      return (colon >= 0 ? decoded.slice(colon + 1) : decoded) || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Compares byte strings in time that depends on their lengths only, not where they differ. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Constant-time comparison of two strings (the admin token, CSRF tokens). */
export function timingSafeEqualString(a: string, b: string): boolean {
  return timingSafeEqual(new TextEncoder().encode(a), new TextEncoder().encode(b));
}
