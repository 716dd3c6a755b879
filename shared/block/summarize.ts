/**
 * @module
 * The search-facing facts of one trace, computed in one pass over its spans: what the summary
 * table stores so that a search (service, operation, duration, errors, time) never opens a span
 * segment.
 */
import type { Resource, ResourceSpans } from "../model/span.ts";
import { StatusCode } from "../model/span.ts";

export interface ServiceCount {
  serviceName: string;
  spanCount: number;
  errorCount: number;
}

export interface TraceFacts {
  traceId: string;
  /** Earliest span start and latest span end, decimal unix nanoseconds ("0" when no span has one). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** end - start, or "0" when the end is not after the start. */
  durationNanos: string;
  /** Service and name of the root span ("" when the trace has no spans). */
  rootServiceName: string;
  rootSpanName: string;
  spanCount: number;
  /** Spans with status ERROR. */
  errorCount: number;
  /** Per service.name, sorted by name. */
  services: ServiceCount[];
}

const U64_MAX = (1n << 64n) - 1n;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** A u64 in the model's canonical decimal form, or undefined. */
export function parseU64(s: string): bigint | undefined {
  if (s.length > 20 || !DECIMAL.test(s)) return undefined;
  const v = BigInt(s);
  return v <= U64_MAX ? v : undefined;
}

/**
 * A span's duration as every search reads it: end - start when both are u64 decimals in canonical
 * form (`parseU64`) and the end is after the start, else 0. The summary row reads times the same
 * way, so no span lasts longer than the trace its row describes (the prunes on trace duration rely
 * on that).
 */
export function spanDurationNanos(span: { startTimeUnixNano: string; endTimeUnixNano: string }): bigint {
  const start = parseU64(span.startTimeUnixNano);
  const end = parseU64(span.endTimeUnixNano);
  return start !== undefined && end !== undefined && end > start ? end - start : 0n;
}

/** The resource's `service.name` string attribute, "" when absent. */
export function serviceNameOf(resource: Resource): string {
  for (const kv of resource.attributes) {
    if (kv.key === "service.name") return "stringValue" in kv.value ? kv.value.stringValue : "";
  }
  return "";
}

interface Candidate {
  start: bigint;
  service: string;
  name: string;
}

function earlier(a: Candidate | undefined, b: Candidate): boolean {
  return a === undefined || b.start < a.start;
}

/**
 * Root: the earliest-starting span without a parent; failing that, the earliest-starting span
 * whose parent is not in the trace (its root has not arrived, or never will); failing that (a
 * parent cycle), the earliest-starting span. Ties go to the first span met.
 */
export function summarizeTrace(traceId: string, resourceSpans: ResourceSpans[]): TraceFacts {
  let min: bigint | undefined;
  let max: bigint | undefined;
  let spanCount = 0;
  let errorCount = 0;
  const services = new Map<string, ServiceCount>();
  const spanIds = new Set<string>();
  let root: Candidate | undefined;
  let earliest: Candidate | undefined;
  const withParent: (Candidate & { parent: string })[] = [];
  for (const rs of resourceSpans) {
    const service = serviceNameOf(rs.resource);
    let counts = services.get(service);
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        if (!counts) services.set(service, (counts = { serviceName: service, spanCount: 0, errorCount: 0 }));
        spanCount++;
        counts.spanCount++;
        if (span.status.code === StatusCode.ERROR) {
          errorCount++;
          counts.errorCount++;
        }
        const start = parseU64(span.startTimeUnixNano);
        const end = parseU64(span.endTimeUnixNano);
        if (start !== undefined && (min === undefined || start < min)) min = start;
        if (end !== undefined && (max === undefined || end > max)) max = end;
        spanIds.add(span.spanId);
        // Spans without a readable start sort last.
        const c = { start: start ?? U64_MAX + 1n, service, name: span.name };
        if (earlier(earliest, c)) earliest = c;
        if (span.parentSpanId === "") {
          if (earlier(root, c)) root = c;
        } else if (root === undefined) {
          withParent.push({ ...c, parent: span.parentSpanId });
        }
      }
    }
  }
  if (root === undefined) {
    for (const c of withParent) if (!spanIds.has(c.parent) && earlier(root, c)) root = c;
  }
  root ??= earliest;
  const start = min ?? 0n;
  const end = max ?? 0n;
  return {
    traceId,
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: end.toString(),
    durationNanos: (end > start ? end - start : 0n).toString(),
    rootServiceName: root?.service ?? "",
    rootSpanName: root?.name ?? "",
    spanCount,
    errorCount,
    services: [...services.values()].sort((a, b) => (a.serviceName < b.serviceName ? -1 : a.serviceName > b.serviceName ? 1 : 0)),
  };
}
