import { describe, expect, it } from "vitest";
import { EdgeAccumulator } from "../servicegraph/aggregate.ts";
import { RedAccumulator } from "./red.ts";
import { decodeRowSets, encodeRowSets, MINUTE_ROLLUPS, ROW_KINDS, rowCount } from "./row-kinds.ts";

const T0 = 1_764_090_000;

function sets() {
  const edges = new EdgeAccumulator("tn_a");
  edges.add([{ source: "web", target: "cart", connectionType: "", failed: false, clientMs: 12, serverMs: 10, startSec: T0, traceId: "t" }]);
  const red = new RedAccumulator("tn_a");
  const span = { traceId: "t", spanId: "s", traceState: "", parentSpanId: "", flags: 0, name: "GET /", kind: 2, startTimeUnixNano: `${T0}000000000`, endTimeUnixNano: `${T0}005000000`, attributes: [], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: "" } };
  red.addSpans({ resourceSpans: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "cart" } }], droppedAttributesCount: 0 }, scopeSpans: [{ scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 }, spans: [span], schemaUrl: "" }], schemaUrl: "" }] });
  return { edgeRows: edges.rows(), operationRows: red.rows(), serviceRows: red.serviceRows() };
}

describe("row kinds", () => {
  it("one rollup per kind, each writing its own table", () => {
    expect(ROW_KINDS).toEqual(["edgeRows", "operationRows", "serviceRows"]);
    expect(new Set(ROW_KINDS.map((k) => MINUTE_ROLLUPS[k].table)).size).toBe(3);
  });

  it("encode the row sets a value carries, leave its other fields and their order, and decode back", () => {
    const value = { keys: ["k"], ...sets(), usage: [{ day: "2025-11-25", spansAccepted: 1, spansRejected: 0 }] };
    const encoded = encodeRowSets(value);
    expect(Object.keys(encoded)).toEqual(Object.keys(value));
    expect(encoded.keys).toBe(value.keys);
    expect(encoded.usage).toBe(value.usage);
    expect(encoded.edgeRows[0]).toEqual(MINUTE_ROLLUPS.edgeRows.encode(value.edgeRows[0]!));
    expect(typeof encoded.serviceRows[0]!.durations).toBe("string");
    expect(decodeRowSets(JSON.parse(JSON.stringify(encoded)) as typeof encoded)).toEqual(value);
  });

  it("leave a set that is absent absent (service rows of the version before them)", () => {
    const { serviceRows: _serviceRows, ...old } = sets();
    const encoded = encodeRowSets(old);
    expect("serviceRows" in encoded).toBe(false);
    expect("serviceRows" in decodeRowSets(encoded)).toBe(false);
    expect(rowCount(old)).toBe(2);
    expect(rowCount(sets())).toBe(3);
  });
});
