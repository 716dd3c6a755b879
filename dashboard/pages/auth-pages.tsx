/** @jsxImportSource hono/jsx */
/** Sign-up and log-in pages: plain forms, no script needed. */
import type { FC } from "hono/jsx";
import { MIN_PASSWORD_LENGTH } from "../../shared/auth/password.ts";
import { Layout, Notice } from "./layout.tsx";

/** `next`: the page to return to after logging in (already checked by safeNextPath). */
const nextQuery = (next?: string) => (next ? `?next=${encodeURIComponent(next)}` : "");

export const LoginPage: FC<{ error?: string; email?: string; notice?: string; next?: string }> = ({ error, email, notice, next }) => (
  <Layout title="Log in">
    <section class="narrow card">
      <h1>Log in</h1>
      {notice && <Notice kind="ok">{notice}</Notice>}
      {next && !error && !notice && <Notice kind="ok">Log in to open the page you followed a link to.</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      <form method="post" action="/login" class="stack">
        {next && <input type="hidden" name="next" value={next} />}
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required value={email} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit" class="primary">
          Log in
        </button>
      </form>
      <p>
        New here? <a href={`/signup${nextQuery(next)}`}>Create an account</a>
      </p>
    </section>
  </Layout>
);

export const SignupPage: FC<{ error?: string; email?: string; next?: string }> = ({ error, email, next }) => (
  <Layout title="Sign up">
    <section class="narrow card">
      <h1>Create your account</h1>
      <p class="muted">Send traces from any OpenTelemetry or Zipkin exporter in a few minutes.</p>
      {error && <Notice kind="error">{error}</Notice>}
      <form method="post" action="/signup" class="stack">
        {next && <input type="hidden" name="next" value={next} />}
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required value={email} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="new-password" required minlength={MIN_PASSWORD_LENGTH} aria-describedby="password-help" />
        <small id="password-help" class="muted">
          At least {MIN_PASSWORD_LENGTH} characters.
        </small>
        <button type="submit" class="primary">
          Sign up
        </button>
      </form>
      <p>
        Have an account? <a href={`/login${nextQuery(next)}`}>Log in</a>
      </p>
    </section>
  </Layout>
);
