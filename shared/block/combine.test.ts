import { describe, expect, it } from "vitest";
import { realisticTraceBatch } from "../../test/support/random-otlp.ts";
import { groupByTrace } from "../ingest/group-by-trace.ts";
import type { ResourceSpans, Span } from "../model/span.ts";
import { SpanKind } from "../model/span.ts";
import { combineTraces } from "./combine.ts";
import { multiServiceWorkload } from "../../test/support/multi-service-workload.ts";

const spansOf = (rs: ResourceSpans[]): Span[] => rs.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
const ids = (rs: ResourceSpans[]) => spansOf(rs).map((s) => `${s.spanId}/${s.kind}`).sort();

describe("combineTraces", () => {
  it("merges fragments split across requests back into one trace per resource and scope", () => {
    const w = multiServiceWorkload({ traces: 30, seed: 5 });
    for (const t of w.traces) {
      // Each request fragment on its own, as blocks written at different times would hold it.
      const parts = t.resourceSpans.map((rs) => [rs]);
      const combined = combineTraces(parts);
      expect(ids(combined)).toEqual(ids(t.resourceSpans));
      const keys = combined.map((rs) => rs.resource);
      expect(new Set(keys).size).toBe(keys.length);
      // One ResourceSpans per service instance, however many requests it came in.
      const instances = new Set(t.resourceSpans.map((rs) => rs.resource));
      expect(combined.length).toBe(instances.size);
    }
  });

  it("drops spans a redelivered message brought again, keeping the first copy", () => {
    const [t] = groupByTrace(realisticTraceBatch(8, 4));
    const again = structuredClone(t!.resourceSpans);
    spansOf(again)[0]!.name = "changed on redelivery";
    const combined = combineTraces([t!.resourceSpans, again, t!.resourceSpans]);
    expect(spansOf(combined).length).toBe(spansOf(t!.resourceSpans).length);
    expect(combined).toEqual(t!.resourceSpans);
  });

  it("keeps both halves of a Zipkin shared span (same id, CLIENT and SERVER)", () => {
    const [t] = groupByTrace(realisticTraceBatch(4, 4));
    const rs = t!.resourceSpans[0]!;
    const client = rs.scopeSpans[0]!.spans[1]!;
    const server: Span = { ...client, kind: SpanKind.SERVER, name: "server half" };
    const part2: ResourceSpans[] = [{ ...rs, scopeSpans: [{ ...rs.scopeSpans[0]!, spans: [server, client] }] }];
    const combined = combineTraces([t!.resourceSpans, part2]);
    const same = spansOf(combined).filter((s) => s.spanId === client.spanId);
    expect(same.map((s) => s.kind).sort()).toEqual([SpanKind.SERVER, SpanKind.CLIENT].sort());
    expect(spansOf(combined).length).toBe(spansOf(t!.resourceSpans).length + 1);
  });

  it("does not modify its inputs and drops containers left empty", () => {
    const [t] = groupByTrace(realisticTraceBatch(8, 6));
    const before = structuredClone(t!.resourceSpans);
    const onlyDuplicates = structuredClone(t!.resourceSpans);
    onlyDuplicates[0]!.schemaUrl = "https://other.example/schema";
    const combined = combineTraces([t!.resourceSpans, onlyDuplicates]);
    expect(t!.resourceSpans).toEqual(before);
    expect(combined.length).toBe(1);
    expect(combineTraces([])).toEqual([]);
    expect(combineTraces([[], []])).toEqual([]);
  });
});
