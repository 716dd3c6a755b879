/** @jsxImportSource hono/jsx */
/** Sign-up and log-in pages: plain forms, no script needed. */
import type { FC } from "hono/jsx";
import { MIN_PASSWORD_LENGTH } from "../../shared/auth/password.ts";
import { Layout, Notice } from "./layout.tsx";

export const LoginPage: FC<{ error?: string; email?: string; notice?: string }> = ({ error, email, notice }) => (
  <Layout title="Log in">
    <section class="narrow card">
      <h1>Log in</h1>
      {notice && <Notice kind="ok">{notice}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      <form method="post" action="/login" class="stack">
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required value={email} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit" class="primary">
          Log in
        </button>
      </form>
      <p>
        New here? <a href="/signup">Create an account</a>
      </p>
    </section>
  </Layout>
);

export const SignupPage: FC<{ error?: string; email?: string }> = ({ error, email }) => (
  <Layout title="Sign up">
    <section class="narrow card">
      <h1>Create your account</h1>
      <p class="muted">Send traces from any OpenTelemetry or Zipkin exporter in a few minutes.</p>
      {error && <Notice kind="error">{error}</Notice>}
      <form method="post" action="/signup" class="stack">
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
        Have an account? <a href="/login">Log in</a>
      </p>
    </section>
  </Layout>
);
