/**
 * Entry of the assembler worker: the consumer of the ingest queues, the tenant objects' class, and
 * on a cron the sweep of lost ingest objects, compaction and retention (and the dashboard's expired
 * sessions). Closed metric minutes are written by each tenant's object on its own alarm.
 */
import { listTenants } from "../../shared/db/queries/tenants.ts";
import { deleteExpiredAuthRows } from "../../shared/db/queries/accounts.ts";
import { ACCOUNT_POLICY, ADDRESS_POLICY } from "../../shared/auth/login-throttle.ts";
import { SESSION_IDLE_MS } from "../../shared/auth/session.ts";
import type { IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import { compactTenant } from "./compact.ts";
import { assemblerDeps, consumeBatch, sweepIngest } from "./consume.ts";
import type { AssemblerEnv } from "./env.ts";
import { purgeDeletedTenants, sweepOrphanedPrefixes } from "./purge.ts";
import { applyRetention } from "./retention.ts";

export { TenantObject } from "./tenant-object.ts";

const MAX_COMPACTION_ROUNDS = 8;

export default {
  async queue(batch, env, _ctx) {
    await consumeBatch(batch, env);
  },
  async scheduled(_controller, env) {
    const deps = await assemblerDeps(env);
    const { db, store } = deps;
    // The dashboard's expired sessions and spent login-throttle rows (the one cron of the system).
    await deleteExpiredAuthRows(db, SESSION_IDLE_MS, Math.max(ACCOUNT_POLICY.windowMs, ADDRESS_POLICY.windowMs)).catch((err: unknown) => console.error("assembler: auth housekeeping failed", err));
    // Deleted projects whose keys can no longer be cached anywhere, then what belongs to nobody.
    await purgeDeletedTenants(deps)
      .then(() => sweepOrphanedPrefixes(deps))
      .catch((err: unknown) => console.error("assembler: purging deleted tenants failed", err));
    for (const tenant of await listTenants(db)) {
      try {
        await sweepIngest(deps, tenant.id);
        await applyRetention(db, store, tenant.id, tenant.retentionDays);
        // A busy tenant makes more small blocks per cron period than one merge takes.
        for (let round = 0; round < MAX_COMPACTION_ROUNDS; round++) if ((await compactTenant(db, store, tenant.id)).merged === 0) break;
      } catch (err) {
        console.error("assembler: maintenance failed for tenant", tenant.id, err);
      }
    }
  },
} satisfies ExportedHandler<AssemblerEnv, IngestBatchMessage>;
