/**
 * Searches fanned out into jobs (workers/dashboard/scan-jobs.ts: the dashboard's service binding
 * to its own ScanJobs entrypoint) answer exactly what one invocation reading one block after
 * another answers, with and without attribute indexes, for limits that stop early and for
 * needles that match nothing.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { BatchingDb } from "../../shared/db/client.ts";
import { d1 } from "../../shared/db/d1.ts";
import type { ResourceSpans, Span } from "../../shared/model/span.ts";
import { matcherOf, type MatcherSpec } from "../../shared/search/matcher-spec.ts";
import { metricsQueryRange } from "../../shared/search/metrics-blocks.ts";
import { searchTraces, type SearchFanOut } from "../../shared/search/search-blocks.ts";
import { parseMetricsQuery } from "../../shared/traceql/metrics.ts";
import { r2Store } from "../../shared/storage/object-store.ts";
import type { ScanJobsBinding } from "../../workers/dashboard/scan-jobs.ts";
import { testSpan } from "../support/spans.ts";
import { storeAssembled, tenantWithKey } from "../support/store-assembled.ts";

const BLOCKS = 9;
const TRACES_PER_BLOCK = 4;
const t0 = Date.now() - 60 * 60_000;
const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

function trace(block: number, i: number): ResourceSpans[] {
  const n = block * TRACES_PER_BLOCK + i;
  const traceId = hex(n + 1, 32);
  const start = t0 + block * 5 * 60_000 + i * 1000;
  const span = (id: number, parent: number | undefined, name: string, kind: number, attributes: Record<string, string | number>, error: boolean, durationMs: number): Span =>
    testSpan({ traceId, spanId: hex(n * 16 + id, 16), parentSpanId: parent === undefined ? "" : hex(n * 16 + parent, 16), name, kind, startMs: start + id, durationMs, attributes, error });
  const resource = (service: string) => ({ attributes: [{ key: "service.name", value: { stringValue: service } }], droppedAttributesCount: 0 });
  const scope = { name: "t", version: "", attributes: [], droppedAttributesCount: 0 };
  // One trace in the whole set carries the rare route; every third has a redis call that fails.
  const route = n === 17 ? "/rare" : `/r${n % 3}`;
  return [
    { resource: resource("web"), schemaUrl: "", scopeSpans: [{ scope, schemaUrl: "", spans: [span(1, undefined, `GET ${route}`, 2, { "http.route": route, "http.status_code": n % 5 === 0 ? 500 : 200 }, false, 40 + (n % 7) * 10)] }] },
    { resource: resource("cart"), schemaUrl: "", scopeSpans: [{ scope, schemaUrl: "", spans: [span(2, 1, "GET cart", 3, { "db.system": n % 3 === 0 ? "redis" : "postgresql" }, n % 3 === 0, 5 + (n % 4))] }] },
  ];
}

let tenantId: string;
let jobCalls = 0;

function fanOut(blocksPerJob: number): SearchFanOut {
  const jobs = env.SCAN_JOBS as ScanJobsBinding;
  return {
    blocksPerJob,
    maxJobs: 31,
    jobsAtOnce: 3,
    run: (job) => {
      jobCalls++;
      return jobs.search({ tenantId, spec: currentSpec, startMs: window.startMs, endMs: window.endMs, limit: job.limit, cutoffNs: job.cutoffNs, order: job.order, blocks: job.blocks });
    },
  };
}

let currentSpec: MatcherSpec;
const window = { startMs: t0 - 60_000, endMs: Date.now() + 60_000 };

beforeAll(async () => {
  ({ tenantId } = await tenantWithKey(["read"]));
  for (let b = 0; b < BLOCKS; b++) {
    const spans = Array.from({ length: TRACES_PER_BLOCK }, (_, i) => trace(b, i)).flat();
    await storeAssembled(tenantId, spans, t0 + b * 5 * 60_000 + 120_000);
  }
});

const SPECS: MatcherSpec[] = [
  { kind: "traceql", query: "{ }", spss: 3 },
  { kind: "traceql", query: '{ span.http.route = "/rare" }', spss: 3 },
  { kind: "traceql", query: '{ span.http.route = "/nonexistent" }', spss: 3 },
  { kind: "traceql", query: '{ .db.system = "redis" } >> { status = error }', spss: 3 },
  { kind: "traceql", query: '{ span.db.system = "redis" } && { span.http.status_code = 500 }', spss: 3 },
  { kind: "traceql", query: "{ span.http.status_code >= 500 || duration > 95ms }", spss: 3 },
  { kind: "tags", search: { tags: "http.route=/r1" }, spss: 3 },
  { kind: "jaeger", query: { service: "cart", tags: [["db.system", "redis"]] } },
  { kind: "zipkin", search: { annotationQuery: [["http.route", "/nonexistent"]], startMs: 0, endMs: 0, limit: 10 }, service: "web" },
];

describe("search fanned out into jobs", () => {
  it("has the service binding to the ScanJobs entrypoint", () => {
    expect(typeof (env.SCAN_JOBS as ScanJobsBinding | undefined)?.search).toBe("function");
  });

  for (const spec of SPECS) {
    for (const limit of [1, 3, 50]) {
      it(`answers ${JSON.stringify(spec).slice(0, 90)} limit ${limit} as one invocation reading block after block`, async () => {
        currentSpec = spec;
        const db = d1(env.DB) as BatchingDb;
        const store = r2Store(env.SPANS);
        const matcher = matcherOf(spec);
        const base = { ...window, limit };
        const sequential = await searchTraces(db, store, tenantId, matcher, { ...base, concurrency: 1, useIndex: false });
        const parallel = await searchTraces(db, store, tenantId, matcher, base);
        const before = jobCalls;
        const jobs = await searchTraces(db, store, tenantId, matcher, { ...base, fanOut: fanOut(2) });
        expect(parallel.traces).toEqual(sequential.traces);
        expect(jobs.traces).toEqual(sequential.traces);
        // Pruned by index, a needle may leave too few blocks to fan out; otherwise jobs ran.
        if (jobs.metrics.totalJobs > 2) expect(jobCalls).toBeGreaterThan(before);
        expect(sequential.metrics.totalJobs).toBe(BLOCKS);
      });
    }
  }

  // A top-k over the whole window: every match ranked (all of them, newest first, then sorted), cut
  // at the limit, whether read block after block, in parallel, pruned by indexes or in jobs.
  for (const order of ["duration", "errors"] as const) {
    for (const spec of [SPECS[0]!, SPECS[3]!, SPECS[5]!, SPECS[6]!, SPECS[7]!]) {
      it(`ranks ${JSON.stringify(spec).slice(0, 70)} by ${order} over the whole window`, async () => {
        currentSpec = spec;
        const db = d1(env.DB) as BatchingDb;
        const store = r2Store(env.SPANS);
        const matcher = matcherOf(spec);
        const all = (await searchTraces(db, store, tenantId, matcher, { ...window, limit: 1000 })).traces;
        const key = (t: (typeof all)[number]) => (order === "duration" ? t.durationMs : Object.values(t.serviceStats).reduce((n, s) => n + (s.errorCount ?? 0), 0));
        // Ties: newest first, then trace id (the newest-first list is in that order already).
        const ranked = [...all].sort((x, y) => key(y) - key(x));
        for (const limit of [1, 5]) {
          const base = { ...window, limit, order };
          const sequential = await searchTraces(db, store, tenantId, matcher, { ...base, concurrency: 1, useIndex: false });
          expect(sequential.traces.map((t) => t.traceID)).toEqual(ranked.slice(0, limit).map((t) => t.traceID));
          expect((await searchTraces(db, store, tenantId, matcher, base)).traces).toEqual(sequential.traces);
          expect((await searchTraces(db, store, tenantId, matcher, { ...base, fanOut: fanOut(2) })).traces).toEqual(sequential.traces);
        }
      });
    }
  }

  it("skips, by the catalog's attribute indexes, every block of a needle that matches nothing", async () => {
    const db = d1(env.DB) as BatchingDb;
    const r = await searchTraces(db, r2Store(env.SPANS), tenantId, matcherOf({ kind: "traceql", query: '{ span.http.route = "/nonexistent" }', spss: 3 }), { ...window, limit: 20 });
    expect(r.traces).toEqual([]);
    expect(r.metrics).toMatchObject({ skippedBlocks: BLOCKS, inspectedBlocks: 0, reads: 0 });
    const rare = await searchTraces(db, r2Store(env.SPANS), tenantId, matcherOf({ kind: "traceql", query: '{ span.http.route = "/rare" }', spss: 3 }), { ...window, limit: 20 });
    expect(rare.traces.map((t) => t.traceID)).toEqual([hex(18, 32)]);
    expect(rare.metrics.inspectedBlocks).toBeLessThanOrEqual(2);
  });
});

describe("TraceQL metrics fanned out into jobs", () => {
  const QUERIES = [
    "{ } | rate() by (resource.service.name)",
    '{ span.db.system = "redis" } | count_over_time() by (name)',
    "{ status = error } | quantile_over_time(duration, 0.5, 0.9)",
    '{ span.http.route = "/nonexistent" } | rate()',
  ];
  for (const q of QUERIES) {
    it(`answers ${q} as one invocation does`, async () => {
      const db = d1(env.DB) as BatchingDb;
      const store = r2Store(env.SPANS);
      const mq = parseMetricsQuery(q);
      const stepMs = 60_000;
      const bucketing = { startMs: Math.floor(window.startMs / stepMs) * stepMs, endMs: Math.ceil(window.endMs / stepMs) * stepMs, stepMs };
      const jobs = env.SCAN_JOBS as ScanJobsBinding;
      let calls = 0;
      const alone = await metricsQueryRange(db, store, tenantId, mq, bucketing, { concurrency: 1, useIndex: false });
      const fanned = await metricsQueryRange(db, store, tenantId, mq, bucketing, {
        fanOut: {
          blocksPerJob: 2,
          maxJobs: 31,
          jobsAtOnce: 3,
          run: (blocks) => {
            calls++;
            return jobs.metrics({ tenantId, query: mq, bucketing, blocks });
          },
        },
      });
      expect(fanned.series).toEqual(alone.series);
      expect(fanned.metrics.inspectedSpans).toBe(alone.metrics.inspectedSpans);
      if (fanned.metrics.totalJobs > 2) expect(calls).toBeGreaterThan(1);
    });
  }
});
