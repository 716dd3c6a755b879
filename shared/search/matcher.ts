/**
 * @module
 * The contract between search (which walks blocks) and a query language (which decides what
 * matches): a `TraceMatcher` first gets the trace's summary row, which costs no span decoding, and
 * only when that says "maybe" the decoded trace. Tempo's split between the engine and the storage
 * fetcher, reduced to what a block offers.
 */
import type { IndexCondition } from "../block/attribute-index.ts";
import type { TraceFacts } from "../block/summarize.ts";
import type { KeyValue, ResourceSpans } from "../model/span.ts";

/** A matched span as Tempo's search answers it (spanSets[].spans[]). */
export interface SpanMatch {
  spanID: string;
  name: string;
  startTimeUnixNano: string;
  durationNanos: string;
  attributes: KeyValue[];
}

export interface SpansetMatch {
  spans: SpanMatch[];
  /** How many spans matched in all (spans may hold fewer: `spss`). */
  matched: number;
  /** Values of `by()`/aggregates, as Tempo returns them. */
  attributes?: KeyValue[];
}

export interface TraceMatcher {
  /** A test on the summary row alone; false means the trace cannot match and is not decoded. */
  mayMatch(summary: TraceFacts): boolean;
  /** True when `mayMatch` already decides (no span-level condition): the trace is not decoded. */
  readonly summaryOnly: boolean;
  /**
   * What a block's or a segment's attribute index must allow for it to hold a match (necessary,
   * never sufficient); absent or `all` when the query names nothing the index keeps.
   */
  readonly indexCondition?: IndexCondition;
  /** The full test on the decoded trace: the matching spansets, or undefined when none. */
  match(trace: ResourceSpans[], summary: TraceFacts): SpansetMatch[] | undefined;
}
