/**
 * @module
 * What a dashboard route finds on its context, and the one middleware that puts it there. Every
 * route module is a `Hono<DashboardApp>`, and its handlers read
 *
 * - `c.var.db`: the index store (D1, or libSQL when configured: shared/db/select-index-store.ts),
 * - `c.var.store`: the spans bucket as an `ObjectStore` (shared/storage/object-store.ts),
 * - `c.var.tenantId`: the tenant the request acts for (with `c.var.principal`),
 *
 * and never open a store or look for a tenant themselves.
 *
 * `routeContext(auth)` runs `auth` first: key auth (`readRoute`), the admin token, or nothing for
 * the pages, whose sessions and projects come from session-auth.ts (`c.var.user`, `c.var.tenant`).
 * Those middlewares in shared/http/middleware/ are the only places a request gets a tenant
 * (ARCHITECTURE.md, "Tenancy"); `tenantId` is the tenant of the principal auth set, copied here
 * and nowhere else. Then the stores, so a refused request never opens one.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { BatchingDb } from "../../shared/db/client.ts";
import { indexStore } from "../../shared/db/select-index-store.ts";
import { keyAuth } from "../../shared/http/middleware/key-auth.ts";
import type { MemberVariables } from "../../shared/http/middleware/session-auth.ts";
import { r2Store, type ObjectStore } from "../../shared/storage/object-store.ts";
import type { DashboardEnv } from "./env.ts";

export type RouteVariables = MemberVariables & {
  db: BatchingDb;
  store: ObjectStore;
  /** The tenant the request acts for: `principal.tenantId`, set after auth found the principal. */
  tenantId: string;
};

/** The app type of every dashboard route module. */
export type DashboardApp = { Bindings: DashboardEnv; Variables: RouteVariables };

/** A dashboard route's context, for the helpers a handler passes it to. */
export type RouteContext = Context<DashboardApp>;

/** The stores, and the tenant of the principal `auth` (if any) found, on the context; see the module comment. */
export function routeContext(auth?: MiddlewareHandler<DashboardApp>): MiddlewareHandler<DashboardApp> {
  const withStores: MiddlewareHandler<DashboardApp> = async (c, next) => {
    c.set("db", await indexStore(c.env));
    c.set("store", r2Store(c.env.SPANS));
    const principal = c.get("principal") as RouteVariables["principal"] | undefined;
    if (principal) c.set("tenantId", principal.tenantId);
    await next();
  };
  return auth
    ? (c, next) =>
        auth(c, async () => {
          await withStores(c, next);
        })
    : withStores;
}

/** The query APIs' context (Tempo, Jaeger, Zipkin, metrics, service graph): a key, or a session, with the `read` scope. */
export const readRoute = routeContext(keyAuth<DashboardApp>({ scope: "read" }));
