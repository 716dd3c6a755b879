/**
 * @module
 * The service graph's edges as Jaeger and Zipkin list dependencies: one link per (parent, child),
 * the requests (and, for Zipkin, the failures) of every connection type added, in the order the
 * pairs first appear. Edges from the virtual `user` node (the caller of root spans) are left out,
 * as neither has such a node; databases and other virtual targets stay. Pure, no I/O.
 */
import type { ServiceGraphEdge } from "./aggregate.ts";
import { USER_NODE } from "./edges.ts";

/** A link of Jaeger's `/api/dependencies` (`model.DependencyLink`). */
export interface JaegerDependencyLink {
  parent: string;
  child: string;
  callCount: number;
}

/** A link of Zipkin's `/api/v2/dependencies` (`DependencyLink`). */
export interface ZipkinDependencyLink extends JaegerDependencyLink {
  errorCount: number;
}

/** The fold both share: links with calls and errors, by (parent, child). */
export function zipkinDependencies(edges: Iterable<ServiceGraphEdge>): ZipkinDependencyLink[] {
  const links = new Map<string, ZipkinDependencyLink>();
  for (const e of edges) {
    if (e.source === USER_NODE && e.connectionType === "virtual_node") continue;
    const key = JSON.stringify([e.source, e.target]);
    const link = links.get(key);
    if (link) {
      link.callCount += e.requests;
      link.errorCount += e.failed;
    } else links.set(key, { parent: e.source, child: e.target, callCount: e.requests, errorCount: e.failed });
  }
  return [...links.values()];
}

/** Jaeger's links: Zipkin's without the error count (Jaeger's link has none). */
export function jaegerDependencies(edges: Iterable<ServiceGraphEdge>): JaegerDependencyLink[] {
  return zipkinDependencies(edges).map(({ parent, child, callCount }) => ({ parent, child, callCount }));
}
