import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashSecret } from "../../shared/auth/keys.ts";
import { ACCOUNT_POLICY } from "../../shared/auth/login-throttle.ts";
import { findKeyByHash } from "../../shared/db/queries/keys.ts";
import { getTenant, listTenants } from "../../shared/db/queries/tenants.ts";
import { indexStore } from "../../shared/db/select-index-store.ts";
import { assemblerDeps } from "../../workers/assembler/consume.ts";
import type { AssemblerEnv } from "../../workers/assembler/env.ts";
import { PURGE_AFTER_MS, purgeDeletedTenants, sweepOrphanedPrefixes } from "../../workers/assembler/purge.ts";
import { csrfOf, PageSession as Browser, PASSWORD } from "../support/page-session.ts";

let n = 0;
const email = () => `user${++n}-${crypto.randomUUID().slice(0, 8)}@example.com`;

async function signedUp(): Promise<{ b: Browser; email: string }> {
  const b = new Browser();
  const e = email();
  const res = await b.request("POST", "/signup", { email: e, password: PASSWORD });
  expect(res.status).toBe(303);
  expect(res.location).toBe("/app");
  return { b, email: e };
}

async function withProject(name = "production"): Promise<{ b: Browser; email: string; tenantId: string }> {
  const u = await signedUp();
  const res = await u.b.post("/app/projects", { name });
  expect(res.status).toBe(303);
  const tenantId = /^\/app\/t\/(tn_[A-Za-z0-9_-]+)$/.exec(res.location ?? "")![1]!;
  return { ...u, tenantId };
}

describe("accounts and sessions", () => {
  it("signs up with a hashed password and an HttpOnly, SameSite=Lax session cookie stored hashed", async () => {
    const b = new Browser();
    const e = email();
    const res = await b.request("POST", "/signup", { email: e.toUpperCase(), password: PASSWORD });
    expect(res.status).toBe(303);
    const cookie = res.setCookie.find((c) => c.startsWith("et_session="))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/i); // plain-HTTP localhost
    const id = b.cookies.get("et_session")!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
    const user = await env.DB.prepare("SELECT * FROM users WHERE email = ?").bind(e).first<Record<string, unknown>>();
    expect(user!.password_iterations).toBe(100_000);
    expect(JSON.stringify(user)).not.toContain(PASSWORD);
    const session = await env.DB.prepare("SELECT id_hash FROM sessions WHERE user_id = ?").bind(user!.id).first<{ id_hash: string }>();
    expect(session!.id_hash).toBe(await hashSecret(id));
    expect((await b.get("/app")).status).toBe(200);
  });

  it("uses a Secure __Host- cookie over HTTPS", async () => {
    const b = new Browser("https://dash.example.com");
    const res = await b.request("POST", "/signup", { email: email(), password: PASSWORD });
    expect(res.status).toBe(303);
    const cookie = res.setCookie.find((c) => c.startsWith("__Host-et_session="))!;
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).not.toMatch(/Domain=/i);
  });

  it("refuses weak passwords and taken emails without saying whose account it is", async () => {
    const { email: taken } = await signedUp();
    const weak = await new Browser().request("POST", "/signup", { email: email(), password: "short" });
    expect(weak.status).toBe(400);
    expect(weak.text).toMatch(/at least 10 characters/);
    const again = await new Browser().request("POST", "/signup", { email: taken, password: "another good password" });
    expect(again.status).toBe(400);
    expect(again.text).toMatch(/could not be created/);
  });

  it("answers a wrong password and an unknown account with the same generic error", async () => {
    const { email: known } = await signedUp();
    const wrong = await new Browser().request("POST", "/login", { email: known, password: "not the password" });
    const unknown = await new Browser().request("POST", "/login", { email: email(), password: "not the password" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const message = (html: string) => /role="alert">([^<]*)</.exec(html)![1];
    expect(message(wrong.text)).toBe(message(unknown.text));
    const ok = await new Browser().request("POST", "/login", { email: known.toUpperCase(), password: PASSWORD });
    expect(ok.status).toBe(303);
  });

  it("throttles logins per account with 429 and Retry-After, even for the right password", async () => {
    const { email: victim } = await signedUp();
    for (let i = 0; i < ACCOUNT_POLICY.maxFailures; i++) expect((await new Browser().request("POST", "/login", { email: victim, password: `guess ${i} wrong` })).status).toBe(401);
    const locked = await new Browser().request("POST", "/login", { email: victim, password: PASSWORD });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(800);
    // Another account from elsewhere is not affected.
    const { email: other } = await signedUp();
    expect((await new Browser().request("POST", "/login", { email: other, password: PASSWORD })).status).toBe(303);
  });

  it("throttles logins per client address across accounts", async () => {
    const headers = { "cf-connecting-ip": "203.0.113.77" };
    const b = new Browser();
    let status = 0;
    for (let i = 0; i < 31 && status !== 429; i++) status = (await b.request("POST", "/login", { email: email(), password: "spray password 1" }, headers)).status;
    expect(status).toBe(429);
    const { email: real } = await signedUp();
    expect((await new Browser().request("POST", "/login", { email: real, password: PASSWORD }, headers)).status).toBe(429);
    expect((await new Browser().request("POST", "/login", { email: real, password: PASSWORD }, { "cf-connecting-ip": "203.0.113.78" })).status).toBe(303);
  });

  it("refuses state-changing requests without the session's CSRF token or from another origin", async () => {
    const { b } = await signedUp();
    expect((await b.request("POST", "/app/projects", { name: "x" })).status).toBe(403);
    expect((await b.request("POST", "/app/projects", { name: "x", _csrf: "forged" })).status).toBe(403);
    const token = csrfOf((await b.get("/app")).text);
    expect((await b.request("POST", "/app/projects", { name: "x", _csrf: token }, { origin: "https://evil.example" })).status).toBe(403);
    // Login CSRF: a cross-site login form is refused too.
    expect((await new Browser().request("POST", "/login", { email: "a@b.c", password: "x" }, { origin: "https://evil.example" })).status).toBe(403);
    expect((await b.request("POST", "/app/projects", { name: "x", _csrf: token })).status).toBe(303);
  });

  it("sends pages without a session to the login page, and JSON endpoints get 401", async () => {
    const b = new Browser();
    const page = await b.get("/app");
    expect(page.status).toBe(302);
    expect(page.location).toBe("/login");
    const login = await b.get("/login");
    expect(login.status).toBe(200);
    expect(login.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    expect(login.headers.get("content-security-policy")).not.toMatch(/unsafe-inline/);
  });

  // The files themselves are Workers Static Assets, which exports.default.fetch does not serve:
  // the browser test loads them through `npm start` with the CSP in force.
  it("loads script and style only from files (the CSP allows nothing inline)", async () => {
    const page = await new Browser().get("/login");
    expect(page.text).toMatch(/<script src="\/static\/app.js" defer(="")?>/);
    expect(page.text).toContain('<link rel="stylesheet" href="/static/app.css"');
    expect(page.text).not.toMatch(/<script>|<style>| style="| on[a-z]+="/);
  });

  it("ends the session on logout", async () => {
    const { b } = await signedUp();
    const cookie = b.cookies.get("et_session")!;
    expect((await b.post("/logout")).status).toBe(303);
    expect(b.cookies.has("et_session")).toBe(false);
    // The old cookie, replayed, no longer works.
    b.cookies.set("et_session", cookie);
    expect((await b.get("/app")).status).toBe(302);
  });

  it("ends every session on a password change", async () => {
    const { b, email: e } = await signedUp();
    const other = new Browser();
    expect((await other.request("POST", "/login", { email: e, password: PASSWORD })).status).toBe(303);
    expect((await b.post("/app/account/password", { current: "wrong current pass", password: "a brand new passphrase" }, "/app/account")).status).toBe(400);
    const res = await b.post("/app/account/password", { current: PASSWORD, password: "a brand new passphrase" }, "/app/account");
    expect(res.status).toBe(303);
    expect(res.location).toBe("/login?notice=password-changed");
    expect((await b.get("/app")).status).toBe(302);
    expect((await other.get("/app")).status).toBe(302);
    expect((await new Browser().request("POST", "/login", { email: e, password: "a brand new passphrase" })).status).toBe(303);
  });

  it("expires idle and old sessions", async () => {
    for (const column of ["last_seen_at", "expires_at"]) {
      const { b } = await signedUp();
      const hash = await hashSecret(b.cookies.get("et_session")!);
      const past = column === "last_seen_at" ? Date.now() - 4 * 86_400_000 : Date.now() - 1000;
      await env.DB.prepare(`UPDATE sessions SET ${column} = ? WHERE id_hash = ?`).bind(past, hash).run();
      expect((await b.get("/app")).status, column).toBe(302);
    }
  });
});

describe("projects, keys and roles", () => {
  it("creates a project the user owns, shows the first-run guide, and polls a status endpoint", async () => {
    const { b, tenantId } = await withProject();
    const page = await b.get(`/app/t/${tenantId}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain("Send your first trace");
    expect(page.text).toContain("OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318");
    expect(page.text).toContain("/api/v2/spans");
    const status = await b.get(`/app/t/${tenantId}/status`);
    expect(JSON.parse(status.text)).toMatchObject({ spans: 0 });
  });

  it("creates a key shown once with a snippet, lists it without the secret, rotates and revokes it", async () => {
    const { b, tenantId } = await withProject();
    const created = await b.post(`/app/t/${tenantId}/keys`, { name: "checkout prod", scopes: ["ingest", "read"] }, `/app/t/${tenantId}/keys`);
    expect(created.status).toBe(201);
    const secret = /value="(et_[A-Za-z0-9_-]{43})"/.exec(created.text)![1]!;
    expect(created.text).toContain(`OTEL_EXPORTER_OTLP_HEADERS=x-api-key=${secret}`);
    const list = await b.get(`/app/t/${tenantId}/keys`);
    expect(list.text).toContain("checkout prod");
    expect(list.text).not.toContain(secret);
    // The key works on the query API (read scope), through the same tables and hashing as the admin API.
    const echo = async (key: string) => (await exports.default.fetch("http://localhost/api/search?limit=1", { headers: { "x-api-key": key } })).status;
    expect(await echo(secret)).toBe(200);

    const keyId = /data-key-id="(key_[A-Za-z0-9_-]+)"/.exec(list.text)![1]!;
    const rotated = await b.post(`/app/t/${tenantId}/keys/${keyId}/rotate`, {}, `/app/t/${tenantId}/keys`);
    expect(rotated.status).toBe(201);
    const newSecret = /value="(et_[A-Za-z0-9_-]{43})"/.exec(rotated.text)![1]!;
    expect(newSecret).not.toBe(secret);
    expect(await echo(newSecret)).toBe(200);
    expect(await echo(secret)).toBe(200); // the old key keeps working until revoked

    expect((await b.post(`/app/t/${tenantId}/keys/${keyId}/revoke`, {}, `/app/t/${tenantId}/keys`)).status).toBe(303);
    const row = await env.DB.prepare("SELECT revoked_at FROM api_keys WHERE id = ?").bind(keyId).first<{ revoked_at: number | null }>();
    expect(row!.revoked_at).toBeGreaterThan(0);
    expect((await b.post(`/app/t/${tenantId}/keys`, { name: "no scopes" }, `/app/t/${tenantId}/keys`)).status).toBe(400);
  });

  it("lets owners manage members; a member reads but cannot manage keys or settings", async () => {
    const owner = await withProject("shared");
    const member = await signedUp();
    expect((await owner.b.post(`/app/t/${owner.tenantId}/members`, { email: member.email, role: "member" }, `/app/t/${owner.tenantId}/settings`)).status).toBe(303);
    expect((await member.b.get(`/app/t/${owner.tenantId}`)).status).toBe(200);
    expect((await member.b.get(`/app/t/${owner.tenantId}/keys`)).status).toBe(200);
    const from = `/app/t/${owner.tenantId}/keys`;
    expect((await member.b.post(`/app/t/${owner.tenantId}/keys`, { name: "sneaky", scopes: ["ingest"] }, from)).status).toBe(403);
    expect((await member.b.post(`/app/t/${owner.tenantId}/settings`, { retentionDays: "30", ingestMegabytesPerSecond: "1" }, from)).status).toBe(403);
    expect((await member.b.post(`/app/t/${owner.tenantId}/delete`, { confirm: "shared" }, from)).status).toBe(403);
    // Removed, the member sees the project as if it did not exist.
    const memberId = (await env.DB.prepare("SELECT id FROM users WHERE email = ?").bind(member.email).first<{ id: string }>())!.id;
    expect((await owner.b.post(`/app/t/${owner.tenantId}/members/${memberId}/remove`, {}, `/app/t/${owner.tenantId}/settings`)).status).toBe(303);
    expect((await member.b.get(`/app/t/${owner.tenantId}`)).status).toBe(404);
  });

  it("answers 404 on every project route to a user of another tenant", async () => {
    const victim = await withProject("victim");
    const keys = await victim.b.post(`/app/t/${victim.tenantId}/keys`, { name: "k", scopes: ["ingest"] }, `/app/t/${victim.tenantId}/keys`);
    const keyId = /data-key-id="(key_[A-Za-z0-9_-]+)"/.exec(keys.text)![1]!;
    const victimUserId = (await env.DB.prepare("SELECT id FROM users WHERE email = ?").bind(victim.email).first<{ id: string }>())!.id;
    const attacker = await withProject("attacker");
    const t = victim.tenantId;
    const gets = [`/app/t/${t}`, `/app/t/${t}/status`, `/app/t/${t}/keys`, `/app/t/${t}/settings`, `/app/t/${t}/search`, `/app/t/${t}/traces/${"a".repeat(32)}`, `/app/t/${t}/trace-file`, `/app/t/${t}/compare`, `/app/t/${t}/service-map`, `/app/t/${t}/services`];
    const posts = [`/app/t/${t}/keys`, `/app/t/${t}/keys/${keyId}/revoke`, `/app/t/${t}/keys/${keyId}/rotate`, `/app/t/${t}/settings`, `/app/t/${t}/members`, `/app/t/${t}/members/${victimUserId}/remove`, `/app/t/${t}/rename`, `/app/t/${t}/delete`];
    for (const path of gets) expect((await attacker.b.get(path)).status, path).toBe(404);
    for (const path of posts) expect((await attacker.b.post(path, { name: "pwned", confirm: "victim", email: attacker.email, scopes: ["read"], retentionDays: "30", ingestMegabytesPerSecond: "1" }, `/app/t/${attacker.tenantId}/keys`)).status, path).toBe(404);
    // Nothing changed.
    expect((await env.DB.prepare("SELECT name FROM tenants WHERE id = ?").bind(t).first<{ name: string }>())!.name).toBe("victim");
    expect((await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE tenant_id = ? AND revoked_at IS NULL").bind(t).first<{ n: number }>())!.n).toBe(1);
  });

  it("lets a session read the query APIs of its own projects only, named in a header", async () => {
    const mine = await withProject("mine");
    const theirs = await withProject("theirs");
    const search = (b: Browser, tenant?: string) => b.request("GET", "/api/search?limit=1", undefined, tenant ? { "x-edgetrace-tenant": tenant } : {});
    const ok = await search(mine.b, mine.tenantId);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toHaveProperty("traces");
    expect((await mine.b.request("GET", `/jaeger/api/services?tenant=${mine.tenantId}`)).status).toBe(200);
    expect((await search(mine.b)).status).toBe(400);
    expect((await search(mine.b, theirs.tenantId)).status).toBe(404);
    expect((await search(mine.b, "tn_doesnotexist0000")).status).toBe(404);
    // Logged out, the cookie reads nothing.
    await mine.b.post("/logout");
    expect((await search(mine.b, mine.tenantId)).status).toBe(401);
  });

  it("serves the client pages' frames with the project and their module", async () => {
    const { b, tenantId } = await withProject();
    for (const [path, page] of [["search", "search"], [`traces/${"ab".repeat(16)}`, "trace"], ["compare", "compare"], ["service-map", "service-map"], ["services", "services"]]) {
      const res = await b.get(`/app/t/${tenantId}/${path}`);
      expect(res.status, path).toBe(200);
      expect(res.text, path).toContain(`data-tenant="${tenantId}"`);
      expect(res.text, path).toContain(`<script type="module" src="/static/ui/${page}.js">`);
    }
    expect((await b.get(`/app/t/${tenantId}/traces/not-hex`)).status).toBe(400);
  });

  it("keeps settings within the operator's bounds", async () => {
    const { b, tenantId } = await withProject();
    const from = `/app/t/${tenantId}/settings`;
    const tooLong = await b.post(from, { retentionDays: "365", ingestMegabytesPerSecond: "5" }, from);
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toMatch(/at most 30 days/);
    expect((await b.post(from, { retentionDays: "7", ingestMegabytesPerSecond: "2.5" }, from)).status).toBe(303);
    const row = await env.DB.prepare("SELECT retention_days, ingest_bytes_per_second FROM tenants WHERE id = ?").bind(tenantId).first<{ retention_days: number; ingest_bytes_per_second: number }>();
    expect(row).toEqual({ retention_days: 7, ingest_bytes_per_second: 2_500_000 });
  });

  it("keeps a logs link template only if it is an http(s) URL with known placeholders, and hands it to the trace view", async () => {
    const { b, tenantId } = await withProject();
    const from = `/app/t/${tenantId}/settings`;
    const base = { retentionDays: "14", ingestMegabytesPerSecond: "15" };
    for (const bad of ["javascript:alert({traceId})", "https://logs.example/{trace}"]) expect((await b.post(from, { ...base, logsUrlTemplate: bad }, from)).status, bad).toBe(400);
    const template = 'https://logs.example/search?q="{traceId}"&from={startMs}';
    expect((await b.post(from, { ...base, logsUrlTemplate: template }, from)).status).toBe(303);
    const page = await b.get(`/app/t/${tenantId}/traces/${"ab".repeat(16)}`);
    expect(page.text).toContain('data-logs-url-template="https://logs.example/search?q=&quot;{traceId}&quot;&amp;from={startMs}"');
    // Cleared with an empty field.
    expect((await b.post(from, { ...base, logsUrlTemplate: "" }, from)).status).toBe(303);
    expect((await b.get(`/app/t/${tenantId}/traces/${"ab".repeat(16)}`)).text).not.toContain("data-logs-url-template");
  });

  it("refuses a logs link with a placeholder in its host, and does not hand a stored one to the trace view", async () => {
    const { b, tenantId } = await withProject();
    const from = `/app/t/${tenantId}/settings`;
    const base = { retentionDays: "14", ingestMegabytesPerSecond: "15" };
    for (const bad of ["https://{service}/logs?trace={traceId}", "https://{service}.logs.example/x", "https://logs.example:{startMs}/x"]) {
      const res = await b.post(from, { ...base, logsUrlTemplate: bad }, from);
      expect(res.status, bad).toBe(400);
      expect(res.text).toContain("Placeholders may only be used in the logs link&#39;s path or query");
    }
    // A template stored before the rule (written straight to the database) is not served.
    await env.DB.prepare("UPDATE tenants SET logs_url_template = ? WHERE id = ?").bind("https://{service}/logs", tenantId).run();
    expect((await b.get(`/app/t/${tenantId}/traces/${"ab".repeat(16)}`)).text).not.toContain("data-logs-url-template");
  });

  it("deletes a project in two steps: keys, members and visibility at once; spans, rows and its object once no key can be cached", async () => {
    const { b, tenantId } = await withProject("doomed");
    await b.post(`/app/t/${tenantId}/keys`, { name: "k", scopes: ["ingest"] }, `/app/t/${tenantId}/keys`);
    const keyHash = (await env.DB.prepare("SELECT secret_hash AS h FROM api_keys WHERE tenant_id = ?").bind(tenantId).first<{ h: string }>())!.h;
    await env.SPANS.put(`t/${tenantId}/blocks/l0-x`, "block");
    await env.SPANS.put(`t/${tenantId}/ingest/2026-12-01/00/1764547200000-x.etb`, "object");
    const object = env.TENANTS.get(env.TENANTS.idFromName(tenantId));
    const key = `t/${tenantId}/ingest/2026-12-01/00/1764547200000-y.etb`;
    await object.commit(tenantId, { keys: [key], clockMs: 1764547200000, halves: [], edgeRows: [], operationRows: [], usage: [{ day: "2026-12-01", spansAccepted: 5, spansRejected: 0 }] }, Date.now());
    expect((await object.stats()).ledgerRows).toBe(1);
    await env.DB.prepare("INSERT INTO operation_minutes (tenant_id, minute, service, operation, kind, count, errors, durations) VALUES (?, 0, 's', 'o', 2, 1, 0, x'00')").bind(tenantId).run();
    const from = `/app/t/${tenantId}/settings`;
    expect((await b.post(`/app/t/${tenantId}/delete`, { confirm: "Doomed" }, from)).status).toBe(400);
    expect((await b.post(`/app/t/${tenantId}/delete`, { confirm: "doomed" }, from)).status).toBe(303);
    const count = async (table: string) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${table === "tenants" ? "id" : "tenant_id"} = ?`).bind(tenantId).first<{ n: number }>())!.n;

    // 1. At once: no key finds the tenant, nobody sees it, no query lists it.
    const db = await indexStore(env);
    expect(await findKeyByHash(db, keyHash)).toBeUndefined();
    expect(await count("memberships")).toBe(0);
    expect((await b.get(`/app/t/${tenantId}`)).status).toBe(404);
    expect(await getTenant(db, tenantId)).toBeUndefined();
    expect((await listTenants(db)).map((t) => t.id)).not.toContain(tenantId);
    // ...but its data waits out the key caches.
    const deps = await assemblerDeps(env as unknown as AssemblerEnv);
    expect(await purgeDeletedTenants(deps)).toEqual([]);
    expect(await count("tenants")).toBe(1);
    expect((await env.SPANS.list({ prefix: `t/${tenantId}/` })).objects).toHaveLength(2);

    // 2. Later, the cron's purge: rows, spans and the object.
    expect(await purgeDeletedTenants(deps, Date.now() + PURGE_AFTER_MS + 1000)).toContain(tenantId);
    for (const table of ["tenants", "api_keys", "memberships", "operation_minutes"]) expect(await count(table), table).toBe(0);
    expect((await env.SPANS.list({ prefix: `t/${tenantId}/` })).objects).toEqual([]);
    expect(await object.usage(tenantId)).toEqual([]);
    expect(await object.assembled(tenantId, [key])).toEqual({});
    expect((await object.stats()).ledgerRows).toBe(0);
  });

  it("sweeps storage prefixes that belong to no tenant, and nothing of a live one", async () => {
    const { tenantId } = await withProject("alive");
    await env.SPANS.put(`t/${tenantId}/blocks/l0-live`, "block");
    await env.SPANS.put("t/tn_written-after-purge/ingest/2026-12-01/00/1764547200000-z.etb", "object");
    await env.SPANS.put("t/tn_written-after-purge/blocks/l0-z", "block");
    const orphans = await sweepOrphanedPrefixes(await assemblerDeps(env as unknown as AssemblerEnv));
    expect(orphans).toContain("tn_written-after-purge");
    expect(orphans).not.toContain(tenantId);
    expect((await env.SPANS.list({ prefix: "t/tn_written-after-purge/" })).objects).toEqual([]);
    expect((await env.SPANS.list({ prefix: `t/${tenantId}/` })).objects.map((o) => o.key)).toEqual([`t/${tenantId}/blocks/l0-live`]);
  });

  it("renders attacker-controlled names as text", async () => {
    const evil = `<img src=x onerror=alert(1)>"'`;
    const { b, tenantId } = await withProject(evil);
    for (const path of ["/app", `/app/t/${tenantId}`, `/app/t/${tenantId}/settings`]) {
      const page = await b.get(path);
      expect(page.text, path).not.toContain("<img src=x");
      expect(page.text, path).toContain("&lt;img src=x onerror=alert(1)&gt;");
    }
  });
});
