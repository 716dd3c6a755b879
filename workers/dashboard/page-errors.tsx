/** @jsxImportSource hono/jsx */
/**
 * @module
 * Error pages for the dashboard's HTML paths (their headers: security-headers.ts, on every response).
 */
import type { Context } from "hono";
import { safeNextPath } from "../../shared/auth/next-path.ts";
import type { ApiError } from "../../shared/http/errors.ts";
import { NotAMember } from "../../shared/http/middleware/session-auth.ts";
import { Layout } from "../../dashboard/pages/layout.tsx";

/** Paths that are pages (HTML), as opposed to the JSON and protobuf APIs. */
export function isPagePath(path: string): boolean {
  return path === "/" || path === "/login" || path === "/signup" || path === "/logout" || path === "/app" || path.startsWith("/app/");
}

/** The login page, coming back to this page afterwards (when it is one a login may return to). */
export function loginHref(c: Context): string {
  const url = new URL(c.req.url);
  const next = safeNextPath(`${url.pathname}${url.search}`);
  return next && next !== "/app" ? `/login?next=${encodeURIComponent(next)}` : "/login";
}

/**
 * An error a person can read. Storage trouble (retryable, with Retry-After) on a page that was
 * only read loads itself again after Retry-After, so a moment's D1 lock does not need a reload by
 * hand; a form post is not sent again by itself (it says to submit again).
 */
export function errorPage(c: Context, err: ApiError) {
  if (err instanceof NotAMember) return notAMemberPage(c, err);
  const retry = err.retryAfterSeconds;
  const reread = retry !== undefined && (c.req.method === "GET" || c.req.method === "HEAD");
  if (retry !== undefined) c.header("retry-after", String(retry));
  return c.html(
    <Layout title="Error" refreshAfterSeconds={reread ? retry : undefined}>
      <section class="narrow card">
        <h1>{err.status === 404 ? "Not found" : err.status === 403 ? "Not allowed" : "Something went wrong"}</h1>
        <p role="alert">{err.message}</p>
        {retry !== undefined && <p data-retry>{reread ? `This page loads again by itself in ${retry} s.` : "Go back and submit the form again."}</p>}
        <p>
          <a href="/app">Back to your projects</a>
        </p>
      </section>
    </Layout>,
    err.status as 400,
  );
}

/**
 * A project link opened by someone who is not its member: who they are signed in as and how to get
 * access. Nothing about the project (not even whether it exists) reaches a non-member.
 */
function notAMemberPage(c: Context, err: NotAMember) {
  return c.html(
    <Layout title="No access">
      <section class="narrow card not-a-member">
        <h1>No access to this project</h1>
        <p role="alert">{err.message}</p>
        <p>
          You are signed in as <strong data-signed-in-as>{err.email}</strong>. Projects are private: ask an owner of the project to add <strong>{err.email}</strong> on its{" "}
          <em>Settings → Members</em>, then open this link again.
        </p>
        <p>
          <a href="/app">Your projects</a> · <a href={loginHref(c)}>Log in with another account</a>
        </p>
      </section>
    </Layout>,
    404,
  );
}
