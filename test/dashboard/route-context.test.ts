/**
 * routeContext (workers/dashboard/context.ts): the stores and the tenant on every route's context,
 * the tenant only from the principal auth set, and no store opened for a request auth refused.
 */
import { env } from "cloudflare:workers";
import { Hono, type MiddlewareHandler } from "hono";
import { describe, expect, it } from "vitest";
import type { Principal } from "../../shared/auth/authenticate.ts";
import { ApiError } from "../../shared/http/errors.ts";
import { routeContext, type DashboardApp } from "../../workers/dashboard/context.ts";
import type { DashboardEnv } from "../../workers/dashboard/env.ts";

/** The test worker's bindings, recording which of them a request read. */
function recordingEnv() {
  const read = new Set<string>();
  const proxy = new Proxy(env as unknown as DashboardEnv, {
    get(target, key, receiver) {
      if (typeof key === "string") read.add(key);
      return Reflect.get(target, key, receiver);
    },
  });
  return { env: proxy, read };
}

const principal = (tenantId: string): Principal => ({ tenantId, keyId: "k", scopes: ["read"], limits: { maxRequestBytes: 1, ingestBytesPerSecond: 1, ingestBurstBytes: 1, maxAttributeValueBytes: 1, retentionDays: 1 } });

/** An app with one route behind `routeContext(auth)` that reports what its context holds. */
function appWith(auth?: MiddlewareHandler<DashboardApp>) {
  return new Hono<DashboardApp>()
    .use("*", routeContext(auth))
    .get("/x", async (c) => {
      const { db, store, tenantId } = c.var;
      // The stores work: the index store answers a query, the object store lists.
      const tenants = await db.query.tenants.findMany({ limit: 1 });
      const objects = await store.list("t/none/");
      return c.json({ tenantId: tenantId ?? null, tenants: Array.isArray(tenants), objects: objects.length });
    })
    .onError((err, c) => c.json({ error: err instanceof ApiError ? err.code : String(err) }, err instanceof ApiError ? err.status : 500));
}

describe("routeContext", () => {
  it("puts working stores on the context, and no tenant without auth", async () => {
    const { env: e } = recordingEnv();
    const res = await appWith().request("/x", {}, e);
    expect(await res.json()).toEqual({ tenantId: null, tenants: true, objects: 0 });
  });

  it("takes the tenant from the principal auth set, and from nowhere else", async () => {
    const auth: MiddlewareHandler<DashboardApp> = async (c, next) => {
      c.set("principal", principal("tn_from_auth"));
      await next();
    };
    const { env: e } = recordingEnv();
    const res = await appWith(auth).request("/x?tenant=tn_from_query", { headers: { "x-edgetrace-tenant": "tn_from_header" } }, e);
    expect(await res.json()).toEqual({ tenantId: "tn_from_auth", tenants: true, objects: 0 });
  });

  it("opens no store for a request auth refused, whether it threw or answered", async () => {
    const throwing: MiddlewareHandler<DashboardApp> = async () => {
      throw new ApiError(401, "missing_key", "no key");
    };
    const answering: MiddlewareHandler<DashboardApp> = async (c) => c.text("go away", 403);
    for (const [auth, status] of [[throwing, 401], [answering, 403]] as const) {
      const { env: e, read } = recordingEnv();
      const res = await appWith(auth).request("/x", {}, e);
      expect(res.status).toBe(status);
      expect(read.has("DB") || read.has("SPANS") || read.has("INDEX_STORE_URL")).toBe(false);
    }
  });
});
