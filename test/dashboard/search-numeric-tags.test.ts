/**
 * A tag filter whose value reads as a number: the search page's query (dashboard/src/search/query.ts)
 * finds the spans where the tag is that number and those where it is the string (a Zipkin tag, or
 * an SDK that writes strings), each in its own block, so neither the blocks' attribute indexes nor
 * the segment scan may drop one; the tag-values answer the suggestions come from lists both types.
 */
import { beforeAll, expect, it } from "vitest";
import { buildTraceQL, defaultQuery, suggestions } from "../../dashboard/src/search/query.ts";
import { dashboardGet } from "../support/dashboard-api.ts";
import { testTrace } from "../support/spans.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

const id = (n: number) => `${"d".repeat(31)}${n}`;
const t0 = Date.now() - 20 * 60_000;
let a: { tenantId: string; secret: string };

beforeAll(async () => {
  a = await tenantWithKey(["read"]);
  await storeAssembled(a.tenantId, testTrace(id(1), [{ service: "api", spanId: "1000000000000001", name: "GET /a", startMs: t0, durationMs: 5, attributes: { "http.status_code": 500 } }]));
  await storeAssembled(a.tenantId, testTrace(id(2), [{ service: "legacy", spanId: "2000000000000001", name: "get /b", startMs: t0 + 60_000, durationMs: 5, attributes: { "http.status_code": "500" } }]));
  await storeAssembled(a.tenantId, testTrace(id(3), [{ service: "api", spanId: "3000000000000001", name: "GET /c", startMs: t0 + 120_000, durationMs: 5, attributes: { "http.status_code": 200 } }]));
});

it("the page's query for http.status_code = 500 finds the int and the string", async () => {
  const values = (await dashboardGet(`/api/v2/search/tag/.http.status_code/values`, a.secret)).body as { tagValues: { type: string; value: string }[] };
  const types = new Set(values.tagValues.filter((v) => v.value === "500").map((v) => v.type));
  expect([...types].sort()).toEqual(["int", "string"]);
  // Suggested once, with both types.
  expect(suggestions(values.tagValues).filter((s) => s.value === "500")).toEqual([{ value: "500", label: expect.stringContaining("int") }]);

  const q = buildTraceQL({ ...defaultQuery(), tags: [{ key: "http.status_code", value: "500" }] }, new Map([["http.status_code", types]]));
  const r = (await dashboardGet(`/api/search?q=${encodeURIComponent(q)}`, a.secret)).body as { traces: { traceID: string }[]; metrics: { skippedBlocks: number } };
  expect(r.traces.map((t) => t.traceID)).toEqual([id(2), id(1)]);
  // The 200 trace's block was ruled out by its index, the other two were not.
  expect(r.metrics.skippedBlocks).toBe(1);
});
