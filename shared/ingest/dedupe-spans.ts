/**
 * @module
 * Drops spans a request repeats, with the identity the assembler uses across requests
 * (shared/block/combine.ts): (trace id, span id, kind), the first one kept. Across requests a
 * repeat is dropped when the trace's fragments are merged at assembly or compaction, but one
 * request's trace is a single fragment and was stored as sent, so a span sent twice in one
 * request came back twice. Doing the same here makes a trace read back the same however its
 * spans were batched.
 *
 * - An exact repeat (same identity, same span, resource and scope) is stored once and not counted
 *   as rejected: nothing the client sent is lost. partial_success says how many were folded.
 * - A repeat with different content is dropped as the assembler would drop it from a later
 *   request, but here the client can be told: it is counted as rejected, with the reason.
 */
import { keyValuesKey, resourceEntryKey, scopeEntryKey } from "../block/value-codec.ts";
import type { ResourceSpans, ScopeSpans, Span, TraceBatch } from "../model/span.ts";

export interface DedupeResult {
  /** The batch without repeats; containers left without spans are dropped. */
  batch: TraceBatch;
  /** Exact repeats, folded into the first. */
  duplicates: number;
  /** Repeats with different content, dropped and to be counted as rejected. */
  conflicts: number;
  /** A message for the conflicts (rejections), naming the first. */
  errors: string[];
  /** A message for the exact repeats (nothing lost). */
  notices: string[];
}

/** Everything of a span, the span's own fields and its lists, as one comparable string. */
export function spanContentKey(s: Span): string {
  let k = JSON.stringify([s.traceId, s.spanId, s.traceState, s.parentSpanId, s.flags, s.name, s.kind, s.startTimeUnixNano, s.endTimeUnixNano]);
  k += `|${keyValuesKey(s.attributes)}|${s.droppedAttributesCount}|${s.droppedEventsCount}|${s.droppedLinksCount}|${s.status.code}|${JSON.stringify(s.status.message)}`;
  for (const e of s.events) k += `|e${JSON.stringify([e.timeUnixNano, e.name])}${keyValuesKey(e.attributes)}${e.droppedAttributesCount}`;
  for (const l of s.links) k += `|l${JSON.stringify([l.traceId, l.spanId, l.traceState, l.flags])}${keyValuesKey(l.attributes)}${l.droppedAttributesCount}`;
  return k;
}

interface First {
  span: Span;
  rs: ResourceSpans;
  ss: ScopeSpans;
  key?: string;
}

function contentKey(x: First): string {
  return (x.key ??= `${resourceEntryKey(x.rs)}\n${scopeEntryKey(x.ss)}\n${spanContentKey(x.span)}`);
}

export function dropRepeatedSpans(batch: TraceBatch): DedupeResult {
  const first = new Map<string, First>();
  let duplicates = 0;
  let conflicts = 0;
  let firstConflict: Span | undefined;
  const resourceSpans: ResourceSpans[] = [];
  for (const rs of batch.resourceSpans) {
    const scopeSpans: ScopeSpans[] = [];
    for (const ss of rs.scopeSpans) {
      let spans: Span[] | undefined;
      for (let i = 0; i < ss.spans.length; i++) {
        const span = ss.spans[i]!;
        const id = `${span.traceId}/${span.spanId}/${span.kind}`;
        const seen = first.get(id);
        if (seen === undefined) {
          first.set(id, { span, rs, ss });
          spans?.push(span);
          continue;
        }
        // Content is compared only on a collision, which honest clients never cause.
        if (contentKey(seen) === contentKey({ span, rs, ss })) duplicates++;
        else {
          conflicts++;
          firstConflict ??= span;
        }
        spans ??= ss.spans.slice(0, i);
      }
      const kept = spans ?? ss.spans;
      if (kept.length > 0) scopeSpans.push(kept === ss.spans ? ss : { ...ss, spans: kept });
    }
    if (scopeSpans.length > 0) resourceSpans.push(scopeSpans.length === rs.scopeSpans.length && scopeSpans.every((s, j) => s === rs.scopeSpans[j]) ? rs : { ...rs, scopeSpans });
  }
  const errors =
    firstConflict === undefined
      ? []
      : [
          `${conflicts === 1 ? "1 span repeats" : `${conflicts} spans repeat`} the trace id, span id and kind of an earlier span of the request with different content and ${conflicts === 1 ? "was" : "were"} dropped, as a repeat from a later request would be (first: span ${firstConflict.spanId} of trace ${firstConflict.traceId})`,
        ];
  const notices = duplicates === 0 ? [] : [`${duplicates === 1 ? "1 span was an exact repeat" : `${duplicates} spans were exact repeats`} of an earlier span of the request and stored once`];
  return { batch: duplicates + conflicts === 0 ? batch : { resourceSpans }, duplicates, conflicts, errors, notices };
}
