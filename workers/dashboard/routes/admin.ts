/**
 * @module
 * The operator's admin API (self-hosted bootstrap), guarded by ADMIN_TOKEN: tenants and their keys.
 */
import { Hono } from "hono";
import { z } from "zod";
import { SCOPES } from "../../../shared/auth/keys.ts";
import { createKey, listKeys, revokeKey } from "../../../shared/db/queries/keys.ts";
import { createTenant, getTenant, listTenants, updateTenantLimits } from "../../../shared/db/queries/tenants.ts";
import { ApiError } from "../../../shared/http/errors.ts";
import { adminToken } from "../../../shared/http/middleware/admin-token.ts";
import { jsonBody } from "../../../shared/http/validate.ts";
import { routeContext, type DashboardApp } from "../context.ts";

const TenantInput = z.object({ name: z.string().trim().min(1).max(200) });
/** The operator's limits for a tenant: not bound by what owners may choose (settings-bounds.ts). */
const LimitsInput = z
  .object({
    ingestBytesPerSecond: z.number().int().min(1).max(10_000_000_000),
    ingestBurstBytes: z.number().int().min(1).max(10_000_000_000),
    retentionDays: z.number().int().min(1).max(3650),
  })
  .partial()
  .strict();
const KeyInput = z.object({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(z.enum(SCOPES)).min(1),
});

export const admin = new Hono<DashboardApp>()
  .use("*", routeContext(adminToken()))
  .get("/tenants", async (c) => c.json({ tenants: await listTenants(c.var.db) }))
  .post("/tenants", async (c) => {
    const { name } = await jsonBody(c, TenantInput);
    return c.json(await createTenant(c.var.db, name), 201);
  })
  .get("/tenants/:tenantId", async (c) => {
    const tenant = await getTenant(c.var.db, c.req.param("tenantId"));
    if (!tenant) throw new ApiError(404, "tenant_not_found", "No such tenant");
    return c.json(tenant);
  })
  .patch("/tenants/:tenantId", async (c) => {
    const db = c.var.db;
    const tenant = await getTenant(db, c.req.param("tenantId"));
    if (!tenant) throw new ApiError(404, "tenant_not_found", "No such tenant");
    const input = await jsonBody(c, LimitsInput);
    // Keys are cached per isolate for up to 30 s (shared/auth/authenticate.ts): new limits apply within that.
    await updateTenantLimits(db, tenant.id, { retentionDays: tenant.retentionDays, ingestBytesPerSecond: tenant.ingestBytesPerSecond, ingestBurstBytes: tenant.ingestBurstBytes, ...input });
    return c.json(await getTenant(db, tenant.id));
  })
  .post("/tenants/:tenantId/keys", async (c) => {
    const db = c.var.db;
    const tenantId = c.req.param("tenantId");
    const input = await jsonBody(c, KeyInput);
    if (!(await getTenant(db, tenantId))) throw new ApiError(404, "tenant_not_found", "No such tenant");
    const { key, secret } = await createKey(db, tenantId, input);
    return c.json({ ...key, secret }, 201);
  })
  .get("/tenants/:tenantId/keys", async (c) => {
    const db = c.var.db;
    const tenantId = c.req.param("tenantId");
    if (!(await getTenant(db, tenantId))) throw new ApiError(404, "tenant_not_found", "No such tenant");
    return c.json({ keys: await listKeys(db, tenantId) });
  })
  .delete("/tenants/:tenantId/keys/:keyId", async (c) => {
    const revoked = await revokeKey(c.var.db, c.req.param("tenantId"), c.req.param("keyId"));
    if (!revoked) throw new ApiError(404, "key_not_found", "No such live key for this tenant");
    return c.body(null, 204);
  });
