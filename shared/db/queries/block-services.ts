/**
 * @module
 * What the block catalog's services lists tell without reading a block: whether any block of a
 * window holds spans of a resource with no usable `service.name` (the lists record those as "",
 * see shared/block/summarize.ts `serviceNameOf`: absent, empty or not a string). The per-minute
 * operation rows leave such spans out, so TraceQL metrics answered from the rows need none there.
 */
import { and, eq, gte, lte, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { blocks } from "../schema.ts";

/** True when a block that may hold spans in [startMs, endMs] (inclusive) lists the service "". */
export async function anyBlockWithUnnamedService(db: Db, tenantId: string, range: { startMs: number; endMs: number }): Promise<boolean> {
  const row = await db
    .select({ id: blocks.id })
    .from(blocks)
    .where(and(eq(blocks.tenantId, tenantId), gte(blocks.endMs, range.startMs), lte(blocks.startMs, range.endMs), sql`exists (select 1 from json_each(${blocks.services}) where value = '')`))
    .limit(1)
    .get();
  return row !== undefined;
}
