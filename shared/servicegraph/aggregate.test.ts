import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../metrics/histogram.ts";
import { EdgeAccumulator, edgeRollup, foldServiceGraph, type EdgeRow } from "./aggregate.ts";
import type { Edge } from "./edges.ts";

const T0 = 1_764_090_000;

function edge(source: string, target: string, connectionType: Edge["connectionType"], o: Partial<Edge> = {}): Edge {
  const virtualTarget = connectionType === "database" || (connectionType === "virtual_node" && source !== "user");
  return {
    source,
    target,
    connectionType,
    failed: false,
    clientMs: source === "user" ? undefined : 20,
    serverMs: virtualTarget ? undefined : 10,
    startSec: T0,
    traceId: "t",
    ...o,
  };
}

describe("edge rows", () => {
  it("one row per minute, source, target and connection type", () => {
    const acc = new EdgeAccumulator("tn_a");
    acc.add([
      edge("frontend", "cart", "", { failed: true }),
      edge("frontend", "cart", "", { startSec: T0 + 59 }),
      edge("frontend", "cart", "", { startSec: T0 + 60 }),
      edge("cart", "redis", "database", { clientMs: 1 }),
      edge("user", "frontend", "virtual_node"),
    ]);
    const rows = acc.rows();
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({ tenantId: "tn_a", minute: T0, source: "frontend", target: "cart", connectionType: "", requests: 2, failed: 1 });
    expect(LatencyHistogram.decode(rows[0]!.clientDurations).count).toBe(2);
    expect(LatencyHistogram.decode(rows[0]!.serverDurations).count).toBe(2);
    expect(rows[1]).toMatchObject({ minute: T0 + 60, requests: 1 });
    // Sides that were not instrumented are left empty rather than filled with zeros.
    expect(LatencyHistogram.decode(rows[2]!.serverDurations).count).toBe(0);
    expect(LatencyHistogram.decode(rows[3]!.clientDurations).count).toBe(0);
  });

  it("merge rows of one key exactly, refusing rows of different keys", () => {
    const a = new EdgeAccumulator("tn_a");
    a.add([edge("a", "b", "", { clientMs: 5, serverMs: 4 })]);
    const b = new EdgeAccumulator("tn_a");
    b.add([edge("a", "b", "", { clientMs: 50, serverMs: 40, failed: true }), edge("a", "c", "")]);
    const merged = edgeRollup.upsert(a.rows(), b.rows());
    expect(merged).toHaveLength(2);
    expect(merged[0]).toMatchObject({ source: "a", target: "b", requests: 2, failed: 1 });
    expect(LatencyHistogram.decode(merged[0]!.serverDurations).sum).toBe(44);
    expect(LatencyHistogram.decode(merged[0]!.clientDurations).sum).toBe(55);
    expect(() => edgeRollup.merge(merged[0]!, merged[1]!)).toThrow(/different keys/);
    expect(() => edgeRollup.merge(merged[0]!, { ...merged[0]!, tenantId: "tn_b" })).toThrow(/different keys/);
  });

  it("fold a window into nodes and edges in the API shape", () => {
    const acc = new EdgeAccumulator("tn_a");
    acc.add([
      edge("user", "frontend", "virtual_node", { serverMs: 100 }),
      edge("user", "frontend", "virtual_node", { serverMs: 100, failed: true }),
      edge("frontend", "cart", "", { serverMs: 10, clientMs: 12 }),
      edge("cart", "redis", "database", { clientMs: 1 }),
      edge("checkout", "shipping", "messaging_system", { serverMs: 7 }),
      edge("payment", "stripe-api", "virtual_node", { clientMs: 40, failed: true }),
      edge("frontend", "cart", "", { startSec: T0 + 120 }), // outside the window below
    ]);
    const rows: EdgeRow[] = acc.rows();
    const graph = foldServiceGraph(rows, { start: T0, end: T0 + 60 });
    expect(graph.edges).toEqual([
      { source: "cart", target: "redis", requests: 1, failed: 0, p50Ms: expect.closeTo(1, 1) as number, p90Ms: expect.any(Number) as number, p99Ms: expect.any(Number) as number, connectionType: "database" },
      expect.objectContaining({ source: "checkout", target: "shipping", requests: 1, connectionType: "messaging_system" }),
      expect.objectContaining({ source: "frontend", target: "cart", requests: 1, failed: 0, connectionType: "" }),
      expect.objectContaining({ source: "payment", target: "stripe-api", requests: 1, failed: 1, connectionType: "virtual_node" }),
      expect.objectContaining({ source: "user", target: "frontend", requests: 2, failed: 1, connectionType: "virtual_node" }),
    ]);
    // Edge latency: server side where there is one, else client side.
    const byPair = (s: string, t: string) => graph.edges.find((e) => e.source === s && e.target === t)!;
    expect(Math.abs(byPair("frontend", "cart").p50Ms - 10) / 10).toBeLessThan(0.05);
    expect(Math.abs(byPair("payment", "stripe-api").p50Ms - 40) / 40).toBeLessThan(0.05);

    const kinds = Object.fromEntries(graph.nodes.map((n) => [n.id, n.kind]));
    expect(kinds).toEqual({
      cart: "service",
      checkout: "service",
      frontend: "service",
      payment: "service",
      redis: "virtual",
      shipping: "service",
      "stripe-api": "virtual",
      user: "virtual",
    });
    const node = (id: string) => graph.nodes.find((n) => n.id === id)!;
    expect(node("frontend")).toMatchObject({ requests: 2, failed: 1 });
    expect(Math.abs(node("frontend").p99Ms - 100) / 100).toBeLessThan(0.05);
    expect(node("user")).toEqual({ id: "user", kind: "virtual", requests: 0, failed: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0 });
    expect(node("stripe-api")).toMatchObject({ requests: 1, failed: 1 });
  });
});
