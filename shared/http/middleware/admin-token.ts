import type { MiddlewareHandler } from "hono";
import { timingSafeEqualString } from "../../auth/keys.ts";
import { ApiError } from "../errors.ts";

/**
 * Guards the operator's admin API with the ADMIN_TOKEN secret. With no token configured the API
 * is closed, never open.
 */
export function adminToken<E extends { Bindings: { ADMIN_TOKEN?: string } }>(): MiddlewareHandler<E> {
  return async function adminTokenMiddleware(c, next) {
    const expected = c.env.ADMIN_TOKEN;
    if (!expected) throw new ApiError(503, "admin_disabled", "The admin API is disabled: ADMIN_TOKEN is not set on this deployment");
    const auth = c.req.header("authorization") ?? "";
    const token = auth.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : "";
    if (!token) throw new ApiError(401, "missing_token", "The admin API needs `Authorization: Bearer <ADMIN_TOKEN>`");
    if (!timingSafeEqualString(token, expected)) throw new ApiError(401, "invalid_token", "The admin token is wrong");
    await next();
  };
}
