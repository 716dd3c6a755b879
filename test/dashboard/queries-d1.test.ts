// The index-store suite on D1 inside workerd: the dashboard project's local D1, migrated from
// migrations/ by the project's setup file (test/support/apply-migrations.ts), as wrangler does.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import { runIndexStoreSuite } from "../support/index-store-suite.ts";

runIndexStoreSuite("D1 (workerd)", () => d1(env.DB) as BatchingDb);

// D1 bills every row written, an index entry included: the metric tables are WITHOUT ROWID
// (migration 0006) so that a new row is one written row, not two.
describe("D1 rows written per metric row", () => {
  it("is one for a new edge, operation, usage or flush-marker row", async () => {
    const statements = [
      env.DB.prepare("INSERT INTO edge_minutes VALUES ('tn_rows', 60, 'a', 'b', '', 1, 0, x'00', x'00')"),
      env.DB.prepare("INSERT INTO operation_minutes VALUES ('tn_rows', 60, 'a', 'GET /', 2, 1, 0, x'00')"),
      env.DB.prepare("INSERT INTO usage_days VALUES ('tn_rows', '2026-12-01', 1, 0)"),
      env.DB.prepare("INSERT INTO metric_flushes VALUES ('tn_rows', 'f1', 0)"),
    ];
    for (const s of statements) expect((await s.run()).meta.rows_written).toBe(1);
  });

  it("is two for a catalogued block (the row and its (tenant, end) index entry)", async () => {
    await env.DB.prepare("INSERT INTO tenants (id, name, created_at) VALUES ('tn_rows', 'rows', 0)").run();
    const insert = env.DB.prepare("INSERT INTO blocks (id, tenant_id, level, format_version, start_ms, end_ms, trace_count, span_count, bytes, services, trace_filter, attribute_index, created_at) VALUES ('l0-rows', 'tn_rows', 0, 2, 0, 1, 1, 1, 1, '[]', x'00', x'01', 0)");
    expect((await insert.run()).meta.rows_written).toBe(2);
  });
});
