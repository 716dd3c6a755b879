/**
 * @module
 * Dashboard sessions, the second way (after API keys) a request gets a principal. `session()`
 * finds the user from the session cookie and enforces CSRF on every state-changing request;
 * `tenantMember()` is the single place a session is scoped to a tenant: it reads `:tenantId`,
 * checks the membership and sets the same `principal` that key auth sets, so handlers are scoped
 * by the one mechanism whichever way the caller came in. A tenant the user is not a member of
 * answers 404, exactly like one that does not exist. The query APIs take a session too, through
 * key auth's fallback to `sessionPrincipal()`, with the tenant named in a header.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { Principal } from "../../auth/authenticate.ts";
import { timingSafeEqualString } from "../../auth/keys.ts";
import { sessionCookie, sessionVerdict } from "../../auth/session.ts";
import { findSession, getMembership, touchSession, type Role } from "../../db/queries/accounts.ts";
import type { Session, Tenant, User } from "../../db/schema.ts";
import { indexStore, type IndexStoreEnv } from "../../db/select-index-store.ts";
import { ApiError } from "../errors.ts";

/** The membership of one tenant, read with the session when the route names it (see `session()`). */
type MembershipRead = { tenantId: string; membership: { role: Role; tenant: Tenant } | undefined };
export type SessionVariables = { user: User; session: Session; membershipRead?: MembershipRead };
export type MemberVariables = SessionVariables & { principal: Principal; role: Role; tenant: Tenant };
type SessionEnv = { Bindings: IndexStoreEnv; Variables: SessionVariables };
type MemberEnv = { Bindings: IndexStoreEnv; Variables: MemberVariables };

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Thrown when a page needs a login; the UI turns it into a redirect to /login. */
export class LoginRequired extends ApiError {
  constructor() {
    super(401, "login_required", "Log in to continue");
  }
}

/**
 * A page of a project the user is not a member of (or that does not exist: the two are not told
 * apart, so a guessed id learns nothing). 404 like any missing project; the error page tells the
 * signed-in user how to get access.
 */
export class NotAMember extends ApiError {
  readonly email: string;
  constructor(email: string) {
    super(404, "not_found", "This project does not exist, or you are not a member of it.");
    this.email = email;
  }
}

/**
 * A state-changing request must come from our own pages: same-origin by the browser's Origin (or
 * Sec-Fetch-Site) header, and carrying the session's CSRF token (form field `_csrf` or header
 * `x-csrf-token`). SameSite=Lax already keeps the cookie off cross-site POSTs; this is the second lock.
 */
export function assertSameOrigin(c: Context): void {
  const origin = c.req.header("origin");
  const site = c.req.header("sec-fetch-site");
  const self = new URL(c.req.url).origin;
  if (origin ? origin !== self : site !== undefined && site !== "same-origin" && site !== "none") {
    throw new ApiError(403, "cross_origin", "Cross-origin form posts are refused");
  }
}

async function csrfTokenOf(c: Context): Promise<string | undefined> {
  const header = c.req.header("x-csrf-token");
  if (header) return header;
  const type = c.req.header("content-type") ?? "";
  if (type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data")) {
    const form = await c.req.parseBody();
    const token = form["_csrf"];
    return typeof token === "string" ? token : undefined;
  }
  return undefined;
}

/** Whether the request carries a session cookie at all (key auth falls back to sessions on it). */
export function hasSessionCookie(c: Context): boolean {
  return getCookie(c, sessionCookie(new URL(c.req.url)).name) !== undefined;
}

/**
 * The live session of the request (CSRF-checked when the method changes state), or LoginRequired;
 * with `tenantId`, also the user's membership of it, from the same D1 statement.
 */
async function requireSession<E extends { Bindings: IndexStoreEnv }>(c: Context<E>, tenantId?: string): Promise<NonNullable<Awaited<ReturnType<typeof findSession>>>> {
  const id = getCookie(c, sessionCookie(new URL(c.req.url)).name);
  if (!id) throw new LoginRequired();
  const db = await indexStore(c.env);
  const found = await findSession(db, id, tenantId);
  const now = Date.now();
  const verdict = found ? sessionVerdict(found.session, now) : "expired";
  if (!found || verdict === "expired") throw new LoginRequired();
  if (!SAFE_METHODS.has(c.req.method)) {
    assertSameOrigin(c);
    const token = await csrfTokenOf(c);
    if (!token || !timingSafeEqualString(token, found.session.csrfToken)) throw new ApiError(403, "csrf", "The form is stale or was not sent by this site; reload the page and try again");
  }
  if (verdict === "touch") c.executionCtx.waitUntil(touchSession(db, found.session.idHash, new Date(now)).catch(() => {}));
  return found;
}

/**
 * @param tenantOf the tenant a later `tenantMember()` will check, when the path names one: its
 * membership is read with the session (one D1 round trip instead of two). Only a hint: the
 * membership check itself stays in `tenantMember()`, which reads again if the tenants differ.
 */
export function session<E extends SessionEnv>(opts: { tenantOf?: (c: Context<E>) => string | undefined } = {}): MiddlewareHandler<E> {
  return async function sessionMiddleware(c, next) {
    const tenantId = opts.tenantOf?.(c);
    const found = await requireSession(c, tenantId);
    c.set("user", found.user);
    c.set("session", found.session);
    if (tenantId !== undefined) c.set("membershipRead", { tenantId, membership: found.membership });
    await next();
  };
}

/** The principal a member of `tenantId` acts as: read access to the tenant's data, nothing else. */
async function memberOf<E extends { Bindings: IndexStoreEnv }>(c: Context<E>, tenantId: string | undefined, userId: string, read?: MembershipRead): Promise<{ principal: Principal; role: Role; tenant: Tenant }> {
  const m = !tenantId ? undefined : read?.tenantId === tenantId ? read.membership : await getMembership(await indexStore(c.env), tenantId, userId);
  if (!m) throw new ApiError(404, "not_found", "No such project");
  const t = m.tenant;
  return {
    tenant: t,
    role: m.role,
    principal: {
      tenantId: t.id,
      keyId: `session:${userId}`,
      scopes: ["read"],
      limits: { maxRequestBytes: t.maxRequestBytes, ingestBytesPerSecond: t.ingestBytesPerSecond, ingestBurstBytes: t.ingestBurstBytes, maxAttributeValueBytes: t.maxAttributeValueBytes, retentionDays: t.retentionDays },
    },
  };
}

/**
 * The query APIs' session path (used by key auth when a request has no key but a session cookie):
 * the tenant is named by the `x-edgetrace-tenant` header (or `tenant` query parameter) and must
 * be one the user is a member of. Answers 404 for any other, like a missing one.
 */
export async function sessionPrincipal<E extends { Bindings: IndexStoreEnv }>(c: Context<E>): Promise<Principal> {
  const tenantId = c.req.header("x-edgetrace-tenant") ?? c.req.query("tenant");
  const found = await requireSession(c, tenantId || undefined);
  if (!tenantId) throw new ApiError(400, "missing_tenant", "With a session, name the project in the x-edgetrace-tenant header or the tenant query parameter");
  return (await memberOf(c, tenantId, found.user.id, { tenantId, membership: found.membership })).principal;
}

/** After `session()`: the `:tenantId` of the route, if the user is a member (with `role`, if given). */
export function tenantMember<E extends MemberEnv>(opts: { role?: Role } = {}): MiddlewareHandler<E> {
  return async function tenantMemberMiddleware(c, next) {
    const m = await memberOf(c, c.req.param("tenantId"), c.var.user.id, c.var.membershipRead).catch((err: unknown) => {
      throw err instanceof ApiError && err.code === "not_found" ? new NotAMember(c.var.user.email) : err;
    });
    if (opts.role === "owner" && m.role !== "owner") throw new ApiError(403, "owner_only", "Only an owner of this project can do that");
    c.set("tenant", m.tenant);
    c.set("role", m.role);
    c.set("principal", m.principal);
    await next();
  };
}
