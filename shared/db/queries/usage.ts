/**
 * @module
 * A tenant's data in numbers: totals for the project overview and bytes stored per day from the
 * block catalog (no R2 read; compaction keeps the sums, a day being the day a block's first span
 * started), and spans accepted and rejected per day from `usage_days` (by ingest receive time).
 */
import { and, eq, gte, sql } from "drizzle-orm";
import type { UsageDelta } from "../../assembly/usage-deltas.ts";
import type { Db } from "../client.ts";
import { blocks, usageDays } from "../schema.ts";

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

export interface UsageDay {
  day: string;
  spansAccepted: number;
  spansRejected: number;
  bytes: number;
}

/**
 * @param open usage the tenant's object has counted and not written yet (its open metrics), added
 * to the stored days so the chart is current (read D1 first: a write between the two reads leaves
 * counts out of one answer, never in twice).
 */
export async function usagePerDay(db: Db, tenantId: string, sinceMs: number, open: readonly UsageDelta[] = []): Promise<UsageDay[]> {
  const day = sql<string>`strftime('%Y-%m-%d', ${blocks.startMs} / 1000, 'unixepoch')`;
  const sinceDay = new Date(sinceMs).toISOString().slice(0, 10);
  const [stored, counted] = await Promise.all([
    db
      .select({ day, bytes: sql<number>`sum(${blocks.bytes})` })
      .from(blocks)
      .where(and(eq(blocks.tenantId, tenantId), gte(blocks.startMs, sinceMs)))
      .groupBy(day)
      .all(),
    db.select().from(usageDays).where(and(eq(usageDays.tenantId, tenantId), gte(usageDays.day, sinceDay))).all(),
  ]);
  const out = new Map<string, UsageDay>();
  const at = (d: string) => out.get(d) ?? out.set(d, { day: d, spansAccepted: 0, spansRejected: 0, bytes: 0 }).get(d)!;
  for (const r of stored) at(r.day).bytes = Number(r.bytes);
  for (const r of counted) Object.assign(at(r.day), { spansAccepted: r.spansAccepted, spansRejected: r.spansRejected });
  for (const u of open) {
    if (u.day < sinceDay) continue;
    const d = at(u.day);
    d.spansAccepted += u.spansAccepted;
    d.spansRejected += u.spansRejected;
  }
  return [...out.values()].sort((a, b) => a.day.localeCompare(b.day));
}

/** Upserts adding the deltas to the tenant's day rows (for a D1 batch: see recordBlock). */
export function usageRowStatements(db: Db, tenantId: string, deltas: readonly UsageDelta[]) {
  return deltas.map((d) =>
    db
      .insert(usageDays)
      .values({ tenantId, ...d })
      .onConflictDoUpdate({
        target: [usageDays.tenantId, usageDays.day],
        set: { spansAccepted: sql`${usageDays.spansAccepted} + excluded.spans_accepted`, spansRejected: sql`${usageDays.spansRejected} + excluded.spans_rejected` },
      }),
  );
}
