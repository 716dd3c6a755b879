/**
 * @module
 * What the search-scale and trace-by-id benchmarks share in building their blocks: a block spec,
 * pools of shop-workload traces (test/support/multi-service-workload.ts), a trace moved to a new
 * id and start, and the worker threads that build blocks (each bench's blocks.ts, as a worker,
 * answers specs with blocks; the bench hands the specs out).
 */
import { parentPort, Worker, workerData } from "node:worker_threads";
import type { TraceInput } from "../../shared/block/encode-block.ts";
import type { ResourceSpans } from "../../shared/model/span.ts";
import { multiServiceWorkload } from "../../test/support/multi-service-workload.ts";

export interface BlockSpec {
  tenantId: string;
  blockId: string;
  level: number;
  startMs: number;
  endMs: number;
  traces: number;
  pool: number;
}

/** A block as a worker thread answers a spec. */
export interface BuiltBlock {
  spec: BlockSpec;
  bytes: Uint8Array;
  /** The block's catalog row, in the form the bench's worker takes it. */
  row: Record<string, unknown>;
  /** Every trace id of the block with its start, unix ms. */
  traceIds: string[];
  traceStartMs: number[];
  spans: number;
}

/** How many pool workloads the blocks take turns with. */
export const POOLS = 6;
const pools = new Map<string, TraceInput[]>();

/**
 * Pool `i`'s workload of `traces` traces, seeded `seedBase + i mod POOLS` and made once per
 * thread (a bench uses seeds of its own: `prepare` runs once, on the first call for a seed).
 */
export function workloadPool(seedBase: number, i: number, traces: number, prepare: (traces: TraceInput[]) => TraceInput[] = (t) => t): TraceInput[] {
  const seed = seedBase + (i % POOLS);
  const k = `${seed}/${traces}`;
  let p = pools.get(k);
  if (!p) pools.set(k, (p = prepare(multiServiceWorkload({ traces, seed, startMs: 1_700_000_000_000 }).traces)));
  return p;
}

export function spanCount(traces: TraceInput[]): number {
  let n = 0;
  for (const t of traces) for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}

/** The earliest span start and the latest span end of a trace, unix ns. */
export function traceBounds(t: TraceInput): [bigint, bigint] {
  let min: bigint | undefined;
  let max = 0n;
  for (const rs of t.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans) {
        const v = BigInt(s.startTimeUnixNano);
        if (min === undefined || v < min) min = v;
        const e = BigInt(s.endTimeUnixNano);
        if (e > max) max = e;
      }
  return [min!, max];
}

/** A copy of `t` with trace id `traceId` and every time (spans and events) `deltaNs` later. */
export function movedTrace(t: TraceInput, traceId: string, deltaNs: bigint): TraceInput {
  const add = (ns: string) => (BigInt(ns) + deltaNs).toString();
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

/** As a worker thread started with `role`: builds each spec posted and answers with the block (its bytes transferred). */
export function serveBlockBuilds<B extends { bytes: Uint8Array }>(role: string, build: (spec: BlockSpec) => Promise<B>): void {
  if (!parentPort || workerData?.role !== role) return;
  const port = parentPort;
  port.on("message", (spec: BlockSpec | null) => {
    if (spec === null) return port.close();
    build(spec).then(
      (b) => port.postMessage(b, [b.bytes.buffer as ArrayBuffer]),
      (err: unknown) => port.postMessage({ error: String((err as Error)?.stack ?? err) }),
    );
  });
}

/** Builds `specs` on `threads` worker threads running `script` as `role`; `onBlock` gets each block as it arrives. */
export async function buildInWorkers<B extends object>(script: URL, role: string, specs: readonly BlockSpec[], threads: number, onBlock: (block: B) => void): Promise<void> {
  let nextSpec = 0;
  await Promise.all(
    Array.from({ length: threads }, () => {
      const w = new Worker(script, { workerData: { role } });
      return new Promise<void>((resolve, reject) => {
        const next = () => {
          if (nextSpec < specs.length) w.postMessage(specs[nextSpec++]);
          else {
            w.postMessage(null);
            resolve();
          }
        };
        w.on("error", reject);
        w.on("message", (b: B | { error: string }) => {
          if ("error" in b) return reject(new Error(b.error));
          next();
          try {
            onBlock(b as B);
          } catch (err) {
            reject(err);
          }
        });
        next();
      });
    }),
  );
}
