/**
 * @module
 * Arithmetic between TraceQL metrics queries and with numbers (`metrics.ts` parses it), on the
 * series each query answered, as Tempo's metrics math does:
 *
 * - A number is one series without labels, its value at every step.
 * - `a op b` matches series by their whole label set. The side it walks is the right one, unless
 *   the right has a series without labels, then the left; each walked series meets the other
 *   side's series with the same labels, else that side's series without labels, else it is left
 *   out. So `(errors by service) / (all)` divides each service by the total, `(by service) /
 *   (by service)` pairs equal services and drops a service missing on either side, and `(by
 *   service) + (by name)` is empty. Labels: the left's, then those of the right it lacks.
 * - Per step: a step without a sample on either side has none in the result (no data stays no
 *   data; Tempo's pull request for math reads it as 0, its own tests call that a bug), nor does
 *   `x / 0` (NaN, which Tempo leaves out). A series left with no sample is dropped.
 * - Exemplars of both sides are kept (then only those at a step with a sample, `exemplarsAtSamples`).
 * - A node's stages (topk, thresholds) run on its result; the series are sorted by their labels.
 */
import type { KeyValue } from "../model/span.ts";
import { applyStages, bucketCount, bucketOf, promLabels, type Bucketing, type Sample, type Series } from "./metrics-series.ts";
import type { ArithmeticOp, MetricsExpr } from "./metrics.ts";

const APPLY: Record<ArithmeticOp, (a: number, b: number) => number> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  "/": (a, b) => (b === 0 ? NaN : a / b),
};

const keyOf = (labels: KeyValue[]) => JSON.stringify(labels);

/** One binary operation on two sets of series (see the module comment). */
export function combineSeries(op: ArithmeticOp, left: Series[], right: Series[]): Series[] {
  const l = new Map(left.map((s) => [keyOf(s.labels), s]));
  const r = new Map(right.map((s) => [keyOf(s.labels), s]));
  const lBare = l.get("[]");
  const rBare = r.get("[]");
  const walked = rBare ? left : right;
  const out: Series[] = [];
  for (const s of walked) {
    const a = l.get(keyOf(s.labels)) ?? lBare;
    const b = r.get(keyOf(s.labels)) ?? rBare;
    if (!a || !b) continue;
    const bValues = new Map(b.samples.map((p) => [p.timestampMs, p.value]));
    const samples: Sample[] = [];
    for (const p of a.samples) {
      const v = bValues.get(p.timestampMs);
      if (v === undefined) continue;
      const value = APPLY[op](p.value, v);
      if (!Number.isNaN(value)) samples.push({ timestampMs: p.timestampMs, value });
    }
    if (!samples.length) continue;
    const labels = [...a.labels, ...b.labels.filter((x) => !a.labels.some((y) => y.key === x.key))];
    const exemplars = [...(a.exemplars ?? []), ...(b.exemplars ?? [])];
    out.push({ labels, samples, promLabels: promLabels(labels), ...(exemplars.length ? { exemplars } : {}) });
  }
  return out.sort((x, y) => x.promLabels.localeCompare(y.promLabels));
}

/** A number as a series: no labels, the value at every step. */
export function numberSeries(value: number, b: Bucketing): Series {
  const samples = Array.from({ length: bucketCount(b) }, (_, i) => ({ timestampMs: String(b.startMs + i * b.stepMs), value }));
  return { labels: [], samples, promLabels: promLabels([]) };
}

/**
 * The series of an expression, given each query's finished series (its own stages applied) in
 * the order of `metricsQueries(expr)`.
 */
export function evaluateMetricsExpr(expr: MetricsExpr, perQuery: readonly Series[][], b: Bucketing): Series[] {
  let next = 0;
  const walk = (e: MetricsExpr): Series[] => {
    if (e.kind === "query") return perQuery[next++] ?? [];
    if (e.kind === "number") return [numberSeries(e.value, b)];
    const left = walk(e.left);
    const right = walk(e.right);
    return applyStages(combineSeries(e.op, left, right), e.stages);
  };
  return walk(expr);
}

/** Keeps each series' exemplars that fall in a step with a sample (the others' steps were filtered out), as Tempo. */
export function exemplarsAtSamples(series: Series[], b: Bucketing): Series[] {
  return series.map((s) => {
    if (!s.exemplars) return s;
    const at = new Set(s.samples.map((p) => p.timestampMs));
    const exemplars = s.exemplars.filter((e) => {
      const i = bucketOf(b, Number(e.timestampMs));
      return i >= 0 && at.has(String(b.startMs + i * b.stepMs));
    });
    const { exemplars: _, ...rest } = s;
    return exemplars.length ? { ...rest, exemplars } : rest;
  });
}
