// The index-store suite on D1 inside workerd: the dashboard project's local D1, migrated from
// migrations/ by the project's setup file (test/support/apply-migrations.ts), as wrangler does.
import { env } from "cloudflare:workers";
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import { runIndexStoreSuite } from "../../shared/db/queries/queries.case.ts";

runIndexStoreSuite("D1 (workerd)", () => d1(env.DB) as BatchingDb);
