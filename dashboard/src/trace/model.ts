/**
 * @module
 * Everything the trace view derives from a trace once: the span tree (shared/trace-view), each
 * span's resource and scope, service colours (the dashboard's one colour per service name), the critical path by span, and the header's figures.
 */
import type { ResourceSpans } from "../../../shared/model/span.ts";
import { criticalPath, type PathSegment } from "../../../shared/trace-view/critical-path.ts";
import { buildSpanTree, type SpanNode, type SpanTree } from "../../../shared/trace-view/span-tree.ts";
import { originsOf, type SpanOrigin } from "./data.ts";
import { serviceColor } from "../search/colors.ts";

export interface TraceModel {
  resourceSpans: ResourceSpans[];
  tree: SpanTree;
  traceId: string;
  origins: Map<unknown, SpanOrigin>;
  colours: Map<string, string>;
  services: string[];
  /** Critical path segments of each span on it. */
  critical: Map<SpanNode, PathSegment[]>;
  errors: number;
  maxDepth: number;
  byId: Map<string, SpanNode>;
  /** The first root (what the header names). */
  root?: SpanNode;
}

export function buildModel(resourceSpans: ResourceSpans[]): TraceModel {
  const tree = buildSpanTree(resourceSpans);
  const services = [...new Set(tree.ordered.map((n) => n.service))].sort();
  const critical = new Map<SpanNode, PathSegment[]>();
  for (const seg of criticalPath(tree)) {
    const list = critical.get(seg.node);
    if (list) list.push(seg);
    else critical.set(seg.node, [seg]);
  }
  let errors = 0;
  let maxDepth = 0;
  const byId = new Map<string, SpanNode>();
  for (const n of tree.ordered) {
    if (n.span.status.code === 2) errors++;
    if (n.depth > maxDepth) maxDepth = n.depth;
    if (!byId.has(n.span.spanId)) byId.set(n.span.spanId, n);
  }
  return {
    resourceSpans,
    tree,
    traceId: tree.ordered[0]?.span.traceId ?? "",
    origins: originsOf(resourceSpans),
    colours: new Map(services.map((s) => [s, serviceColor(s)])),
    services,
    critical,
    errors,
    maxDepth,
    byId,
    root: tree.roots[0],
  };
}

/** The rows shown with some spans collapsed: `ordered` is depth first, so a collapsed span's descendants are the following deeper rows. */
export function visibleRows(ordered: readonly SpanNode[], collapsed: ReadonlySet<SpanNode>): SpanNode[] {
  if (!collapsed.size) return ordered as SpanNode[];
  const out: SpanNode[] = [];
  let skipDeeperThan = Infinity;
  for (const n of ordered) {
    if (n.depth > skipDeeperThan) continue;
    skipDeeperThan = Infinity;
    out.push(n);
    if (n.children.length && collapsed.has(n)) skipDeeperThan = n.depth;
  }
  return out;
}

/** Spans whose name, service, ids or attribute keys/values contain the query (case-insensitive). */
export function searchSpans(model: TraceModel, query: string): SpanNode[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const has = (s: string) => s.toLowerCase().includes(q);
  return model.tree.ordered.filter((n) => {
    const s = n.span;
    if (has(s.name) || has(n.service) || s.spanId === q || has(s.status.message)) return true;
    for (const a of s.attributes) if (has(a.key) || ("stringValue" in a.value && has(a.value.stringValue)) || ("intValue" in a.value && a.value.intValue === q)) return true;
    for (const e of s.events) if (has(e.name)) return true;
    return false;
  });
}

/**
 * The rows of a filtered view: the spans kept and, for context, every ancestor of one (depth-first
 * order and depths stay as in `ordered`, so visibleRows can still collapse them). `context` holds
 * the ancestors shown only for context.
 */
export function filterRows(ordered: readonly SpanNode[], keep: ReadonlySet<SpanNode>): { rows: SpanNode[]; context: Set<SpanNode> } {
  const shown = new Set<SpanNode>();
  const context = new Set<SpanNode>();
  for (const n of keep) {
    shown.add(n);
    for (let p = n.parent; p && !shown.has(p); p = p.parent) {
      shown.add(p);
      if (!keep.has(p)) context.add(p);
    }
  }
  // An ancestor reached first as context may be kept itself.
  for (const n of keep) context.delete(n);
  return { rows: ordered.filter((n) => shown.has(n)), context };
}

/** The error spans (status error) in display order. */
export function errorSpans(model: TraceModel): SpanNode[] {
  return model.tree.ordered.filter((n) => n.span.status.code === 2);
}

/** The first of `list` after `from` in display order (wrapping round), or the first when `from` is not set. */
export function nextInOrder(model: TraceModel, list: readonly SpanNode[], from: SpanNode | undefined, step: 1 | -1 = 1): SpanNode | undefined {
  if (!list.length) return undefined;
  if (!from) return step === 1 ? list[0] : list[list.length - 1];
  const order = model.tree.ordered;
  const at = order.indexOf(from);
  const pos = (n: SpanNode) => order.indexOf(n);
  if (step === 1) return list.find((n) => pos(n) > at) ?? list[0];
  return [...list].reverse().find((n) => pos(n) < at) ?? list[list.length - 1];
}
