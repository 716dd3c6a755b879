/**
 * A project's pages, and the query APIs called with a session, read the session and the user's
 * membership of the project in one D1 statement: on Cloudflare every statement is a round trip
 * (10-50 ms) before the page's own reads start.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../workers/dashboard/app.ts";
import type { DashboardEnv } from "../../workers/dashboard/env.ts";
import { PageSession } from "../support/page-session.ts";

/** The dashboard's D1, recording the SQL of every statement prepared on it. */
function recordingDb(db: D1Database) {
  const statements: string[] = [];
  const recording = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql: string) => {
          statements.push(sql);
          return target.prepare(sql);
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: recording, statements };
}

/** A request with the session's cookie; returns the status and the session or membership reads it made. */
async function withSession(person: PageSession, path: string, headers: Record<string, string> = {}) {
  const { db, statements } = recordingDb((env as unknown as DashboardEnv).DB as D1Database);
  const ctx = createExecutionContext();
  const cookie = [...person.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const res = await app.fetch(new Request(`http://localhost${path}`, { headers: { cookie, ...headers }, redirect: "manual" }), { ...(env as unknown as DashboardEnv), DB: db }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  const reads = statements.filter((sql) => /^select/i.test(sql) && /"(sessions|memberships)"/.test(sql));
  return { status: res.status, text, reads };
}

describe("session and membership in one statement", () => {
  it("a project's page and a query API called with a session read both in one statement; a non-member still gets no access", async () => {
    const owner = new PageSession();
    await owner.signUp();
    const tenantId = await owner.newProject("one round trip");

    const page = await withSession(owner, `/app/t/${tenantId}/status`);
    expect(page.status).toBe(200);
    expect(JSON.parse(page.text)).toMatchObject({ spans: 0 });
    expect(page.reads).toHaveLength(1);
    expect(page.reads[0]).toMatch(/"memberships"/);

    const api = await withSession(owner, "/api/v2/search/tags?scope=span", { "x-edgetrace-tenant": tenantId });
    expect(api.status).toBe(200);
    expect(api.reads).toHaveLength(1);

    // The projects list names no project: the session alone, as before.
    const list = await withSession(owner, "/app");
    expect(list.status).toBe(200);
    expect(list.reads.filter((sql) => /"sessions"/.test(sql))).toHaveLength(1); // once, not once per middleware

    // Someone else, with a session of their own: the page and the API answer as for a missing project.
    const stranger = new PageSession();
    await stranger.signUp();
    const denied = await withSession(stranger, `/app/t/${tenantId}/status`);
    expect(denied.status).toBe(404);
    expect(denied.text).toContain("No access to this project");
    expect(denied.reads).toHaveLength(1);
    expect((await withSession(stranger, "/api/v2/search/tags?scope=span", { "x-edgetrace-tenant": tenantId })).status).toBe(404);
  });
});
