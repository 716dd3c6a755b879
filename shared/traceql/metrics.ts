/**
 * @module
 * TraceQL metrics queries (Tempo's `/api/metrics/query_range`): a spanset query followed by one
 * trailing metrics stage,
 *
 * - `<spanset query> | rate() [by(f, ...)]`: matching spans per second in each step;
 * - `<spanset query> | count_over_time() [by(...)]`: matching spans in each step;
 * - `<spanset query> | quantile_over_time(duration, q1[, q2 ...]) [by(...)]`: quantiles of the
 *   durations of the matching spans in each step, in seconds (as Tempo answers), exact (linear
 *   interpolation between the two nearest ranks of the collected values), one series per quantile
 *   labelled `p` (a double).
 *
 * The stage is split off before the spanset part is parsed (`parseTraceQL`), so the search parser
 * keeps rejecting metrics functions everywhere else. A span counts at its start time, in the bucket
 * `floor((t - start) / step)`. `by()` groups by the span's (or resource's) attribute or an
 * intrinsic; a span without the attribute goes to a series without that label.
 *
 * The pure part: parsing and bucketing. Walking the blocks is `shared/search/metrics-blocks.ts`.
 */
import type { Field, IntrinsicName, Query } from "./ast.ts";
import { TraceQLError, tokenize } from "./lexer.ts";
import type { Token } from "./lexer.ts";
import { parseTraceQL } from "./parser.ts";
import { formatField } from "./stringify.ts";
import type { AnyValue, KeyValue, Resource, Span } from "../model/span.ts";

export type MetricsFn = "rate" | "count_over_time" | "quantile_over_time";

export interface MetricsQuery {
  /** The spanset part, which selects the spans. */
  query: Query;
  fn: MetricsFn;
  /** quantile_over_time only: the quantiles, each in [0, 1]. */
  quantiles: number[];
  by: Field[];
}

const SUPPORTED = new Set<string>(["rate", "count_over_time", "quantile_over_time"]);
const OTHER_METRICS = new Set<string>(["min_over_time", "max_over_time", "avg_over_time", "sum_over_time", "histogram_over_time", "compare", "topk", "bottomk"]);

const INTRINSICS: Record<string, IntrinsicName> = {
  name: "name", "span:name": "name", status: "status", "span:status": "status", statusMessage: "statusMessage",
  "span:statusMessage": "statusMessage", duration: "duration", "span:duration": "duration", kind: "kind", "span:kind": "kind",
  "span:id": "span:id", "span:parentID": "span:parentID", "trace:rootService": "trace:rootService", rootServiceName: "trace:rootService",
  "trace:rootName": "trace:rootName", rootName: "trace:rootName", "trace:duration": "trace:duration", traceDuration: "trace:duration", "trace:id": "trace:id",
};
/** Intrinsics `by()` can group on: the ones known from the span alone. */
const BY_INTRINSICS = new Set<IntrinsicName>(["name", "status", "statusMessage", "kind", "duration", "span:id", "span:parentID", "trace:id"]);

function fail(t: Token, expected: string): never {
  throw new TraceQLError(`unexpected ${t.kind === "eof" ? "end of query" : `"${t.text}"`}`, t.pos, { expected });
}

/**
 * Parses `<spanset query> | <metrics fn>(...) [by(...)]`. Throws TraceQLError (with position) for
 * a broken query, a missing metrics stage, or a metrics function this engine does not run.
 */
export function parseMetricsQuery(src: string): MetricsQuery {
  const tokens = tokenize(src);
  // The last top-level `|` followed by a metrics function name.
  let depth = 0;
  let split = -1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind === "op" && (t.text === "(" || t.text === "{")) depth++;
    else if (t.kind === "op" && (t.text === ")" || t.text === "}")) depth--;
    else if (depth === 0 && t.kind === "op" && t.text === "|") {
      const n = tokens[i + 1] as Token;
      if (n.kind === "ident" && (SUPPORTED.has(n.text) || OTHER_METRICS.has(n.text))) split = i;
    }
  }
  if (split < 0) {
    const end = tokens[tokens.length - 1] as Token;
    throw new TraceQLError("a metrics query needs a metrics stage", end.pos, { expected: "\"| rate()\", \"| count_over_time()\" or \"| quantile_over_time(duration, q)\"" });
  }
  const pipe = tokens[split] as Token;
  const query = parseTraceQL(src.slice(0, pipe.pos.offset));
  let i = split + 1;
  const peek = () => tokens[i] as Token;
  const next = () => tokens[i++] as Token;
  const isOp = (text: string) => peek().kind === "op" && peek().text === text;
  const expectOp = (text: string) => {
    if (!isOp(text)) fail(peek(), `"${text}"`);
    next();
  };

  const fnTok = next();
  if (!SUPPORTED.has(fnTok.text)) throw new TraceQLError(`unsupported: metrics function ${fnTok.text}()`, fnTok.pos, { unsupported: `metrics function ${fnTok.text}()` });
  const fn = fnTok.text as MetricsFn;
  expectOp("(");
  const quantiles: number[] = [];
  if (fn === "quantile_over_time") {
    const f = next();
    const field = f.kind === "ident" ? INTRINSICS[f.text] : undefined;
    if (field !== "duration") {
      if (f.kind === "attr" || f.kind === "ident") throw new TraceQLError(`unsupported: quantile_over_time of ${f.text}`, f.pos, { unsupported: `quantile_over_time(${f.text})` });
      fail(f, "duration");
    }
    do {
      expectOp(",");
      const q = next();
      if ((q.kind !== "int" && q.kind !== "float") || typeof q.value !== "number" || q.value < 0 || q.value > 1) fail(q, "a quantile from 0 to 1");
      quantiles.push(q.value);
    } while (isOp(","));
  }
  expectOp(")");
  const by: Field[] = [];
  if (peek().kind === "ident" && peek().text === "by") {
    next();
    expectOp("(");
    for (;;) {
      const f = next();
      if (f.kind === "attr" && (f.scope === "span" || f.scope === "resource" || f.scope === "")) {
        by.push({ kind: "attribute", scope: f.scope, name: f.name ?? "", pos: f.pos });
      } else if (f.kind === "ident" && INTRINSICS[f.text] && BY_INTRINSICS.has(INTRINSICS[f.text] as IntrinsicName)) {
        by.push({ kind: "intrinsic", name: INTRINSICS[f.text] as IntrinsicName, pos: f.pos });
      } else if (f.kind === "attr" || f.kind === "ident") {
        throw new TraceQLError(`unsupported: by(${f.text}) in a metrics query`, f.pos, { unsupported: `by(${f.text})` });
      } else fail(f, "an attribute or intrinsic");
      if (!isOp(",")) break;
      next();
    }
    expectOp(")");
  }
  const rest = peek();
  if (rest.kind !== "eof") {
    if (rest.kind === "op" && rest.text === "|") throw new TraceQLError("unsupported: stages after a metrics function", rest.pos, { unsupported: "stages after a metrics function" });
    fail(rest, "\"by(\" or end of query");
  }
  return { query, fn, quantiles, by };
}

const STATUS_NAMES = ["unset", "ok", "error"];
const KIND_NAMES = ["unspecified", "internal", "server", "client", "producer", "consumer"];

function findAttr(list: KeyValue[] | undefined, name: string): AnyValue | undefined {
  const kv = list?.find((a) => a.key === name);
  return kv && Object.keys(kv.value).length ? kv.value : undefined;
}

/** The value of a by() field on a span, as an OTLP AnyValue; undefined when missing. */
export function fieldValue(f: Field, span: Span, resource: Resource): AnyValue | undefined {
  if (f.kind === "attribute") {
    if (f.scope === "span") return findAttr(span.attributes, f.name);
    if (f.scope === "resource") return findAttr(resource.attributes, f.name);
    return findAttr(span.attributes, f.name) ?? findAttr(resource.attributes, f.name);
  }
  switch (f.name) {
    case "name":
      return { stringValue: span.name };
    case "status":
      return { stringValue: STATUS_NAMES[span.status?.code ?? 0] ?? String(span.status?.code) };
    case "statusMessage":
      return { stringValue: span.status?.message ?? "" };
    case "kind":
      return { stringValue: KIND_NAMES[span.kind] ?? String(span.kind) };
    case "duration":
      return { intValue: (BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)).toString() };
    case "span:id":
      return { stringValue: span.spanId };
    case "span:parentID":
      return { stringValue: span.parentSpanId };
    case "trace:id":
      return { stringValue: span.traceId };
    default:
      return undefined;
  }
}

/** A span picked by the spanset part: its start, duration and by() label values. */
export interface MetricsSpan {
  startMs: number;
  durationNanos: number;
  labels: KeyValue[];
}

export function spanLabels(by: Field[], span: Span, resource: Resource): KeyValue[] {
  const labels: KeyValue[] = [];
  for (const f of by) {
    const value = fieldValue(f, span, resource);
    if (value) labels.push({ key: formatField(f), value });
  }
  return labels;
}

export interface Sample {
  /** Epoch milliseconds, as a decimal string (Tempo's protojson int64). */
  timestampMs: string;
  value: number;
}

export interface Series {
  labels: KeyValue[];
  samples: Sample[];
  promLabels: string;
}

export interface Bucketing {
  startMs: number;
  /** Exclusive. */
  endMs: number;
  stepMs: number;
}

export function bucketCount(b: Bucketing): number {
  return Math.max(1, Math.ceil((b.endMs - b.startMs) / b.stepMs));
}

/** The bucket of a span starting at `tMs`, or -1 outside [start, end). */
export function bucketOf(b: Bucketing, tMs: number): number {
  if (tMs < b.startMs || tMs >= b.endMs) return -1;
  return Math.floor((tMs - b.startMs) / b.stepMs);
}

/** The q-quantile of sorted values, linear between the two nearest ranks. */
export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

function valueText(v: AnyValue): string {
  if ("stringValue" in v) return v.stringValue;
  if ("intValue" in v) return String(v.intValue);
  if ("doubleValue" in v) return String(v.doubleValue);
  if ("boolValue" in v) return String(v.boolValue);
  return JSON.stringify(v);
}

export function promLabels(labels: KeyValue[]): string {
  return `{${labels.map((l) => `${l.key}=${JSON.stringify(valueText(l.value))}`).join(", ")}}`;
}

/**
 * Accumulates spans into series. count_over_time/rate answer every bucket of a series (0 where
 * no span fell); quantile_over_time only the buckets with spans.
 */
/** A MetricsAccumulator's groups: labels, counts per bucket, span durations (seconds) per bucket. */
export type AccumulatorState = { labels: KeyValue[]; counts: number[]; durations: number[][] }[];

export class MetricsAccumulator {
  private readonly groups = new Map<string, { labels: KeyValue[]; counts: number[]; durations: number[][] }>();
  private readonly n: number;
  private readonly mq: Pick<MetricsQuery, "fn" | "quantiles">;
  private readonly b: Bucketing;
  constructor(mq: Pick<MetricsQuery, "fn" | "quantiles">, b: Bucketing) {
    this.mq = mq;
    this.b = b;
    this.n = bucketCount(b);
  }

  add(span: MetricsSpan): void {
    const i = bucketOf(this.b, span.startMs);
    if (i < 0) return;
    const key = JSON.stringify(span.labels);
    let g = this.groups.get(key);
    if (!g) {
      g = { labels: span.labels, counts: new Array<number>(this.n).fill(0), durations: [] };
      this.groups.set(key, g);
    }
    g.counts[i] = (g.counts[i] ?? 0) + 1;
    if (this.mq.fn === "quantile_over_time") (g.durations[i] ??= []).push(span.durationNanos / 1e9);
  }

  /** What has been accumulated, as plain data: another invocation's share of a fanned-out query. */
  state(): AccumulatorState {
    return [...this.groups.values()];
  }

  /** Adds another accumulator's state (same query and bucketing). */
  merge(state: AccumulatorState): void {
    for (const g of state) {
      const key = JSON.stringify(g.labels);
      const have = this.groups.get(key);
      if (!have) {
        this.groups.set(key, { labels: g.labels, counts: [...g.counts], durations: g.durations.map((d) => (d ? [...d] : d)) });
        continue;
      }
      g.counts.forEach((c, i) => (have.counts[i] = (have.counts[i] ?? 0) + c));
      g.durations.forEach((d, i) => {
        if (d?.length) (have.durations[i] ??= []).push(...d);
      });
    }
  }

  series(): Series[] {
    const out: Series[] = [];
    const ts = (i: number) => String(this.b.startMs + i * this.b.stepMs);
    const groups = [...this.groups.values()].sort((x, y) => promLabels(x.labels).localeCompare(promLabels(y.labels)));
    for (const g of groups) {
      if (this.mq.fn === "quantile_over_time") {
        for (const q of this.mq.quantiles) {
          const labels = [...g.labels, { key: "p", value: { doubleValue: q } }];
          const samples: Sample[] = [];
          g.durations.forEach((values, i) => {
            if (values?.length) samples.push({ timestampMs: ts(i), value: quantile([...values].sort((a, b) => a - b), q) });
          });
          out.push({ labels, samples, promLabels: promLabels(labels) });
        }
      } else {
        const perSecond = this.mq.fn === "rate" ? 1000 / this.b.stepMs : 1;
        const samples = g.counts.map((c, i) => ({ timestampMs: ts(i), value: c * perSecond }));
        out.push({ labels: g.labels, samples, promLabels: promLabels(g.labels) });
      }
    }
    return out;
  }
}
