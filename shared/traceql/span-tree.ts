/**
 * @module
 * The decoded trace as a span tree, spansets over it, and Tempo's structural operators between
 * spansets (the evaluator's spanset layer; eval.ts compiles conditions and stages around it).
 */
import { parseU64, spanDurationNanos } from "../block/summarize.ts";
import type { InstrumentationScope, KeyValue, Resource, ResourceSpans, Span } from "../model/span.ts";
import type { SpansetOp } from "./ast.ts";

/** One span of the decoded trace, with its links in the tree. */
export interface SpanNode {
  readonly index: number;
  readonly span: Span;
  readonly resource: Resource;
  /** The instrumentation scope the span was recorded under. */
  readonly scope: InstrumentationScope;
  /** The first span of the trace with the span's parent id (none for a root or an orphan). */
  readonly parent: SpanNode | undefined;
  /** In trace order. */
  readonly children: readonly SpanNode[];
  readonly durationNanos: bigint;
  /**
   * Tempo's nested-set numbering: one counter over a depth-first walk from each root (a span
   * with no parent id; roots and children by start time, then span id, so that the numbers do
   * not depend on the order a block stores spans in) gives `left` on the way in and
   * `right` on the way out, from 1; `nestedParent` is the parent's `left`, -1 for a root. Spans
   * no root reaches (their parent is missing) keep 0 for all three.
   */
  readonly nestedLeft: number;
  readonly nestedRight: number;
  readonly nestedParent: number;
  /** The trace's last span with this span's id: itself unless ids repeat (a Zipkin shared span's client and server halves). */
  lastWithSameId(): SpanNode;
}

/** A set of spans (in trace order) plus the by()/aggregate values that label it. */
export interface Spanset {
  spans: SpanNode[];
  attributes: KeyValue[];
}

const NO_CHILDREN: readonly SpanNode[] = Object.freeze([]);

/**
 * A decoded trace's spans, and what is worked out of them on first use only (the span-id map,
 * the parent links, the nested sets): many queries read no structure, and a scan builds a tree
 * for every trace it decodes.
 */
class Tree {
  readonly nodes: Node[] = [];
  #byId: Map<string, Node> | undefined;
  #lastById: Map<string, Node> | undefined;
  #lastLookups = 0;
  #linked = false;
  #numbered = false;

  /** The first span of each id. */
  byId(): Map<string, Node> {
    if (!this.#byId) {
      this.#byId = new Map();
      // Backwards, so that the first span of an id wins with one Map operation a span.
      for (let i = this.nodes.length - 1; i >= 0; i--) this.#byId.set(this.nodes[i]!.span.spanId, this.nodes[i]!);
    }
    return this.#byId;
  }

  lastWithSameId(n: Node): Node {
    // A few look-ups scan the spans after it; more make a map of each id's last span once.
    if (!this.#lastById && ++this.#lastLookups > 8) {
      this.#lastById = new Map();
      for (const m of this.nodes) this.#lastById.set(m.span.spanId, m);
    }
    if (this.#lastById) return this.#lastById.get(n.span.spanId)!;
    for (let i = this.nodes.length - 1; i > n.index; i--) if (this.nodes[i]!.span.spanId === n.span.spanId) return this.nodes[i]!;
    return n;
  }

  link(): void {
    if (this.#linked) return;
    this.#linked = true;
    const byId = this.byId();
    for (const n of this.nodes) {
      if (n.span.parentSpanId === "") continue;
      const p = byId.get(n.span.parentSpanId);
      if (p && p !== n) {
        n.up = p;
        (p.down ??= []).push(n);
      }
    }
  }

  number(): void {
    if (this.#numbered) return;
    this.#numbered = true;
    this.link();
    numberNestedSets(this.nodes);
  }
}

class Node implements SpanNode {
  readonly index: number;
  readonly span: Span;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
  readonly tree: Tree;
  /** Set by Tree.link and numberNestedSets. */
  up: Node | undefined = undefined;
  down: Node[] | undefined = undefined;
  left = 0;
  right = 0;
  parentLeft = 0;
  #durationNanos: bigint | undefined;

  constructor(index: number, span: Span, resource: Resource, scope: InstrumentationScope, tree: Tree) {
    this.index = index;
    this.span = span;
    this.resource = resource;
    this.scope = scope;
    this.tree = tree;
  }

  get parent(): Node | undefined {
    this.tree.link();
    return this.up;
  }
  get children(): readonly Node[] {
    this.tree.link();
    return this.down ?? (NO_CHILDREN as readonly Node[]);
  }
  get durationNanos(): bigint {
    return (this.#durationNanos ??= spanDurationNanos(this.span));
  }
  get nestedLeft(): number {
    this.tree.number();
    return this.left;
  }
  get nestedRight(): number {
    this.tree.number();
    return this.right;
  }
  get nestedParent(): number {
    this.tree.number();
    return this.parentLeft;
  }
  lastWithSameId(): Node {
    return this.tree.lastWithSameId(this);
  }
}

/** The trace's spans in order, linked to parent and children by span id. */
export function buildIndex(trace: ResourceSpans[]): SpanNode[] {
  const tree = new Tree();
  const nodes = tree.nodes;
  for (const rs of trace) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) nodes.push(new Node(nodes.length, span, rs.resource, ss.scope, tree));
    }
  }
  return nodes;
}

function numberNestedSets(nodes: Node[]): void {
  // Each start parsed once, not on every comparison; one sort of the whole trace then orders the
  // roots and every span's children alike (by start, then span id, then trace order).
  const starts = nodes.map((n) => parseU64(n.span.startTimeUnixNano) ?? 0n);
  const byStart = (a: Node, b: Node): number => {
    const sa = starts[a.index]!;
    const sb = starts[b.index]!;
    return sa < sb ? -1 : sa > sb ? 1 : a.span.spanId < b.span.spanId ? -1 : a.span.spanId > b.span.spanId ? 1 : a.index - b.index;
  };
  const ordered = [...nodes].sort(byStart);
  const childrenByStart: Node[][] = nodes.map(() => []);
  for (const n of ordered) if (n.up) childrenByStart[n.up.index]!.push(n);
  let counter = 1;
  for (const root of ordered) {
    if (root.span.parentSpanId !== "" || root.left !== 0) continue;
    root.parentLeft = -1;
    // Iterative walk: [node, children visited?]
    const stack: [Node, boolean][] = [[root, false]];
    while (stack.length) {
      const [n, out] = stack.pop() as [Node, boolean];
      if (out) {
        n.right = counter++;
        continue;
      }
      if (n.left !== 0) continue;
      n.left = counter++;
      stack.push([n, true]);
      const children = childrenByStart[n.index]!;
      for (let k = children.length - 1; k >= 0; k--) {
        const c = children[k]!;
        if (c.left !== 0) continue;
        c.parentLeft = n.left;
        stack.push([c, false]);
      }
    }
  }
}

/** The spans of all non-empty spansets as one spanset, in trace order (spanset `||` and `&&`). */
export function union(sets: Spanset[]): Spanset[] {
  const nonEmpty = sets.filter((s) => s.spans.length > 0);
  if (nonEmpty.length <= 1) return nonEmpty;
  const seen = new Set<SpanNode>();
  const spans: SpanNode[] = [];
  for (const s of nonEmpty) {
    for (const n of s.spans) {
      if (seen.has(n)) continue;
      seen.add(n);
      spans.push(n);
    }
  }
  spans.sort((a, b) => a.index - b.index);
  return [{ spans, attributes: nonEmpty[0]?.attributes ?? [] }];
}

function hasAncestorIn(n: SpanNode, set: Set<SpanNode>): boolean {
  const seen = new Set<SpanNode>();
  for (let p = n.parent; p && !seen.has(p); p = p.parent) {
    if (set.has(p)) return true;
    seen.add(p);
  }
  return false;
}

function hasDescendantIn(n: SpanNode, set: Set<SpanNode>): boolean {
  const stack = [...n.children];
  const seen = new Set<SpanNode>();
  while (stack.length) {
    const c = stack.pop() as SpanNode;
    if (seen.has(c)) continue;
    seen.add(c);
    if (set.has(c)) return true;
    stack.push(...c.children);
  }
  return false;
}

/** A spanset expression compiled: the spansets it yields from one input spanset. */
export type SpansetFn<C> = (input: Spanset, ctx: C) => Spanset[];
type Relation = (n: SpanNode, others: Set<SpanNode>) => boolean;

const isChildOf: Relation = (n, L) => n.parent !== undefined && L.has(n.parent);
const isParentOf: Relation = (n, L) => n.children.some((c) => L.has(c));
const isSiblingOf: Relation = (n, L) => n.parent !== undefined && n.parent.children.some((c) => c !== n && L.has(c));

/** `{A} op {B}`: how a B span relates to the A spans, and (for unions) an A span to the B spans. */
const RELATIONS: Record<string, [rightToLeft: Relation, leftToRight: Relation]> = {
  ">": [isChildOf, isParentOf],
  ">>": [hasAncestorIn, hasDescendantIn],
  "<": [isParentOf, isChildOf],
  "<<": [hasDescendantIn, hasAncestorIn],
  "~": [isSiblingOf, isSiblingOf],
};

/**
 * Tempo's structural operators. `{A} > {B}`: the B spans whose parent is an A span. Negated
 * (`!>`): the B spans for which that is false of every A span, so all of them when no span
 * matches A. Union (`&>`): the B spans so related to an A span and the A spans so related to a
 * B span, together, in trace order.
 */
export function structural<C>(op: SpansetOp, l: SpansetFn<C>, r: SpansetFn<C>): SpansetFn<C> {
  const negated = op.startsWith("!");
  const union = op.startsWith("&");
  const [rightToLeft, leftToRight] = RELATIONS[negated || union ? op.slice(1) : op] as [Relation, Relation];
  return (input, ctx) => {
    const left = new Set<SpanNode>();
    for (const s of l(input, ctx)) for (const n of s.spans) left.add(n);
    if (!left.size && !negated) return [];
    const rights = r(input, ctx);
    if (union) {
      const right = new Set<SpanNode>();
      for (const s of rights) for (const n of s.spans) right.add(n);
      const spans = [...right].filter((n) => rightToLeft(n, left));
      if (!spans.length) return [];
      const seen = new Set(spans);
      for (const n of left) if (!seen.has(n) && leftToRight(n, right)) spans.push(n);
      spans.sort((a, b) => a.index - b.index);
      return [{ spans, attributes: rights[0]?.attributes ?? [] }];
    }
    const out: Spanset[] = [];
    for (const s of rights) {
      const spans = s.spans.filter((n) => rightToLeft(n, left) !== negated);
      if (spans.length) out.push({ spans, attributes: s.attributes });
    }
    return out;
  };
}
