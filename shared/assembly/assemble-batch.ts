/**
 * @module
 * What the assembler does with one tenant's share of a queue batch, without I/O: merge the ingest
 * objects' trace groups by trace id (dropping duplicate spans), and compute the service-graph
 * edges and RED rows of the spans. The worker reads the objects, calls this, and writes the block,
 * the catalog row and the metric rows.
 */
import type { IngestBatchObject } from "../ingest/batch-object.ts";
import type { ResourceSpans } from "../model/span.ts";
import { combineTraces } from "../block/combine.ts";
import type { TraceInput } from "../block/encode-block.ts";
import { EdgeStore, type EdgeStoreState } from "../servicegraph/edges.ts";
import { EdgeAccumulator, type EdgeRow } from "../servicegraph/aggregate.ts";
import { RedAccumulator, type OperationRow } from "../metrics/red.ts";

export interface AssembledTenantBatch {
  traces: TraceInput[];
  spanCount: number;
  edgeRows: EdgeRow[];
  operationRows: OperationRow[];
  edgeState: EdgeStoreState;
}

/** Merges every object's trace groups by trace id; spans repeated across objects are kept once. */
export function mergeTraceGroups(objects: readonly IngestBatchObject[]): TraceInput[] {
  const parts = new Map<string, ResourceSpans[][]>();
  for (const o of objects) {
    for (const t of o.traces) {
      let list = parts.get(t.traceId);
      if (!list) parts.set(t.traceId, (list = []));
      list.push(t.resourceSpans);
    }
  }
  const traces: TraceInput[] = [];
  for (const [traceId, list] of parts) traces.push({ traceId, resourceSpans: list.length === 1 ? list[0]! : combineTraces(list) });
  return traces;
}

/**
 * @param edgeState the tenant's pending service-graph halves from the previous batch, if any.
 * Objects are fed to the edge store in the order ingest received them, each at its receive time,
 * so a queue backlog does not expire halves whose partners are queued behind them.
 */
export function assembleTenantBatch(tenantId: string, objects: readonly IngestBatchObject[], edgeState: EdgeStoreState | undefined): AssembledTenantBatch {
  const traces = mergeTraceGroups(objects);
  const store = edgeState ? EdgeStore.fromJSON(edgeState) : new EdgeStore(tenantId);
  const edges = new EdgeAccumulator(tenantId);
  const red = new RedAccumulator(tenantId);
  let spanCount = 0;
  let newest = 0;
  for (const t of traces) for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) spanCount += ss.spans.length;
  // Metrics see the deduplicated spans: a span repeated in two objects counts once.
  const byObject = [...objects].sort((a, b) => a.receivedAtMs - b.receivedAtMs);
  const seen = new Set<string>();
  for (const o of byObject) {
    newest = Math.max(newest, o.receivedAtMs);
    const fresh = { resourceSpans: freshSpans(o, seen) };
    edges.add(store.addBatch(fresh, o.receivedAtMs));
    red.addSpans(fresh);
  }
  edges.add(store.expire(newest));
  return { traces, spanCount, edgeRows: edges.rows(), operationRows: red.rows(), edgeState: store.toJSON() };
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
