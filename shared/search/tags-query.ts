/**
 * @module
 * The tag endpoints' queries over a tenant's data: which collector, which filter, which blocks
 * (`tag-catalog.ts` collects, `tags-scan.ts` reads). Cheap answers skip the scan:
 * `resource.service.name` without `q` comes from the catalog's services lists, the fixed
 * intrinsics (status, kind, durations) from constants.
 */
import { listScanBlocks } from "../db/queries/block-scan.ts";
import type { ScanSettings } from "./block-scanner.ts";
import type { Db } from "../db/client.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { compileQuery } from "../traceql/eval.ts";
import { traceqlRequiredServices } from "./search-blocks.ts";
import {
  fixedIntrinsicValues,
  TagNameCollector,
  TagValueCollector,
  tagFilterQuery,
  type AttributeScope,
  type TagLimits,
  type TagTarget,
  type TagValueType,
  type TypedTagValue,
} from "./tag-catalog.ts";
import { scanTags, TAG_FILTER_SPSS, type TagFilter, type TagScanMetrics } from "./tags-scan.ts";

export interface TagQueryOptions extends ScanSettings {
  startMs: number;
  endMs: number;
  /** A TraceQL spanset filter (Tempo's `q`); see `tagFilterQuery` for what is used of it. */
  q?: string;
  limits?: Partial<TagLimits>;
  maxBytesRead?: number;
}

/** The q filter as a matcher, or undefined when q gives none (absent, `{}`, unusable). */
export function compileTagFilter(q: string | undefined): TagFilter | undefined {
  const selector = tagFilterQuery(q);
  if (!selector) return undefined;
  return Object.assign(compileQuery(selector, { spss: TAG_FILTER_SPSS }), { requiredServices: traceqlRequiredServices(selector) });
}

const NO_SCAN: TagScanMetrics = { inspectedBytes: 0, inspectedBlocks: 0, inspectedTraces: 0, completedJobs: 0, totalJobs: 0, totalBlockBytes: 0, truncated: false };

export async function searchTagNames(db: Db, store: ObjectStore, tenantId: string, scopes: readonly AttributeScope[], options: TagQueryOptions): Promise<{ names: Record<AttributeScope, string[]>; metrics: TagScanMetrics }> {
  const collector = new TagNameCollector(scopes, options.limits);
  const metrics = scopes.length ? await scan(db, store, tenantId, collector, options) : { ...NO_SCAN };
  const names = { span: [], resource: [], event: [], link: [], instrumentation: [] } as Record<AttributeScope, string[]>;
  for (const s of scopes) names[s] = collector.names(s);
  return { names, metrics };
}

export async function searchTagValues(db: Db, store: ObjectStore, tenantId: string, target: TagTarget, options: TagQueryOptions & { types?: readonly TagValueType[] }): Promise<{ values: TypedTagValue[]; metrics: TagScanMetrics }> {
  if (target.kind === "intrinsic") {
    const fixed = fixedIntrinsicValues(target.name);
    if (fixed) return { values: fixed, metrics: { ...NO_SCAN } };
  }
  const isService = target.kind === "attribute" && target.name === "service.name" && (target.scope === "resource" || target.scope === "any");
  if (isService && !compileTagFilter(options.q)) {
    // Every block's catalog row lists its services: no block read.
    const blocks = await listScanBlocks(db, tenantId, { startMs: options.startMs, endMs: options.endMs });
    const max = options.limits?.maxValues ?? Infinity;
    const values = [...new Set(blocks.flatMap((b) => b.services))].filter((s) => s !== "").sort().slice(0, max);
    return { values: values.map((value) => ({ type: "string", value })), metrics: { ...NO_SCAN, totalJobs: blocks.length, completedJobs: blocks.length, totalBlockBytes: blocks.reduce((n, b) => n + b.bytes, 0) } };
  }
  const collector = new TagValueCollector(target, options.limits, options.types);
  const metrics = await scan(db, store, tenantId, collector, options);
  return { values: collector.values(), metrics };
}

function scan(db: Db, store: ObjectStore, tenantId: string, sink: TagNameCollector | TagValueCollector, options: TagQueryOptions): Promise<TagScanMetrics> {
  const range = { startMs: options.startMs, endMs: options.endMs };
  return scanTags(() => listScanBlocks(db, tenantId, range), store, tenantId, sink, compileTagFilter(options.q), { ...range, maxBytesRead: options.maxBytesRead, concurrency: options.concurrency, useIndex: options.useIndex, tailBytes: options.tailBytes });
}
