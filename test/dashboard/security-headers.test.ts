// The dashboard worker's response headers on pages, APIs, redirects and every kind of error page.
// (Static assets get theirs from dashboard/public/_headers: test/unit/static-asset-headers.test.ts.)
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { STRICT_TRANSPORT_SECURITY } from "../../shared/http/middleware/security-headers.ts";
import { app } from "../../workers/dashboard/app.ts";
import { CONTENT_SECURITY_POLICY } from "../../workers/dashboard/security-headers.ts";

const form = (body: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost", ...headers },
  body: new URLSearchParams(body).toString(),
  redirect: "manual" as const,
});

async function loggedInCookie(): Promise<string> {
  const email = `headers-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const res = await exports.default.fetch("http://localhost/signup", form({ email, password: "a sturdy passphrase 42" }));
  expect(res.status).toBe(303);
  return res.headers.getSetCookie()[0]!.split(";")[0]!;
}

function expectHardened(res: Response, what: string) {
  expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(res.headers.get("content-security-policy"), what).toBe(CONTENT_SECURITY_POLICY);
  expect(res.headers.get("x-frame-options"), what).toBe("DENY");
}

describe("security headers", () => {
  it("are on pages, JSON APIs, redirects and health checks alike", async () => {
    const cookie = await loggedInCookie();
    const cases: [string, RequestInit][] = [
      ["/login", {}],
      ["/app", { headers: { cookie } }],
      ["/app", { redirect: "manual" }],
      ["/healthz", {}],
      ["/api/search", {}],
      ["/admin/v1/tenants", {}],
    ];
    for (const [path, init] of cases) {
      const res = await exports.default.fetch(`http://localhost${path}`, init);
      await res.body?.cancel();
      expectHardened(res, `${path} ${res.status}`);
    }
  });

  it("give error pages the same CSP as pages: 404s, a 403 and an unexpected 500", async () => {
    const cookie = await loggedInCookie();
    const pages: [string, RequestInit, number][] = [
      ["/app/no-such-page", { headers: { cookie } }, 404],
      ["/app/t/tn_nope/search", { headers: { cookie } }, 404],
      ["/app/projects", { ...form({ name: "x" }, { cookie }) }, 403],
    ];
    for (const [path, init, status] of pages) {
      const res = await exports.default.fetch(`http://localhost${path}`, init);
      expect(res.status, path).toBe(status);
      expect(res.headers.get("content-type"), path).toMatch(/^text\/html/);
      expect(await res.text(), path).toContain('role="alert"');
      expectHardened(res, path);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
    }
    // A storage failure nobody expected: the onError page, still with every header.
    const broken = { ...env, DB: { prepare: () => { throw new Error("the disk is on fire"); }, batch: () => { throw new Error("the disk is on fire"); } } };
    const res = await app.request("/login", form({ email: "a@example.com", password: "x" }), broken);
    expect(res.status).toBe(500);
    expect(await res.text()).toContain("Something went wrong");
    expectHardened(res, "500 page");
    // And the JSON 404 of a path no route has.
    const json = await exports.default.fetch("http://localhost/no-such-route");
    expect(json.status).toBe(404);
    await json.body?.cancel();
    expectHardened(json, "JSON 404");
  });

  it("send HSTS on https only", async () => {
    const secure = await exports.default.fetch("https://localhost/login");
    await secure.body?.cancel();
    expect(secure.headers.get("strict-transport-security")).toBe(STRICT_TRANSPORT_SECURITY);
    const notFound = await exports.default.fetch("https://localhost/app/x", { redirect: "manual" });
    await notFound.body?.cancel();
    expect(notFound.headers.get("strict-transport-security")).toBe(STRICT_TRANSPORT_SECURITY);
    const plain = await exports.default.fetch("http://localhost/login");
    await plain.body?.cancel();
    expect(plain.headers.get("strict-transport-security")).toBeNull();
  });
});
