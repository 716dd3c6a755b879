/**
 * @module
 * A tenant's stored data in numbers, from the block catalog (no R2 read): totals for the project
 * overview and spans/bytes per day for the usage chart. Compaction keeps span counts, so the
 * figures do not change when blocks are merged; a day is the day a block's first span started.
 */
import { and, eq, gte, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { blocks } from "../schema.ts";

export interface TenantTotals {
  spans: number;
  traces: number;
  blocks: number;
  lastSpanAt?: Date;
}

export async function tenantTotals(db: Db, tenantId: string): Promise<TenantTotals> {
  const row = await db
    .select({ spans: sql<number>`coalesce(sum(${blocks.spanCount}), 0)`, traces: sql<number>`coalesce(sum(${blocks.traceCount}), 0)`, blocks: sql<number>`count(*)`, lastEndMs: sql<number | null>`max(${blocks.endMs})` })
    .from(blocks)
    .where(eq(blocks.tenantId, tenantId))
    .get();
  return { spans: Number(row?.spans ?? 0), traces: Number(row?.traces ?? 0), blocks: Number(row?.blocks ?? 0), lastSpanAt: row?.lastEndMs ? new Date(Number(row.lastEndMs)) : undefined };
}

export async function usagePerDay(db: Db, tenantId: string, sinceMs: number): Promise<{ day: string; spans: number; bytes: number }[]> {
  const day = sql<string>`strftime('%Y-%m-%d', ${blocks.startMs} / 1000, 'unixepoch')`;
  const rows = await db
    .select({ day, spans: sql<number>`sum(${blocks.spanCount})`, bytes: sql<number>`sum(${blocks.bytes})` })
    .from(blocks)
    .where(and(eq(blocks.tenantId, tenantId), gte(blocks.startMs, sinceMs)))
    .groupBy(day)
    .orderBy(day)
    .all();
  return rows.map((r) => ({ day: r.day, spans: Number(r.spans), bytes: Number(r.bytes) }));
}
