/**
 * Builds the benchmark's blocks in Node (bench/trace-by-id.ts runs this in worker threads): a pool
 * of multiServiceWorkload traces, each block a copy of one pool workload with fresh random trace ids
 * and its traces' times moved to spread evenly over the block's window, encoded with the real
 * encodeBlock and described by the real catalogRow. Span content repeats across blocks; trace ids
 * and times do not.
 */
import { randomBytes } from "node:crypto";
import { catalogRow } from "../../shared/assembly/catalog-row.ts";
import { encodeBlock, type TraceInput } from "../../shared/block/encode-block.ts";
import { movedTrace, serveBlockBuilds, traceBounds, workloadPool, type BlockSpec, type BuiltBlock } from "../support/workload-blocks.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

export async function buildBlock(spec: BlockSpec): Promise<BuiltBlock> {
  const base = workloadPool(101, spec.pool, spec.traces);
  const n = base.length;
  const step = (spec.endMs - spec.startMs - 5_000) / n; // leave the longest traces room to end in the window
  const traces: TraceInput[] = [];
  const traceStartMs: number[] = [];
  let spans = 0;
  for (let i = 0; i < n; i++) {
    const t = base[i]!;
    const startMs = spec.startMs + Math.floor(i * step + Math.random() * step);
    const traceId = randomBytes(16).toString("hex");
    traces.push(movedTrace(t, traceId, BigInt(startMs) * 1_000_000n - traceBounds(t)[0]));
    traceStartMs.push(startMs);
    for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) spans += ss.spans.length;
  }
  const createdAtMs = spec.endMs + 60_000;
  const encoded = await encodeBlock(traces, { tenantId: spec.tenantId, blockId: spec.blockId, createdAtMs });
  const row = catalogRow(encoded, spec.level, createdAtMs);
  return {
    spec,
    bytes: encoded.bytes,
    // The filter and the attribute index as base64 and createdAt as ms: JSON to the bench worker.
    row: { ...row, traceFilter: b64(row.traceFilter), attributeIndex: row.attributeIndex && b64(row.attributeIndex), createdAt: createdAtMs },
    traceIds: traces.map((t) => t.traceId),
    traceStartMs,
    spans,
  };
}

// As a worker thread: build each spec posted, answer with the block.
serveBlockBuilds("trace-by-id-encoder", buildBlock);
