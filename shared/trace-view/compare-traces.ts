/**
 * @module
 * Two traces side by side: spans matched by their place in the structure (the chain of
 * service/operation names from the root, and the position among same-named siblings), then what
 * was added, what was removed and what got slower or faster. Pure; ids never match across traces.
 */
import type { SpanNode, SpanTree } from "./span-tree.ts";

export interface MatchedSpan {
  path: string;
  a: SpanNode;
  b: SpanNode;
  /** b's duration minus a's, microseconds. */
  deltaUs: number;
}

export interface TraceComparison {
  matched: MatchedSpan[];
  /** Only in the second trace. */
  added: { path: string; node: SpanNode }[];
  /** Only in the first trace. */
  removed: { path: string; node: SpanNode }[];
}

/** Each node's structural path, e.g. `api:GET /[0] > db:SELECT[1]`. */
export function structuralPaths(tree: SpanTree): Map<string, SpanNode> {
  const out = new Map<string, SpanNode>();
  const walk = (nodes: SpanNode[], prefix: string) => {
    const seen = new Map<string, number>();
    for (const n of nodes) {
      const label = `${n.service}:${n.span.name}`;
      const i = seen.get(label) ?? 0;
      seen.set(label, i + 1);
      const path = `${prefix}${prefix ? " > " : ""}${label}[${i}]`;
      out.set(path, n);
      walk(n.children, path);
    }
  };
  walk(tree.roots, "");
  return out;
}

export function compareTraces(a: SpanTree, b: SpanTree): TraceComparison {
  const pa = structuralPaths(a);
  const pb = structuralPaths(b);
  const matched: MatchedSpan[] = [];
  const removed: TraceComparison["removed"] = [];
  for (const [path, node] of pa) {
    const other = pb.get(path);
    if (other) matched.push({ path, a: node, b: other, deltaUs: other.endUs - other.startUs - (node.endUs - node.startUs) });
    else removed.push({ path, node });
  }
  const added = [...pb].filter(([path]) => !pa.has(path)).map(([path, node]) => ({ path, node }));
  return { matched, added, removed };
}

/** Matched spans that got slower by at least `minUs` and `minRatio` (default 10%), slowest change first. */
export function slowerSpans(c: TraceComparison, minUs = 0, minRatio = 0.1): MatchedSpan[] {
  return c.matched.filter((m) => m.deltaUs >= minUs && m.deltaUs > 0 && m.deltaUs >= (m.a.endUs - m.a.startUs) * minRatio).sort((x, y) => y.deltaUs - x.deltaUs);
}

export interface StatusChange {
  path: string;
  a: SpanNode;
  b: SpanNode;
  /** `new error`: an error in B only; `error gone`: an error in A only. */
  change: "new error" | "error gone";
}

const isError = (n: SpanNode) => n.span.status.code === 2;

/** Matched spans that are an error in one trace and not in the other, in A's order. */
export function statusChanges(c: TraceComparison): StatusChange[] {
  return c.matched.filter((m) => isError(m.a) !== isError(m.b)).map((m) => ({ path: m.path, a: m.a, b: m.b, change: isError(m.b) ? "new error" : "error gone" }));
}

/** Error spans in each trace (added and removed spans included). */
export function errorCounts(a: SpanTree, b: SpanTree): { a: number; b: number } {
  return { a: a.ordered.filter(isError).length, b: b.ordered.filter(isError).length };
}
