import { describe, expect, it } from "vitest";
import { SpanKind } from "../model/span.ts";
import { LatencyHistogram } from "./histogram.ts";
import { RedAccumulator, mergeOperationRows, summarizeOperations, upsertOperationRows, type OperationRow } from "./red.ts";
import { at, batchOf, makeSpan, resourceSpans } from "./spans.test-helpers.ts";

const T0 = 1_764_090_000; // a minute boundary

function server(id: string, name: string, startSec: number, ms: number, error = false) {
  return makeSpan({ spanId: id, name, kind: SpanKind.SERVER, start: at(startSec), end: at(startSec, ms), error });
}

describe("RED rows", () => {
  it("count, errors and durations per minute, service, operation and kind", () => {
    const acc = new RedAccumulator("tn_a");
    acc.addSpans(
      batchOf(
        resourceSpans("cart", [
          server("a1", "GET /cart", T0 + 1, 10),
          server("a2", "GET /cart", T0 + 59, 20, true),
          server("a3", "GET /cart", T0 + 60, 30), // next minute
          server("a4", "POST /cart", T0 + 2, 5),
          makeSpan({ spanId: "a5", name: "GET /cart", kind: SpanKind.CLIENT, start: at(T0 + 3), end: at(T0 + 3, 7) }),
          makeSpan({ spanId: "a6", name: "serialize", kind: SpanKind.INTERNAL, start: at(T0 + 3), end: at(T0 + 3, 1) }),
        ]),
        resourceSpans(undefined, [server("b1", "GET /cart", T0 + 1, 10)]),
      ),
    );
    const rows = acc.rows();
    expect(acc.size).toBe(4);
    const row = (minute: number, operation: string, kind: number) =>
      rows.find((r) => r.minute === minute && r.operation === operation && r.kind === kind)!;
    const getCart = row(T0, "GET /cart", SpanKind.SERVER);
    expect(getCart).toMatchObject({ tenant: "tn_a", service: "cart", count: 2, errors: 1 });
    const h = LatencyHistogram.decode(getCart.durations);
    expect(h.count).toBe(2);
    expect(h.sum).toBe(30);
    expect(row(T0 + 60, "GET /cart", SpanKind.SERVER)).toMatchObject({ count: 1, errors: 0 });
    expect(row(T0, "POST /cart", SpanKind.SERVER)).toMatchObject({ count: 1 });
    expect(row(T0, "GET /cart", SpanKind.CLIENT)).toMatchObject({ count: 1 });
    // INTERNAL is left out by default, and a resource without service.name counts nowhere.
    expect(rows.some((r) => r.kind === SpanKind.INTERNAL)).toBe(false);
  });

  it("include INTERNAL spans and coarser buckets when asked", () => {
    const acc = new RedAccumulator("tn_a", { kinds: [SpanKind.INTERNAL], stepSeconds: 300 });
    acc.addSpan(makeSpan({ spanId: "c1", name: "render", kind: SpanKind.INTERNAL, start: at(T0 + 299), end: at(T0 + 300) }), "web");
    acc.addSpan(server("c2", "GET /", T0, 1), "web");
    expect(acc.rows()).toHaveLength(1);
    expect(acc.rows()[0]).toMatchObject({ minute: T0, operation: "render", count: 1 });
  });

  it("merge rows of one key from several batches, as an upsert would", () => {
    const batches = [0, 1, 2].map((b) => {
      const acc = new RedAccumulator("tn_a");
      for (let i = 0; i < 10; i++) acc.addSpan(server(`s${b}${i}`, "GET /", T0 + i, 10 * (b + 1), i === b), "web");
      return acc.rows();
    });
    let stored: OperationRow[] = [];
    for (const rows of batches) stored = upsertOperationRows(stored, rows);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ count: 30, errors: 3 });
    const h = LatencyHistogram.decode(stored[0]!.durations);
    expect(h.count).toBe(30);
    expect(h.sum).toBe(600);
    expect(() => mergeOperationRows(batches[0]![0]!, { ...batches[0]![0]!, operation: "other" })).toThrow(/different keys/);
  });

  it("summarise a window into rate, errors and quantiles per operation", () => {
    const acc = new RedAccumulator("tn_a");
    for (let i = 0; i < 100; i++) acc.addSpan(server(`x${i}`, "GET /", T0 + (i % 120), i + 1, i < 5), "web");
    acc.addSpan(server("late", "GET /", T0 + 600, 1), "web"); // outside the window
    const [op, ...rest] = summarizeOperations(acc.rows(), { start: T0, end: T0 + 120 });
    expect(rest).toHaveLength(0);
    expect(op).toMatchObject({ service: "web", operation: "GET /", kind: SpanKind.SERVER, requests: 100, errors: 5 });
    expect(op!.rate).toBeCloseTo(100 / 120);
    expect(Math.abs(op!.p50Ms - 50) / 50).toBeLessThan(0.05);
    expect(Math.abs(op!.p99Ms - 99) / 99).toBeLessThan(0.05);
  });
});
