/**
 * @module
 * Fan-out of searches and TraceQL metrics over many blocks: the `ScanJobs` entrypoint runs one job
 * (a range of consecutive blocks) of a search or a metrics scan as its own Worker invocation, reached only through the
 * dashboard's service binding to itself (`SCAN_JOBS` in wrangler.toml), never from the Internet.
 * Each invocation has its own subrequest budget and its own six connections, so a search over a
 * week of blocks reads them from many invocations at once; the caller merges the jobs' answers in
 * block order (shared/search/search-blocks.ts, `searchInJobs`).
 *
 * The tenant id comes from the caller, which authenticated the request and listed the blocks
 * under that tenant; the job reads only `t/<tenant>/blocks/<id>` keys of that tenant.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { ScanBlock } from "../../shared/search/block-scanner.ts";
import { matcherOf, type MatcherSpec } from "../../shared/search/matcher-spec.ts";
import { metricsOverBlocks, type MetricsFanOut, type MetricsJobResult } from "../../shared/search/metrics-blocks.ts";
import type { Bucketing, MetricsQuery } from "../../shared/traceql/metrics.ts";
import { searchBlockList, type SearchFanOut, type SearchJobResult, type SearchOrder } from "../../shared/search/search-blocks.ts";
import { r2Store } from "../../shared/storage/object-store.ts";
import { scanSettings, type DashboardEnv } from "./env.ts";

export interface SearchJob {
  tenantId: string;
  spec: MatcherSpec;
  startMs: number;
  endMs: number;
  limit: number;
  cutoffNs: string | undefined;
  order?: SearchOrder;
  blocks: ScanBlock[];
}

export interface MetricsJob {
  tenantId: string;
  query: MetricsQuery;
  bucketing: Bucketing;
  blocks: ScanBlock[];
}

/** The service binding's face, as the caller sees it. */
export interface ScanJobsBinding {
  search(job: SearchJob): Promise<SearchJobResult>;
  metrics(job: MetricsJob): Promise<MetricsJobResult>;
}

export class ScanJobs extends WorkerEntrypoint<DashboardEnv> {
  /** The spans bucket; the tenant is the job's, named by the caller (see the module comment). */
  private get store() {
    return r2Store(this.env.SPANS);
  }

  async search(job: SearchJob): Promise<SearchJobResult> {
    return searchBlockList(this.store, job.tenantId, matcherOf(job.spec), job.blocks, {
      startMs: job.startMs,
      endMs: job.endMs,
      limit: job.limit,
      cutoffNs: job.cutoffNs,
      order: job.order,
      ...scanSettings(this.env),
    });
  }

  async metrics(job: MetricsJob): Promise<MetricsJobResult> {
    return metricsOverBlocks(this.store, job.tenantId, job.query, job.bucketing, job.blocks, scanSettings(this.env));
  }
}

/**
 * Blocks per job at least. A job reads each block's tail and the segments that may match: 16
 * blocks of ~30 segments stay under 500 R2 reads even when nothing can be skipped, well inside
 * the 1,000 subrequests of one invocation, and about a second of decoding CPU.
 */
export const BLOCKS_PER_JOB = 16;
/** One request may make 32 Worker invocations (service binding calls count): itself plus 31. */
export const MAX_JOBS = 31;
/** Jobs in flight at once (service binding calls do not count against the six connections). */
export const JOBS_AT_ONCE = 8;

/** The binding and the job sizes of this deployment, or undefined when it has no fan-out (no binding, or `SCAN_FANOUT=0`). */
function fanOutOf(env: DashboardEnv): { jobs: ScanJobsBinding; blocksPerJob: number; maxJobs: number; jobsAtOnce: number } | undefined {
  const jobs = env.SCAN_JOBS as ScanJobsBinding | undefined;
  if (!jobs || env.SCAN_FANOUT === "0") return undefined;
  const perJob = Number(env.SCAN_BLOCKS_PER_JOB);
  return { jobs, blocksPerJob: Number.isInteger(perJob) && perJob > 0 ? perJob : BLOCKS_PER_JOB, maxJobs: MAX_JOBS, jobsAtOnce: JOBS_AT_ONCE };
}

/** A job needs no index bytes: the caller already tested them. */
const withoutIndexes = (blocks: ScanBlock[]) => blocks.map((b) => ({ ...b, attributeIndex: null }));

/** The fan-out of a search, or undefined when the deployment has none. */
export function searchFanOut(env: DashboardEnv, tenantId: string, spec: MatcherSpec, window: { startMs: number; endMs: number }): SearchFanOut | undefined {
  const f = fanOutOf(env);
  return f && { ...f, run: ({ blocks, limit, cutoffNs, order }) => f.jobs.search({ tenantId, spec, ...window, limit, cutoffNs, order, blocks: withoutIndexes(blocks) }) };
}

/** The fan-out of a TraceQL metrics scan, or undefined when the deployment has none. */
export function metricsFanOut(env: DashboardEnv, tenantId: string, query: MetricsQuery, bucketing: Bucketing): MetricsFanOut | undefined {
  const f = fanOutOf(env);
  return f && { ...f, run: (blocks) => f.jobs.metrics({ tenantId, query, bucketing, blocks: withoutIndexes(blocks) }) };
}
