/**
 * @module
 * TraceQL metrics over the block catalog: every block of the tenant in [start, end] (after the
 * same services pruning as search), every trace whose summary row overlaps the range and passes
 * `mayMatch`, decoded and matched with no spans-per-spanset limit; each matching span (once per
 * trace fragment, even when in several spansets) is bucketed by its start time. No `limit`: the
 * whole range is read.
 */
import type { TraceSummary } from "../block/summary-table.ts";
import { groupBySegment, openBlock } from "./segments.ts";
import { BlockGone, blockRangeReader } from "../storage/block-range-reader.ts";
import { decodeSegmentTraces } from "../block/read-block.ts";
import type { Db } from "../db/client.ts";
import { listBlocks } from "../db/queries/blocks.ts";
import type { Block } from "../db/schema.ts";
import type { Resource, Span } from "../model/span.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { compileQuery } from "../traceql/eval.ts";
import { MetricsAccumulator, spanLabels, type Bucketing, type MetricsQuery, type Series } from "../traceql/metrics.ts";
import { traceqlRequiredServices } from "./search-blocks.ts";

export interface MetricsRangeResult {
  series: Series[];
  metrics: { inspectedTraces: number; inspectedBytes: number; inspectedSpans: number; totalBlocks: number; completedJobs: number; totalJobs: number };
}


const NANOS_PER_MS = 1_000_000n;

export async function metricsQueryRange(db: Db, store: ObjectStore, tenantId: string, mq: MetricsQuery, bucketing: Bucketing, options: { tailBytes?: number } = {}): Promise<MetricsRangeResult> {
  try {
    return await once(db, store, tenantId, mq, bucketing, options);
  } catch (err) {
    // Compaction may have swapped blocks between the catalog read and the R2 reads: look again.
    if (err instanceof BlockGone) return once(db, store, tenantId, mq, bucketing, options);
    throw err;
  }
}

async function once(db: Db, store: ObjectStore, tenantId: string, mq: MetricsQuery, bucketing: Bucketing, options: { tailBytes?: number }): Promise<MetricsRangeResult> {
  const { startMs, endMs } = bucketing;
  const startNs = BigInt(startMs) * NANOS_PER_MS;
  const endNs = BigInt(endMs) * NANOS_PER_MS;
  const matcher = compileQuery(mq.query, { spss: Number.MAX_SAFE_INTEGER });
  const required = traceqlRequiredServices(mq.query);
  const all = await listBlocks(db, tenantId, { startMs, endMs: endMs - 1 });
  const blocks = all.filter((b) => required.every((s) => b.services.includes(s)));
  const acc = new MetricsAccumulator(mq, bucketing);
  const metrics: MetricsRangeResult["metrics"] = { inspectedTraces: 0, inspectedBytes: 0, inspectedSpans: 0, totalBlocks: blocks.length, completedJobs: 0, totalJobs: blocks.length };

  for (const block of blocks) {
    const read = reader(store, tenantId, block, metrics);
    const opened = await openBlock(read, block.bytes, options.tailBytes);
    const candidates: TraceSummary[] = [];
    for (const row of opened.traces) {
      if (BigInt(row.startTimeUnixNano) >= endNs || BigInt(row.endTimeUnixNano) < startNs) continue;
      metrics.inspectedTraces++;
      if (matcher.mayMatch(row)) candidates.push(row);
    }
    const bySegment = groupBySegment(candidates);
    for (const [offset, rows] of bySegment) {
      const traces = await decodeSegmentTraces(await opened.range({ offset, length: rows[0]!.segmentLength }), await opened.dictionary(), rows);
      for (const [i, row] of rows.entries()) {
        const trace = traces[i]!;
        const sets = matcher.match(trace, row);
        if (!sets) continue;
        const ids = new Set(sets.flatMap((s) => s.spans.map((sp) => sp.spanID)));
        const index = new Map<string, { span: Span; resource: Resource }>();
        for (const rs of trace) for (const ss of rs.scopeSpans) for (const span of ss.spans) index.set(span.spanId, { span, resource: rs.resource });
        for (const id of ids) {
          const hit = index.get(id);
          if (!hit) continue;
          metrics.inspectedSpans++;
          const start = BigInt(hit.span.startTimeUnixNano);
          acc.add({
            startMs: Number(start / NANOS_PER_MS),
            durationNanos: Number(BigInt(hit.span.endTimeUnixNano) - start),
            labels: spanLabels(mq.by, hit.span, hit.resource),
          });
        }
      }
    }
    metrics.completedJobs++;
  }
  return { series: acc.series(), metrics };
}

function reader(store: ObjectStore, tenantId: string, b: Block, metrics: { inspectedBytes: number }) {
  return blockRangeReader(store, tenantId, b.id, (n) => (metrics.inspectedBytes += n));
}
