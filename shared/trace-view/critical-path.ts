/**
 * @module
 * The critical path of a trace: the chain of span segments that determined its end, as Jaeger UI
 * computes it. Walking back from a span's end, the child that finished last (before the cursor) was
 * what the span waited for: its own critical path counts up to there, the parent's gaps between
 * such children count as the parent's own work. Pure.
 */
import type { SpanNode, SpanTree } from "./span-tree.ts";

export interface PathSegment {
  node: SpanNode;
  startUs: number;
  endUs: number;
}

function pathOf(node: SpanNode, untilUs: number, out: PathSegment[]): void {
  let cursor = Math.min(node.endUs, untilUs);
  const children = [...node.children].sort((a, b) => b.endUs - a.endUs);
  for (const child of children) {
    if (cursor <= node.startUs) break;
    if (child.startUs >= cursor || child.endUs <= node.startUs) continue; // not what the span waited for
    const childEnd = Math.min(child.endUs, cursor);
    if (childEnd < cursor) out.push({ node, startUs: childEnd, endUs: cursor });
    pathOf(child, childEnd, out);
    cursor = Math.max(child.startUs, node.startUs);
  }
  if (cursor > node.startUs) out.push({ node, startUs: node.startUs, endUs: cursor });
}

/** Segments in time order. With several roots (an incomplete trace), the one that ends last. */
export function criticalPath(tree: SpanTree): PathSegment[] {
  const root = tree.roots.reduce<SpanNode | undefined>((best, r) => (!best || r.endUs > best.endUs ? r : best), undefined);
  if (!root) return [];
  const out: PathSegment[] = [];
  pathOf(root, root.endUs, out);
  return out.filter((s) => s.endUs > s.startUs).sort((a, b) => a.startUs - b.startUs);
}
