/**
 * @module
 * Dashboard session policy, pure: ids, cookie attributes and expiry. The id is 256 random bits,
 * base64url in an HttpOnly cookie; D1 holds only its SHA-256 (`hashSecret`).
 */
import { base64url } from "../encoding/base64.ts";

/** A session unused this long ends. */
export const SESSION_IDLE_MS = 3 * 86_400_000;
/** And none lives longer than this, however active. */
export const SESSION_ABSOLUTE_MS = 30 * 86_400_000;
/** last_seen_at is written at most this often (each write is a billed D1 row). */
export const SESSION_TOUCH_EVERY_MS = 5 * 60_000;

export function newSessionId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

export function newCsrfToken(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(24)));
}

export interface SessionTimes {
  lastSeenAt: Date;
  expiresAt: Date;
}

export type SessionVerdict = "valid" | "touch" | "expired";

/** Whether a session is alive at `nowMs`, and whether its last_seen_at is due a refresh. */
export function sessionVerdict(s: SessionTimes, nowMs: number): SessionVerdict {
  if (s.expiresAt.getTime() <= nowMs || s.lastSeenAt.getTime() + SESSION_IDLE_MS <= nowMs) return "expired";
  return nowMs - s.lastSeenAt.getTime() >= SESSION_TOUCH_EVERY_MS ? "touch" : "valid";
}

/**
 * Cookie name and attributes for a request URL. `__Host-` (Secure, no Domain, Path=/) binds the
 * cookie to this exact origin over HTTPS; plain-HTTP localhost cannot set Secure cookies in every
 * browser, so there the cookie is a plain host cookie.
 */
export function sessionCookie(url: URL): { name: string; secure: boolean } {
  const local = url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]");
  return local ? { name: "et_session", secure: false } : { name: "__Host-et_session", secure: true };
}
