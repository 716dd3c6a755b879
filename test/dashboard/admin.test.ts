import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_POLICY } from "../../shared/auth/login-throttle.ts";
import { app } from "../../workers/dashboard/app.ts";

const ADMIN = { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" };
/** A client address no other test uses (a fresh /64 in the documentation prefix). */
const freshAddress = () => {
  const [a, b] = crypto.getRandomValues(new Uint16Array(2));
  return `2001:db8:${a!.toString(16)}:${b!.toString(16)}::1`;
};

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN) {
  const res = await exports.default.fetch(`http://localhost${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

describe("admin API", () => {
  it("refuses requests without the admin token, or with a wrong one", async () => {
    expect((await call("GET", "/admin/v1/tenants", undefined, {})).status).toBe(401);
    const wrong = await call("GET", "/admin/v1/tenants", undefined, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe("invalid_token");
  });

  it("refuses every token, even the right one, from an address past the limit of wrong ones; 429 with Retry-After", async () => {
    const from = { "cf-connecting-ip": freshAddress() };
    // Successes give their attempt back: many right calls never lock the operator out.
    for (let i = 0; i < ADMIN_POLICY.maxFailures + 5; i++) expect((await call("GET", "/admin/v1/tenants", undefined, { ...ADMIN, ...from })).status).toBe(200);
    // A burst of wrong tokens at once: at most the limit are compared.
    const burst = await Promise.all(Array.from({ length: ADMIN_POLICY.maxFailures * 3 }, (_, i) => exports.default.fetch("http://localhost/admin/v1/tenants", { headers: { authorization: `Bearer guess-${i}`, ...from } })));
    const statuses = await Promise.all(burst.map(async (r) => (await r.body?.cancel(), r.status)));
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(ADMIN_POLICY.maxFailures);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(ADMIN_POLICY.maxFailures * 2);
    const locked = await exports.default.fetch("http://localhost/admin/v1/tenants", { headers: { ...ADMIN, ...from } });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(800);
    expect(((await locked.json()) as { error: string }).error).toBe("too_many_attempts");
    // Another address is not affected.
    expect((await call("GET", "/admin/v1/tenants", undefined, { ...ADMIN, "cf-connecting-ip": freshAddress() })).status).toBe(200);
  });

  it("will not serve the admin API with a short or example ADMIN_TOKEN, even to that token", async () => {
    for (const weak of ["changeme", "test-admin-token", "change-me-to-a-long-random-string", "x".repeat(64)]) {
      const res = await app.request("/admin/v1/tenants", { headers: { authorization: `Bearer ${weak}` } }, { ...env, ADMIN_TOKEN: weak });
      expect(res.status, weak).toBe(503);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe("admin_token_weak");
      expect(body.message).toMatch(/at least 32 random characters/);
      expect(body.message).not.toContain(weak);
    }
    const strong = "k3Jd9-QmZx_7wPvB2nR8tYc5LhF0sGaE";
    expect((await app.request("/admin/v1/tenants", { headers: { authorization: `Bearer ${strong}` } }, { ...env, ADMIN_TOKEN: strong })).status).toBe(200);
  });

  it("creates a tenant and a key whose secret is shown once and stored hashed", async () => {
    const tenant = await call("POST", "/admin/v1/tenants", { name: "Acme" });
    expect(tenant.status).toBe(201);
    expect(tenant.json).toMatchObject({ name: "Acme", retentionDays: 14 });
    expect(tenant.json.id).toMatch(/^tn_/);

    const key = await call("POST", `/admin/v1/tenants/${tenant.json.id}/keys`, { name: "prod", scopes: ["ingest", "read"] });
    expect(key.status).toBe(201);
    expect(key.json.secret).toMatch(/^et_[A-Za-z0-9_-]{43}$/);
    expect(key.json.scopes).toEqual(["ingest", "read"]);

    const list = await call("GET", `/admin/v1/tenants/${tenant.json.id}/keys`);
    expect(list.status).toBe(200);
    expect(list.json.keys).toHaveLength(1);
    expect(JSON.stringify(list.json)).not.toContain(key.json.secret);
    expect(list.json.keys[0]).not.toHaveProperty("secretHash");
    expect(list.json.keys[0]).not.toHaveProperty("secret");

    const { env } = await import("cloudflare:workers");
    const stored = await env.DB.prepare("SELECT secret_hash FROM api_keys WHERE id = ?").bind(key.json.id).first<{ secret_hash: string }>();
    expect(stored?.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored?.secret_hash).not.toContain(key.json.secret);
  });

  it("revokes a key, and only within its own tenant", async () => {
    const a = (await call("POST", "/admin/v1/tenants", { name: "A" })).json;
    const b = (await call("POST", "/admin/v1/tenants", { name: "B" })).json;
    const key = (await call("POST", `/admin/v1/tenants/${a.id}/keys`, { name: "k", scopes: ["ingest"] })).json;
    expect((await call("DELETE", `/admin/v1/tenants/${b.id}/keys/${key.id}`)).status).toBe(404);
    expect((await call("DELETE", `/admin/v1/tenants/${a.id}/keys/${key.id}`)).status).toBe(204);
    expect((await call("DELETE", `/admin/v1/tenants/${a.id}/keys/${key.id}`)).status).toBe(404);
    const list = (await call("GET", `/admin/v1/tenants/${a.id}/keys`)).json;
    expect(list.keys[0].revokedAt).not.toBeNull();
  });

  it("sets a tenant's limits, only those given, and refuses bad ones", async () => {
    const t = (await call("POST", "/admin/v1/tenants", { name: "Limited" })).json;
    const set = await call("PATCH", `/admin/v1/tenants/${t.id}`, { ingestBytesPerSecond: 250_000, ingestBurstBytes: 300_000 });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ id: t.id, ingestBytesPerSecond: 250_000, ingestBurstBytes: 300_000, retentionDays: 14 });
    expect((await call("PATCH", `/admin/v1/tenants/${t.id}`, { retentionDays: 0 })).json.message).toMatch(/^retentionDays: /);
    expect((await call("PATCH", `/admin/v1/tenants/${t.id}`, { name: "x" })).status).toBe(400);
    expect((await call("PATCH", `/admin/v1/tenants/tn_nope`, { retentionDays: 3 })).status).toBe(404);
    expect((await call("GET", `/admin/v1/tenants/${t.id}`)).json.ingestBytesPerSecond).toBe(250_000);
  });

  it("says which field is wrong", async () => {
    const t = (await call("POST", "/admin/v1/tenants", { name: "C" })).json;
    const bad = await call("POST", `/admin/v1/tenants/${t.id}/keys`, { name: "k", scopes: ["write"] });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/^scopes\.0: /);
    expect((await call("POST", "/admin/v1/tenants", { name: "" })).json.message).toMatch(/^name: /);
    expect((await call("POST", `/admin/v1/tenants/tn_missing/keys`, { name: "k", scopes: ["read"] })).status).toBe(404);
  });
});
