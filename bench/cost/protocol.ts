/** What bench/cost/worker.mts (in workerd) and bench/cost.ts (in Node) exchange as JSON. */
import type { IngestBatchMessage } from "../../shared/ingest/batch-object.ts";
import type { R2OpCounts } from "../support/counting-r2.ts";
import type { D1Counts } from "./counting-d1.ts";
import type { ObjectCounts } from "../support/object-counts.ts";

export interface QueueCounts {
  /** Messages sent, delivered, and acknowledged (deleted). */
  sent: number;
  delivered: number;
  acked: number;
  retried: number;
  /** Billed operations: one per 64 KB (1 KB = 1000 bytes, ~100 bytes metadata each) written, read or deleted. */
  writeOps: number;
  readOps: number;
  deleteOps: number;
  bytes: number;
}

/** Tenant objects (Durable Objects): calls at the binding, and the rows they write to their own SQLite. */
export interface TenantObjectCounts extends ObjectCounts {
  rowsWritten: number;
  rowsRead: number;
  /** Edge and operation rows the objects' flushes wrote to D1. */
  metricRowsFlushed: number;
}

export interface PhaseCounts {
  /** R2 and D1 include what the tenant objects do with them. */
  r2: R2OpCounts;
  d1: D1Counts;
  queue: QueueCounts;
  object: TenantObjectCounts;
  /** Worker invocations: fetch requests, queue consumer batches, cron runs. */
  invocations: number;
}

/** `flush`: the tenant objects' writes of closed minutes and usage (their alarm), wherever they run. */
export type Phase = "setup" | "ingest" | "assemble" | "flush" | "cron_compact" | "cron_retention" | "cron_idle";

/** A sent message as Node sees it: the message stays in the worker (its inline payload is binary). */
export interface SentMessage {
  ref: string;
  receivedAtMs: number;
  /** Billed size: the fields plus the inline payload. */
  bytes: number;
  inline: boolean;
}

export interface DeliverRequest {
  refs: string[];
  /** After the batch, the tenant objects' flush at this time, as their alarm runs every 30 s. */
  flushAtMs?: number;
}
export interface DeliverResult {
  acked: number;
  retried: number;
}

export interface CronRequest {
  phase: Phase;
  nowMs: number;
}

export const QUEUE_MESSAGE_OVERHEAD_BYTES = 100;
export const QUEUE_OP_BYTES = 64_000;

/** A message's size as the queue bills it: structured-clone of the fields plus the binary payload. */
export function messageBytes(body: IngestBatchMessage): number {
  const { inline, ...fields } = body;
  return new TextEncoder().encode(JSON.stringify(fields)).byteLength + (inline?.byteLength ?? 0);
}

export function queueOps(bytes: number): number {
  return Math.max(1, Math.ceil((bytes + QUEUE_MESSAGE_OVERHEAD_BYTES) / QUEUE_OP_BYTES));
}
