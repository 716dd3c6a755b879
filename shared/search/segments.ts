/**
 * @module
 * Summary rows grouped by the block segment that holds their traces, so each segment is read and
 * inflated once however many of its traces a scan wants.
 */
import type { TraceSummary } from "../block/summary-table.ts";

export interface SegmentRows {
  offset: number;
  rows: TraceSummary[];
  /** The newest trace start in the segment (unix nanoseconds). */
  latest: bigint;
}

export function groupBySegment(rows: Iterable<TraceSummary>): Map<number, TraceSummary[]> {
  const bySegment = new Map<number, TraceSummary[]>();
  for (const row of rows) {
    const list = bySegment.get(row.segmentOffset);
    if (list) list.push(row);
    else bySegment.set(row.segmentOffset, [row]);
  }
  return bySegment;
}

/** Segments with the newest traces first (ties by offset), for scans that stop at a limit. */
export function segmentsNewestFirst(rows: Iterable<TraceSummary>): SegmentRows[] {
  const latest = (list: TraceSummary[]) => list.reduce((m, r) => (BigInt(r.startTimeUnixNano) > m ? BigInt(r.startTimeUnixNano) : m), 0n);
  return [...groupBySegment(rows)]
    .map(([offset, list]) => ({ offset, rows: list, latest: latest(list) }))
    .sort((a, b) => (a.latest !== b.latest ? (a.latest > b.latest ? -1 : 1) : a.offset - b.offset));
}
