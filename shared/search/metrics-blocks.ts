/**
 * @module
 * TraceQL metrics over the block catalog: every block of the tenant in [start, end] (after the
 * same services pruning as search), every trace whose summary row overlaps the range and passes
 * `mayMatch`, decoded and matched with no spans-per-spanset limit; each matching span (once per
 * trace fragment, even when in several spansets) is bucketed by its start time. No `limit`: the
 * whole range is read.
 */
import type { Db } from "../db/client.ts";
import type { Resource, Span } from "../model/span.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { compileQuery } from "../traceql/eval.ts";
import { MetricsAccumulator, spanLabels, type Bucketing, type MetricsQuery, type Series } from "../traceql/metrics.ts";
import { blocksToScan, candidateRows, DEFAULT_SCAN_CONCURRENCY, newCounters, readSegments, retryIfBlockGone, scanInOrder, scanReader, type ScanFilter, type ScanSettings } from "./block-scanner.ts";
import { traceqlRequiredServices } from "./search-blocks.ts";

export interface MetricsRangeResult {
  series: Series[];
  metrics: { inspectedTraces: number; inspectedBytes: number; inspectedSpans: number; totalBlocks: number; completedJobs: number; totalJobs: number; skippedBlocks: number; skippedSegments: number; reads: number };
}

const NANOS_PER_MS = 1_000_000n;

interface SpanPoint {
  startMs: number;
  durationNanos: number;
  labels: ReturnType<typeof spanLabels>;
}

export async function metricsQueryRange(db: Db, store: ObjectStore, tenantId: string, mq: MetricsQuery, bucketing: Bucketing, options: ScanSettings = {}): Promise<MetricsRangeResult> {
  return retryIfBlockGone(() => once(db, store, tenantId, mq, bucketing, options));
}

async function once(db: Db, store: ObjectStore, tenantId: string, mq: MetricsQuery, bucketing: Bucketing, options: ScanSettings): Promise<MetricsRangeResult> {
  const { startMs, endMs } = bucketing;
  const startNs = BigInt(startMs) * NANOS_PER_MS;
  // The range is half-open here: a trace starting at endMs is out.
  const endNs = BigInt(endMs) * NANOS_PER_MS - 1n;
  const matcher = compileQuery(mq.query, { spss: Number.MAX_SAFE_INTEGER });
  const filter: ScanFilter = { requiredServices: traceqlRequiredServices(mq.query), indexCondition: matcher.indexCondition, mayMatch: (s) => matcher.mayMatch(s) };
  const counters = newCounters();
  const blocks = await blocksToScan(db, tenantId, { startMs, endMs: endMs - 1 }, filter, options, counters);
  const acc = new MetricsAccumulator(mq, bucketing);
  let inspectedSpans = 0;

  const completed = await scanInOrder(
    blocks,
    options.concurrency ?? DEFAULT_SCAN_CONCURRENCY,
    async (block) => {
      const c = await candidateRows(scanReader(store, tenantId, block, counters), block.bytes, { startNs, endNs, filter, useIndex: options.useIndex, tailBytes: options.tailBytes }, counters);
      const points: SpanPoint[] = [];
      await readSegments(
        c,
        c.rows,
        (row, trace) => {
          const sets = matcher.match(trace, row);
          if (!sets) return;
          // Each matching span once per trace fragment, even when in several spansets.
          const ids = new Set(sets.flatMap((s) => s.spans.map((sp) => sp.spanID)));
          const index = new Map<string, { span: Span; resource: Resource }>();
          for (const rs of trace) for (const ss of rs.scopeSpans) for (const span of ss.spans) index.set(span.spanId, { span, resource: rs.resource });
          for (const id of ids) {
            const hit = index.get(id);
            if (!hit) continue;
            const start = BigInt(hit.span.startTimeUnixNano);
            points.push({ startMs: Number(start / NANOS_PER_MS), durationNanos: Number(BigInt(hit.span.endTimeUnixNano) - start), labels: spanLabels(mq.by, hit.span, hit.resource) });
          }
        },
        counters,
      );
      return points;
    },
    (points) => {
      inspectedSpans += points.length;
      for (const p of points) acc.add(p);
    },
  );
  return {
    series: acc.series(),
    metrics: {
      inspectedTraces: counters.inspectedTraces,
      inspectedBytes: counters.inspectedBytes,
      inspectedSpans,
      totalBlocks: counters.listedBlocks,
      completedJobs: completed,
      totalJobs: blocks.length,
      skippedBlocks: counters.skippedBlocks,
      skippedSegments: counters.skippedSegments,
      reads: counters.reads,
    },
  };
}
