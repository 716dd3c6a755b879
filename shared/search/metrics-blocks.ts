/**
 * @module
 * TraceQL metrics over the block catalog: every block of the tenant in [start, end] (after the
 * same services pruning as search), every trace whose summary row overlaps the range and passes
 * `mayMatch`, decoded and matched with no spans-per-spanset limit; each matching span (once per
 * trace fragment, even when in several spansets) is bucketed by its start time (with the value or
 * histogram bucket its function reads, `metricsSpan`). No `limit`: the whole range is read. Jobs
 * return accumulator state; the stages after the function (`topk`, thresholds) run once on the
 * merged series. With `mq.sample`, only the traces (or spans) whose id is in the sample are
 * decoded (matched), and the accumulator scales; `mq.exemplars` asks each series for that many.
 */
import type { Db } from "../db/client.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { compileQuery } from "../traceql/eval.ts";
import type { SpanNode } from "../traceql/span-tree.ts";
import { comparePoints, finishSeries, inSample, MetricsAccumulator, metricsSpan, type AccumulatorState, type Bucketing, type MetricsQuery, type MetricsSpan, type Series } from "../traceql/metrics.ts";
import { blocksToScan, candidateRows, DEFAULT_SCAN_CONCURRENCY, newCounters, readSegments, retryIfBlockGone, scanInOrder, scanReader, type ScanBlock, type ScanCounters, type ScanFilter, type ScanSettings } from "./block-scanner.ts";
import { traceqlRequiredServices } from "./search-blocks.ts";

export interface MetricsRangeResult {
  series: Series[];
  metrics: { inspectedTraces: number; inspectedBytes: number; inspectedSpans: number; totalBlocks: number; completedJobs: number; totalJobs: number; skippedBlocks: number; skippedSegments: number; reads: number };
}

const NANOS_PER_MS = 1_000_000n;

/** A metrics scan split into jobs by block range, each run as its own Worker invocation. */
export interface MetricsFanOut {
  /** Blocks per job, at least (more when the blocks would need more than `maxJobs` jobs). */
  blocksPerJob: number;
  maxJobs: number;
  jobsAtOnce: number;
  /** Runs `metricsOverBlocks` over `blocks` in another invocation. */
  run(blocks: ScanBlock[]): Promise<MetricsJobResult>;
}

export interface MetricsJobResult {
  state: AccumulatorState;
  counters: ScanCounters;
  inspectedSpans: number;
  completed: number;
}

/** `maxBlocks`: read only the newest that many blocks (a bounded sample, e.g. for exemplars). */
export async function metricsQueryRange(db: Db, store: ObjectStore, tenantId: string, mq: MetricsQuery, bucketing: Bucketing, options: ScanSettings & { fanOut?: MetricsFanOut; maxBlocks?: number } = {}): Promise<MetricsRangeResult> {
  return retryIfBlockGone(() => once(db, store, tenantId, mq, bucketing, options));
}

function scanFilterOf(mq: MetricsQuery) {
  const matcher = compileQuery(mq.query, { spss: Number.MAX_SAFE_INTEGER });
  const filter: ScanFilter = { requiredServices: traceqlRequiredServices(mq.query), indexCondition: matcher.indexCondition, mayMatch: (s) => matcher.mayMatch(s) };
  return { matcher, filter };
}

async function once(db: Db, store: ObjectStore, tenantId: string, mq: MetricsQuery, bucketing: Bucketing, options: ScanSettings & { fanOut?: MetricsFanOut; maxBlocks?: number }): Promise<MetricsRangeResult> {
  const { startMs, endMs } = bucketing;
  const counters = newCounters();
  // Newest first: a bound keeps the newest blocks.
  const blocks = (await blocksToScan(db, tenantId, { startMs, endMs: endMs - 1 }, scanFilterOf(mq).filter, options, counters)).slice(0, options.maxBlocks ?? Infinity);
  const acc = new MetricsAccumulator(mq, bucketing, { exemplars: mq.exemplars });
  let inspectedSpans = 0;
  let completed = 0;
  const take = (r: MetricsJobResult) => {
    acc.merge(r.state);
    for (const k of Object.keys(counters) as (keyof ScanCounters)[]) counters[k] += r.counters[k];
    inspectedSpans += r.inspectedSpans;
    completed += r.completed;
  };
  const fanOut = options.fanOut;
  if (fanOut && blocks.length > fanOut.blocksPerJob) {
    const size = Math.max(fanOut.blocksPerJob, Math.ceil(blocks.length / fanOut.maxJobs));
    const jobs: ScanBlock[][] = [];
    for (let i = 0; i < blocks.length; i += size) jobs.push(blocks.slice(i, i + size));
    await scanInOrder(jobs, fanOut.jobsAtOnce, (job) => fanOut.run(job), take);
  } else {
    take(await metricsOverBlocks(store, tenantId, mq, bucketing, blocks, options));
  }
  return {
    series: finishSeries(mq, acc.series()),
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

/**
 * The matching spans of the given blocks, bucketed: what one invocation runs, alone or as a job
 * of a fanned-out query. Every block in the list is read (a metrics query has no limit).
 */
export async function metricsOverBlocks(store: ObjectStore, tenantId: string, mq: MetricsQuery, bucketing: Bucketing, blocks: readonly ScanBlock[], options: ScanSettings = {}): Promise<MetricsJobResult> {
  const startNs = BigInt(bucketing.startMs) * NANOS_PER_MS;
  // The range is half-open here: a trace starting at endMs is out.
  const endNs = BigInt(bucketing.endMs) * NANOS_PER_MS - 1n;
  const { matcher, filter } = scanFilterOf(mq);
  // compare(): its filter, run on the whole trace, picks the selection among the matching spans.
  const selection = mq.compare && compileQuery(mq.compare.filter, { spss: Number.MAX_SAFE_INTEGER });
  const window = mq.compare?.startNs !== undefined && mq.compare.endNs !== undefined ? [BigInt(mq.compare.startNs), BigInt(mq.compare.endNs)] : undefined;
  const counters = newCounters();
  const acc = new MetricsAccumulator(mq, bucketing, { exemplars: mq.exemplars });
  let inspectedSpans = 0;
  const sample = mq.sample && mq.sample.fraction < 1 ? mq.sample : undefined;

  const completed = await scanInOrder(
    blocks,
    options.concurrency ?? DEFAULT_SCAN_CONCURRENCY,
    async (block) => {
      const c = await candidateRows(scanReader(store, tenantId, block, counters), block.bytes, { startNs, endNs, filter, useIndex: options.useIndex, tailBytes: options.tailBytes }, counters);
      const points: MetricsSpan[] = [];
      let spans = 0;
      // A trace sample is decided before decoding: the traces left out are not read.
      const rows = sample?.by === "trace" ? c.rows.filter((r) => inSample(r.traceId, sample.fraction)) : c.rows;
      await readSegments(
        c,
        rows,
        (row, trace) => {
          const matched = matcher.matchNodes(trace, row);
          if (!matched) return;
          const selected = selection && new Set((selection.matchNodes(trace, row) ?? []).flatMap((set) => set.map((n) => n.span.spanId)));
          // Each matching span once per trace fragment, even when in several spansets; spans
          // sharing an id count once, as the last of them.
          const seen = new Set<SpanNode>();
          for (const set of matched) {
            for (const node of set) {
              const hit = node.lastWithSameId();
              if (seen.has(hit)) continue;
              seen.add(hit);
              const id = hit.span.spanId;
              if (sample?.by === "span" && !inSample(id, sample.fraction)) continue;
              spans++;
              if (selected) {
                const st = BigInt(hit.span.startTimeUnixNano);
                points.push(...comparePoints(hit.span, hit.resource, selected.has(id) && (!window || (st >= (window[0] as bigint) && st < (window[1] as bigint)))));
                continue;
              }
              const point = metricsSpan(mq, hit.span, hit.resource, hit.scope);
              if (point) points.push(point);
            }
          }
        },
        counters,
      );
      return { points, spans };
    },
    ({ points, spans }) => {
      inspectedSpans += spans;
      for (const p of points) acc.add(p);
    },
  );
  return { state: acc.state(), counters, inspectedSpans, completed };
}
