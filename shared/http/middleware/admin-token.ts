import type { MiddlewareHandler } from "hono";
import { adminTokenProblem } from "../../auth/admin-token-rules.mjs";
import { timingSafeEqualString } from "../../auth/keys.ts";
import { ADMIN_POLICY, adminAddressKey } from "../../auth/login-throttle.ts";
import { countAttempt, refundAttempt } from "../../db/queries/throttle.ts";
import { indexStore, type IndexStoreEnv } from "../../db/select-index-store.ts";
import { clientAddress } from "../client-address.ts";
import { ApiError } from "../errors.ts";

type AdminTokenEnv = { Bindings: IndexStoreEnv & { ADMIN_TOKEN?: string } };

/**
 * Guards the operator's admin API with the ADMIN_TOKEN secret. With no token, or a weak one
 * (admin-token-rules.mjs), the API is closed, never open. Each presented token is counted per
 * client address before it is compared, and past ADMIN_POLICY's limit refused with 429; a right
 * token gives its attempt back. Without a client address (in-runtime callers) there is no count:
 * the token's length is the guard.
 */
export function adminToken<E extends AdminTokenEnv>(): MiddlewareHandler<E> {
  return async function adminTokenMiddleware(c, next) {
    const expected = c.env.ADMIN_TOKEN;
    if (!expected) throw new ApiError(503, "admin_disabled", "The admin API is disabled: ADMIN_TOKEN is not set on this deployment");
    const weak = adminTokenProblem(expected);
    if (weak) {
      console.error(`dashboard: the admin API is disabled because ADMIN_TOKEN is weak: ${weak}`);
      throw new ApiError(503, "admin_token_weak", "The admin API is disabled: this deployment's ADMIN_TOKEN is too short or an example value; set one of at least 32 random characters");
    }
    const auth = c.req.header("authorization") ?? "";
    const token = auth.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : "";
    if (!token) throw new ApiError(401, "missing_token", "The admin API needs `Authorization: Bearer <ADMIN_TOKEN>`");
    const address = clientAddress(c.req.raw.headers);
    const keys = address ? [{ key: adminAddressKey(address), policy: ADMIN_POLICY }] : [];
    const db = await indexStore(c.env);
    const now = Date.now();
    const wait = await countAttempt(db, keys, now);
    if (wait > 0) throw new ApiError(429, "too_many_attempts", "Too many wrong admin tokens from this address; try again later", wait);
    if (!timingSafeEqualString(token, expected)) throw new ApiError(401, "invalid_token", "The admin token is wrong");
    await refundAttempt(db, keys.map((k) => k.key), now);
    await next();
  };
}
