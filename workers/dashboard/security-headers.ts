/**
 * @module
 * The dashboard worker's response headers, on every response it makes: pages, JSON, redirects and
 * every error (onError and notFound answers pass through this middleware too). The
 * Content-Security-Policy allows only this origin's script and style files: no inline script, no
 * inline style, no eval, no framing, so attacker-controlled span text that slipped past escaping
 * still could not run. Static assets never reach the worker: dashboard/public/_headers gives them
 * the same headers (test/unit/static-asset-headers.test.ts keeps the two in step).
 */
import type { MiddlewareHandler } from "hono";
import { baseSecurityHeaders } from "../../shared/http/middleware/security-headers.ts";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await baseSecurityHeaders(c, next);
  c.header("referrer-policy", "same-origin");
  // The same policy on every response, so no error page, whatever produced it, runs with less.
  c.header("content-security-policy", CONTENT_SECURITY_POLICY);
  c.header("x-frame-options", "DENY");
  // Pages hold CSRF tokens and tenant data, redirects follow logins: never kept by any cache.
  const redirect = c.res.status >= 300 && c.res.status < 400;
  if (redirect || c.res.headers.get("content-type")?.startsWith("text/html")) c.header("cache-control", "no-store");
};
