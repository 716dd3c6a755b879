/**
 * @module
 * Regroups a decoded request by trace id, which is how the assembler consumes it: spans of one
 * trace stay together with their own resource and scope, so one trace can be lifted out of an
 * ingest object without reading the others.
 */
import type { ResourceSpans, ScopeSpans, Span, TraceBatch } from "../model/span.ts";

export interface TraceGroup {
  traceId: string;
  spanCount: number;
  /** Earliest start and latest end over the group's spans, as decimal nanosecond strings. */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  resourceSpans: ResourceSpans[];
}

export function groupByTrace(batch: TraceBatch): TraceGroup[] {
  const byTrace = new Map<string, { group: TraceGroup; start: bigint; end: bigint; lastRs?: ResourceSpans; lastRsSrc?: ResourceSpans; lastSs?: ScopeSpans; lastSsSrc?: ScopeSpans }>();
  for (const rs of batch.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        let entry = byTrace.get(span.traceId);
        if (!entry) {
          entry = {
            group: { traceId: span.traceId, spanCount: 0, startTimeUnixNano: "", endTimeUnixNano: "", resourceSpans: [] },
            start: BigInt(span.startTimeUnixNano),
            end: BigInt(span.endTimeUnixNano),
          };
          byTrace.set(span.traceId, entry);
        }
        appendSpan(entry, rs, ss, span);
      }
    }
  }
  const groups: TraceGroup[] = [];
  for (const e of byTrace.values()) {
    e.group.startTimeUnixNano = e.start.toString();
    e.group.endTimeUnixNano = e.end.toString();
    groups.push(e.group);
  }
  return groups;
}

function appendSpan(
  e: { group: TraceGroup; start: bigint; end: bigint; lastRs?: ResourceSpans; lastRsSrc?: ResourceSpans; lastSs?: ScopeSpans; lastSsSrc?: ScopeSpans },
  rs: ResourceSpans,
  ss: ScopeSpans,
  span: Span,
): void {
  // Spans arrive resource by resource and scope by scope, so remembering the last container per
  // trace is enough to rebuild the tree without a lookup per span.
  if (e.lastRsSrc !== rs) {
    e.lastRs = { resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans: [] };
    e.lastRsSrc = rs;
    e.lastSsSrc = undefined;
    e.group.resourceSpans.push(e.lastRs);
  }
  if (e.lastSsSrc !== ss) {
    e.lastSs = { scope: ss.scope, schemaUrl: ss.schemaUrl, spans: [] };
    e.lastSsSrc = ss;
    e.lastRs!.scopeSpans.push(e.lastSs);
  }
  e.lastSs!.spans.push(span);
  e.group.spanCount++;
  const start = BigInt(span.startTimeUnixNano);
  const end = BigInt(span.endTimeUnixNano);
  if (start < e.start) e.start = start;
  if (end > e.end) e.end = end;
}
