/**
 * Builds the search-scale benchmark's blocks in Node (bench/search-scale.ts runs this in worker
 * threads), the way the assembler and compaction write them:
 *
 * - the spans: a pool of multiServiceWorkload traces (12 services, HTTP routes, Postgres and Redis
 *   calls, error traces); each block is a copy of one pool workload with fresh random trace ids and
 *   its traces' times moved to spread over the block's window (span content repeats across blocks,
 *   trace ids and times do not, as in bench/trace-by-id/blocks.ts; the spread is seeded per pool,
 *   so blocks of one pool differ by a whole number of minutes). Database spans get `db.system`
 *   next to the workload's `db.system.name` (older instrumentations, and many SDKs still, write the
 *   former; the issue's structural query asks for it);
 * - the block: the real encodeBlock, and the real catalogRow for the catalog (whatever index or
 *   column those write is there);
 * - the metric rows: the real tenantDelta of shared/assembly/plan.ts over a block's spans as one
 *   ingest object (the edges paired within it, the halves left for the tenant object, the RED rows),
 *   computed once per pool and moved to each block's minutes (blockDelta), as text (encodeDelta);
 *   bench/search-scale.ts applies the deltas to a real OpenMetrics and writes what it closes with
 *   writeMetricFlush, as the tenant object does.
 */
import { randomBytes } from "node:crypto";
import { catalogRow } from "../../shared/assembly/catalog-row.ts";
import { tenantDelta } from "../../shared/assembly/plan.ts";
import { encodeBlock, type TraceInput } from "../../shared/block/encode-block.ts";
import { INGEST_BATCH_FORMAT, type IngestBatchObject } from "../../shared/ingest/batch-object.ts";
import type { TraceGroup } from "../../shared/ingest/group-by-trace.ts";
import { encodeDelta, type TenantDelta } from "../../shared/tenant-object/open-metrics.ts";
import { usageDeltas } from "../../shared/assembly/usage-deltas.ts";
import { movedTrace, POOLS, serveBlockBuilds, spanCount, traceBounds, workloadPool, type BlockSpec, type BuiltBlock } from "../support/workload-blocks.ts";

/** A block with its metric delta; `row` is the catalog row as catalogRow made it (structured clone keeps its Uint8Arrays and Date). */
export interface BlockWithDelta extends BuiltBlock {
  /** What the block's spans add to the tenant's metrics (encodeDelta). */
  delta: string;
}

/** Adds `db.system` (the older semantic convention) wherever the workload wrote `db.system.name`. */
function withDbSystem(traces: TraceInput[]): TraceInput[] {
  for (const t of traces)
    for (const rs of t.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) {
          const name = s.attributes.find((a) => a.key === "db.system.name");
          if (name && !s.attributes.some((a) => a.key === "db.system")) s.attributes.push({ key: "db.system", value: name.value });
        }
  return traces;
}

export function pool(i: number, traces: number): TraceInput[] {
  return workloadPool(301, i, traces, withDbSystem);
}

/** Trace start offsets in a block's window, the same for every block of a pool (seeded). */
function offsets(poolIndex: number, n: number, windowMs: number): number[] {
  // mulberry32
  let x = ((poolIndex % POOLS) * 0x9e3779b9 + n) | 0;
  const rand = () => {
    x = (x + 0x6d2b79f5) | 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const step = (windowMs - 5_000) / n; // leave the longest traces room to end in the window
  return Array.from({ length: n }, (_, i) => Math.floor(i * step + rand() * step));
}

/** A pool's traces at their offsets in a window starting at `startMs`, with fresh trace ids. */
function placed(spec: BlockSpec, ids: () => string) {
  const base = pool(spec.pool, spec.traces);
  const offs = offsets(spec.pool, base.length, spec.endMs - spec.startMs);
  const traces: TraceInput[] = [];
  const groups: TraceGroup[] = [];
  const traceStartMs: number[] = [];
  let spans = 0;
  base.forEach((t, i) => {
    const startMs = spec.startMs + offs[i]!;
    const traceId = ids();
    const [start, end] = traceBounds(t);
    const delta = BigInt(startMs) * 1_000_000n - start;
    const m = movedTrace(t, traceId, delta);
    const count = spanCount([t]);
    traces.push(m);
    groups.push({ traceId, spanCount: count, startTimeUnixNano: (start + delta).toString(), endTimeUnixNano: (end + delta).toString(), resourceSpans: m.resourceSpans });
    traceStartMs.push(startMs);
    spans += count;
  });
  return { traces, groups, traceStartMs, spans };
}

/**
 * The metric delta of a pool's traces placed in a reference window (computed once per pool: the
 * edge store's pairing is most of a block's build time), by the real tenantDelta over them as one
 * ingest object received at the window's end.
 */
const REFERENCE_MS = 1_700_000_400_000; // a multiple of 10 minutes
const deltas = new Map<string, TenantDelta>();
function referenceDelta(spec: BlockSpec): TenantDelta {
  const windowMs = spec.endMs - spec.startMs;
  const k = `${spec.pool % POOLS}/${spec.traces}/${windowMs}`;
  let d = deltas.get(k);
  if (!d) {
    let n = 0;
    const ref = { ...spec, blockId: "reference", startMs: REFERENCE_MS, endMs: REFERENCE_MS + windowMs };
    const { groups, spans } = placed(ref, () => (n++).toString(16).padStart(32, "0"));
    const object: IngestBatchObject = { format: INGEST_BATCH_FORMAT, tenantId: spec.tenantId, batchId: "reference", receivedAtMs: ref.endMs, source: "otlp-proto", spanCount: spans, traces: groups };
    d = tenantDelta(spec.tenantId, [{ source: { key: "bench/reference", receivedAtMs: ref.endMs, spanCount: spans }, object }], "reference");
    deltas.set(k, d);
  }
  return d;
}

/**
 * The block's delta: the reference delta moved by the block's distance from the reference window
 * (a whole number of minutes, so every row keeps its minute relative to its spans), halves keyed
 * by the block (the pool's trace ids repeat across blocks; the block's own are fresh).
 */
function blockDelta(spec: BlockSpec, spans: number): TenantDelta {
  const ref = referenceDelta(spec);
  const shiftMs = spec.startMs - REFERENCE_MS;
  if (shiftMs % 60_000 !== 0) throw new Error("blocks must start on a whole minute");
  const shiftSec = shiftMs / 1000;
  // Every list of per-minute rows the delta holds (whichever the project writes) moves.
  const moved: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ref)) {
    const rows = Array.isArray(v) && v.length > 0 && typeof v[0] === "object" && v[0] !== null && "minute" in v[0];
    moved[k] = rows ? (v as { minute: number }[]).map((r) => ({ ...r, minute: r.minute + shiftSec })) : v;
  }
  return {
    ...(moved as unknown as TenantDelta),
    keys: [`bench/${spec.blockId}`],
    blockId: spec.blockId,
    clockMs: ref.clockMs + shiftMs,
    halves: ref.halves.map((h) => ({ ...h, key: `${spec.blockId}-${h.key}`, startSec: h.startSec + shiftSec, expiresAtMs: h.expiresAtMs + shiftMs, ...(h.heldSinceMs === undefined ? {} : { heldSinceMs: h.heldSinceMs + shiftMs }) })),
    usage: usageDeltas([{ receivedAtMs: spec.endMs, spanCount: spans }], []),
  };
}

export async function buildBlock(spec: BlockSpec): Promise<BlockWithDelta> {
  const { traces, traceStartMs, spans } = placed(spec, () => randomBytes(16).toString("hex"));
  const createdAtMs = spec.endMs + 60_000;
  const encoded = await encodeBlock(traces, { tenantId: spec.tenantId, blockId: spec.blockId, createdAtMs });
  const row = catalogRow(encoded, spec.level, createdAtMs) as unknown as Record<string, unknown>;
  return { spec, bytes: encoded.bytes, row, traceIds: traces.map((t) => t.traceId), traceStartMs, spans, delta: encodeDelta(blockDelta(spec, spans)) };
}

// As a worker thread: build each spec posted, answer with the block.
serveBlockBuilds("search-scale-encoder", buildBlock);
