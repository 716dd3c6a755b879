/**
 * A message produced in one trace and consumed in another, the consumer's root span linked to the
 * producer span: through the real assembler entry, each trace in its own queue message and
 * consumer invocation (so the two halves meet in the tenant's object), in both arrival orders. The
 * service graph and the Prometheus series show one `orders -> mailer` messaging_system edge, and no
 * `user -> mailer`.
 */
import { describe, expect, it } from "vitest";
import { createTenant } from "../../shared/db/queries/tenants.ts";
import { SpanKind, type Span } from "../../shared/model/span.ts";
import { edgeSeries } from "../../shared/prometheus/series.ts";
import { foldServiceGraph } from "../../shared/servicegraph/aggregate.ts";
import { readEdgeRowsWithOpen } from "../../shared/storage/metrics-reader.ts";
import { batchOf, testResourceSpans, testSpan } from "../support/spans.ts";
import { db, deliver, ingest, objectOf } from "./support.ts";
import "./provided-context.ts";

const PRODUCER_TRACE = "5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e";
const CONSUMER_TRACE = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0";

/** The producer's trace (web -> orders, orders publishes) and the consumer's (mailer, linked). */
function traces(t0Ms: number) {
  const root = testSpan({ traceId: PRODUCER_TRACE, spanId: "1000000000000001", kind: SpanKind.SERVER, name: "POST /orders", startMs: t0Ms, durationMs: 30 });
  const publish = testSpan({ traceId: PRODUCER_TRACE, spanId: "1000000000000002", parentSpanId: "1000000000000001", kind: SpanKind.PRODUCER, name: "order-placed publish", startMs: t0Ms + 5, durationMs: 3, attributes: { "messaging.system": "kafka" } });
  const consume: Span = {
    ...testSpan({ traceId: CONSUMER_TRACE, spanId: "2000000000000001", kind: SpanKind.CONSUMER, name: "order-placed process", startMs: t0Ms + 400, durationMs: 45 }),
    links: [{ traceId: PRODUCER_TRACE, spanId: "1000000000000002", traceState: "", attributes: [], droppedAttributesCount: 0, flags: 1 }],
  };
  return { producer: batchOf(testResourceSpans("orders", [root, publish])), consumer: batchOf(testResourceSpans("mailer", [consume])) };
}

describe("assembler: a producer and its consumer in two traces joined by a span link", () => {
  for (const order of ["producer first", "consumer first"] as const) {
    it(`make one messaging_system edge (${order})`, async () => {
      const tenant = await createTenant(db(), `link ${order}`);
      const t0 = Date.now() - 120_000;
      const { producer, consumer } = traces(t0);
      const [first, second] = order === "producer first" ? [producer, consumer] : [consumer, producer];
      // Two consumer invocations, a second apart: the first leaves its half with the tenant's object.
      const r1 = await deliver(await ingest(tenant.id, [first], t0 + 1_000));
      const r2 = await deliver(await ingest(tenant.id, [second], t0 + 2_000));
      expect([...r1.retryMessages, ...r2.retryMessages]).toEqual([]);

      const window = { start: Math.floor(t0 / 1000) - 60, end: Math.floor(t0 / 1000) + 120 };
      const rows = await readEdgeRowsWithOpen(db(), objectOf(tenant.id), tenant.id, window);
      const graph = foldServiceGraph(rows, window);
      expect(graph.edges.map((e) => [e.source, e.target, e.connectionType, e.requests])).toEqual([
        ["orders", "mailer", "messaging_system", 1],
        ["user", "orders", "virtual_node", 1],
      ]);
      // Its latency is the consumer's (45 ms), the server side, not the producer's 3 ms.
      expect(graph.edges[0]!.p50Ms).toBeGreaterThan(40);
      expect(graph.edges[0]!.p50Ms).toBeLessThan(50);
      expect(graph.nodes.find((n) => n.id === "mailer")).toMatchObject({ kind: "service", requests: 1 });

      // The same edge as Tempo's metrics-generator series, with its connection_type.
      const series = edgeSeries(rows).filter((s) => s.labels.__name__ === "traces_service_graph_request_total");
      expect(series.map((s) => s.labels).sort((a, b) => (a.client ?? "").localeCompare(b.client ?? ""))).toEqual([
        expect.objectContaining({ client: "orders", server: "mailer", connection_type: "messaging_system" }),
        expect.objectContaining({ client: "user", server: "orders", connection_type: "virtual_node" }),
      ]);
    });
  }
});
