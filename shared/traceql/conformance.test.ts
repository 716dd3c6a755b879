import { describe, expect, it } from "vitest";
import { summarizeTrace } from "../block/summarize.ts";
import type { ResourceSpans, Span } from "../model/span.ts";
import { conformance } from "../../test/support/traceql-conformance.ts";
import { compileQuery, stringify, TraceQLError } from "./index.ts";
import { isMetricsQuery, metricsQueries, parseMetricsExpression } from "./metrics.ts";
import { parseTraceQL, parseTraceQLSyntax } from "./parser.ts";
import { validateQuery } from "./validate.ts";

/** A small trace: a server span with a client child, attributes of each type. */
function smallTrace(): ResourceSpans[] {
  const span = (spanId: string, parentSpanId: string, kind: number, attrs: Record<string, string | number | boolean>): Span => ({
    traceId: "0123456789abcdef0123456789abcdef", spanId, traceState: "", parentSpanId, flags: 0, name: `op-${spanId}`, kind,
    startTimeUnixNano: "1700000000000000000", endTimeUnixNano: "1700000001000000000",
    attributes: Object.entries(attrs).map(([key, v]) => ({
      key,
      value: typeof v === "string" ? { stringValue: v } : typeof v === "boolean" ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v },
    })),
    droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 2, message: "boom" },
  });
  return [{
    resource: { attributes: [{ key: "service.name", value: { stringValue: "svc" } }], droppedAttributesCount: 0 },
    scopeSpans: [{
      scope: { name: "t", version: "", attributes: [], droppedAttributesCount: 0 },
      spans: [span("00000000000000a1", "", 2, { a: 1, b: 1, n: 3, flagged: true, owner: "x" }), span("00000000000000a2", "00000000000000a1", 3, { a: "s", base: 12.5, dryRun: false })],
      schemaUrl: "",
    }],
    schemaUrl: "",
  }];
}

/** Which stage refuses the query, and whether as unsupported; metrics queries (`| rate()` ...) through the metrics parser. */
function outcomeOf(query: string): string {
  const metrics = isMetricsQuery(query);
  try {
    const ast = metrics ? parseMetricsExpression(query, { validate: false }) : parseTraceQLSyntax(query);
    try {
      if (metrics) parseMetricsExpression(query);
      else validateQuery(ast as ReturnType<typeof parseTraceQLSyntax>);
    } catch (e) {
      if (!(e instanceof TraceQLError)) throw e;
      return e.unsupported ? "unsupported" : "validate_fails";
    }
    return "valid";
  } catch (e) {
    if (!(e instanceof TraceQLError)) throw e;
    return e.unsupported ? "unsupported" : "parse_fails";
  }
}

describe("TraceQL conformance with Tempo's outcomes", () => {
  const trace = smallTrace();
  const summary = summarizeTrace("0123456789abcdef0123456789abcdef", trace);

  it.each(conformance.map((c) => [c.outcome, c.query] as const))("%s: %s", (outcome, query) => {
    expect(outcomeOf(query)).toBe(outcome);
    if (outcome === "valid" && isMetricsQuery(query)) {
      // Each query's spanset part prints, reads back and runs.
      for (const mq of metricsQueries(parseMetricsExpression(query).expr)) {
        expect(stringify(parseTraceQL(stringify(mq.query)))).toBe(stringify(mq.query));
        expect(() => compileQuery(mq.query).match(trace, summary)).not.toThrow();
      }
    } else if (outcome === "valid") {
      const ast = parseTraceQL(query);
      // Printing and reading back gives the same text (the tree's shape is kept).
      expect(stringify(parseTraceQL(stringify(ast)))).toBe(stringify(ast));
      const m = compileQuery(ast);
      expect(() => m.match(trace, summary)).not.toThrow();
      expect(() => m.mayMatch(summary)).not.toThrow();
    }
  });

  it("names a position in every refusal", () => {
    for (const c of conformance.filter((x) => x.outcome !== "valid")) {
      expect(() => (isMetricsQuery(c.query) ? parseMetricsExpression(c.query) : parseTraceQL(c.query)), c.query).toThrow(/ at \d+:\d+/);
    }
  });
});
