import { describe, expect, it } from "vitest";
import { fillLogsTemplate, logsTemplateProblem, logsWindow } from "./logs-link.ts";

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

  it("allows placeholders only after the written-out scheme and host: in the path, query or fragment", () => {
    for (const ok of ["https://logs.example.com/{service}/{traceId}", "https://logs.example.com?trace={traceId}", "http://logs.example.com:8080/#/s/{spanId}", "https://user@logs.example.com/x?{traceId}", "https://logs.example.com"]) {
      expect(logsTemplateProblem(ok), ok).toBeUndefined();
    }
    for (const bad of [
      "https://{service}/logs",
      "https://{service}.example.com/logs",
      "https://logs.example.com{service}/x",
      "https://logs.example.com:{startMs}/x",
      "https://{traceId}@logs.example.com/x",
      "https://logs.example.com@{service}/x",
      "https://logs.example.com\\{service}/x",
      "https:{service}/x",
      "https:/{service}/x",
      "{service}",
    ]) {
      expect(logsTemplateProblem(bad), bad).toMatch(/only be used in the logs link's path or query|http:\/\/ or https:\/\//);
    }
    expect(logsTemplateProblem("https://{service}/logs")).toMatch(/only be used in the logs link's path or query/);
  });

  it("renders no link from a stored template with a placeholder in the host, whatever the span says", () => {
    for (const stored of ["https://{service}/logs", "https://{service}.example.com/", "https://logs.example.com{service}/", "https://x.example@{service}/"]) {
      for (const service of ["evil.example", "evil.example/", "checkout", ""]) expect(fillLogsTemplate(stored, { ...values, service }), `${stored} ${service}`).toBeUndefined();
    }
    // A value in the path cannot leave the origin either.
    expect(new URL(fillLogsTemplate("https://logs.example.com/{service}", { ...values, service: "//evil.example/x" })!).origin).toBe("https://logs.example.com");
    expect(new URL(fillLogsTemplate("https://logs.example.com/a?{service}", { ...values, service: "@evil.example" })!).origin).toBe("https://logs.example.com");
  });
});

describe("logs window", () => {
  it("pads a span by a minute each side, or by its duration when that is longer", () => {
    // 100 ms span at 1,700,000,000,000 ms.
    expect(logsWindow("1700000000000000000", "1700000000100000000")).toEqual({ startMs: "1699999940000", endMs: "1700000060100" });
    // A 5-minute span: padded by 5 minutes.
    expect(logsWindow("1700000000000000000", "1700000300000000000")).toEqual({ startMs: "1699999700000", endMs: "1700000600000" });
  });

  it("never goes before the epoch, and an end before the start counts as a zero-length span", () => {
    expect(logsWindow("1000000", "2000000")).toEqual({ startMs: "0", endMs: "60002" });
    expect(logsWindow("1700000000000000000", "1600000000000000000")).toEqual({ startMs: "1699999940000", endMs: "1700000060000" });
  });
});
