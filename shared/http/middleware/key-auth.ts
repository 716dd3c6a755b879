/**
 * @module
 * The API-key middleware: the single place a request gets its tenant. Handlers read
 * `c.var.principal` and never look at headers themselves. For the `read` scope a request without
 * a key may come with a dashboard session instead (session-auth.ts `sessionPrincipal`).
 */
import type { MiddlewareHandler } from "hono";
import { createKeyAuthenticator, type Principal } from "../../auth/authenticate.ts";
import { readKeyFromHeaders, type Scope } from "../../auth/keys.ts";
import { principalLookup } from "../../auth/principal-lookup.ts";
import { indexStore, type IndexStoreEnv } from "../../db/select-index-store.ts";
import { touchKey } from "../../db/queries/keys.ts";
import { ApiError } from "../errors.ts";
import { hasSessionCookie, sessionPrincipal } from "./session-auth.ts";

type KeyAuthEnv = { Bindings: IndexStoreEnv; Variables: { principal: Principal } };

/**
 * One key cache per isolate, shared by every route: a key read for one route serves the others,
 * and concurrent requests with one key share one lookup. The lookup reads the request's own
 * binding (bindings arrive with the request). During transient storage trouble a key found within
 * the last 10 minutes keeps working (authenticate.ts says exactly what that means for revocation).
 */
const authenticate = createKeyAuthenticator();

export function keyAuth<E extends KeyAuthEnv>({ scope }: { scope: Scope }): MiddlewareHandler<E> {
  return async function keyAuthMiddleware(c, next) {
    const secret = readKeyFromHeaders(c.req.raw.headers);
    if (!secret && scope === "read" && hasSessionCookie(c)) {
      // A dashboard session reads the data of the projects its user is a member of.
      c.set("principal", await sessionPrincipal(c));
      return next();
    }
    if (!secret) throw new ApiError(401, "missing_key", "An API key is required: send it as `Authorization: Bearer <key>` or `x-api-key: <key>`");
    const db = await indexStore(c.env);
    const result = await authenticate(secret, principalLookup(db));
    if (!result) throw new ApiError(401, "invalid_key", "The API key is unknown or has been revoked");
    const { principal, fresh } = result;
    if (!principal.scopes.includes(scope)) throw new ApiError(403, "missing_scope", `This API key lacks the "${scope}" scope`);
    // Recording last use once per cache refresh keeps it to one D1 write per key per 30 s.
    if (fresh) c.executionCtx.waitUntil(touchKey(db, principal.tenantId, principal.keyId).catch(() => {}));
    c.set("principal", principal);
    await next();
  };
}
