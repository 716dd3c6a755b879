/** @jsxImportSource hono/jsx */
/**
 * The server half of a client page: the frame, and a root element carrying what the page's module
 * needs (the project, and e.g. the trace id from the URL) as data attributes. The module
 * (dashboard/src/pages/<name>.tsx) renders into it and talks to the query APIs with the session.
 */
import type { FC } from "hono/jsx";
import { Layout, type Frame } from "./layout.tsx";

export const ClientPage: FC<Frame & { page: string; tenantId: string; data?: Record<string, string> }> = ({ page, tenantId, data, ...frame }) => {
  const attrs: Record<string, string> = { "data-tenant": tenantId, "data-page": page };
  for (const [k, v] of Object.entries(data ?? {})) attrs[`data-${k}`] = v;
  return (
    <Layout {...frame} clientPage={page} wide>
      <div id="app" {...attrs}>
        <noscript>This page needs JavaScript.</noscript>
        <p class="muted loading">Loading…</p>
      </div>
    </Layout>
  );
};
