/**
 * @module
 * The spans a search result matched: Tempo's span sets (which /api/search returns per trace),
 * each a link that opens the trace at that span (`?span=`, which the trace view selects).
 */
import "./matched-spans.css";
import { formatDuration, plural } from "./format.ts";

/** Tempo's spanSets[] of a search hit, as much of it as is shown. */
export interface SpanSetHit {
  spans: { spanID: string; name: string; startTimeUnixNano: string; durationNanos?: string; attributes?: { key: string; value: { stringValue?: string } }[] }[];
  matched: number;
}

export interface MatchedSpan {
  spanID: string;
  name: string;
  service?: string;
  durationMs: number;
}

export interface Matched {
  spans: MatchedSpan[];
  /** Spans that matched in all, over every span set (more than `spans` when `spss` cut them). */
  total: number;
}

/** The spans of a hit's span sets, each once, in the order Tempo gave them; undefined when none. */
export function matchedOf(spanSets: readonly SpanSetHit[] | undefined): Matched | undefined {
  if (!spanSets?.length) return undefined;
  const seen = new Set<string>();
  const spans: MatchedSpan[] = [];
  for (const set of spanSets) {
    for (const s of set.spans) {
      if (seen.has(s.spanID)) continue;
      seen.add(s.spanID);
      const service = s.attributes?.find((a) => a.key === "service.name")?.value.stringValue;
      spans.push({ spanID: s.spanID, name: s.name, durationMs: Number(s.durationNanos ?? 0) / 1e6, ...(service ? { service } : {}) });
    }
  }
  const total = Math.max(spans.length, spanSets.reduce((n, set) => n + set.matched, 0));
  return spans.length ? { spans, total } : undefined;
}

/** Links to the matched spans of one result, under its root span's name. */
export function MatchedSpans({ matched, traceHref, traceID }: { matched: Matched; traceHref: string; traceID: string }) {
  const more = matched.total - matched.spans.length;
  return (
    <div class="matched-spans" aria-label={`Spans matched in trace ${traceID.slice(0, 8)}`}>
      <span class="muted">{plural(matched.total, "span")} matched:</span>{" "}
      {matched.spans.map((s) => (
        <a key={s.spanID} class="matched-span" href={`${traceHref}${traceHref.includes("?") ? "&" : "?"}span=${encodeURIComponent(s.spanID)}`} data-span-id={s.spanID} title={`Open the trace at span ${s.spanID}`}>
          {s.service ? `${s.service}: ` : ""}
          {s.name || "(no name)"} <span class="muted">{formatDuration(s.durationMs)}</span>
        </a>
      ))}
      {more > 0 && <span class="muted"> and {more} more</span>}
    </div>
  );
}
