/**
 * @module
 * The trace view's statistics: per service and operation, how many spans, their total duration
 * and their self time (duration not covered by any child, so concurrent children count once).
 * Pure.
 */
import type { SpanNode, SpanTree } from "./span-tree.ts";

export interface OperationStats {
  service: string;
  operation: string;
  count: number;
  totalUs: number;
  selfUs: number;
  minUs: number;
  maxUs: number;
  errors: number;
}

/** Duration of `node` not covered by the union of its children's intervals (clipped to it). */
export function selfTimeUs(node: SpanNode): number {
  const spans = node.children
    .map((c) => [Math.max(c.startUs, node.startUs), Math.min(c.endUs, node.endUs)] as const)
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let curStart = -1;
  let curEnd = -1;
  for (const [s, e] of spans) {
    if (s > curEnd) {
      covered += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else if (e > curEnd) curEnd = e;
  }
  covered += curEnd - curStart;
  return node.endUs - node.startUs - covered;
}

export function traceStats(tree: SpanTree): OperationStats[] {
  const byKey = new Map<string, OperationStats>();
  for (const n of tree.ordered) {
    const key = `${n.service}\u0000${n.span.name}`;
    const d = n.endUs - n.startUs;
    let s = byKey.get(key);
    if (!s) byKey.set(key, (s = { service: n.service, operation: n.span.name, count: 0, totalUs: 0, selfUs: 0, minUs: d, maxUs: d, errors: 0 }));
    s.count++;
    s.totalUs += d;
    s.selfUs += selfTimeUs(n);
    s.minUs = Math.min(s.minUs, d);
    s.maxUs = Math.max(s.maxUs, d);
    if (n.span.status.code === 2) s.errors++;
  }
  return [...byKey.values()].sort((a, b) => b.selfUs - a.selfUs || a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation));
}
