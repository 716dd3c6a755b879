/**
 * @module
 * A search matches one block's fragment of a trace, and a trace whose spans sit in several blocks
 * (late spans, or services exporting apart, until compaction merges them) would be described by
 * that fragment alone: another root, fewer spans and errors, a shorter duration. The hits a search
 * returns are described again from all of their fragments:
 *
 * 1. The catalog's trace-id filters (the isolate's cache, as trace by id uses) name the blocks
 *    that may hold each hit; a hit held by one block only costs nothing more (no R2 read).
 * 2. Each block holding a split hit is opened once (its tail: footer and summary table) and only
 *    the segments of those traces are read, so the extra reads are bounded by the blocks and
 *    segments of the returned traces, never the range.
 * 3. The fragments are combined (duplicate spans dropped), summarized as assembly summarizes a
 *    trace (root, times, counts, per-service stats) and matched again, so spansets and their
 *    `matched` counts are the whole trace's too. A trace whose whole no longer matches (a
 *    condition on counts, say) keeps the spansets its fragment matched.
 */
import { combineTraces } from "../block/combine.ts";
import { filterMayContain } from "../block/read-block.ts";
import { summarizeTrace } from "../block/summarize.ts";
import type { Db } from "../db/client.ts";
import type { ResourceSpans } from "../model/span.ts";
import { blockRangeReader } from "../storage/block-range-reader.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { catalogFilters, isolateFilterCache } from "../storage/trace-reader.ts";
import { DEFAULT_SCAN_CONCURRENCY, readSegments, scanInOrder, type ScanCounters } from "./block-scanner.ts";
import type { TraceMatcher } from "./matcher.ts";
import type { Found } from "./search-blocks.ts";
import { openBlock } from "./segments.ts";

export async function describeWholeTraces(
  db: Db,
  store: ObjectStore,
  tenantId: string,
  matcher: TraceMatcher,
  hits: readonly Found[],
  range: { startMs: number },
  counters: ScanCounters,
  settings: { concurrency?: number; tailBytes?: number } = {},
): Promise<Found[]> {
  if (!hits.length) return [...hits];
  // Blocks ending at or after the window's start: late fragments sit in newer blocks.
  const { blocks } = await catalogFilters(db, tenantId, { startMs: range.startMs }, isolateFilterCache);
  const split = new Map<string, string[]>();
  for (const h of hits) {
    const holding = blocks.filter((b) => filterMayContain(b.traceFilter, h.summary.traceId)).map((b) => b.id);
    if (holding.length > 1) split.set(h.summary.traceId, holding);
  }
  if (!split.size) return [...hits];

  const wanted = new Map<string, Set<string>>();
  for (const [traceId, ids] of split) for (const id of ids) (wanted.get(id) ?? wanted.set(id, new Set()).get(id)!).add(traceId);
  const byId = new Map(blocks.map((b) => [b.id, b]));
  const parts = new Map<string, ResourceSpans[][]>();
  await scanInOrder(
    [...wanted.keys()],
    settings.concurrency ?? DEFAULT_SCAN_CONCURRENCY,
    async (id) => {
      const b = byId.get(id)!;
      const read = blockRangeReader(store, tenantId, id, (n) => {
        counters.reads++;
        counters.inspectedBytes += n;
      });
      const block = await openBlock(read, b.bytes, settings.tailBytes);
      counters.inspectedBlocks++;
      const ids = wanted.get(id)!;
      const rows = block.traces.filter((r) => ids.has(r.traceId));
      const found: { traceId: string; spans: ResourceSpans[] }[] = [];
      await readSegments({ block, rows }, rows, (row, trace) => void found.push({ traceId: row.traceId, spans: trace }), counters);
      return found;
    },
    (found) => {
      for (const f of found) (parts.get(f.traceId) ?? parts.set(f.traceId, []).get(f.traceId)!).push(f.spans);
    },
  );

  return hits.map((h) => {
    const fragments = parts.get(h.summary.traceId);
    // One fragment found after all (a filter's false positive): the hit already describes it.
    if (!fragments || fragments.length < 2) return h;
    const trace = combineTraces(fragments);
    const facts = summarizeTrace(h.summary.traceId, trace);
    const summary = { ...h.summary, ...facts };
    const spanSets = matcher.summaryOnly ? h.spanSets : (matcher.match(trace, facts) ?? h.spanSets);
    return { summary, spanSets };
  });
}
