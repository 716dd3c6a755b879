/**
 * @module
 * TraceQL metrics answered from the per-minute rows instead of scanning blocks, for the queries
 * whose answer those rows hold: the same series, labels and values per step as the block scan
 * (`shared/search/metrics-blocks.ts`) would give, exactly for counts, within the histograms'
 * documented error for quantiles. Anything else is `undefined`, and the caller scans.
 *
 * Two kinds of rows (`shared/metrics/red.ts`, fed by the assembler's `tenantDelta`), both per
 * minute of span start with the spans, those with status ERROR and a latency histogram:
 *
 * - **Service rows** (`service_minutes`): every span of a service, whatever its kind, and the spans
 *   of resources without a string `service.name` under what TraceQL reads there (none, or a value
 *   of another type), so the stand-in resource below is the span's own as far as
 *   `resource.service.name` goes; keyed also by root or not and by status code, so a row's spans
 *   are alike in everything these queries read. They answer queries whose conditions read only
 *   `resource.service.name`, `status` (OK apart from UNSET too) and `nestedSetParent` in
 *   comparisons that only tell roots from the rest (`< 0`, `>= 0`, ...), grouped by nothing,
 *   `resource.service.name` and/or `status`: `{ } | rate() by(resource.service.name)`,
 *   `{ status = error } | rate()`, Grafana Traces Drilldown's
 *   `{ nestedSetParent<0 && true && status!=error } | rate() by(resource.service.name, status)`.
 *   Only for windows from the first minute the rows hold every span (`from`: rows began, and
 *   gained their root and status keys, with a deploy; see shared/tenant-object/open-metrics.ts).
 * - **Operation rows** (`operation_minutes`): per service (the first `service.name`, stringified),
 *   span name and kind, SERVER, CLIENT, PRODUCER and CONSUMER spans only, of resources with a
 *   `service.name`. They answer queries that also read `name` and `kind`, grouped by service, `name`
 *   or `kind`, that provably match no span of another kind (some `&&` operand reading only `kind`
 *   is false for all of them), and only when every span in the window has a non-empty string
 *   `service.name` (the caller checks the block catalog's services lists: a block holding another
 *   records ""), since those rows leave the others out or stringify a name the evaluator would not
 *   compare equal to a string.
 *
 * For both:
 *
 * - the spanset part is span-local (a selector, `||` of span-local parts, or a pipeline of them
 *   with `| { … }` filters and `select()`; no `&&` between spansets, structural operators or
 *   aggregates, which depend on other spans of the trace);
 * - operation rows do not split OK from UNSET (they only know ERROR or not);
 * - no exemplars: a row names no span (the route takes them from a bounded scan of the newest blocks);
 * - a `with(sample=…)` hint changes nothing: the rows count every span, exactly;
 * - only `rate()`, `count_over_time()`, `quantile_over_time(duration, …)` and
 *   `histogram_over_time(duration)`: the other functions (`min/max/sum/avg_over_time`, `compare()`
 *   over every attribute) need each span and always scan; stages after the function (`topk`,
 *   thresholds) are applied by the caller to these series as to the scan's;
 * - `rate()` and `count_over_time()` are exact; `quantile_over_time(duration, …)` merges the rows'
 *   histograms per step and reads the quantile the scan computes (linear between the two nearest
 *   ranks) from them, within HISTOGRAM_RELATIVE_ERROR (4.33%) of the scan's value
 *   (shared/metrics/histogram.ts `interpolatedQuantile`); `histogram_over_time(duration)` is exact:
 *   the histograms also count spans per Tempo power-of-two bucket (`tempoBuckets`), and a row
 *   stored before they did makes the answer undefined. Both only where every span of a row
 *   matches or none does (a histogram cannot be split by status; service rows always are);
 * - no minute with matching spans straddles a step boundary or an end of the window: a minute
 *   lies in one bucket or wholly outside, so steps that are multiples of 60 s over whole minutes
 *   always work, and others work only where the straddled minutes have no matching spans. A row
 *   may sum consecutive minutes (`lastMinute`, summed by D1 per step): all of them must lie in
 *   one bucket.
 *
 * The conditions are evaluated by the TraceQL evaluator itself on one stand-in span per row key
 * (service, name, kind) and status, so comparison, regex and type rules are exactly the scan's.
 * Labels come from `spanLabels`; values, order and the quantile series are the
 * `MetricsAccumulator`'s.
 */
import { conditionFields } from "./fields.ts";
import type { TraceFacts } from "../block/summarize.ts";
import { HISTOGRAM_RELATIVE_ERROR, LatencyHistogram } from "../metrics/histogram.ts";
import { DEFAULT_RED_KINDS, serviceNameValue, type OperationRow, type ServiceRow } from "../metrics/red.ts";
import type { KeyValue, Resource, ResourceSpans, Span } from "../model/span.ts";
import type { ComparisonOp, Condition, Field, Query, SpansetExpr } from "./ast.ts";
import { compileQuery } from "./eval.ts";
import { bucketCount, bucketOf, promLabels, spanLabels, type Bucketing, type MetricsQuery, type Series } from "./metrics.ts";

/** What rows of either kind give: the minutes they count (one, or `minute` to `lastMinute` summed), counts, durations. */
interface RowCounts {
  /** The (first) minute, unix seconds. */
  minute: number;
  /** The last minute summed into the row; absent: just `minute`. */
  lastMinute?: number;
  count: number;
  errors: number;
  /** The encoded LatencyHistogram; needed for quantiles only. */
  durations?: Uint8Array;
}

/** What this module reads of an operation row. */
export type RollupRow = Pick<OperationRow, "service" | "operation" | "kind"> & RowCounts;

/** What this module reads of a service row. */
export type ServiceRollupRow = Pick<ServiceRow, "service" | "serviceNameType" | "root" | "status"> & RowCounts;

/** Which rows answer a query. */
export type RollupSource = "services" | "operations";

/** The bound on a quantile from the rows, relative to the block scan's value. */
export const ROLLUP_QUANTILE_RELATIVE_ERROR = HISTOGRAM_RELATIVE_ERROR;

/**
 * Kinds the operation rows leave out (the assembler counts DEFAULT_RED_KINDS), one of each class
 * the evaluator can tell apart: kind literals are 0..5 and compare by equality only, so every
 * number outside the enum behaves as 6 does.
 */
const OTHER_KINDS = [0, 1, 2, 3, 4, 5, 6].filter((k) => !DEFAULT_RED_KINDS.includes(k));
/** Status codes a row counts as not ERROR: unset, ok, and (as above) any other number. */
const NON_ERROR_STATUSES = [0, 1, 3];
const ERROR = 2;
const MINUTE_MS = 60_000;

/** Which rows answer `mq`, or undefined (then `rollupUnsupportedReason` says why). */
export function rollupSource(mq: MetricsQuery): RollupSource | undefined {
  return check(mq).source;
}

/** Why a query is not answered from rows, for tests and logs; undefined when it can be. */
export function rollupUnsupportedReason(mq: MetricsQuery): string | undefined {
  return check(mq).reason;
}

/** The functions the rows answer: counts exactly, duration quantiles and Tempo's duration buckets from histograms. */
const ROLLUP_FNS = new Set<MetricsQuery["fn"]>(["rate", "count_over_time", "quantile_over_time", "histogram_over_time"]);

/** Whether `mq` reads the rows' histograms. */
export function readsRollupHistograms(mq: Pick<MetricsQuery, "fn">): boolean {
  return mq.fn === "quantile_over_time" || mq.fn === "histogram_over_time";
}

function check(mq: MetricsQuery): { source?: RollupSource; reason?: string } {
  // min/max/sum/avg need each value, compare() every attribute: not in the rows.
  if (!ROLLUP_FNS.has(mq.fn)) return { reason: `${mq.fn}(): not answered exactly from the rows` };
  // The rows' histograms are of durations; a sample is counted exactly there, so it does not matter.
  if (readsRollupHistograms(mq) && mq.field && !(mq.field.kind === "intrinsic" && mq.field.name === "duration")) return { reason: `${mq.fn}(${fieldText(mq.field)}): the rows hold durations only` };
  if (!spanLocal(mq.query)) return { reason: "the spanset part depends on other spans of the trace" };
  const fields: Field[] = [];
  collectFields(mq.query, fields);
  // Service rows: every span, keyed by service, root or not, and status.
  if (mq.by.every(isServiceRowKey) && fields.every((f) => isServiceRowKey(f) || isIntrinsic(f, "nestedSetParent")) && rootTestsOnly(mq.query)) return { source: "services" };
  for (const f of mq.by) if (!isByField(f)) return { reason: `by(${fieldText(f)}): not a row key` };
  for (const f of fields) if (!isRowField(f)) return { reason: `${fieldText(f)}: not ${isIntrinsic(f, "nestedSetParent") ? "compared as the rows can (only < 0, >= 0 and the like: root or not)" : "in the rows"}` };
  if (!excludesOtherKinds(mq.query)) return { reason: "reads name or kind, and may match spans of kinds the operation rows leave out (INTERNAL, UNSPECIFIED)" };
  return { source: "operations" };
}

/**
 * The series the block scan would answer for `mq` over `bucketing`, from the operation rows of the
 * window (rows outside it are ignored), or undefined when they cannot give that answer.
 * `everySpanNamed`: every block overlapping the window has only spans with a non-empty string
 * `service.name` (no "" in its catalog services list); without that, undefined.
 */
export function metricsFromRollups(mq: MetricsQuery, bucketing: Bucketing, rows: Iterable<RollupRow>, options: { everySpanNamed: boolean }): Series[] | undefined {
  if (!options.everySpanNamed || rollupSource(mq) !== "operations") return undefined;
  const matcher = compileQuery(mq.query, { spss: 1 });
  return answer(mq, bucketing, rows, (row) => JSON.stringify([row.service, row.operation, row.kind]), (row) =>
    decide(matcher, mq.by, serviceResource(row.service), standIn(row, 0), (status) => standIn(row, status)),
  );
}

/**
 * The series the block scan would answer for `mq` over `bucketing`, from the service rows of the
 * window, or undefined when they cannot give that answer. `from`: the first minute (unix seconds)
 * from which the rows hold every span; a window starting in an earlier minute is undefined.
 */
export function metricsFromServiceRollups(mq: MetricsQuery, bucketing: Bucketing, rows: Iterable<ServiceRollupRow>, options: { from: number }): Series[] | undefined {
  if (rollupSource(mq) !== "services") return undefined;
  if (Math.floor(bucketing.startMs / MINUTE_MS) * 60 < options.from) return undefined;
  const matcher = compileQuery(mq.query, { spss: 1 });
  // The conditions read only the resource's service.name, the status and whether the span is a
  // root; a row's spans are alike in all three, so its stand-in span decides all of them.
  return answer(mq, bucketing, rows, (row) => JSON.stringify([row.service, row.serviceNameType, row.root, row.status]), (row) => {
    const value = serviceNameValue(row);
    const resource: Resource = { attributes: value === undefined ? [] : [{ key: "service.name", value }], droppedAttributesCount: 0 };
    const span = { ...standIn({ operation: "", kind: 0 }, row.status), parentSpanId: row.root ? "" : ORPHAN_PARENT };
    const matches = matcher.match(standInTrace(resource, span), STAND_IN_SUMMARY) !== undefined;
    return { errors: matches, others: matches, labels: spanLabels(mq.by, span, resource) };
  });
}

/** Counts (or histograms) of the matching spans per group and bucket; undefined if a row cannot be placed or split. */
function answer<R extends RowCounts>(mq: MetricsQuery, bucketing: Bucketing, rows: Iterable<R>, keyOf: (row: R) => string, decideRow: (row: R) => Decision): Series[] | undefined {
  const quantiles = mq.fn === "quantile_over_time";
  const tempoBuckets = mq.fn === "histogram_over_time";
  const histograms = quantiles || tempoBuckets;
  const n = bucketCount(bucketing);
  const groups = new Map<string, { labels: KeyValue[]; counts: number[]; histograms: (LatencyHistogram | undefined)[] }>();
  // Per row key: how many of the row's spans match (all, the errors, the rest, none) and the labels.
  const decided = new Map<string, Decision>();

  for (const row of rows) {
    const fromMs = row.minute * 1000;
    const toMs = (row.lastMinute ?? row.minute) * 1000 + MINUTE_MS - 1;
    if (toMs < bucketing.startMs || fromMs >= bucketing.endMs) continue;
    const key = keyOf(row);
    let d = decided.get(key);
    if (!d) decided.set(key, (d = decideRow(row)));
    const others = row.count - row.errors;
    // OK and UNSET spans match differently, and the row does not tell them apart.
    if (d.others === undefined && others > 0) return undefined;
    const matching = (d.errors ? row.errors : 0) + (d.others ? others : 0);
    if (matching === 0) continue;
    // A histogram holds the row's errors and others together: usable only if all of them match.
    if (histograms && (matching !== row.count || row.durations === undefined)) return undefined;
    const i = bucketOf(bucketing, fromMs);
    // The minutes reach outside the window or across a step: their spans cannot be placed.
    if (i < 0 || bucketOf(bucketing, toMs) !== i) return undefined;
    if (tempoBuckets) {
      // One series per label set and Tempo bucket, `__bucket` (seconds) last, as metricsSpan labels a span.
      const counts = LatencyHistogram.decode(row.durations!).tempoBuckets();
      // A row stored before the histograms kept Tempo's buckets.
      if (!counts) return undefined;
      for (const [boundNanos, c] of counts) {
        const labels = [...d.labels, { key: "__bucket", value: { doubleValue: boundNanos / 1e9 } }];
        const gk = JSON.stringify(labels);
        let g = groups.get(gk);
        if (!g) groups.set(gk, (g = { labels, counts: new Array<number>(n).fill(0), histograms: [] }));
        g.counts[i] = (g.counts[i] ?? 0) + c;
      }
      continue;
    }
    const gk = JSON.stringify(d.labels);
    let g = groups.get(gk);
    if (!g) groups.set(gk, (g = { labels: d.labels, counts: new Array<number>(n).fill(0), histograms: [] }));
    g.counts[i] = (g.counts[i] ?? 0) + matching;
    if (quantiles) (g.histograms[i] ??= new LatencyHistogram()).merge(LatencyHistogram.decode(row.durations!));
  }

  // As MetricsAccumulator.series(): groups by promLabels; counts in every bucket, x the per-second
  // factor; quantiles (seconds) one series per quantile labelled p, in the buckets with spans.
  const ts = (i: number) => String(bucketing.startMs + i * bucketing.stepMs);
  const sorted = [...groups.values()].sort((x, y) => promLabels(x.labels).localeCompare(promLabels(y.labels)));
  if (quantiles) {
    return sorted.flatMap((g) =>
      mq.quantiles.map((q) => {
        const labels = [...g.labels, { key: "p", value: { doubleValue: q } }];
        const samples = g.histograms.flatMap((h, i) => (h && h.count > 0 ? [{ timestampMs: ts(i), value: h.interpolatedQuantile(q) / 1000 }] : []));
        return { labels, samples, promLabels: promLabels(labels) };
      }),
    );
  }
  const perSecond = mq.fn === "rate" ? 1000 / bucketing.stepMs : 1;
  return sorted.map((g) => ({ labels: g.labels, samples: g.counts.map((c, i) => ({ timestampMs: ts(i), value: c * perSecond })), promLabels: promLabels(g.labels) }));
}

type Matcher = ReturnType<typeof compileQuery>;

/** Whether a row key's ERROR spans match, whether its other spans do (undefined: OK and UNSET differ), their labels. */
interface Decision {
  errors: boolean;
  others: boolean | undefined;
  labels: KeyValue[];
}

function decide(matcher: Matcher, by: Field[], resource: Resource, labelSpan: Span, spanWith: (status: number) => Span): Decision {
  const matches = (status: number) => matcher.match(standInTrace(resource, spanWith(status)), STAND_IN_SUMMARY) !== undefined;
  const others = NON_ERROR_STATUSES.map(matches);
  // by() reads neither status nor time, so the error and other spans share their labels.
  return { errors: matches(ERROR), others: others.every((m) => m === others[0]) ? others[0] : undefined, labels: spanLabels(by, labelSpan, resource) };
}

function serviceResource(service: string): Resource {
  return { attributes: [{ key: "service.name", value: { stringValue: service } }], droppedAttributesCount: 0 };
}

/** A trace of one span, standing for every span of a row key with one status. */
function standInTrace(resource: Resource, span: Span): ResourceSpans[] {
  return [{ resource, scopeSpans: [{ scope: { name: "", version: "", attributes: [], droppedAttributesCount: 0 }, spans: [span], schemaUrl: "" }], schemaUrl: "" }];
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
const isIntrinsic = (f: Field, name: Field["name"]) => f.kind === "intrinsic" && f.name === name;
const isServiceRowKey = (f: Field) => isServiceName(f) || isIntrinsic(f, "status");

/**
 * A non-root stand-in's parent: a span id not in its trace, so its `nestedSetParent` is 0. Every
 * comparison `rootTestsOnly` lets through is the same for every value a non-root span can have
 * (0, or its parent's left number, ≥ 1), so 0 stands for all of them.
 */
const ORPHAN_PARENT = "0000000000000002";

/**
 * Whether `nestedSetParent` is read only in comparisons with a number that tell roots (-1) from
 * the other spans and nothing more: `< 0`, `>= 0`, `!= -1`, `= -1` and the like.
 */
function rootTestsOnly(e: SpansetExpr): boolean {
  switch (e.kind) {
    case "selector":
      return e.cond === undefined || condRootTestsOnly(e.cond);
    case "spansetOp":
      return rootTestsOnly(e.left) && rootTestsOnly(e.right);
    case "pipeline":
      return rootTestsOnly(e.source) && e.stages.every((s) => s.kind !== "filter" || rootTestsOnly(s.expr));
  }
}

function condRootTestsOnly(c: Condition): boolean {
  const readsIt = (x: Condition) => conditionFields(x).some((f) => isIntrinsic(f, "nestedSetParent"));
  if (c.kind === "logical") return condRootTestsOnly(c.left) && condRootTestsOnly(c.right);
  if (c.kind === "not") return condRootTestsOnly(c.operand);
  if (!readsIt(c)) return true;
  if (c.kind !== "comparison") return false;
  const [field, literal, op] = c.left.kind === "intrinsic" ? [c.left, c.right, c.op] : [c.right, c.left, MIRRORED[c.op]];
  if (!isIntrinsic(field as Field, "nestedSetParent") || literal.kind !== "literal" || (literal.value.type !== "int" && literal.value.type !== "float")) return false;
  return sameForEveryNonRoot(op, literal.value.value);
}

const MIRRORED: Record<ComparisonOp, ComparisonOp> = { "=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=", "=~": "=~", "!~": "!~" };

/** Whether `v op c` has one answer for every whole v ≥ 0 (the nestedSetParent of a non-root span). */
function sameForEveryNonRoot(op: ComparisonOp, c: number): boolean {
  switch (op) {
    case "<":
    case ">=":
      return c <= 0;
    case "<=":
    case ">":
      return c < 0;
    case "=":
    case "!=":
      return !(c >= 0 && Number.isInteger(c));
    default:
      return false;
  }
}

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
  switch (e.kind) {
    case "selector":
      if (e.cond) conditionFields(e.cond, out);
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
  return OTHER_KINDS.every((kind) => m.match(standInTrace(serviceResource("x"), standIn({ operation: "x", kind }, 0)), STAND_IN_SUMMARY) === undefined);
}
