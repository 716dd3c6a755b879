/**
 * @module
 * What a queue consumer does with one tenant's share of a batch, decided without I/O. The worker
 * (workers/assembler/consume.ts) reads, calls these, and writes:
 *
 *   1. `mayBeRedelivered`: only if a message was delivered before (attempts > 1) or comes from the
 *      sweep, ask the tenant object which keys its ledger holds (one call). A first delivery skips
 *      that call: its keys cannot be there.
 *   2. Read the objects of the rest (inline, or R2; an R2 object that is gone was assembled and
 *      deleted: a redelivery).
 *   3. `planTenantBatch`: the block to write (the objects' traces merged by trace id, its id a hash
 *      of their keys and its bytes a function of them, so a batch delivered twice writes the same
 *      block byte for byte), the delta to commit to the
 *      tenant object (its keys for the ledger, the metric rows and halves of the spans, usage),
 *      and the R2 ingest objects to delete afterwards.
 *   4. Write the block and its catalog row, then commit the delta: the object applies it only if
 *      none of its keys is in the ledger, atomically with recording them, so metrics and usage
 *      count once whatever the redelivery. If it refuses (some keys were committed meanwhile by a
 *      consumer that got the same message: at-least-once delivery), `tenantDelta` without them is
 *      committed instead; their spans are then in two blocks, which reads and compaction merge.
 *   5. Delete the R2 ingest objects, ack. On a failure the messages are retried, or, for an
 *      inline message failing its SPILL_AFTER_ATTEMPTS-th time, written to R2 for the cron's sweep
 *      (`onFailure`).
 *
 * A ledger entry therefore means: block catalogued and metrics counted. A crash between the block
 * and the commit leaves a catalogued block whose metrics are not counted yet; the retry rewrites
 * the same block (or, regrouped, another one holding the same spans) and commits.
 */
import type { IngestBatchObject } from "../ingest/batch-object.ts";
import type { ResourceSpans } from "../model/span.ts";
import { mergeTraceFragments } from "../block/combine.ts";
import type { TraceInput } from "../block/encode-block.ts";
import { EdgeStore } from "../servicegraph/edges.ts";
import { EdgeAccumulator } from "../servicegraph/aggregate.ts";
import { RedAccumulator } from "../metrics/red.ts";
import { receivedAtOfKey } from "../tenant-object/ledger.ts";
import type { TenantDelta } from "../tenant-object/open-metrics.ts";
import { usageDeltas } from "./usage-deltas.ts";

/** One ingest object to assemble, as its queue message (or the sweep) names it. */
export interface AssemblySource {
  key: string;
  /** The object gzip-compressed, when the message carries it. */
  inline?: Uint8Array;
  bytes?: number;
  spanCount?: number;
  rejectedSpans?: number;
  receivedAtMs?: number;
  /** Delivery attempts of its message (1 on the first); none for the sweep's. */
  attempts?: number;
  /** Found in R2 by the cron's sweep: its message is gone. */
  swept?: boolean;
}

/**
 * Attempts after which an inline message that still fails is written to R2 at its key and acked,
 * so that the cron's sweep (which retries every run, with no attempt limit) takes it over instead
 * of the dead-letter queue.
 */
export const SPILL_AFTER_ATTEMPTS = 5;

/** A message that only reports refused spans: no object exists for it (ingest's reportRejected). */
export const isUsageOnly = (s: AssemblySource): boolean => s.bytes === 0 && !s.inline;

/** One source per key (a batch may hold a message twice). */
export function distinctSources(sources: readonly AssemblySource[]): AssemblySource[] {
  return [...new Map(sources.map((s) => [s.key, s])).values()];
}

/** Whether the ledger must be asked first: a source may have been assembled before. */
export function mayBeRedelivered(sources: readonly AssemblySource[]): boolean {
  return sources.some((s) => s.swept || (s.attempts ?? 1) > 1);
}

/** The sources whose objects must be read (not assembled per the ledger, not usage-only). */
export function sourcesToRead(sources: readonly AssemblySource[], assembled: ReadonlyMap<string, string>): AssemblySource[] {
  return sources.filter((s) => !assembled.has(s.key) && !isUsageOnly(s));
}

export interface TenantBatchInput {
  tenantId: string;
  sources: readonly AssemblySource[];
  /** Keys the tenant object's ledger holds, with their blocks. */
  assembled: ReadonlyMap<string, string>;
  /** The objects of `sourcesToRead`; undefined where an R2 object is gone (assembled already). */
  objects: ReadonlyMap<string, IngestBatchObject | undefined>;
}

export interface BlockPlan {
  blockId: string;
  traces: TraceInput[];
  spanCount: number;
  /**
   * The newest receive time of its objects: the block's creation time in its header and catalog
   * row. Not the wall clock: a batch delivered twice must write the same bytes under the same id,
   * since readers range-read it at the offsets its catalog row was written with.
   */
  createdAtMs: number;
}

export interface TenantBatchPlan {
  /** Keys acked without work: in the ledger, or their R2 object is gone. */
  skipped: string[];
  /** The block to write; none when no object has spans. */
  block?: BlockPlan;
  /** What to commit to the tenant object; none when every key was skipped. */
  delta?: TenantDelta;
  /** The objects the delta accounts for, for `tenantDelta` if the commit is refused. */
  entries: DeltaEntry[];
  /** R2 ingest objects to delete once the delta is committed (or skipped ones left behind). */
  deleteAfter: string[];
}

/** A source the delta accounts for, with its object unless it is usage-only. */
export interface DeltaEntry {
  source: AssemblySource;
  object?: IngestBatchObject;
}

export async function planTenantBatch(input: TenantBatchInput): Promise<TenantBatchPlan> {
  const { tenantId, assembled, objects } = input;
  const sources = distinctSources(input.sources);
  const skipped: string[] = [];
  const entries: DeltaEntry[] = [];
  for (const s of sources) {
    if (assembled.has(s.key)) skipped.push(s.key);
    else if (isUsageOnly(s)) entries.push({ source: s });
    else {
      const object = objects.get(s.key);
      if (object) entries.push({ source: s, object });
      else skipped.push(s.key);
    }
  }
  // In key order, so that the same objects make the same block whatever order they came in.
  const withObjects = entries.filter((e) => e.object).sort((a, b) => (a.source.key < b.source.key ? -1 : a.source.key > b.source.key ? 1 : 0));
  const traces = mergeTraceFragments(withObjects.flatMap((e) => e.object!.traces));
  // Spans in the block: a span repeated across objects is kept once (mergeTraceFragments).
  let spanCount = 0;
  for (const t of traces) for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) spanCount += ss.spans.length;
  const block = traces.length
    ? { blockId: await deterministicBlockId(0, withObjects.map((e) => e.source.key)), traces, spanCount, createdAtMs: Math.max(...withObjects.map((e) => e.object!.receivedAtMs)) }
    : undefined;
  // R2 objects: those assembled now, and those of skipped keys still there (their delete failed).
  const inR2 = (s: AssemblySource) => !s.inline && !isUsageOnly(s);
  const deleteAfter = [...withObjects.map((e) => e.source).filter(inR2).map((s) => s.key), ...sources.filter((s) => assembled.has(s.key) && inR2(s)).map((s) => s.key)];
  return { skipped, block, delta: entries.length ? tenantDelta(tenantId, entries, block?.blockId) : undefined, entries, deleteAfter };
}

/**
 * What the entries add to the tenant's metrics. Objects are fed to a fresh edge store in the order
 * ingest received them, each at its receive time; pairs completed within the batch become rows
 * here, the halves left unpaired go to the tenant object, which pairs them across batches. Spans
 * repeated across objects count once.
 */
export function tenantDelta(tenantId: string, entries: readonly DeltaEntry[], blockId: string | undefined): TenantDelta {
  const store = new EdgeStore(tenantId, { maxPending: Number.MAX_SAFE_INTEGER });
  const edges = new EdgeAccumulator(tenantId);
  const red = new RedAccumulator(tenantId);
  const objects = entries.flatMap((e) => (e.object ? [e.object] : [])).sort((a, b) => a.receivedAtMs - b.receivedAtMs);
  const seen = new Set<string>();
  for (const o of objects) {
    const fresh = { resourceSpans: freshSpans(o, seen) };
    edges.add(store.addBatch(fresh, o.receivedAtMs));
    red.addSpans(fresh);
  }
  const receivedAt = (e: DeltaEntry) => e.object?.receivedAtMs ?? e.source.receivedAtMs ?? receivedAtOfKey(e.source.key);
  return {
    keys: entries.map((e) => e.source.key),
    blockId,
    clockMs: Math.max(0, ...entries.map(receivedAt)),
    halves: store.toJSON().pending,
    edgeRows: edges.rows(),
    operationRows: red.rows(),
    serviceRows: red.serviceRows(),
    usage: usageDeltas(objects, entries.map((e) => e.source)),
  };
}

/** What to do with a message whose tenant batch failed on its `attempts`-th delivery. */
export function onFailure(source: AssemblySource, attempts: number): "spill" | "retry" {
  return source.inline && attempts >= SPILL_AFTER_ATTEMPTS ? "spill" : "retry";
}

function freshSpans(o: IngestBatchObject, seen: Set<string>): ResourceSpans[] {
  const out: ResourceSpans[] = [];
  for (const t of o.traces) {
    for (const rs of t.resourceSpans) {
      const scopeSpans = [];
      for (const ss of rs.scopeSpans) {
        const spans = ss.spans.filter((s) => {
          const id = `${s.traceId}/${s.spanId}/${s.kind}`;
          if (seen.has(id)) return false;
          seen.add(id);
          return true;
        });
        if (spans.length) scopeSpans.push({ ...ss, spans });
      }
      if (scopeSpans.length) out.push({ ...rs, scopeSpans });
    }
  }
  return out;
}

/** A block id that depends only on its inputs, so a redelivered batch rewrites the same block. */
export async function deterministicBlockId(level: number, inputs: readonly string[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode([...inputs].sort().join("\n")));
  let hex = "";
  for (const b of new Uint8Array(digest).subarray(0, 12)) hex += b.toString(16).padStart(2, "0");
  return `l${level}-${hex}`;
}
