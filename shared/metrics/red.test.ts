import { describe, expect, it } from "vitest";
import { SpanKind } from "../model/span.ts";
import { LatencyHistogram } from "./histogram.ts";
import type { AnyValue, ResourceSpans } from "../model/span.ts";
import { RedAccumulator, ServiceNameType, operationRollup, serviceNameValue, serviceOfResource, serviceRollup, summarizeOperations, type OperationRow, type ServiceRow } from "./red.ts";
import { at, batchOf, testSpan, testResourceSpans } from "../../test/support/spans.ts";

const T0 = 1_764_090_000; // a minute boundary

function server(id: string, name: string, startSec: number, ms: number, error = false) {
  return testSpan({ spanId: id, name, kind: SpanKind.SERVER, start: at(startSec), end: at(startSec, ms), error });
}

describe("RED rows", () => {
  it("count, errors and durations per minute, service, operation and kind", () => {
    const acc = new RedAccumulator("tn_a");
    acc.addSpans(
      batchOf(
        testResourceSpans("cart", [
          server("a1", "GET /cart", T0 + 1, 10),
          server("a2", "GET /cart", T0 + 59, 20, true),
          server("a3", "GET /cart", T0 + 60, 30), // next minute
          server("a4", "POST /cart", T0 + 2, 5),
          testSpan({ spanId: "a5", name: "GET /cart", kind: SpanKind.CLIENT, start: at(T0 + 3), end: at(T0 + 3, 7) }),
          testSpan({ spanId: "a6", name: "serialize", kind: SpanKind.INTERNAL, start: at(T0 + 3), end: at(T0 + 3, 1) }),
        ]),
        testResourceSpans(undefined, [server("b1", "GET /cart", T0 + 1, 10)]),
      ),
    );
    const rows = acc.rows();
    expect(acc.size).toBe(4);
    const row = (minute: number, operation: string, kind: number) =>
      rows.find((r) => r.minute === minute && r.operation === operation && r.kind === kind)!;
    const getCart = row(T0, "GET /cart", SpanKind.SERVER);
    expect(getCart).toMatchObject({ tenantId: "tn_a", service: "cart", count: 2, errors: 1 });
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
    acc.addSpan(testSpan({ spanId: "c1", name: "render", kind: SpanKind.INTERNAL, start: at(T0 + 299), end: at(T0 + 300) }), "web");
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
    for (const rows of batches) stored = operationRollup.upsert(stored, rows);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ count: 30, errors: 3 });
    const h = LatencyHistogram.decode(stored[0]!.durations);
    expect(h.count).toBe(30);
    expect(h.sum).toBe(600);
    expect(() => operationRollup.merge(batches[0]![0]!, { ...batches[0]![0]!, operation: "other" })).toThrow(/different keys/);
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

  it("service rows: every span of a service per minute, whatever its kind", () => {
    const acc = new RedAccumulator("tn_a");
    const kinds = [SpanKind.UNSPECIFIED, SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER, 9];
    acc.addSpans(
      batchOf(
        testResourceSpans(
          "cart",
          kinds.map((kind, i) => testSpan({ spanId: `k${i}`, name: `op${i}`, kind, start: at(T0 + i), end: at(T0 + i, 10 * (i + 1)), error: i % 2 === 0 })),
        ),
        testResourceSpans("cart", [testSpan({ spanId: "n1", kind: SpanKind.INTERNAL, start: at(T0 + 61), end: at(T0 + 61, 3) })]),
      ),
    );
    const rows = acc.serviceRows();
    // One row per minute, service, root or not and status: these spans are roots, errors or unset.
    expect(rows.map((r) => ({ minute: r.minute, service: r.service, serviceNameType: r.serviceNameType, root: r.root, status: r.status, count: r.count, errors: r.errors }))).toEqual([
      { minute: T0, service: "cart", serviceNameType: ServiceNameType.STRING, root: 1, status: 2, count: 4, errors: 4 },
      { minute: T0, service: "cart", serviceNameType: ServiceNameType.STRING, root: 1, status: 0, count: 3, errors: 0 },
      { minute: T0 + 60, service: "cart", serviceNameType: ServiceNameType.STRING, root: 1, status: 0, count: 1, errors: 0 },
    ]);
    const h = LatencyHistogram.decode(rows[0]!.durations).merge(LatencyHistogram.decode(rows[1]!.durations));
    expect(h.count).toBe(7);
    expect(h.sum).toBe(280);
    // The operation rows still hold only SERVER, CLIENT, PRODUCER and CONSUMER.
    expect(acc.rows().map((r) => r.kind).sort()).toEqual([SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER].sort());
  });

  it("service rows: a resource's service.name as TraceQL reads it (the first one; none; another type)", () => {
    const kv = (value: AnyValue) => ({ key: "service.name", value });
    const withAttributes = (attributes: { key: string; value: AnyValue }[], spanId: string): ResourceSpans => ({
      ...testResourceSpans(undefined, [server(spanId, "GET /", T0, 1)]),
      resource: { attributes, droppedAttributesCount: 0 },
    });
    const cases: [string, { key: string; value: AnyValue }[], string, number, AnyValue | undefined][] = [
      ["absent", [{ key: "host.name", value: { stringValue: "h" } }], "", ServiceNameType.ABSENT, undefined],
      ["empty string", [kv({ stringValue: "" })], "", ServiceNameType.STRING, { stringValue: "" }],
      ["after another attribute", [{ key: "host.name", value: { stringValue: "h" } }, kv({ stringValue: "web" })], "web", ServiceNameType.STRING, { stringValue: "web" }],
      ["the first of two", [kv({ stringValue: "cart" }), kv({ stringValue: "web" })], "cart", ServiceNameType.STRING, { stringValue: "cart" }],
      ["an int", [kv({ intValue: "7" })], '{"intValue":"7"}', ServiceNameType.OTHER, { intValue: "7" }],
      ["a NaN double", [kv({ doubleValue: Number.NaN })], '{"doubleValue":"NaN"}', ServiceNameType.OTHER, { doubleValue: Number.NaN }],
      ["an array", [kv({ arrayValue: { values: [{ doubleValue: -Infinity }, { boolValue: true }] } })], '{"arrayValue":{"values":[{"doubleValue":"-Infinity"},{"boolValue":true}]}}', ServiceNameType.OTHER, { arrayValue: { values: [{ doubleValue: -Infinity }, { boolValue: true }] } }],
      ["an empty value", [kv({} as AnyValue)], "{}", ServiceNameType.OTHER, {} as AnyValue],
    ];
    for (const [what, attributes, service, serviceNameType, value] of cases) {
      const identity = serviceOfResource({ attributes, droppedAttributesCount: 0 });
      expect(identity, what).toEqual({ service, serviceNameType });
      expect(serviceNameValue(identity), what).toEqual(value);
      const acc = new RedAccumulator("tn_a");
      acc.addSpans(batchOf(withAttributes(attributes, "s1")));
      expect(acc.serviceRows().map((r) => [r.service, r.serviceNameType, r.count]), what).toEqual([[service, serviceNameType, 1]]);
    }
    // "" named and unnamed stay apart: TraceQL tells them apart.
    const acc = new RedAccumulator("tn_a");
    acc.addSpans(batchOf(withAttributes([], "a"), withAttributes([kv({ stringValue: "" })], "b"), withAttributes([], "c")));
    expect(acc.serviceRows().map((r) => [r.serviceNameType, r.count]).sort()).toEqual([[ServiceNameType.STRING, 1], [ServiceNameType.ABSENT, 2]].sort());
    // Operation rows leave both out, as before.
    expect(acc.rows()).toEqual([]);
  });

  it("service rows merge by key, as an upsert would", () => {
    const parts = [0, 1, 2].map((b) => {
      const acc = new RedAccumulator("tn_a");
      acc.addSpans(batchOf(testResourceSpans("web", [server(`p${b}`, "GET /", T0 + b, 10, b === 1)])));
      return acc.serviceRows();
    });
    // Two unset root spans merge; the error one keeps its own row.
    const merged: ServiceRow[] = serviceRollup.upsert(serviceRollup.upsert(parts[0]!, parts[1]!), parts[2]!);
    expect(merged.map((r) => [r.status, r.count, r.errors])).toEqual([[0, 2, 0], [2, 1, 1]]);
    expect(LatencyHistogram.decode(merged[0]!.durations).count).toBe(2);
    expect(() => serviceRollup.merge(parts[0]![0]!, { ...parts[0]![0]!, serviceNameType: ServiceNameType.ABSENT })).toThrow(/different keys/);
    expect(() => serviceRollup.merge(parts[0]![0]!, { ...parts[0]![0]!, root: 0 })).toThrow(/different keys/);
  });

  it("service rows: a child span is no root, and each status code has its row", () => {
    const acc = new RedAccumulator("tn_a");
    const spans = [
      testSpan({ spanId: "r", start: at(T0), end: at(T0, 10) }),
      testSpan({ spanId: "c1", parentSpanId: "r", start: at(T0), end: at(T0, 5) }),
      testSpan({ spanId: "c2", parentSpanId: "r", start: at(T0), end: at(T0, 5), error: true }),
      { ...testSpan({ spanId: "c3", parentSpanId: "gone", start: at(T0), end: at(T0, 5) }), status: { code: 1, message: "" } },
    ];
    acc.addSpans(batchOf(testResourceSpans("web", spans)));
    expect(acc.serviceRows().map((r) => [r.root, r.status, r.count, r.errors])).toEqual([[1, 0, 1, 0], [0, 0, 1, 0], [0, 2, 1, 1], [0, 1, 1, 0]]);
  });
});
