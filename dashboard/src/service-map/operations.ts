/** The per-operation RED figures of one service (`/api/services/{service}/operations/metrics`). */
import { getJson } from "../api.ts";
import type { Window } from "./range.ts";

export interface OperationMetrics {
  service: string;
  operation: string;
  /** OTLP span kind number. */
  kind: number;
  requests: number;
  errors: number;
  /** Requests per second over the window. */
  rate: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

export async function fetchOperations(service: string, w: Window, signal?: AbortSignal): Promise<OperationMetrics[]> {
  const body = await getJson<{ operations: OperationMetrics[] }>(`/api/services/${encodeURIComponent(service)}/operations/metrics`, { start: w.start, end: w.end }, { signal });
  return body.operations;
}
