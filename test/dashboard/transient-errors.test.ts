/**
 * Transient storage trouble answers a retryable 503 with Retry-After on every query API (OTLP and
 * Grafana clients retry 503, not 500). A D1 that fails every statement with SQLITE_BUSY stands in
 * for a locked database: a lock cannot be produced on demand.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../workers/dashboard/app.ts";
import type { DashboardEnv } from "../../workers/dashboard/env.ts";
import { PageSession } from "../support/page-session.ts";
import { tenantWithKey } from "../support/store-assembled.ts";

const busy = () => {
  throw new Error("D1_ERROR: database is locked: SQLITE_BUSY");
};
const statement: Record<string, unknown> = { bind: () => statement, all: busy, run: busy, first: busy, raw: busy };
const lockedDb = { prepare: () => statement, batch: busy, exec: busy, withSession: () => lockedDb } as unknown as D1Database;

async function get(path: string, secret: string, db?: D1Database) {
  const ctx = createExecutionContext();
  const workerEnv = { ...(env as unknown as DashboardEnv), ...(db ? { DB: db } : {}) };
  const res = await app.fetch(new Request(`http://dashboard.local${path}`, { headers: { "x-api-key": secret } }), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

let secret: string;

beforeAll(async () => {
  ({ secret } = await tenantWithKey(["read"]));
});

describe("transient storage errors", () => {
  const now = Math.floor(Date.now() / 1000);
  for (const path of [
    `/api/search?q=${encodeURIComponent("{ }")}&start=${now - 3600}&end=${now}`,
    `/jaeger/api/services`,
    `/zipkin/api/v2/services`,
    `/api/traces/${"ab".repeat(16)}`,
  ]) {
    it(`answers 503 with Retry-After, not 500: ${path.split("?")[0]}`, async () => {
      // The key is known to the isolate first (a healthy request), then the database locks.
      expect((await get(path, secret)).status).toBeLessThan(500);
      const res = await get(path, secret, lockedDb);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
    });
  }
});

describe("transient storage errors on pages", () => {
  /** A page request with a signed-in session's cookie, to the app with the database locked. */
  async function pageRequest(method: "GET" | "POST", path: string, cookie: string) {
    const ctx = createExecutionContext();
    const workerEnv = { ...(env as unknown as DashboardEnv), DB: lockedDb };
    const headers: Record<string, string> = { cookie, origin: "http://localhost" };
    if (method === "POST") headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await app.fetch(new Request(`http://localhost${path}`, { method, headers, body: method === "POST" ? "name=x" : undefined, redirect: "manual" }), workerEnv, ctx);
    await waitOnExecutionContext(ctx);
    return { status: res.status, retryAfter: res.headers.get("retry-after"), text: await res.text() };
  }

  it("a page that was only read loads itself again after Retry-After; a form post says to submit again", async () => {
    const person = new PageSession();
    await person.signUp();
    const tenantId = await person.newProject("locked");
    const cookie = [...person.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    expect((await person.get(`/app/t/${tenantId}`)).status).toBe(200);

    const read = await pageRequest("GET", `/app/t/${tenantId}`, cookie);
    expect(read.status).toBe(503);
    expect(read.retryAfter).toBe("1");
    expect(read.text).toContain('<meta http-equiv="refresh" content="1"/>');
    expect(read.text).toContain("This page loads again by itself in 1 s.");

    const post = await pageRequest("POST", "/app/projects", cookie);
    expect(post.status).toBe(503);
    expect(post.retryAfter).toBe("1");
    expect(post.text).not.toContain("http-equiv");
    expect(post.text).toContain("Go back and submit the form again.");
  });
});
