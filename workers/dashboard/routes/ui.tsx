/** @jsxImportSource hono/jsx */
/**
 * @module
 * The dashboard's account pages: sign-up, log-in and log-out, projects (tenants), API keys,
 * settings, members and the account. Server-rendered Hono JSX (which escapes every text and
 * attribute) with plain forms; /static/app.js adds copy buttons, the theme switch and the
 * first-run refresh. Every page under /app/t/:tenantId goes through `tenantMember()`, the one place
 * a session gets a tenant; owner-only actions ask for the owner role there.
 */
import { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { safeNextPath } from "../../../shared/auth/next-path.ts";
import { ACCOUNT_POLICY, accountKey, ADDRESS_POLICY, addressKey } from "../../../shared/auth/login-throttle.ts";
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from "../../../shared/auth/password.ts";
import { newCsrfToken, newSessionId, SESSION_ABSOLUTE_MS, sessionCookie } from "../../../shared/auth/session.ts";
import {
  addMember,
  changePassword,
  createSession,
  createUser,
  deleteSession,
  findUserByEmail,
  listMembers,
  listUserTenants,
  removeMember,
  storedPassword,
} from "../../../shared/db/queries/accounts.ts";
import { clearThrottle, countAttempt, refundAttempt, type ThrottleKey } from "../../../shared/db/queries/throttle.ts";
import { createKey, listKeys, revokeKey } from "../../../shared/db/queries/keys.ts";
import { createTenant, getTenant, markTenantDeleted, renameTenant, updateTenantLimits } from "../../../shared/db/queries/tenants.ts";
import { tenantTotals, usagePerDay } from "../../../shared/db/queries/usage.ts";
import { matcherOf, type MatcherSpec } from "../../../shared/search/matcher-spec.ts";
import { searchTraces } from "../../../shared/search/search-blocks.ts";
import { clientAddress } from "../../../shared/http/client-address.ts";
import { ApiError } from "../../../shared/http/errors.ts";
import { assertSameOrigin, session, tenantMember } from "../../../shared/http/middleware/session-auth.ts";
import { traceIdFromInput, traceIdProblem } from "../../../shared/trace-view/trace-id-input.ts";
import { logsTemplateProblem } from "../../../shared/tenancy/logs-link.ts";
import { boundsFromEnv, rateToLimits, settingsSchema } from "../../../shared/tenancy/settings-bounds.ts";
import { AccountPage } from "../../../dashboard/pages/account-page.tsx";
import { LoginPage, SignupPage } from "../../../dashboard/pages/auth-pages.tsx";
import { KeysPage, ProjectsPage, SettingsPage } from "../../../dashboard/pages/project-pages.tsx";
import { OverviewPage, type LatestTrace } from "../../../dashboard/pages/overview-page.tsx";
import { fillDays } from "../../../dashboard/pages/usage-chart.tsx";
import { routeContext, type DashboardApp, type RouteContext } from "../context.ts";
import { scanSettings, tenantObjectOf } from "../env.ts";
import { searchFanOut } from "../scan-jobs.ts";
import { summarizeHit } from "../../../shared/trace-view/search-hit.ts";
import { ClientPage } from "../../../dashboard/pages/client-page.tsx";
import type { Frame } from "../../../dashboard/pages/layout.tsx";

type Ctx = RouteContext;

const form = async (c: Ctx) => {
  const body = await c.req.parseBody({ all: true });
  const one = (name: string) => {
    const v = body[name];
    return typeof v === "string" ? v : Array.isArray(v) && typeof v[0] === "string" ? v[0] : "";
  };
  const all = (name: string) => {
    const v = body[name];
    return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === "string");
  };
  return { one, all };
};

const ingestUrl = (c: Ctx) => (c.env.INGEST_URL ?? "http://localhost:4318").replace(/\/+$/, "");
const base = (c: Ctx) => ({ email: c.var.user.email, csrf: c.var.session.csrfToken });
const project = (c: Ctx) => ({ ...base(c), tenant: c.var.tenant, role: c.var.role });

const emailSchema = z.string().trim().toLowerCase().email().max(254);
const nameSchema = z.string().trim().min(1, "A name is required").max(80, "Use at most 80 characters");

async function startSession(c: Ctx, userId: string): Promise<void> {
  const db = c.var.db;
  const id = newSessionId();
  const now = Date.now();
  await createSession(db, userId, id, newCsrfToken(), new Date(now + SESSION_ABSOLUTE_MS), new Date(now));
  const cookie = sessionCookie(new URL(c.req.url));
  setCookie(c, cookie.name, id, { httpOnly: true, secure: cookie.secure, sameSite: "Lax", path: "/", maxAge: SESSION_ABSOLUTE_MS / 1000 });
}

export const ui = new Hono<DashboardApp>();

// The stores (context.ts) for the pages that read or write accounts; a session's for the logged-in ones.
ui.use("/signup", routeContext());
ui.use("/login", routeContext());

// ---- public pages -----------------------------------------------------------------------------

ui.get("/", (c) => c.redirect("/app", 302));
// `next`: where a login or sign-up goes afterwards, the page the user had opened if it is one of ours (next-path.ts).
ui.get("/login", (c) => c.html(<LoginPage notice={c.req.query("notice") === "password-changed" ? "Password changed: log in again." : undefined} next={safeNextPath(c.req.query("next"))} />));
ui.get("/signup", (c) => c.html(<SignupPage next={safeNextPath(c.req.query("next"))} />));

ui.post("/signup", async (c) => {
  assertSameOrigin(c);
  const f = await form(c);
  const email = emailSchema.safeParse(f.one("email"));
  const password = f.one("password");
  const next = safeNextPath(f.one("next"));
  if (!email.success) return c.html(<SignupPage error="Enter a valid email address." email={f.one("email")} next={next} />, 400);
  const problem = passwordProblem(password, email.data);
  if (problem) return c.html(<SignupPage error={problem} email={email.data} next={next} />, 400);
  const db = c.var.db;
  const user = await createUser(db, email.data, await hashPassword(password));
  // Taken: the same words whether or not the password matches, nothing about the account.
  if (!user) return c.html(<SignupPage error="An account could not be created with these details. If you already have one, log in." email={email.data} next={next} />, 400);
  await startSession(c, user.id);
  return c.redirect(next ?? "/app", 303);
});

ui.post("/login", async (c) => {
  assertSameOrigin(c);
  const f = await form(c);
  const email = f.one("email").trim().toLowerCase();
  const password = f.one("password");
  const next = safeNextPath(f.one("next"));
  const db = c.var.db;
  const now = Date.now();
  // Without a trustworthy address the account's own limit is the only one (client-address.ts).
  const address = clientAddress(c.req.raw.headers);
  const keys: ThrottleKey[] = [{ key: accountKey(email), policy: ACCOUNT_POLICY }, ...(address ? [{ key: addressKey(address), policy: ADDRESS_POLICY }] : [])];
  // Counted before the password is checked, so concurrent guesses cannot all slip under the limit.
  const wait = await countAttempt(db, keys, now);
  if (wait > 0) {
    await refundAttempt(db, keys.map((k) => k.key), now);
    c.header("retry-after", String(wait));
    return c.html(<LoginPage error={`Too many failed attempts. Try again in ${Math.ceil(wait / 60)} minute(s).`} email={email} next={next} />, 429);
  }
  const user = email ? await findUserByEmail(db, email) : undefined;
  // An unknown email costs the same PBKDF2 work as a wrong password.
  const ok = await verifyPassword(password, user ? storedPassword(user) : DUMMY_HASH);
  if (!user || !ok) return c.html(<LoginPage error="Email or password is incorrect." email={email} next={next} />, 401);
  await clearThrottle(db, keys[0]!.key);
  await refundAttempt(db, keys.slice(1).map((k) => k.key), now);
  await startSession(c, user.id);
  return c.redirect(next ?? "/app", 303);
});

// ---- logged in --------------------------------------------------------------------------------

ui.use("/logout", routeContext(session()));
// Also /app itself (Hono's `/app/*` matches it). A project's pages (/app/t/:tenantId/...): its
// membership is read with the session, in one statement.
const projectInPath = (c: { req: { path: string } }) => /^\/app\/t\/([^/]+)/.exec(c.req.path)?.[1];
ui.use("/app/*", routeContext(session({ tenantOf: projectInPath })));

ui.post("/logout", async (c) => {
  await deleteSession(c.var.db, c.var.session.idHash);
  deleteCookie(c, sessionCookie(new URL(c.req.url)).name, { path: "/", secure: sessionCookie(new URL(c.req.url)).secure });
  return c.redirect("/login", 303);
});

ui.get("/app", async (c) => c.html(<ProjectsPage {...base(c)} projects={await listUserTenants(c.var.db, c.var.user.id)} />));

ui.post("/app/projects", async (c) => {
  const name = nameSchema.safeParse((await form(c)).one("name"));
  const db = c.var.db;
  if (!name.success) return c.html(<ProjectsPage {...base(c)} projects={await listUserTenants(db, c.var.user.id)} error={name.error.issues[0]!.message} />, 400);
  const tenant = await createTenant(db, name.data);
  await addMember(db, tenant.id, c.var.user.id, "owner");
  return c.redirect(`/app/t/${tenant.id}`, 303);
});

ui.get("/app/account", (c) => c.html(<AccountPage {...base(c)} />));

ui.post("/app/account/password", async (c) => {
  const f = await form(c);
  const db = c.var.db;
  const user = c.var.user;
  if (!(await verifyPassword(f.one("current"), storedPassword(user)))) return c.html(<AccountPage {...base(c)} error="The current password is incorrect." />, 400);
  const problem = passwordProblem(f.one("password"), user.email);
  if (problem) return c.html(<AccountPage {...base(c)} error={problem} />, 400);
  // Ends every session, this one too: the user logs in again with the new password.
  await changePassword(db, user.id, await hashPassword(f.one("password")), undefined);
  deleteCookie(c, sessionCookie(new URL(c.req.url)).name, { path: "/" });
  return c.redirect("/login?notice=password-changed", 303);
});

// ---- one project ------------------------------------------------------------------------------

ui.use("/app/t/:tenantId", tenantMember());
ui.use("/app/t/:tenantId/*", tenantMember());
const owner = tenantMember<DashboardApp>({ role: "owner" });

const LATEST_TRACES = 8;
const DAY_MS = 86_400_000;

/**
 * The project's newest traces of the day up to its latest span, as the search finds them (the
 * same tenant-scoped stores); undefined when storage cannot answer now, so the page still shows.
 */
async function latestTraces(c: Ctx, lastSpanAt: Date | undefined): Promise<LatestTrace[] | undefined> {
  const endMs = Math.max(Date.now(), lastSpanAt?.getTime() ?? 0) + 60_000;
  const window = { startMs: endMs - DAY_MS, endMs };
  const spec: MatcherSpec = { kind: "tags", search: {}, spss: 1 };
  const tenantId = c.var.tenant.id;
  try {
    const found = await searchTraces(c.var.db, c.var.store, tenantId, matcherOf(spec), { ...window, limit: LATEST_TRACES, ...scanSettings(c.env), fanOut: searchFanOut(c.env, tenantId, spec, window) });
    return found.traces.map((t) => {
      const { services: _services, ...summary } = summarizeHit(t);
      return { traceId: t.traceID, ...summary };
    });
  } catch (err) {
    console.error("overview: latest traces unavailable", err);
    return undefined;
  }
}

const overview = async (c: Ctx, extra: { created?: { name: string; secret: string }; error?: string } = {}, status: 200 | 201 | 400 = 200) => {
  const stats = await tenantTotals(c.var.db, c.var.tenant.id);
  const latest = stats.spans > 0 ? await latestTraces(c, stats.lastSpanAt) : [];
  return c.html(<OverviewPage {...project(c)} stats={stats} ingestUrl={ingestUrl(c)} dashboardUrl={new URL(c.req.url).origin} latest={latest} {...extra} />, status);
};

ui.get("/app/t/:tenantId", (c) => overview(c));

/** First run: an ingest key made on the overview and filled into its snippets (shown in this response only). */
ui.post("/app/t/:tenantId/first-run-key", owner, async (c) => {
  const created = await createKey(c.var.db, c.var.tenant.id, { name: "first-run key", scopes: ["ingest"] });
  return overview(c, { created: { name: created.key.name, secret: created.secret } }, 201);
});

/** Polled by the first-run page until the first span is stored. */
ui.get("/app/t/:tenantId/status", async (c) => {
  const t = await tenantTotals(c.var.db, c.var.tenant.id);
  return c.json({ spans: t.spans, traces: t.traces, lastSpanAt: t.lastSpanAt?.toISOString() ?? null }, 200, { "cache-control": "no-store" });
});

// ---- client pages: search, trace view, compare, service map, services -------------------------

const clientPage = (c: Ctx, page: string, title: string, active: Frame["active"], data: Record<string, string> = {}) =>
  c.html(<ClientPage page={page} tenantId={c.var.tenant.id} data={data} title={title} email={c.var.user.email} csrf={c.var.session.csrfToken} project={{ id: c.var.tenant.id, name: c.var.tenant.name, role: c.var.role }} active={active} />);

/**
 * The project's logs link template for the trace view (validated when saved, filled per span
 * there); one stored before the current rules that breaks them is not served at all.
 */
const logsTemplate = (c: Ctx): Record<string, string> => {
  const template = c.var.tenant.logsUrlTemplate;
  return template && !logsTemplateProblem(template) ? { "logs-url-template": template } : {};
};

ui.get("/app/t/:tenantId/search", (c) => clientPage(c, "search", `Search · ${c.var.tenant.name}`, "search"));
ui.get("/app/t/:tenantId/traces/:traceId", (c) => {
  const traceId = c.req.param("traceId");
  if (!/^[0-9a-fA-F]{1,32}$/.test(traceId)) throw new ApiError(400, "bad_trace_id", "A trace id is 16 or 32 hex digits");
  return clientPage(c, "trace", `Trace ${traceId.slice(0, 8)} · ${c.var.tenant.name}`, "trace", { "trace-id": traceId.toLowerCase(), ...logsTemplate(c) });
});
/** The header's trace-id box: 16 or 32 hex digits (16 padded to 32, as Tempo does) open that trace. */
const traceIdInput = z.string().transform((text, ctx) => traceIdFromInput(text) ?? (ctx.addIssue({ code: "custom", message: traceIdProblem(text) ?? "Enter a trace id." }), z.NEVER));
ui.get("/app/t/:tenantId/find-trace", (c) => {
  const id = traceIdInput.safeParse(c.req.query("id") ?? "");
  if (!id.success) throw new ApiError(400, "bad_trace_id", id.error.issues[0]!.message);
  return c.redirect(`/app/t/${c.var.tenant.id}/traces/${id.data}`, 302);
});
/** A trace file opened from disk, viewed without storing it. */
ui.get("/app/t/:tenantId/trace-file", (c) => clientPage(c, "trace", `Trace file · ${c.var.tenant.name}`, "trace", logsTemplate(c)));
ui.get("/app/t/:tenantId/compare", (c) => clientPage(c, "compare", `Compare traces · ${c.var.tenant.name}`, "compare"));
ui.get("/app/t/:tenantId/service-map", (c) => clientPage(c, "service-map", `Service map · ${c.var.tenant.name}`, "service-map"));
ui.get("/app/t/:tenantId/services", (c) => clientPage(c, "services", `Services · ${c.var.tenant.name}`, "services"));

const keysPage = async (c: Ctx, extra: { created?: { key: Awaited<ReturnType<typeof createKey>>["key"]; secret: string; rotatedFrom?: string }; error?: string } = {}, status: 200 | 201 | 400 = 200) =>
  c.html(<KeysPage {...project(c)} keys={await listKeys(c.var.db, c.var.tenant.id)} ingestUrl={ingestUrl(c)} {...extra} />, status);

ui.get("/app/t/:tenantId/keys", (c) => keysPage(c));

const keyScopes = z.array(z.enum(["ingest", "read"])).min(1, "Choose at least one scope");

ui.post("/app/t/:tenantId/keys", owner, async (c) => {
  const f = await form(c);
  const name = nameSchema.safeParse(f.one("name"));
  const scopes = keyScopes.safeParse(f.all("scopes"));
  if (!name.success) return keysPage(c, { error: name.error.issues[0]!.message }, 400);
  if (!scopes.success) return keysPage(c, { error: scopes.error.issues[0]!.message }, 400);
  const created = await createKey(c.var.db, c.var.tenant.id, { name: name.data, scopes: scopes.data });
  return keysPage(c, { created }, 201);
});

ui.post("/app/t/:tenantId/keys/:keyId/revoke", owner, async (c) => {
  if (!(await revokeKey(c.var.db, c.var.tenant.id, c.req.param("keyId")))) throw new ApiError(404, "not_found", "No such active key in this project");
  return c.redirect(`/app/t/${c.var.tenant.id}/keys`, 303);
});

/** A new key with the same name and scopes; the old one works until revoked (zero-downtime swap). */
ui.post("/app/t/:tenantId/keys/:keyId/rotate", owner, async (c) => {
  const db = c.var.db;
  const old = (await listKeys(db, c.var.tenant.id)).find((k) => k.id === c.req.param("keyId") && !k.revokedAt);
  if (!old) throw new ApiError(404, "not_found", "No such active key in this project");
  const scopes = old.scopes.filter((s): s is "ingest" | "read" => s === "ingest" || s === "read");
  const created = await createKey(db, c.var.tenant.id, { name: old.name, scopes });
  return keysPage(c, { created: { ...created, rotatedFrom: old.id } }, 201);
});

const settingsPage = async (c: Ctx, extra: { error?: string; notice?: string } = {}, status: 200 | 400 = 200) => {
  const db = c.var.db;
  const tenant = (await getTenant(db, c.var.tenant.id)) ?? c.var.tenant;
  const now = Date.now();
  const [members, rows] = await Promise.all([listMembers(db, tenant.id), usagePerDay(db, tenant.id, now - 30 * 86_400_000, await tenantObjectOf(c.env, tenant.id).usage(tenant.id))]);
  const usage = fillDays(rows, 30, now);
  return c.html(<SettingsPage {...project(c)} tenant={tenant} members={members} usage={usage} bounds={boundsFromEnv(c.env)} selfId={c.var.user.id} {...extra} />, status);
};

ui.get("/app/t/:tenantId/settings", (c) => settingsPage(c, { notice: c.req.query("saved") ? "Saved." : undefined }));

ui.post("/app/t/:tenantId/settings", owner, async (c) => {
  const f = await form(c);
  const parsed = settingsSchema(boundsFromEnv(c.env)).safeParse({ retentionDays: f.one("retentionDays"), ingestMegabytesPerSecond: f.one("ingestMegabytesPerSecond"), logsUrlTemplate: f.one("logsUrlTemplate") });
  if (!parsed.success) return settingsPage(c, { error: parsed.error.issues[0]!.message }, 400);
  await updateTenantLimits(c.var.db, c.var.tenant.id, {
    retentionDays: parsed.data.retentionDays,
    ...rateToLimits(parsed.data.ingestMegabytesPerSecond),
    logsUrlTemplate: parsed.data.logsUrlTemplate || null,
  });
  return c.redirect(`/app/t/${c.var.tenant.id}/settings?saved=1`, 303);
});

ui.post("/app/t/:tenantId/members", owner, async (c) => {
  const f = await form(c);
  const email = emailSchema.safeParse(f.one("email"));
  const role = z.enum(["owner", "member"]).safeParse(f.one("role") || "member");
  if (!email.success || !role.success) return settingsPage(c, { error: "Enter a valid email address and role." }, 400);
  const db = c.var.db;
  const user = await findUserByEmail(db, email.data);
  if (!user) return settingsPage(c, { error: "No account has that email yet: ask them to sign up first, then add them." }, 400);
  if (!(await addMember(db, c.var.tenant.id, user.id, role.data))) return settingsPage(c, { error: `${email.data} is already a member.` }, 400);
  return c.redirect(`/app/t/${c.var.tenant.id}/settings?saved=1`, 303);
});

ui.post("/app/t/:tenantId/members/:userId/remove", owner, async (c) => {
  const userId = c.req.param("userId");
  if (userId === c.var.user.id) return settingsPage(c, { error: "You cannot remove yourself; another owner can." }, 400);
  if (!(await removeMember(c.var.db, c.var.tenant.id, userId))) throw new ApiError(404, "not_found", "No such member");
  return c.redirect(`/app/t/${c.var.tenant.id}/settings?saved=1`, 303);
});

ui.post("/app/t/:tenantId/rename", owner, async (c) => {
  const name = nameSchema.safeParse((await form(c)).one("name"));
  if (!name.success) return settingsPage(c, { error: name.error.issues[0]!.message }, 400);
  await renameTenant(c.var.db, c.var.tenant.id, name.data);
  return c.redirect(`/app/t/${c.var.tenant.id}/settings?saved=1`, 303);
});

/**
 * Typed confirmation, then the project's keys revoked, its members removed and the tenant marked
 * deleted, at once; the assembler's cron purges its spans, object and rows once no isolate can
 * still hold one of its keys in cache (workers/assembler/purge.ts).
 */
ui.post("/app/t/:tenantId/delete", owner, async (c) => {
  const confirm = (await form(c)).one("confirm");
  if (confirm !== c.var.tenant.name) return settingsPage(c, { error: "Type the project's exact name to delete it." }, 400);
  await markTenantDeleted(c.var.db, c.var.tenant.id);
  return c.redirect("/app", 303);
});

