/**
 * Builds the benchmark's blocks in Node (bench/trace-by-id.ts runs this in worker threads): a pool
 * of multiServiceWorkload traces, each block a copy of one pool workload with fresh random trace ids
 * and its traces' times moved to spread evenly over the block's window, encoded with the real
 * encodeBlock and described by the real catalogRow. Span content repeats across blocks; trace ids
 * and times do not.
 */
import { randomBytes } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { catalogRow } from "../../shared/assembly/catalog-row.ts";
import { encodeBlock, type TraceInput } from "../../shared/block/encode-block.ts";
import { multiServiceWorkload } from "../../test/support/multi-service-workload.ts";
import type { ResourceSpans } from "../../shared/model/span.ts";

export interface BlockSpec {
  tenantId: string;
  blockId: string;
  level: number;
  startMs: number;
  endMs: number;
  traces: number;
  pool: number;
}

export interface BuiltBlock {
  spec: BlockSpec;
  bytes: Uint8Array;
  /** The catalog row with the filter and the attribute index as base64 and createdAt as ms (JSON to the worker). */
  row: Record<string, unknown>;
  /** Every trace id of the block with its start, unix ms. */
  traceIds: string[];
  traceStartMs: number[];
  spans: number;
}

const POOL = 6;
const pools = new Map<number, TraceInput[]>();

function pool(i: number, traces: number): TraceInput[] {
  // Keyed by size too: the newest day's blocks may hold more traces than the rest.
  const k = (i % POOL) * 100_000 + traces;
  let p = pools.get(k);
  if (!p) pools.set(k, (p = multiServiceWorkload({ traces, seed: 101 + (i % POOL), startMs: 1_700_000_000_000 }).traces));
  return p;
}

function traceStart(t: TraceInput): bigint {
  let min: bigint | undefined;
  for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) {
    const v = BigInt(s.startTimeUnixNano);
    if (min === undefined || v < min) min = v;
  }
  return min!;
}

function moved(t: TraceInput, traceId: string, delta: bigint): TraceInput {
  const add = (ns: string) => (BigInt(ns) + delta).toString();
  const resourceSpans: ResourceSpans[] = t.resourceSpans.map((rs) => ({
    ...rs,
    scopeSpans: rs.scopeSpans.map((ss) => ({
      ...ss,
      spans: ss.spans.map((s) => ({
        ...s,
        traceId,
        startTimeUnixNano: add(s.startTimeUnixNano),
        endTimeUnixNano: add(s.endTimeUnixNano),
        events: s.events.map((e) => ({ ...e, timeUnixNano: add(e.timeUnixNano) })),
      })),
    })),
  }));
  return { traceId, resourceSpans };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

export async function buildBlock(spec: BlockSpec): Promise<BuiltBlock> {
  const base = pool(spec.pool, spec.traces);
  const n = base.length;
  const step = (spec.endMs - spec.startMs - 5_000) / n; // leave the longest traces room to end in the window
  const traces: TraceInput[] = [];
  const traceStartMs: number[] = [];
  let spans = 0;
  for (let i = 0; i < n; i++) {
    const t = base[i]!;
    const startMs = spec.startMs + Math.floor(i * step + Math.random() * step);
    const traceId = randomBytes(16).toString("hex");
    traces.push(moved(t, traceId, BigInt(startMs) * 1_000_000n - traceStart(t)));
    traceStartMs.push(startMs);
    for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) spans += ss.spans.length;
  }
  const createdAtMs = spec.endMs + 60_000;
  const encoded = await encodeBlock(traces, { tenantId: spec.tenantId, blockId: spec.blockId, createdAtMs });
  const row = catalogRow(encoded, spec.level, createdAtMs);
  return {
    spec,
    bytes: encoded.bytes,
    row: { ...row, traceFilter: b64(row.traceFilter), attributeIndex: row.attributeIndex && b64(row.attributeIndex), createdAt: createdAtMs },
    traceIds: traces.map((t) => t.traceId),
    traceStartMs,
    spans,
  };
}

// As a worker thread: build each spec posted, answer with the block (bytes transferred).
if (parentPort && workerData?.role === "trace-by-id-encoder") {
  const port = parentPort;
  port.on("message", (spec: BlockSpec | null) => {
    if (spec === null) return port.close();
    buildBlock(spec).then(
      (b) => port.postMessage(b, [b.bytes.buffer as ArrayBuffer]),
      (err: unknown) => port.postMessage({ error: String((err as Error)?.stack ?? err) }),
    );
  });
}
