/**
 * Issue 15's navigation answers, in workerd: a logged-out deep link comes back after the login
 * (and only to a path of this dashboard), a non-member is told how to get access without learning
 * anything about the project, the header's trace-id box, and the overview's first run (a key
 * filled into the snippets) and what it leads on to once spans are stored.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashSecret } from "../../shared/auth/keys.ts";
import { PageSession, PASSWORD } from "../support/page-session.ts";
import { testTrace } from "../support/spans.ts";
import { storeAssembled } from "../support/store-assembled.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";

describe("deep links through the login", () => {
  it("sends a logged-out trace or span link to the login with the page as next, and back there after the login", async () => {
    const owner = new PageSession();
    const email = await owner.signUp();
    const tenantId = await owner.newProject("deep links");
    const link = `/app/t/${tenantId}/traces/${TRACE}?span=b7ad6b7169203331`;

    const visitor = new PageSession();
    const first = await visitor.get(link);
    expect(first.status).toBe(302);
    expect(first.location).toBe(`/login?next=${encodeURIComponent(link)}`);
    // The bare /app needs no next.
    expect((await visitor.get("/app")).location).toBe("/login");

    const login = await visitor.get(first.location!);
    expect(login.text).toContain(`name="next" value="${link.replace(/&/g, "&amp;")}"`);
    expect(login.text).toContain(`href="/signup?next=${encodeURIComponent(link)}"`);
    // A wrong password keeps the next on the form.
    const wrong = await visitor.request("POST", "/login", { email, password: "not the password", next: link });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain(`name="next"`);
    const ok = await visitor.request("POST", "/login", { email, password: PASSWORD, next: link });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe(link);
    expect((await visitor.get(ok.location!)).status).toBe(200);
  });

  it("takes a next through the sign-up too", async () => {
    const s = new PageSession();
    const next = "/app/account";
    const res = await s.request("POST", "/signup", { email: `nav-${crypto.randomUUID().slice(0, 12)}@example.com`, password: PASSWORD, next });
    expect(res.status).toBe(303);
    expect(res.location).toBe(next);
  });

  it("never redirects off the dashboard, whatever next says", async () => {
    const owner = new PageSession();
    const email = await owner.signUp();
    for (const next of ["//evil.example", "//evil.example/app", "https://evil.example/app", "/\\evil.example", "/\\/evil.example", "/app/../login", "/app@evil.example", "javascript:alert(1)", "/app/\t/evil"]) {
      const s = new PageSession();
      const page = await s.get(`/login?next=${encodeURIComponent(next)}`);
      expect(page.status, next).toBe(200);
      expect(page.text, next).not.toContain('name="next"');
      expect(page.text, next).not.toContain("evil");
      const res = await s.request("POST", "/login", { email, password: PASSWORD, next });
      expect(res.status, next).toBe(303);
      expect(res.location, next).toBe("/app");
      const signup = await new PageSession().request("POST", "/signup", { email: `nav-${crypto.randomUUID().slice(0, 12)}@example.com`, password: PASSWORD, next });
      expect(signup.location, next).toBe("/app");
    }
  });
});

describe("a project link opened by someone who is not a member", () => {
  it("says they are not a member, as whom they are signed in and how to get access, and nothing of the project", async () => {
    const owner = new PageSession();
    await owner.signUp();
    const tenantId = await owner.newProject("Secret Project Zebra");
    const stranger = new PageSession();
    const strangerEmail = await stranger.signUp();

    const page = await stranger.get(`/app/t/${tenantId}/traces/${TRACE}`);
    expect(page.status).toBe(404);
    expect(page.text).toContain("not a member");
    expect(page.text).toContain(strangerEmail);
    expect(page.text).toContain("Settings → Members");
    expect(page.text).not.toContain("Zebra");
    expect(page.text).toContain(`href="/login?next=${encodeURIComponent(`/app/t/${tenantId}/traces/${TRACE}`)}"`);

    // A project that does not exist gets the same page: a guessed id learns nothing.
    const missing = "tn_doesnotexist00000000";
    const none = await stranger.get(`/app/t/${missing}/traces/${TRACE}`);
    expect(none.status).toBe(404);
    expect(none.text.replaceAll(missing, "ID")).toBe(page.text.replaceAll(tenantId, "ID"));

    // The query APIs still answer a plain 404.
    const api = await stranger.request("GET", "/api/search?limit=1", undefined, { "x-edgetrace-tenant": tenantId });
    expect(api.status).toBe(404);
    expect(JSON.parse(api.text)).toMatchObject({ error: "not_found", message: "No such project" });
  });
});

describe("the header's trace-id box", () => {
  it("opens a 32- or 16-digit id (padded to 32) and says what is wrong with anything else", async () => {
    const s = new PageSession();
    await s.signUp();
    const tenantId = await s.newProject("lookup");
    const find = (id: string) => s.get(`/app/t/${tenantId}/find-trace?id=${encodeURIComponent(id)}`);
    expect((await find(` ${TRACE.toUpperCase()} `)).location).toBe(`/app/t/${tenantId}/traces/${TRACE}`);
    expect((await find("8448eb211c80319c")).location).toBe(`/app/t/${tenantId}/traces/00000000000000008448eb211c80319c`);
    const short = await find("8448eb211c8031");
    expect(short.status).toBe(400);
    expect(short.text).toContain("has 14 digits: a trace id has 16 or 32");
    const notHex = await find("{ .a = 1 }");
    expect(notHex.status).toBe(400);
    expect(notHex.text).toContain("only hex digits");
    expect((await find("")).status).toBe(400);
    // The box is on every project page.
    const overview = await s.get(`/app/t/${tenantId}`);
    expect(overview.text).toContain(`action="/app/t/${tenantId}/find-trace"`);
    // Another project's lookup is not this user's.
    const other = new PageSession();
    await other.signUp();
    expect((await other.get(`/app/t/${tenantId}/find-trace?id=${TRACE}`)).status).toBe(404);
  });
});

describe("the overview", () => {
  it("creates a key on the first-run page and fills it into every snippet; only its hash is stored", async () => {
    const s = new PageSession();
    await s.signUp();
    const tenantId = await s.newProject("first run");
    const before = await s.get(`/app/t/${tenantId}`);
    expect(before.text).toContain("&lt;your-api-key&gt;");
    const res = await s.post(`/app/t/${tenantId}/first-run-key`, {}, `/app/t/${tenantId}`);
    expect(res.status).toBe(201);
    const secret = /id="first-run-secret"[^>]*value="(et_[\w-]{43})"|value="(et_[\w-]{43})"[^>]*id="first-run-secret"/.exec(res.text);
    const key = (secret?.[1] ?? secret?.[2])!;
    expect(key).toMatch(/^et_/);
    expect(res.text).toContain(`OTEL_EXPORTER_OTLP_HEADERS=x-api-key=${key}`);
    expect(res.text).toContain(`-H &#39;x-api-key: ${key}&#39;`);
    expect(res.text).not.toContain("&lt;your-api-key&gt;");
    const stored = await env.DB.prepare("SELECT secret_hash, scopes FROM api_keys WHERE tenant_id = ?").bind(tenantId).first<{ secret_hash: string; scopes: string }>();
    expect(stored!.secret_hash).toBe(await hashSecret(key));
    expect(JSON.stringify(await env.DB.prepare("SELECT * FROM api_keys WHERE tenant_id = ?").bind(tenantId).all())).not.toContain(key);
    // Shown once: the overview does not show it again.
    expect((await s.get(`/app/t/${tenantId}`)).text).not.toContain(key);
  });

  it("leads on, once spans are stored, to the latest traces, search and the service map, with full data source URLs", async () => {
    const s = new PageSession();
    await s.signUp();
    const tenantId = await s.newProject("with data");
    const now = Date.now();
    // The child first, its root later: two blocks, described as one trace.
    await storeAssembled(tenantId, testTrace(TRACE, [{ service: "payments", spanId: "a000000000000002", parentSpanId: "a000000000000001", name: "charge", startMs: now - 4990, durationMs: 80, error: true }]));
    await storeAssembled(tenantId, testTrace(TRACE, [{ service: "checkout", spanId: "a000000000000001", name: "POST /orders", startMs: now - 5000, durationMs: 120 }]));
    const page = await s.get(`/app/t/${tenantId}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain("Send your first trace");
    expect(page.text).toContain("Latest traces");
    expect(page.text).toContain(`href="/app/t/${tenantId}/traces/${TRACE}"`);
    expect(page.text).toContain("checkout: POST /orders");
    expect(page.text).toContain(`href="/app/t/${tenantId}/service-map"`);
    expect(page.text).toContain(`href="/app/t/${tenantId}/search"`);
    expect(page.text).toContain('value="http://localhost"');
    expect(page.text).toContain('value="http://localhost/prometheus"');
    expect(page.text).toContain('value="http://localhost/jaeger"');
  });

  it("lets only owners create the first-run key", async () => {
    const owner = new PageSession();
    await owner.signUp();
    const tenantId = await owner.newProject("roles");
    const member = new PageSession();
    const memberEmail = await member.signUp();
    expect((await owner.post(`/app/t/${tenantId}/members`, { email: memberEmail, role: "member" }, `/app/t/${tenantId}/settings`)).status).toBe(303);
    expect((await member.get(`/app/t/${tenantId}`)).text).not.toContain("first-run-key");
    expect((await member.post(`/app/t/${tenantId}/first-run-key`, {}, `/app/t/${tenantId}`)).status).toBe(403);
  });
});
