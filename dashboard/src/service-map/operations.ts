/** The per-operation RED figures of one service (`/api/services/{service}/operations/metrics`). */
import type { OperationMetrics } from "../../../shared/metrics/red.ts";
import { getJson } from "../api.ts";
import type { Window } from "./range.ts";

/** The route's answer type, from the module that computes it. */
export type { OperationMetrics };

export async function fetchOperations(service: string, w: Window, signal?: AbortSignal): Promise<OperationMetrics[]> {
  const body = await getJson<{ operations: OperationMetrics[] }>(`/api/services/${encodeURIComponent(service)}/operations/metrics`, { start: w.start, end: w.end }, { signal });
  return body.operations;
}
