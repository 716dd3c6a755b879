/**
 * @module
 * The catalog rows a block scan needs (shared/search/block-scanner.ts): where and how big each
 * block is, its services and its attribute index. Not the trace-id filter, which only trace by id
 * reads and which is the biggest column (two bytes a trace).
 */
import { and, gte, lte, eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { blocks } from "../schema.ts";

export interface ScanBlock {
  id: string;
  bytes: number;
  startMs: number;
  endMs: number;
  services: string[];
  /** Null for blocks written before indexes. */
  attributeIndex: Uint8Array | null;
}

/** The tenant's blocks overlapping [startMs, endMs], in no particular order. */
export async function listScanBlocks(db: Db, tenantId: string, range: { startMs: number; endMs: number }): Promise<ScanBlock[]> {
  return db
    .select({ id: blocks.id, bytes: blocks.bytes, startMs: blocks.startMs, endMs: blocks.endMs, services: blocks.services, attributeIndex: blocks.attributeIndex })
    .from(blocks)
    .where(and(eq(blocks.tenantId, tenantId), gte(blocks.endMs, range.startMs), lte(blocks.startMs, range.endMs)))
    .all();
}
