/**
 * @module
 * What a worker can ask a tenant's object (the Durable Object in workers/assembler/tenant-object.ts,
 * one per tenant, bound as TENANTS in every worker): the assembler commits deltas and asks its
 * ledger, ingest takes rate-limit leases, the dashboard reads open metric rows and clears a deleted
 * tenant. Every call names the tenant: the object stores it on first use (an alarm has no caller
 * to name it).
 *
 * Structural types only, so that code which runs in Node too (shared/) can take a stub.
 */
import type { LeaseAnswer, LeaseRequest } from "../ingest/rate-limit.ts";
import type { EdgeRow } from "../servicegraph/aggregate.ts";
import type { OperationRow, ServiceRow } from "../metrics/red.ts";
import type { TimeWindow } from "../metrics/rows.ts";
import type { TenantDelta } from "./open-metrics.ts";
import type { UsageDelta } from "../assembly/usage-deltas.ts";

/** Applied; or refused, because these keys (with their blocks) are in the ledger already. */
export type CommitResult = { applied: true } | { applied: false; assembled: Record<string, string> };

export interface FlushResult {
  /** Rows (edge + operation + service) and usage days written to D1 by this call. */
  rows: number;
  usageDays: number;
}

export interface TenantObjectApi {
  /** The keys of `keys` the ledger holds, with the block each went into. */
  assembled(tenantId: string, keys: string[]): Promise<Record<string, string>>;
  /** Applies the delta and records its keys, atomically, unless one of its keys is recorded already. */
  commit(tenantId: string, delta: TenantDelta, wallMs: number): Promise<CommitResult>;
  takeLease(tenantId: string, request: LeaseRequest): Promise<LeaseAnswer>;
  edgeRows(tenantId: string, window: TimeWindow): Promise<EdgeRow[]>;
  operationRows(tenantId: string, window: TimeWindow): Promise<OperationRow[]>;
  /**
   * Open service rows overlapping the window, and the first minute (unix seconds) from which the
   * service rows, these and D1's, hold every span (see shared/tenant-object/open-metrics.ts).
   */
  serviceRows(tenantId: string, window: TimeWindow): Promise<{ rows: ServiceRow[]; from: number }>;
  /** Usage counted and not yet written to D1. */
  usage(tenantId: string): Promise<UsageDelta[]>;
  /** Writes what is final at `wallMs` (default now) to D1, as the object's alarm does. */
  flush(tenantId: string, wallMs?: number): Promise<FlushResult>;
  /** Removes everything the object stores (the tenant is being deleted). */
  destroy(): Promise<void>;
}

/** The part of a DurableObjectNamespace this needs. */
export interface TenantObjectNamespace {
  idFromName(name: string): unknown;
  get(id: never): unknown;
}

/** The stub of a tenant's object. */
export function tenantObject(namespace: TenantObjectNamespace, tenantId: string): TenantObjectApi {
  return namespace.get(namespace.idFromName(tenantId) as never) as TenantObjectApi;
}
