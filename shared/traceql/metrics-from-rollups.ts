/**
 * @module
 * TraceQL metrics answered from the per-minute operation rows (`operation_minutes` plus the
 * tenant object's open minutes) instead of scanning blocks, for the queries whose answer those
 * rows hold exactly: the same series, labels and values per step as the block scan
 * (`shared/search/metrics-blocks.ts`) would give. Anything else is `undefined`, and the caller scans.
 *
 * What a row counts (`shared/metrics/red.ts`, fed by the assembler's `tenantDelta`): per minute of
 * span start (unix seconds floored to 60), service (the resource's first `service.name`), span
 * name and kind, the spans and those with status ERROR, for spans of kind SERVER, CLIENT, PRODUCER
 * and CONSUMER only, and only spans whose resource has a `service.name`. So a query is answered
 * here only when
 *
 * - its spanset part is span-local (a selector, `||` of span-local parts, or a pipeline of them
 *   with `| { … }` filters and `select()`; no `&&` between spansets, structural operators or
 *   aggregates, which depend on other spans of the trace);
 * - its conditions read only `name`, `kind`, `status` and `resource.service.name`;
 * - it provably matches no span of another kind (INTERNAL, UNSPECIFIED, or a number outside the
 *   enum): some `&&` operand reading only `kind` is false for all of them (`{ }`,
 *   `{ status = error }` and `{ resource.service.name = "x" }` count INTERNAL spans too, which no
 *   row holds, so they scan);
 * - it does not split OK from UNSET (rows only know ERROR or not);
 * - `by()` names only `resource.service.name`, `name` and `kind`;
 * - the function is `rate()` or `count_over_time()` (rows keep a latency histogram, but its
 *   quantiles are within 4.3%, not the scan's exact ones);
 * - every span in the window has a non-empty string `service.name` (the caller checks the block
 *   catalog's services lists: a block holding another records ""), since the rows leave the others
 *   out and stringify a non-string name the evaluator would not compare equal to a string;
 * - no minute with matching spans straddles a step boundary or an end of the window: a minute
 *   lies in one bucket or wholly outside, so steps that are multiples of 60 s over whole minutes
 *   always work, and others work only where the straddled minutes have no matching spans.
 *
 * The conditions are evaluated by the TraceQL evaluator itself on one stand-in span per row key
 * (service, name, kind, status), so comparison, regex and type rules are exactly the scan's.
 * Labels come from `spanLabels`, values and order are the `MetricsAccumulator`'s.
 */
import type { TraceFacts } from "../block/summarize.ts";
import { DEFAULT_RED_KINDS, type OperationRow } from "../metrics/red.ts";
import type { KeyValue, Resource, ResourceSpans, Span } from "../model/span.ts";
import type { Condition, Field, Query, SpansetExpr } from "./ast.ts";
import { compileQuery } from "./eval.ts";
import { bucketCount, bucketOf, promLabels, spanLabels, type Bucketing, type MetricsQuery, type Series } from "./metrics.ts";

/** What this module reads of a row. */
export type RollupRow = Pick<OperationRow, "minute" | "service" | "operation" | "kind" | "count" | "errors">;

/**
 * Kinds the rows leave out (the assembler counts DEFAULT_RED_KINDS), one of each class the
 * evaluator can tell apart: kind literals are 0..5 and compare by equality only, so every number
 * outside the enum behaves as 6 does.
 */
const OTHER_KINDS = [0, 1, 2, 3, 4, 5, 6].filter((k) => !DEFAULT_RED_KINDS.includes(k));
/** Status codes a row counts as not ERROR: unset, ok, and (as above) any other number. */
const NON_ERROR_STATUSES = [0, 1, 3];
const ERROR = 2;
const MINUTE_MS = 60_000;

/** Why a query is not answered from rows, for tests and logs; undefined when it can be. */
export function rollupUnsupportedReason(mq: MetricsQuery): string | undefined {
  if (mq.fn !== "rate" && mq.fn !== "count_over_time") return `${mq.fn}: the rows keep no exact durations`;
  for (const f of mq.by) if (!isByField(f)) return `by(${fieldText(f)}): not a row key`;
  if (!spanLocal(mq.query)) return "the spanset part depends on other spans of the trace";
  const fields: Field[] = [];
  collectFields(mq.query, fields);
  for (const f of fields) if (!isRowField(f)) return `${fieldText(f)}: not in the rows`;
  if (!excludesOtherKinds(mq.query)) return "may match spans of kinds the rows leave out (INTERNAL, UNSPECIFIED)";
  return undefined;
}

/**
 * The series the block scan would answer for `mq` over `bucketing`, from the rows of the window
 * (rows outside it are ignored), or undefined when the rows cannot give that answer exactly.
 * `everySpanNamed`: every block overlapping the window has only spans with a non-empty string
 * `service.name` (no "" in its catalog services list); without that, undefined.
 */
export function metricsFromRollups(mq: MetricsQuery, bucketing: Bucketing, rows: Iterable<RollupRow>, options: { everySpanNamed: boolean }): Series[] | undefined {
  if (!options.everySpanNamed || rollupUnsupportedReason(mq) !== undefined) return undefined;
  const matcher = compileQuery(mq.query, { spss: 1 });
  const n = bucketCount(bucketing);
  const groups = new Map<string, { labels: KeyValue[]; counts: number[] }>();
  // Per row key: how many of the row's spans match (all, the errors, the rest, none) and the labels.
  const decided = new Map<string, Decision>();

  for (const row of rows) {
    const fromMs = row.minute * 1000;
    const toMs = fromMs + MINUTE_MS - 1;
    if (toMs < bucketing.startMs || fromMs >= bucketing.endMs) continue;
    const key = JSON.stringify([row.service, row.operation, row.kind]);
    let d = decided.get(key);
    if (!d) decided.set(key, (d = decide(matcher, mq.by, row)));
    // OK and UNSET spans match differently, and the row does not tell them apart.
    if (d.others === undefined && row.count > row.errors) return undefined;
    const matching = (d.errors ? row.errors : 0) + (d.others ? row.count - row.errors : 0);
    if (matching === 0) continue;
    const i = bucketOf(bucketing, fromMs);
    // The minute reaches outside the window or across a step: its spans cannot be placed.
    if (i < 0 || bucketOf(bucketing, toMs) !== i) return undefined;
    const gk = JSON.stringify(d.labels);
    let g = groups.get(gk);
    if (!g) groups.set(gk, (g = { labels: d.labels, counts: new Array<number>(n).fill(0) }));
    g.counts[i] = (g.counts[i] ?? 0) + matching;
  }

  // As MetricsAccumulator.series(): groups by promLabels, every bucket, count x per-second factor.
  const perSecond = mq.fn === "rate" ? 1000 / bucketing.stepMs : 1;
  const ts = (i: number) => String(bucketing.startMs + i * bucketing.stepMs);
  return [...groups.values()]
    .sort((x, y) => promLabels(x.labels).localeCompare(promLabels(y.labels)))
    .map((g) => ({ labels: g.labels, samples: g.counts.map((c, i) => ({ timestampMs: ts(i), value: c * perSecond })), promLabels: promLabels(g.labels) }));
}

type Matcher = ReturnType<typeof compileQuery>;

/** Whether a row key's ERROR spans match, whether its other spans do (undefined: OK and UNSET differ), their labels. */
interface Decision {
  errors: boolean;
  others: boolean | undefined;
  labels: KeyValue[];
}

function decide(matcher: Matcher, by: Field[], row: RollupRow): Decision {
  const matches = (status: number) => matcher.match(standInTrace(row.service, standIn(row, status)), STAND_IN_SUMMARY) !== undefined;
  const others = NON_ERROR_STATUSES.map(matches);
  // by() reads neither status nor time, so the error and other spans share their labels.
  return { errors: matches(ERROR), others: others.every((m) => m === others[0]) ? others[0] : undefined, labels: spanLabels(by, standIn(row, 0), serviceResource(row.service)) };
}

function serviceResource(service: string): Resource {
  return { attributes: [{ key: "service.name", value: { stringValue: service } }], droppedAttributesCount: 0 };
}

/** A trace of one span, standing for every span of a row key with one status. */
function standInTrace(service: string, span: Span): ResourceSpans[] {
  return [{ resource: serviceResource(service), scopeSpans: [{ scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 }, spans: [span], schemaUrl: "" }], schemaUrl: "" }];
}

function standIn(row: Pick<RollupRow, "operation" | "kind">, status: number): Span {
  return {
    traceId: "00000000000000000000000000000001", spanId: "0000000000000001", traceState: "", parentSpanId: "", flags: 0,
    name: row.operation, kind: row.kind, startTimeUnixNano: "1000000000", endTimeUnixNano: "1000000000",
    attributes: [], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
    status: { code: status, message: "" },
  };
}

/** Never read: the supported conditions name no trace-level intrinsic. */
const STAND_IN_SUMMARY: TraceFacts = {
  traceId: "00000000000000000000000000000001", startTimeUnixNano: "1000000000", endTimeUnixNano: "1000000000", durationNanos: "0",
  rootServiceName: "", rootSpanName: "", spanCount: 1, errorCount: 0, services: [],
};

// ---- The static checks -----------------------------------------------------------------------

function fieldText(f: Field): string {
  return f.kind === "intrinsic" ? f.name : `${f.scope}.${f.name}`;
}

const isServiceName = (f: Field) => f.kind === "attribute" && f.scope === "resource" && f.name === "service.name";

function isByField(f: Field): boolean {
  return isServiceName(f) || (f.kind === "intrinsic" && (f.name === "name" || f.name === "kind"));
}

function isRowField(f: Field): boolean {
  return isServiceName(f) || (f.kind === "intrinsic" && (f.name === "name" || f.name === "kind" || f.name === "status"));
}

/** Whether a span matches on its own facts alone, whatever else its trace holds. */
function spanLocal(e: SpansetExpr): boolean {
  switch (e.kind) {
    case "selector":
      return true;
    case "spansetOp":
      // `||` is the union of the spans either side matches; every other operator looks at the trace.
      return e.op === "||" && spanLocal(e.left) && spanLocal(e.right);
    case "pipeline":
      return spanLocal(e.source) && e.stages.every((s) => s.kind === "select" || (s.kind === "filter" && spanLocal(s.expr)));
  }
}

function collectFields(e: SpansetExpr, out: Field[]): void {
  const cond = (c: Condition): void => {
    switch (c.kind) {
      case "attribute":
      case "intrinsic":
        out.push(c);
        return;
      case "literal":
        return;
      case "not":
        return cond(c.operand);
      default:
        cond(c.left);
        cond(c.right);
    }
  };
  switch (e.kind) {
    case "selector":
      if (e.cond) cond(e.cond);
      return;
    case "spansetOp":
      collectFields(e.left, out);
      collectFields(e.right, out);
      return;
    case "pipeline":
      collectFields(e.source, out);
      // select() fields only choose what search returns; they select no spans.
      for (const s of e.stages) if (s.kind === "filter") collectFields(s.expr, out);
  }
}

/** True when no span of a kind the rows leave out can match (sound, not complete). */
function excludesOtherKinds(e: SpansetExpr): boolean {
  switch (e.kind) {
    case "selector":
      return e.cond !== undefined && condExcludesOtherKinds(e.cond);
    case "spansetOp":
      return excludesOtherKinds(e.left) && excludesOtherKinds(e.right);
    case "pipeline":
      // A span must pass the source and every filter: one of them excluding the kinds is enough.
      return excludesOtherKinds(e.source) || e.stages.some((s) => s.kind === "filter" && excludesOtherKinds(s.expr));
  }
}

function condExcludesOtherKinds(c: Condition): boolean {
  if (c.kind === "logical") {
    return c.op === "&&" ? condExcludesOtherKinds(c.left) || condExcludesOtherKinds(c.right) : condExcludesOtherKinds(c.left) && condExcludesOtherKinds(c.right);
  }
  const fields: Field[] = [];
  collectFields({ kind: "selector", cond: c, pos: c.pos }, fields);
  if (!fields.every((f) => f.kind === "intrinsic" && f.name === "kind")) return false;
  // Reads only the kind: decided by evaluating it for each kind the rows leave out.
  const m = compileQuery({ kind: "selector", cond: c, pos: c.pos } satisfies Query, { spss: 1 });
  return OTHER_KINDS.every((kind) => m.match(standInTrace("x", standIn({ operation: "x", kind }, 0)), STAND_IN_SUMMARY) === undefined);
}
