/**
 * @module
 * A trace as the trace view draws it: spans as a tree (parent links; a span whose parent is not in
 * the trace becomes a root, as Jaeger UI shows incomplete traces), children in start order, each
 * node with its service, depth and times in microseconds from the trace start. Pure; the
 * waterfall, the critical path and the statistics all start from it.
 */
import type { ResourceSpans, Span } from "../model/span.ts";

export interface SpanNode {
  span: Span;
  service: string;
  depth: number;
  /** Microseconds from the trace's first span start. */
  startUs: number;
  endUs: number;
  parent?: SpanNode;
  children: SpanNode[];
}

export interface SpanTree {
  roots: SpanNode[];
  /** Every node in display order: depth first, children by start time. */
  ordered: SpanNode[];
  traceStartUnixNano: bigint;
  durationUs: number;
}

const serviceOf = (rs: ResourceSpans) => {
  const attr = rs.resource.attributes.find((a) => a.key === "service.name");
  return attr && "stringValue" in attr.value ? String(attr.value.stringValue) : "unknown_service";
};

const keyOf = (s: Span) => s.spanId;

export function buildSpanTree(resourceSpans: readonly ResourceSpans[]): SpanTree {
  const flat: { span: Span; service: string }[] = [];
  for (const rs of resourceSpans) {
    const service = serviceOf(rs);
    for (const ss of rs.scopeSpans) for (const span of ss.spans) flat.push({ span, service });
  }
  if (!flat.length) return { roots: [], ordered: [], traceStartUnixNano: 0n, durationUs: 0 };
  let t0 = BigInt(flat[0]!.span.startTimeUnixNano);
  let t1 = BigInt(flat[0]!.span.endTimeUnixNano);
  for (const { span } of flat) {
    const s = BigInt(span.startTimeUnixNano);
    const e = BigInt(span.endTimeUnixNano);
    if (s < t0) t0 = s;
    if (e > t1) t1 = e;
  }
  const us = (ns: string) => Number((BigInt(ns) - t0) / 1000n);
  const nodes = flat.map(({ span, service }): SpanNode => ({ span, service, depth: 0, startUs: us(span.startTimeUnixNano), endUs: Math.max(us(span.startTimeUnixNano), us(span.endTimeUnixNano)), children: [] }));
  // Several spans may share an id (Zipkin's shared client/server spans): a child attaches to the
  // first span with its parent's id that is not itself.
  const byId = new Map<string, SpanNode[]>();
  for (const n of nodes) {
    const list = byId.get(keyOf(n.span));
    if (list) list.push(n);
    else byId.set(keyOf(n.span), [n]);
  }
  const roots: SpanNode[] = [];
  for (const n of nodes) {
    const parent = n.span.parentSpanId ? byId.get(n.span.parentSpanId)?.find((p) => p !== n) : undefined;
    if (parent) {
      n.parent = parent;
      parent.children.push(n);
    } else roots.push(n);
  }
  const byStart = (a: SpanNode, b: SpanNode) => a.startUs - b.startUs || a.endUs - b.endUs || a.span.spanId.localeCompare(b.span.spanId);
  roots.sort(byStart);
  const ordered: SpanNode[] = [];
  const seen = new Set<SpanNode>();
  // Iterative depth-first walk; `seen` breaks parent cycles, which hostile data can contain.
  const visit = (root: SpanNode) => {
    const stack: SpanNode[] = [root];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      n.depth = n.parent && seen.has(n.parent) ? n.parent.depth + 1 : 0;
      ordered.push(n);
      n.children.sort(byStart);
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
    }
  };
  for (const r of roots) visit(r);
  // Spans only reachable through a cycle: show them as roots rather than lose them.
  for (const n of nodes) {
    if (seen.has(n)) continue;
    n.parent?.children.splice(n.parent.children.indexOf(n), 1);
    n.parent = undefined;
    roots.push(n);
    visit(n);
  }
  return { roots, ordered, traceStartUnixNano: t0, durationUs: Number((t1 - t0) / 1000n) };
}
