/** @jsxImportSource hono/jsx */
/**
 * @module
 * Response headers and error pages for the dashboard's HTML. The Content-Security-Policy allows
 * only this origin's script and style files: no inline script, no inline style, no eval, no
 * framing, so attacker-controlled span text that slipped past escaping still could not run.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { ApiError } from "../../shared/http/errors.ts";
import { Layout } from "../../dashboard/pages/layout.tsx";

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

/** Paths that are pages (HTML), as opposed to the JSON and protobuf APIs. */
export function isPagePath(path: string): boolean {
  return path === "/" || path === "/login" || path === "/signup" || path === "/logout" || path === "/app" || path.startsWith("/app/");
}

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "same-origin");
  if (isPagePath(c.req.path)) {
    c.header("content-security-policy", CONTENT_SECURITY_POLICY);
    c.header("x-frame-options", "DENY");
    c.header("cache-control", "no-store");
  }
};

export function errorPage(c: Context, err: ApiError) {
  return c.html(
    <Layout title="Error">
      <section class="narrow card">
        <h1>{err.status === 404 ? "Not found" : err.status === 403 ? "Not allowed" : "Something went wrong"}</h1>
        <p role="alert">{err.message}</p>
        <p>
          <a href="/app">Back to your projects</a>
        </p>
      </section>
    </Layout>,
    err.status as 400,
  );
}
