/**
 * @module
 * TraceQL metrics, the pure part after parsing (`metrics.ts`): bucketing matched spans by start
 * time, accumulating per label set and bucket (mergeable state, for fanned-out scans), turning
 * that into Tempo's series, and the stages after the function (`topk`/`bottomk`, thresholds).
 *
 * Values per function, as Tempo answers them:
 *
 * - `rate`, `count_over_time`, `histogram_over_time`: a sample in every bucket of a series (0 where
 *   no span fell). A histogram is a count per label set plus `__bucket` (added last).
 * - `quantile_over_time`: exact (linear between the two nearest ranks), one series per quantile
 *   labelled `p`, samples only in buckets with spans.
 * - `min_over_time`, `max_over_time`, `sum_over_time`, `avg_over_time`: over the spans whose field
 *   has a number (`MetricsSpan.value`), samples only in buckets with such spans (Tempo's NaN, which
 *   it leaves out of the answer); a series without any sample is left out.
 *
 * With a sample (`with(sample=f)`), the spans given are the sampled ones: counts and sums are
 * scaled by 1/f, quantiles, minima, maxima and averages are not. Exemplars (when asked): per
 * series, the first spans to start in each of Tempo's time slots (`limit / 2` slots, two each),
 * so fanned-out jobs merge to the same choice whatever their order.
 */
import type { KeyValue, AnyValue } from "../model/span.ts";
import type { MetricsQuery, MetricsStage } from "./metrics.ts";

/** A span picked by the spanset part: its start, duration, by() labels and the function's value. */
export interface MetricsSpan {
  startMs: number;
  durationNanos: number;
  labels: KeyValue[];
  /** The field's number (seconds for durations) for quantile/min/max/sum/avg; absent: the span is not counted there (quantiles: its duration). */
  value?: number;
  /** For exemplars: the span's ids and the value Tempo gives its exemplar (rate/count: the sample's). */
  traceId?: string;
  spanId?: string;
  exemplarValue?: number;
}

/** Tempo's exemplar: a span that fell into a series, with `trace:id` and `span:id` labels. */
export interface Exemplar {
  labels: KeyValue[];
  value: number;
  /** The span's start, epoch ms as a decimal string. */
  timestampMs: string;
}

/** Most exemplars per series (Tempo's maxExemplars), and per exemplar time slot. */
export const MAX_EXEMPLARS = 100;
const EXEMPLARS_PER_SLOT = 2;

/** An exemplar candidate, as kept in accumulator state. */
interface ExemplarCandidate {
  startMs: number;
  traceId: string;
  spanId: string;
  value?: number;
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
  /** Spans that fell into the series (only when asked for; never from the per-minute rows). */
  exemplars?: Exemplar[];
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

/**
 * Tempo's histogram bucket of a value (`Log2Bucketize`): the power of two at or above it; undefined
 * below 2 (Tempo drops those spans from the histogram).
 */
export function log2Bucket(v: number): number | undefined {
  if (!(v >= 2)) return undefined;
  return 2 ** Math.ceil(Math.log2(v));
}

function valueText(v: AnyValue): string {
  if ("stringValue" in v) return v.stringValue;
  if ("intValue" in v) return String(v.intValue);
  if ("doubleValue" in v) return String(v.doubleValue);
  if ("boolValue" in v) return String(v.boolValue);
  // An attribute label without a value (compare()'s totals): Tempo's nil.
  if (!Object.keys(v).length) return "<nil>";
  return JSON.stringify(v);
}

export function promLabels(labels: KeyValue[]): string {
  return `{${labels.map((l) => `${l.key}=${JSON.stringify(valueText(l.value))}`).join(", ")}}`;
}

/** Per bucket, for min/max/sum/avg: [count, sum, min, max] of the values; null where none. */
type Stat = [number, number, number, number];

interface Group {
  labels: KeyValue[];
  counts: number[];
  /** quantile_over_time: span durations (seconds) per bucket. */
  durations: number[][];
  /** min/max/sum/avg_over_time. */
  stats?: (Stat | null)[];
  /** Per exemplar time slot, the (at most 2) candidates that start first (ties: by ids). */
  exemplars?: (ExemplarCandidate[] | null)[];
}

/** A MetricsAccumulator's groups: labels, counts per bucket, durations or value stats per bucket. */
export type AccumulatorState = Group[];

const VALUE_FNS = new Set(["min_over_time", "max_over_time", "sum_over_time", "avg_over_time"]);

/** Exemplar slots over the window: `limit / 2` (at least one) of equal width, two exemplars each, as Tempo. */
function exemplarSlot(b: Bucketing, limit: number, tMs: number): number {
  const slots = Math.max(1, Math.floor(limit / EXEMPLARS_PER_SLOT));
  return Math.min(slots - 1, Math.floor(((tMs - b.startMs) * slots) / (b.endMs - b.startMs)));
}

const candidateOrder = (x: ExemplarCandidate, y: ExemplarCandidate) => x.startMs - y.startMs || x.traceId.localeCompare(y.traceId) || x.spanId.localeCompare(y.spanId);

function keepFirst(list: ExemplarCandidate[]): ExemplarCandidate[] {
  return list.sort(candidateOrder).slice(0, EXEMPLARS_PER_SLOT);
}

export interface AccumulatorOptions {
  /** Most exemplars per series (0 or absent: none; at most MAX_EXEMPLARS). */
  exemplars?: number;
}

/**
 * Accumulates spans into series; see the module comment for what each function answers. With
 * `mq.sample`, counts (rate, count, histogram) and sums are scaled by 1 / fraction. With
 * `options.exemplars`, each series keeps that many of its spans (the first to start in each of
 * Tempo's time slots, so the choice does not depend on scan order).
 */
export class MetricsAccumulator {
  private readonly groups = new Map<string, Group>();
  private readonly n: number;
  private readonly mq: Pick<MetricsQuery, "fn" | "quantiles"> & Partial<Pick<MetricsQuery, "sample">>;
  private readonly b: Bucketing;
  private readonly exemplars: number;
  constructor(mq: Pick<MetricsQuery, "fn" | "quantiles"> & Partial<Pick<MetricsQuery, "sample">>, b: Bucketing, options: AccumulatorOptions = {}) {
    this.mq = mq;
    this.b = b;
    this.n = bucketCount(b);
    this.exemplars = Math.min(MAX_EXEMPLARS, Math.max(0, Math.floor(options.exemplars ?? 0)));
  }

  add(span: MetricsSpan): void {
    const i = bucketOf(this.b, span.startMs);
    if (i < 0) return;
    const values = VALUE_FNS.has(this.mq.fn);
    if (values && (span.value === undefined || Number.isNaN(span.value))) return;
    const key = JSON.stringify(span.labels);
    let g = this.groups.get(key);
    if (!g) {
      g = { labels: span.labels, counts: new Array<number>(this.n).fill(0), durations: [] };
      if (values) g.stats = new Array<Stat | null>(this.n).fill(null);
      this.groups.set(key, g);
    }
    g.counts[i] = (g.counts[i] ?? 0) + 1;
    if (this.mq.fn === "quantile_over_time") (g.durations[i] ??= []).push(span.value ?? span.durationNanos / 1e9);
    if (this.exemplars > 0 && span.traceId && span.spanId) {
      const slots = (g.exemplars ??= []);
      const slot = exemplarSlot(this.b, this.exemplars, span.startMs);
      slots[slot] = keepFirst([...(slots[slot] ?? []), { startMs: span.startMs, traceId: span.traceId, spanId: span.spanId, ...(span.exemplarValue !== undefined ? { value: span.exemplarValue } : {}) }]);
    }
    if (values && g.stats) g.stats[i] = mergeStat(g.stats[i] ?? null, [1, span.value as number, span.value as number, span.value as number]);
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
        this.groups.set(key, {
          labels: g.labels, counts: [...g.counts], durations: g.durations.map((d) => (d ? [...d] : d)),
          ...(g.stats ? { stats: g.stats.map((s) => (s ? [...s] : null)) } : {}),
          ...(g.exemplars ? { exemplars: g.exemplars.map((e) => (e ? [...e] : null)) } : {}),
        });
        continue;
      }
      g.exemplars?.forEach((e, i) => {
        if (e?.length) (have.exemplars ??= [])[i] = keepFirst([...(have.exemplars?.[i] ?? []), ...e]);
      });
      g.counts.forEach((c, i) => (have.counts[i] = (have.counts[i] ?? 0) + c));
      g.durations.forEach((d, i) => {
        if (d?.length) (have.durations[i] ??= []).push(...d);
      });
      if (g.stats) {
        const stats = (have.stats ??= new Array<Stat | null>(this.n).fill(null));
        g.stats.forEach((s, i) => (stats[i] = mergeStat(stats[i] ?? null, s ?? null)));
      }
    }
  }

  series(): Series[] {
    const out: Series[] = [];
    const ts = (i: number) => String(this.b.startMs + i * this.b.stepMs);
    // A sample stands for 1 / fraction spans when sampled.
    const scale = 1 / (this.mq.sample?.fraction ?? 1);
    const withExemplars = (s: Series, g: Group, valueAt?: (c: ExemplarCandidate) => number): Series => {
      const list = (g.exemplars ?? []).flatMap((e) => e ?? []).slice(0, this.exemplars);
      if (!list.length) return s;
      const exemplars = list.map((c) => ({
        labels: [{ key: "trace:id", value: { stringValue: c.traceId } }, { key: "span:id", value: { stringValue: c.spanId } }],
        value: c.value ?? valueAt?.(c) ?? NaN,
        timestampMs: String(c.startMs),
      }));
      return { ...s, exemplars };
    };
    const groups = [...this.groups.values()].sort((x, y) => promLabels(x.labels).localeCompare(promLabels(y.labels)));
    for (const g of groups) {
      const fn = this.mq.fn;
      if (fn === "quantile_over_time") {
        for (const q of this.mq.quantiles) {
          const labels = [...g.labels, { key: "p", value: { doubleValue: q } }];
          const samples: Sample[] = [];
          g.durations.forEach((values, i) => {
            if (values?.length) samples.push({ timestampMs: ts(i), value: quantile([...values].sort((a, b) => a - b), q) });
          });
          out.push(withExemplars({ labels, samples, promLabels: promLabels(labels) }, g));
        }
      } else if (VALUE_FNS.has(fn)) {
        const samples: Sample[] = [];
        (g.stats ?? []).forEach((s, i) => {
          if (!s) return;
          const [count, sum, min, max] = s;
          const value = fn === "min_over_time" ? min : fn === "max_over_time" ? max : fn === "sum_over_time" ? sum * scale : sum / count;
          samples.push({ timestampMs: ts(i), value });
        });
        if (samples.length) out.push(withExemplars({ labels: g.labels, samples, promLabels: promLabels(g.labels) }, g));
      } else {
        const perSecond = (fn === "rate" ? 1000 / this.b.stepMs : 1) * scale;
        const samples = g.counts.map((c, i) => ({ timestampMs: ts(i), value: c * perSecond }));
        // A count's exemplar has no value of its own: Tempo gives it the sample's.
        out.push(withExemplars({ labels: g.labels, samples, promLabels: promLabels(g.labels) }, g, (c) => (g.counts[bucketOf(this.b, c.startMs)] ?? 0) * perSecond));
      }
    }
    return out;
  }
}

function mergeStat(a: Stat | null, b: Stat | null): Stat | null {
  if (!a) return b ? [...b] : null;
  if (!b) return a;
  return [a[0] + b[0], a[1] + b[1], Math.min(a[2], b[2]), Math.max(a[3], b[3])];
}

// ---- Stages after the function ---------------------------------------------------------------

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  "=": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
};

/**
 * Applies the stages after the metrics function, in order, to the series of the whole query (all
 * jobs merged):
 *
 * - `topk(k)` / `bottomk(k)`, as Tempo does since it ranks per timestamp: at each timestamp the k
 *   series with the highest (lowest) values there keep their sample (ties: the series whose
 *   labels sort first), the others lose it; a series left with no sample is dropped.
 * - a threshold (`> 10`, `<= 0.5`, `= 0`, ...): samples failing it are dropped, then series left
 *   with none.
 */
export function applyStages(series: Series[], stages: readonly MetricsStage[]): Series[] {
  let out = series;
  for (const st of stages) {
    if (st.kind === "threshold") {
      const test = COMPARE[st.op] as (a: number, b: number) => boolean;
      out = out.map((s) => ({ ...s, samples: s.samples.filter((p) => test(p.value, st.value)) }));
    } else {
      const keep = out.map(() => new Set<string>());
      const times = new Set(out.flatMap((s) => s.samples.map((p) => p.timestampMs)));
      for (const t of times) {
        const at: { i: number; v: number }[] = [];
        out.forEach((s, i) => {
          const p = s.samples.find((x) => x.timestampMs === t);
          if (p && !Number.isNaN(p.value)) at.push({ i, v: p.value });
        });
        at.sort((x, y) => (st.kind === "topk" ? y.v - x.v : x.v - y.v) || (out[x.i] as Series).promLabels.localeCompare((out[y.i] as Series).promLabels));
        for (const { i } of at.slice(0, st.k)) keep[i]?.add(t);
      }
      out = out.map((s, i) => ({ ...s, samples: s.samples.filter((p) => keep[i]?.has(p.timestampMs)) }));
    }
    out = out.filter((s) => s.samples.length > 0);
  }
  return out;
}

/**
 * compare()'s final series (Tempo's), from the counts per label set: per meta type and attribute,
 * the `topN` values with the highest total (ties: labels order), the totals, and a
 * `__meta_error="__too_many_values__"` series (no samples) for each attribute with more values.
 */
export function compareSeries(series: Series[], topN: number): Series[] {
  const typeOf = (s: Series) => (s.labels[0]?.value as { stringValue?: string } | undefined)?.stringValue ?? "";
  const byAttr = new Map<string, Series[]>();
  const out: Series[] = [];
  for (const s of series) {
    const type = typeOf(s);
    if (type.endsWith("_total")) {
      out.push(s);
      continue;
    }
    const key = JSON.stringify([type, s.labels[1]?.key]);
    byAttr.set(key, [...(byAttr.get(key) ?? []), s]);
  }
  const tooMany = new Set<string>();
  const total = (s: Series) => s.samples.reduce((n, p) => n + p.value, 0);
  for (const group of byAttr.values()) {
    const ranked = [...group].sort((x, y) => total(y) - total(x) || x.promLabels.localeCompare(y.promLabels));
    out.push(...ranked.slice(0, topN));
    if (group.length > topN) tooMany.add(group[0]?.labels[1]?.key ?? "");
  }
  for (const key of [...tooMany].sort()) {
    const labels: KeyValue[] = [{ key: "__meta_error", value: { stringValue: "__too_many_values__" } }, { key, value: {} as AnyValue }];
    out.push({ labels, samples: [], promLabels: promLabels(labels) });
  }
  return out.sort((x, y) => x.promLabels.localeCompare(y.promLabels));
}

/**
 * Puts on each of `series` the exemplars of `from`'s series with the same labels (the rows'
 * answer takes a bounded scan's spans). A count's exemplar takes the value of `series`' own
 * sample at its step, as the accumulator gives it.
 */
export function withExemplarsOf(series: Series[], from: Series[], b: Bucketing, countLike: boolean): Series[] {
  const byLabels = new Map(from.map((s) => [s.promLabels, s.exemplars]));
  return series.map((s) => {
    const exemplars = byLabels.get(s.promLabels);
    if (!exemplars?.length) return s;
    const at = new Map(s.samples.map((p) => [p.timestampMs, p.value]));
    const valueOf = (e: Exemplar) => (countLike ? (at.get(String(b.startMs + bucketOf(b, Number(e.timestampMs)) * b.stepMs)) ?? e.value) : e.value);
    return { ...s, exemplars: exemplars.map((e) => ({ ...e, value: valueOf(e) })) };
  });
}

/** The query's series from the accumulated ones: compare()'s top values, then the stages. */
export function finishSeries(mq: Pick<MetricsQuery, "stages" | "compare">, series: Series[]): Series[] {
  return applyStages(mq.compare ? compareSeries(series, mq.compare.topN) : series, mq.stages);
}
