/** @jsxImportSource hono/jsx */
/**
 * @module
 * The page frame every dashboard page renders in. Text reaches the HTML only through Hono JSX,
 * which escapes it; no page uses `raw()` on data or inline script/style (the CSP forbids both).
 */
import { raw } from "hono/html";
import type { Child, FC } from "hono/jsx";

export interface Frame {
  title: string;
  /** Logged-in user's email; absent on the login and signup pages. */
  email?: string;
  csrf?: string;
  /** The project in view, for the project navigation. */
  project?: { id: string; name: string; role: "owner" | "member" };
  active?: "overview" | "keys" | "settings" | "projects" | "account" | "search" | "trace" | "service-map" | "services" | "compare";
  /** A client page (dashboard/src/pages/<name>.tsx, built to /static/ui/): its module and CSS. */
  clientPage?: string;
  /** Full-width main area (trace views, maps). */
  wide?: boolean;
  /** Load this page again after so many seconds (an error page of a retryable failure). */
  refreshAfterSeconds?: number;
}

export const Layout: FC<Frame & { children?: Child }> = (props) => (
  <>
  {/* A constant: standards mode needs the doctype, which JSX cannot write. */}
  {raw("<!DOCTYPE html>")}
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light dark" />
      {props.refreshAfterSeconds !== undefined && <meta http-equiv="refresh" content={String(props.refreshAfterSeconds)} />}
      <title>{props.title} · Edgetrace</title>
      <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
      <link rel="stylesheet" href="/static/app.css" />
      {props.clientPage && <link rel="stylesheet" href={`/static/ui/${props.clientPage}.css`} />}
      <script src="/static/app.js" defer></script>
      {props.clientPage && <script type="module" src={`/static/ui/${props.clientPage}.js`}></script>}
    </head>
    <body>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href={props.email ? "/app" : "/"}>
          Edgetrace
        </a>
        {(props.project || props.email) && (
          // Phones: the navigation folds into this menu (a popover, so it opens without script).
          <button type="button" class="menu-button" popovertarget="site-menu">
            Menu
          </button>
        )}
        {/* Wide screens lay the menu's items out in the header (display: contents, app.css). */}
        <div id="site-menu" class="site-menu" popover={props.project || props.email ? "auto" : undefined}>
          {props.project && (
            <nav aria-label="Project">
              <span class="project-name" title={props.project.name}>
                {props.project.name}
              </span>
              <a href={`/app/t/${props.project.id}`} aria-current={props.active === "overview" ? "page" : undefined}>
                Overview
              </a>
              <a href={`/app/t/${props.project.id}/search`} aria-current={props.active === "search" || props.active === "trace" ? "page" : undefined}>
                Search
              </a>
              <a href={`/app/t/${props.project.id}/service-map`} aria-current={props.active === "service-map" ? "page" : undefined}>
                Service map
              </a>
              <a href={`/app/t/${props.project.id}/services`} aria-current={props.active === "services" ? "page" : undefined}>
                Services
              </a>
              <a href={`/app/t/${props.project.id}/keys`} aria-current={props.active === "keys" ? "page" : undefined}>
                API keys
              </a>
              <a href={`/app/t/${props.project.id}/settings`} aria-current={props.active === "settings" ? "page" : undefined}>
                Settings
              </a>
            </nav>
          )}
          {props.project && (
            // Any page of a project opens a trace by its id (16 or 32 hex digits), without script.
            <form role="search" aria-label="Open a trace by ID" method="get" action={`/app/t/${props.project.id}/find-trace`} class="trace-lookup">
              <input name="id" type="search" required maxlength={200} placeholder="Trace ID" aria-label="Trace ID" autocomplete="off" />
              <button type="submit">Open</button>
            </form>
          )}
          <div class="spacer"></div>
          <button type="button" class="theme-toggle" data-theme-toggle aria-label="Switch between light and dark theme">
            Theme
          </button>
          {props.email && (
            <nav aria-label="Account" class="account">
              <a href="/app" aria-current={props.active === "projects" ? "page" : undefined}>
                Projects
              </a>
              <a href="/app/account" class="email" title={props.email} aria-current={props.active === "account" ? "page" : undefined}>
                {props.email}
              </a>
              <form method="post" action="/logout" class="inline">
                <input type="hidden" name="_csrf" value={props.csrf} />
                <button type="submit" class="link">
                  Log out
                </button>
              </form>
            </nav>
          )}
        </div>
      </header>
      <main id="main" class={props.wide ? "wide" : undefined}>
        {props.children}
      </main>
    </body>
  </html>
  </>
);

/** A form's error or notice, announced to screen readers. */
export const Notice: FC<{ kind: "error" | "ok"; children?: Child }> = ({ kind, children }) => (
  <p class={`notice ${kind}`} role={kind === "error" ? "alert" : "status"}>
    {children}
  </p>
);

export const Csrf: FC<{ token?: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

/** A value with a copy button (the button is wired by /static/app.js). */
export const Copyable: FC<{ id: string; label: string; value: string; multiline?: boolean }> = ({ id, label, value, multiline }) => (
  <div class="copyable">
    <label for={id}>{label}</label>
    <div class="copy-row">
      {multiline ? (
        <textarea id={id} readonly rows={Math.min(12, value.split("\n").length + 1)}>
          {value}
        </textarea>
      ) : (
        <input id={id} type="text" readonly value={value} />
      )}
      <button type="button" data-copy={id}>
        Copy
      </button>
    </div>
  </div>
);
