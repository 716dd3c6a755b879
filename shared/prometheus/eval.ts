/**
 * @module
 * Evaluates the PromQL subset of parser.ts over per-minute series (series.ts) at one instant, as
 * Prometheus would over counters scraped once a minute, and shapes the answers of /api/v1/query and
 * /api/v1/query_range.
 *
 * Time: a minute's increase counts at the minute's end (start + 60 s), like a counter sampled once
 * a minute, so the minute still open is not counted until it closes.
 * - `rate(m[r])` at `t` is the increase of the minutes ending in `(t - r, t]`, divided by `r`;
 *   `increase(m[r])` is that increase. A series with no minute in the range is absent. A range
 *   shorter than a minute is read as one minute, the rows' resolution (a 30 s range holds either
 *   one minute end or none, so counting it against 30 s would double the rate or drop it): so
 *   `rate(m[30s])` is the rate of the last closed minute.
 * - A bare selector (`group by (...) (m)`) at `t` answers each series with a minute ending in the
 *   lookback `(t - lookback, t]` (Prometheus' 5 minutes unless `lookback_delta` says otherwise),
 *   valued at its increase over those minutes: the rows hold increases, not a counter's total.
 */
import { applyArithmetic } from "../query/arithmetic.ts";
import { matches, PromQLError, type AggOp, type BinOp, type Expr, type Matcher } from "./parser.ts";
import { labelsKey, type Labels, type Series } from "./series.ts";

const MINUTE = 60;

export interface Sample {
  labels: Labels;
  value: number;
}

export type Value = { kind: "scalar"; value: number } | { kind: "vector"; samples: Sample[]; ordered?: boolean };

export interface EvalOptions {
  /** How far back a bare selector looks, in seconds. */
  lookbackSeconds: number;
}

export const DEFAULT_LOOKBACK_SECONDS = 300;

/** Series of a selector, found once per query. */
type Selected = Map<Expr, Series[]>;

function select(all: readonly Series[], matchers: Matcher[]): Series[] {
  return all.filter((s) => matchers.every((m) => matches(m, s.labels[m.name] ?? "")));
}

/** A series' minute ends in order, with the running total of its increases: each lookup a binary search. */
interface Cumulative {
  ends: number[];
  totals: number[];
}
const CUMULATIVE = new WeakMap<Series, Cumulative>();

function cumulativeOf(s: Series): Cumulative {
  let c = CUMULATIVE.get(s);
  if (!c) {
    const minutes = [...s.points.keys()].sort((a, b) => a - b);
    let total = 0;
    c = { ends: minutes.map((m) => m + MINUTE), totals: minutes.map((m) => (total += s.points.get(m)!)) };
    CUMULATIVE.set(s, c);
  }
  return c;
}

/** How many of the sorted `ends` are ≤ t. */
function countUpTo(ends: number[], t: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The increase of minutes ending in (from, to]; undefined when none does. */
function increaseIn(s: Series, from: number, to: number): number | undefined {
  const c = cumulativeOf(s);
  const last = countUpTo(c.ends, to);
  const first = countUpTo(c.ends, from);
  if (last === first) return undefined;
  return c.totals[last - 1]! - (first > 0 ? c.totals[first - 1]! : 0);
}

function withoutName(labels: Labels): Labels {
  const { __name__: _, ...rest } = labels;
  return rest;
}

class Evaluator {
  readonly #series: readonly Series[];
  readonly #opts: EvalOptions;
  readonly #selected: Selected = new Map();

  constructor(series: readonly Series[], opts: EvalOptions) {
    this.#series = series;
    this.#opts = opts;
  }

  #select(e: Expr & { type: "selector" }): Series[] {
    let s = this.#selected.get(e);
    if (!s) this.#selected.set(e, (s = select(this.#series, e.matchers)));
    return s;
  }

  eval(e: Expr, t: number): Value {
    switch (e.type) {
      case "number":
        return { kind: "scalar", value: e.value };
      case "selector": {
        if (e.rangeSeconds !== undefined) throw new PromQLError("a range vector (metric[5m]) must be the argument of rate() or increase()");
        const samples: Sample[] = [];
        for (const s of this.#select(e)) {
          const v = increaseIn(s, t - this.#opts.lookbackSeconds, t);
          if (v !== undefined) samples.push({ labels: s.labels, value: v });
        }
        return { kind: "vector", samples };
      }
      case "call":
        return e.fn === "histogram_quantile" ? this.#histogramQuantile(e.args, t) : this.#rate(e.fn, e.args[0]!, t);
      case "aggregate":
        return this.#aggregate(e, t);
      case "neg": {
        const v = this.eval(e.expr, t);
        return v.kind === "scalar" ? { kind: "scalar", value: -v.value } : { kind: "vector", samples: v.samples.map((s) => ({ labels: withoutName(s.labels), value: -s.value })) };
      }
      case "binary":
        return binary(e.op, this.eval(e.lhs, t), this.eval(e.rhs, t));
    }
  }

  #rate(fn: "rate" | "increase", arg: Expr, t: number): Value {
    if (arg.type !== "selector" || arg.rangeSeconds === undefined) throw new PromQLError(`${fn}() needs a range selector`);
    const range = Math.max(arg.rangeSeconds, MINUTE);
    const samples: Sample[] = [];
    for (const s of this.#select(arg)) {
      const inc = increaseIn(s, t - range, t);
      if (inc !== undefined) samples.push({ labels: withoutName(s.labels), value: fn === "rate" ? inc / range : inc });
    }
    return { kind: "vector", samples };
  }

  #histogramQuantile(args: Expr[], t: number): Value {
    const q = this.eval(args[0]!, t);
    const v = this.eval(args[1]!, t);
    if (q.kind !== "scalar") throw new PromQLError("histogram_quantile(): the first argument must be a number");
    if (v.kind !== "vector") throw new PromQLError("histogram_quantile(): the second argument must be an instant vector");
    const groups = new Map<string, { labels: Labels; buckets: { le: number; count: number }[] }>();
    for (const s of v.samples) {
      const le = s.labels.le;
      if (le === undefined) continue;
      const upper = le === "+Inf" ? Infinity : Number(le);
      if (Number.isNaN(upper)) continue;
      const { le: _, ...rest } = withoutName(s.labels);
      const key = labelsKey(rest);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { labels: rest, buckets: [] }));
      g.buckets.push({ le: upper, count: s.value });
    }
    return { kind: "vector", samples: [...groups.values()].map((g) => ({ labels: g.labels, value: bucketQuantile(q.value, g.buckets) })) };
  }

  #aggregate(e: Expr & { type: "aggregate" }, t: number): Value {
    const v = this.eval(e.expr, t);
    if (v.kind !== "vector") throw new PromQLError(`${e.op}(): expected an instant vector`);
    const groupOf = (labels: Labels): Labels => {
      if (e.by) return Object.fromEntries(e.by.filter((l) => labels[l] !== undefined && labels[l] !== "").map((l) => [l, labels[l]!]));
      if (!e.without) return {};
      const out = withoutName(labels);
      for (const l of e.without) delete out[l];
      return out;
    };
    const groups = new Map<string, { labels: Labels; samples: Sample[] }>();
    for (const s of v.samples) {
      const labels = groupOf(s.labels);
      const key = labelsKey(labels);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { labels, samples: [] }));
      g.samples.push(s);
    }
    if (e.op === "topk" || e.op === "bottomk") {
      const k = e.param ? this.eval(e.param, t) : undefined;
      if (!k || k.kind !== "scalar") throw new PromQLError(`${e.op}(): the first argument must be a number`);
      const n = Math.floor(k.value);
      const dir = e.op === "topk" ? -1 : 1;
      const out: Sample[] = [];
      for (const g of groups.values()) out.push(...g.samples.filter((s) => !Number.isNaN(s.value)).sort((a, b) => dir * (a.value - b.value)).slice(0, Math.max(0, n)));
      return { kind: "vector", samples: out.sort((a, b) => dir * (a.value - b.value)), ordered: true };
    }
    const op = e.op;
    return { kind: "vector", samples: [...groups.values()].map((g) => ({ labels: g.labels, value: fold(op, g.samples.map((s) => s.value)) })) };
  }
}

function fold(op: Exclude<AggOp, "topk" | "bottomk">, values: number[]): number {
  switch (op) {
    case "sum":
      return values.reduce((a, b) => a + b, 0);
    case "avg":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "min":
      return Math.min(...values);
    case "max":
      return Math.max(...values);
    case "count":
      return values.length;
    case "group":
      return 1;
  }
}

/** `or` is set union, not arithmetic: only between two instant vectors. */
function arith(op: BinOp, a: number, b: number): number {
  if (op === "or") throw new PromQLError('"or" needs instant vectors on both sides');
  return applyArithmetic(op, a, b);
}

/** A binary operation: scalars, a vector with a scalar, or two vectors matched on all their labels but the name. */
function binary(op: BinOp, l: Value, r: Value): Value {
  if (op === "or") {
    if (l.kind !== "vector" || r.kind !== "vector") throw new PromQLError('"or" needs instant vectors on both sides');
    const seen = new Set(l.samples.map((s) => labelsKey(withoutName(s.labels))));
    return { kind: "vector", samples: [...l.samples, ...r.samples.filter((s) => !seen.has(labelsKey(withoutName(s.labels))))] };
  }
  if (l.kind === "scalar" && r.kind === "scalar") return { kind: "scalar", value: arith(op, l.value, r.value) };
  if (l.kind === "vector" && r.kind === "scalar") return { kind: "vector", samples: l.samples.map((s) => ({ labels: withoutName(s.labels), value: arith(op, s.value, r.value) })) };
  if (l.kind === "scalar" && r.kind === "vector") return { kind: "vector", samples: r.samples.map((s) => ({ labels: withoutName(s.labels), value: arith(op, l.value, s.value) })) };
  const rights = new Map<string, Sample>();
  for (const s of (r as { samples: Sample[] }).samples) {
    const key = labelsKey(withoutName(s.labels));
    if (rights.has(key)) throw new PromQLError("found duplicate series for the match group on the right-hand side of the operation; many-to-one matching is not supported");
    rights.set(key, s);
  }
  const out: Sample[] = [];
  const lefts = new Set<string>();
  for (const s of (l as { samples: Sample[] }).samples) {
    const labels = withoutName(s.labels);
    const key = labelsKey(labels);
    if (lefts.has(key)) throw new PromQLError("found duplicate series for the match group on the left-hand side of the operation; many-to-one matching is not supported");
    lefts.add(key);
    const other = rights.get(key);
    if (other) out.push({ labels, value: arith(op, s.value, other.value) });
  }
  return { kind: "vector", samples: out };
}

/** Prometheus' quantile from cumulative buckets: linear within the bucket the rank falls in. */
export function bucketQuantile(q: number, buckets: { le: number; count: number }[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1]!.le !== Infinity) return NaN;
  // Counts that fall with a larger bound (rounding, merges) are raised, as Prometheus does.
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.count < sorted[i - 1]!.count) sorted[i] = { ...sorted[i]!, count: sorted[i - 1]!.count };
  const total = sorted[sorted.length - 1]!.count;
  if (total === 0) return NaN;
  let rank = q * total;
  const b = sorted.findIndex((x) => x.count >= rank);
  if (b === sorted.length - 1) return sorted[sorted.length - 2]!.le;
  if (b === 0 && sorted[0]!.le <= 0) return sorted[0]!.le;
  let start = 0;
  let count = sorted[b]!.count;
  if (b > 0) {
    start = sorted[b - 1]!.le;
    count -= sorted[b - 1]!.count;
    rank -= sorted[b - 1]!.count;
  }
  return start + (sorted[b]!.le - start) * (rank / count);
}

/** How far before the first evaluation time the query reads, in seconds. */
export function lookbackOf(e: Expr, opts: EvalOptions): number {
  switch (e.type) {
    case "number":
      return 0;
    case "selector":
      return e.rangeSeconds !== undefined ? Math.max(e.rangeSeconds, MINUTE) : opts.lookbackSeconds;
    case "call":
      return Math.max(...e.args.map((a) => lookbackOf(a, opts)));
    case "aggregate":
      return Math.max(lookbackOf(e.expr, opts), e.param ? lookbackOf(e.param, opts) : 0);
    case "neg":
      return lookbackOf(e.expr, opts);
    case "binary":
      return Math.max(lookbackOf(e.lhs, opts), lookbackOf(e.rhs, opts));
  }
}

/** The metric names a query's selectors may read (undefined: any). */
export function metricNamesOf(e: Expr): string[] | undefined {
  switch (e.type) {
    case "number":
      return [];
    case "selector": {
      const n = e.matchers.find((m) => m.name === "__name__" && m.op === "=");
      return n ? [n.value] : undefined;
    }
    case "call":
    case "aggregate":
    case "neg":
    case "binary": {
      const parts = e.type === "call" ? e.args : e.type === "aggregate" ? [e.expr, ...(e.param ? [e.param] : [])] : e.type === "neg" ? [e.expr] : [e.lhs, e.rhs];
      const out: string[] = [];
      for (const p of parts) {
        const names = metricNamesOf(p);
        if (!names) return undefined;
        out.push(...names);
      }
      return out;
    }
  }
}

/** Go's FormatFloat(v, 'f', -1, 64), as Prometheus writes sample values. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const s = String(v);
  if (!s.includes("e")) return s;
  const [mant, exp] = s.split("e") as [string, string];
  const e = Number(exp);
  const neg = mant.startsWith("-");
  const [int, frac = ""] = (neg ? mant.slice(1) : mant).split(".") as [string, string?];
  const digits = int + frac;
  const point = int.length + e;
  const body = point <= 0 ? `0.${"0".repeat(-point)}${digits}` : point >= digits.length ? digits + "0".repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (neg ? "-" : "") + body;
}

function byLabels(a: Sample, b: Sample): number {
  const ka = labelsKey(a.labels);
  const kb = labelsKey(b.labels);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export type QueryData =
  | { resultType: "vector"; result: { metric: Labels; value: [number, string] }[] }
  | { resultType: "scalar"; result: [number, string] }
  | { resultType: "matrix"; result: { metric: Labels; values: [number, string][] }[] };

/** /api/v1/query's `data` at `t` (epoch seconds). */
export function instantQuery(e: Expr, series: readonly Series[], t: number, opts: EvalOptions): QueryData {
  const v = new Evaluator(series, opts).eval(e, t);
  if (v.kind === "scalar") return { resultType: "scalar", result: [t, formatValue(v.value)] };
  const samples = v.ordered ? v.samples : [...v.samples].sort(byLabels);
  return { resultType: "vector", result: samples.map((s) => ({ metric: s.labels, value: [t, formatValue(s.value)] })) };
}

/** /api/v1/query_range's `data`: the query at start, start + step, ... up to end. */
export function rangeQuery(e: Expr, series: readonly Series[], range: { start: number; end: number; step: number }, opts: EvalOptions): QueryData {
  const ev = new Evaluator(series, opts);
  const out = new Map<string, { metric: Labels; values: [number, string][] }>();
  for (let i = 0; ; i++) {
    const t = range.start + i * range.step;
    if (t > range.end) break;
    const v = ev.eval(e, t);
    const samples = v.kind === "scalar" ? [{ labels: {}, value: v.value }] : v.samples;
    for (const s of samples) {
      const key = labelsKey(s.labels);
      let row = out.get(key);
      if (!row) out.set(key, (row = { metric: s.labels, values: [] }));
      row.values.push([t, formatValue(s.value)]);
    }
  }
  const result = [...out.values()].sort((a, b) => byLabels({ labels: a.metric, value: 0 }, { labels: b.metric, value: 0 }));
  return { resultType: "matrix", result };
}

/** The series of `all` any of the selectors matches (all of them when there are none). */
export function matchSeries(all: readonly Series[], selectors: Matcher[][]): Series[] {
  if (selectors.length === 0) return [...all];
  return all.filter((s) => selectors.some((ms) => ms.every((m) => matches(m, s.labels[m.name] ?? ""))));
}
