import { describe, expect, it } from "vitest";
import type { ResourceSpans, Span } from "../model/span.ts";
import { zeroSpan } from "../../test/support/spans.ts";
import { summarizeTrace } from "./summarize.ts";

function span(id: string, parent: string, start: number, end: number, name = id, error = false): Span {
  return zeroSpan({
    traceId: "t", spanId: id, parentSpanId: parent, name, kind: 1,
    startTimeUnixNano: String(1_000_000n + BigInt(start)), endTimeUnixNano: String(1_000_000n + BigInt(end)),
    status: { code: error ? 2 : 0, message: "" },
  });
}

function service(name: string | undefined, spans: Span[]): ResourceSpans {
  return {
    resource: { attributes: name === undefined ? [] : [{ key: "service.name", value: { stringValue: name } }], droppedAttributesCount: 0 },
    schemaUrl: "",
    scopeSpans: [{ scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 }, schemaUrl: "", spans }],
  };
}

describe("summarizeTrace", () => {
  it("finds the root, the time range and per-service counts", () => {
    const facts = summarizeTrace("t", [
      service("api", [span("b", "a", 5, 50, "child", true)]),
      service("web", [span("a", "", 0, 40, "GET /"), span("c", "a", 10, 20)]),
      service("api", [span("d", "b", 6, 70, "late end", true)]),
    ]);
    expect(facts).toEqual({
      traceId: "t",
      startTimeUnixNano: "1000000",
      endTimeUnixNano: "1000070",
      durationNanos: "70",
      rootServiceName: "web",
      rootSpanName: "GET /",
      spanCount: 4,
      errorCount: 2,
      services: [
        { serviceName: "api", spanCount: 2, errorCount: 2 },
        { serviceName: "web", spanCount: 2, errorCount: 0 },
      ],
    });
  });

  it("takes the earliest span whose parent is missing when the root has not arrived", () => {
    const facts = summarizeTrace("t", [service("s", [span("x", "gone", 30, 40, "late orphan"), span("y", "x", 31, 35), span("z", "gone2", 20, 25, "early orphan")])]);
    expect(facts.rootSpanName).toBe("early orphan");
  });

  it("prefers the earliest of several parentless spans, and survives cycles, no service and no spans", () => {
    expect(summarizeTrace("t", [service(undefined, [span("a", "", 9, 10, "second"), span("b", "", 3, 4, "first")])])).toMatchObject({ rootSpanName: "first", rootServiceName: "" });
    expect(summarizeTrace("t", [service("s", [span("a", "b", 9, 10, "a"), span("b", "a", 3, 4, "b")])]).rootSpanName).toBe("b");
    expect(summarizeTrace("t", [])).toMatchObject({ startTimeUnixNano: "0", endTimeUnixNano: "0", durationNanos: "0", rootSpanName: "", spanCount: 0, services: [] });
  });

  it("reports a zero duration when the end is not after the start", () => {
    const s = span("a", "", 50, 10);
    expect(summarizeTrace("t", [service("s", [s])]).durationNanos).toBe("0");
  });
});
