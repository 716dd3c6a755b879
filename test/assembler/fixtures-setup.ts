/**
 * Runs in Node before the assembler suite: builds the generated workloads (their generators use
 * Node APIs) and hands them to the workerd tests as JSON.
 */
import type { TestProject } from "vitest/node";
import { multiServiceWorkload } from "../support/multi-service-workload.ts";
import { generateWorkload, splitIntoBatches } from "../support/service-graph-workload.ts";
import type { TruthEdge, TruthOperation } from "./provided-context.ts";
import { DEFAULT_RED_KINDS } from "../../shared/metrics/red.ts";
import "./provided-context.ts";

export function setup(project: TestProject) {
  const w = multiServiceWorkload({ traces: 60, seed: 11, minSpans: 10, maxSpans: 80, spansPerRequest: 128, startMs: Date.now() - 600_000 });
  project.provide("workloadRequests", w.requests);
  project.provide(
    "workloadTraces",
    w.traces.map((t) => ({ traceId: t.traceId, spans: t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => `${s.spanId}/${s.kind}`))).sort() })),
  );

  const startSec = Math.floor(Date.now() / 1000) - 3600;
  const g = generateWorkload(5, 400, startSec, 300);
  project.provide("graphBatches", splitIntoBatches(g, 6, 12, 3));
  const truth = new Map<string, TruthEdge>();
  for (const e of g.edges) {
    const key = `${e.source}>${e.target}`;
    const t = truth.get(key) ?? { source: e.source, target: e.target, requests: 0, failed: 0 };
    t.requests++;
    if (e.failed) t.failed++;
    truth.set(key, t);
  }
  project.provide("graphTruth", [...truth.values()]);
  // RED truth: spans of the kinds RED counts (shared/metrics/red.ts), per service, name and kind.
  const red = new Map<string, TruthOperation>();
  for (const s of g.spans) {
    if (!DEFAULT_RED_KINDS.includes(s.kind)) continue;
    const key = `${s.service}|${s.name}|${s.kind}`;
    const t = red.get(key) ?? { service: s.service, operation: s.name, kind: s.kind, count: 0, errors: 0 };
    t.count++;
    if (s.error) t.errors++;
    red.set(key, t);
  }
  project.provide("graphRedTruth", [...red.values()]);
  project.provide(
    "graphTraces",
    g.traces.map((spans) => ({ traceId: spans[0]!.span.traceId, spans: spans.map((s) => `${s.span.spanId}/${s.span.kind}`).sort() })),
  );
  project.provide("graphWindow", { start: startSec - 120, end: startSec + 600 });
}
