import { describe, expect, it } from "vitest";
import { fillLogsTemplate, logsTemplateProblem } from "./logs-link.ts";

const values = { traceId: "abc", spanId: "def", service: "check out&x=1", startMs: "1", endMs: "2" };

describe("logs link template", () => {
  it("fills placeholders with URL-encoded values", () => {
    expect(fillLogsTemplate("https://logs.example.com/search?q=trace_id:{traceId}&svc={service}&from={startMs}&to={endMs}", values)).toBe(
      "https://logs.example.com/search?q=trace_id:abc&svc=check%20out%26x%3D1&from=1&to=2",
    );
  });

  it("refuses anything but http(s), unknown placeholders and overlong templates", () => {
    expect(logsTemplateProblem("")).toBeUndefined();
    expect(logsTemplateProblem("https://grafana.example.com/explore?traceId={traceId}")).toBeUndefined();
    expect(logsTemplateProblem("javascript:alert({traceId})")).toMatch(/http/);
    expect(logsTemplateProblem("JaVaScRiPt:alert(1)")).toMatch(/http/);
    expect(logsTemplateProblem("data:text/html,<script>alert(1)</script>")).toMatch(/http/);
    expect(logsTemplateProblem("https://x.example/{trace}")).toMatch(/Unknown placeholder \{trace\}/);
    expect(logsTemplateProblem(`https://x.example/${"a".repeat(1000)}`)).toMatch(/at most/);
    // A value cannot turn a safe template into another scheme: it is encoded.
    expect(fillLogsTemplate("{service}", { ...values, service: "javascript:alert(1)" })).toBeUndefined();
  });
});
