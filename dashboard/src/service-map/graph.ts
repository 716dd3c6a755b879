/**
 * @module
 * The service graph API's answer, and its layout by dagre (a layered layout: callers above their
 * callees, few crossings, edges routed between ranks), in SVG user units.
 */
import dagre from "@dagrejs/dagre";
import type { ServiceGraphEdge, ServiceGraphNode } from "../../../shared/servicegraph/aggregate.ts";

/** A node as /api/service-graph answers it (the type of the module that computes it). */
export type GraphNode = ServiceGraphNode;

/** An edge as /api/service-graph answers it. */
export type GraphEdge = ServiceGraphEdge;

export interface ServiceGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** How a node is drawn: services are boxes, databases cylinders, other virtual nodes dashed. */
export type Shape = "service" | "database" | "user" | "peer";

export interface PlacedNode {
  node: GraphNode;
  shape: Shape;
  /** Centre. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  edge: GraphEdge;
  /** A stable key: source, target and connection type. */
  key: string;
  points: { x: number; y: number }[];
  /** Centre of the label. */
  labelX: number;
  labelY: number;
}

export interface Layout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 150;
export const NODE_HEIGHT = 54;
/** An edge label's box, which dagre keeps clear of nodes and other edges: two lines of 12 and 11 px. */
export const LABEL_WIDTH = 140;
export const LABEL_HEIGHT = 32;

export const edgeKey = (e: GraphEdge) => JSON.stringify([e.source, e.target, e.connectionType]);

export function shapeOf(node: GraphNode, edges: readonly GraphEdge[]): Shape {
  if (node.kind === "service") return "service";
  if (node.id === "user" && edges.some((e) => e.source === "user")) return "user";
  return edges.some((e) => e.target === node.id && e.connectionType === "database") ? "database" : "peer";
}

export function layoutGraph(graph: ServiceGraph): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 36, ranksep: 40, edgesep: 20, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of graph.edges) {
    // An edge label of its own size, so dagre keeps labels clear of nodes and of each other.
    g.setEdge(e.source, e.target, { width: LABEL_WIDTH, height: LABEL_HEIGHT, labelpos: "c" }, edgeKey(e));
  }
  dagre.layout(g);
  const nodes = graph.nodes.map((node): PlacedNode => {
    const p = g.node(node.id);
    return { node, shape: shapeOf(node, graph.edges), x: p.x ?? 0, y: p.y ?? 0, width: NODE_WIDTH, height: NODE_HEIGHT };
  });
  const edges = graph.edges.map((edge): PlacedEdge => {
    const key = edgeKey(edge);
    const l = g.edge({ v: edge.source, w: edge.target, name: key });
    const points = l.points ?? [];
    const mid = points[Math.floor(points.length / 2)] ?? { x: 0, y: 0 };
    return { edge, key, points, labelX: l.x ?? mid.x, labelY: l.y ?? mid.y };
  });
  const label = g.graph();
  return { nodes, edges, width: label.width ?? 0, height: label.height ?? 0 };
}

/** A smooth path through dagre's points (quadratic curves through the midpoints). */
export function edgePath(points: readonly { x: number; y: number }[]): string {
  if (points.length === 0) return "";
  const f = (n: number) => n.toFixed(1);
  const [p0, ...rest] = points as [{ x: number; y: number }, ...{ x: number; y: number }[]];
  if (rest.length === 0) return `M${f(p0.x)} ${f(p0.y)}`;
  let d = `M${f(p0.x)} ${f(p0.y)}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const c = rest[i] as { x: number; y: number };
    const n = rest[i + 1] as { x: number; y: number };
    d += `Q${f(c.x)} ${f(c.y)} ${f((c.x + n.x) / 2)} ${f((c.y + n.y) / 2)}`;
  }
  const last = rest[rest.length - 1] as { x: number; y: number };
  d += `L${f(last.x)} ${f(last.y)}`;
  return d;
}
