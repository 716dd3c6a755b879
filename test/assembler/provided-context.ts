// What fixtures-setup.ts (Node) provides to the assembler tests (workerd) through inject().
import type { TraceBatch } from "../../shared/model/span.ts";

export interface TruthEdge {
  source: string;
  target: string;
  requests: number;
  failed: number;
}

export interface TruthOperation {
  service: string;
  operation: string;
  kind: number;
  count: number;
  errors: number;
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Requests as SDKs export them: a trace's spans spread over several requests. */
    workloadRequests: TraceBatch[];
    /** Each trace's span ids (spanId/kind), the truth to compare reads with. */
    workloadTraces: { traceId: string; spans: string[] }[];
    /** A service-graph workload split into arrival batches, and its true edge totals. */
    graphBatches: TraceBatch[];
    graphTruth: TruthEdge[];
    graphWindow: { start: number; end: number };
    /** The graph workload's RED truth, and each of its traces' span ids (spanId/kind). */
    graphRedTruth: TruthOperation[];
    graphTraces: { traceId: string; spans: string[] }[];
  }
}
