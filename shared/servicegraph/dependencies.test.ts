import { describe, expect, it } from "vitest";
import type { ServiceGraphEdge } from "./aggregate.ts";
import { jaegerDependencies, zipkinDependencies } from "./dependencies.ts";

function edge(source: string, target: string, connectionType: ServiceGraphEdge["connectionType"], requests: number, failed = 0): ServiceGraphEdge {
  return { source, target, connectionType, requests, failed, p50Ms: 1, p90Ms: 2, p99Ms: 3 };
}

const EDGES = [
  edge("user", "frontend", "virtual_node", 50),
  edge("frontend", "cart", "", 10, 2),
  edge("frontend", "cart", "messaging_system", 5, 1),
  edge("cart", "redis", "database", 7),
  edge("frontend", "payments", "virtual_node", 3, 3),
  edge("cart", "frontend", "", 1),
];

describe("dependency links from the service graph's edges", () => {
  it("Zipkin: one link per (parent, child) with calls and errors of every connection type added, in first-seen order", () => {
    expect(zipkinDependencies(EDGES)).toEqual([
      { parent: "frontend", child: "cart", callCount: 15, errorCount: 3 },
      { parent: "cart", child: "redis", callCount: 7, errorCount: 0 },
      { parent: "frontend", child: "payments", callCount: 3, errorCount: 3 },
      { parent: "cart", child: "frontend", callCount: 1, errorCount: 0 },
    ]);
  });

  it("Jaeger: the same links with the call count only", () => {
    const links = jaegerDependencies(EDGES);
    expect(links).toEqual(zipkinDependencies(EDGES).map(({ parent, child, callCount }) => ({ parent, child, callCount })));
    for (const l of links) expect(Object.keys(l)).toEqual(["parent", "child", "callCount"]);
  });

  it("leaves out only the virtual user node's edges: a service named user that calls is kept", () => {
    expect(jaegerDependencies([edge("user", "frontend", "virtual_node", 4), edge("user", "frontend", "", 2)])).toEqual([{ parent: "user", child: "frontend", callCount: 2 }]);
    expect(zipkinDependencies([])).toEqual([]);
  });

  it("keeps names that contain the separator a naive key would use apart", () => {
    expect(jaegerDependencies([edge("a\nb", "c", "", 1), edge("a", "b\nc", "", 1)])).toHaveLength(2);
  });
});
