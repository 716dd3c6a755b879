/** @jsxImportSource hono/jsx */
/** The account page: change the password (which ends every session). */
import type { FC } from "hono/jsx";
import { Csrf, Layout, Notice } from "./layout.tsx";

type Base = { email: string; csrf: string };

export const AccountPage: FC<Base & { error?: string; notice?: string }> = (p) => (
  <Layout title="Account" email={p.email} csrf={p.csrf} active="account">
    <h1>Account</h1>
    {p.error && <Notice kind="error">{p.error}</Notice>}
    {p.notice && <Notice kind="ok">{p.notice}</Notice>}
    <form method="post" action="/app/account/password" class="card stack narrow">
      <h2>Change password</h2>
      <p class="muted">Every other session of this account ends.</p>
      <Csrf token={p.csrf} />
      <input type="text" name="username" autocomplete="username" value={p.email} hidden />
      <label for="current">Current password</label>
      <input id="current" name="current" type="password" autocomplete="current-password" required />
      <label for="new-password">New password</label>
      <input id="new-password" name="password" type="password" autocomplete="new-password" required />
      <button type="submit" class="primary">
        Change password
      </button>
    </form>
  </Layout>
);
