/** @jsxImportSource hono/jsx */
/**
 * @module
 * Error pages for the dashboard's HTML paths (their headers: security-headers.ts, on every response).
 */
import type { Context } from "hono";
import type { ApiError } from "../../shared/http/errors.ts";
import { Layout } from "../../dashboard/pages/layout.tsx";

/** Paths that are pages (HTML), as opposed to the JSON and protobuf APIs. */
export function isPagePath(path: string): boolean {
  return path === "/" || path === "/login" || path === "/signup" || path === "/logout" || path === "/app" || path.startsWith("/app/");
}

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
