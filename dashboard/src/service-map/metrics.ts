/**
 * @module
 * Time series for the service pages from the TraceQL metrics API (`/api/metrics/query_range`,
 * Tempo's answer shape), turned into dense arrays over the window's buckets.
 *
 * Which spans stand for what (the service graph counts the same way, see
 * shared/servicegraph/aggregate.ts):
 * - a service: its SERVER and CONSUMER spans (the requests it served; answered from the per-minute
 *   rows), or, when it has none but the graph counts requests, its root spans (`rootsOf`: roots
 *   that are INTERNAL spans, which the rows cannot single out, so this second query scans);
 * - a service-to-service edge A -> B: B's SERVER/CONSUMER spans whose parent is a CLIENT/PRODUCER
 *   span of A (`{A client} > {B server}`), so durations are the server side, as the graph's p99;
 * - an edge into a virtual node (a database, an uninstrumented peer): A's CLIENT/PRODUCER spans
 *   naming that peer in one of the attributes the graph names peers by;
 * - a virtual node: every CLIENT/PRODUCER span naming it (the graph's client-side view of it);
 * - `user` -> B: B's root spans, of any kind; the `user` node itself has no spans of its own;
 * - a messaging edge A -> B with no parent-child pairs (B's consumer roots linked to A's producer
 *   spans in other traces): B's CONSUMER roots with a link (`linkedConsumersOf`), whichever
 *   service produced what they link to (TraceQL cannot follow a link to another trace).
 *
 * The peer rule is an approximation: the graph names a peer by the first attribute present, the
 * query matches the name in any of them.
 */
import { getJson } from "../api.ts";
import type { Window } from "./range.ts";

interface TempoSeries {
  labels: { key: string; value: { stringValue?: string; doubleValue?: number; intValue?: string } }[];
  samples: { timestampMs: string; value: number }[];
}

/** Values per bucket of the window; null where there is no value (a quantile with no spans). */
export interface Dense {
  startMs: number;
  stepMs: number;
  values: (number | null)[];
}

/** A TraceQL string literal: quotes and backslashes escaped, so a name cannot end the string. */
export function traceqlString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t")}"`;
}

const SERVED = "(kind = server || kind = consumer)";
const CALLS = "(kind = client || kind = producer)";
// The span attributes the service graph names a virtual node by (shared/servicegraph/edges.ts).
const PEER_ATTRS = ["peer.service", "service.peer.name", "messaging.system", "server.address", "net.peer.name", "db.name", "db.namespace", "db.system", "db.system.name"];

const peerMatch = (name: string) => PEER_ATTRS.map((a) => `span.${a} = ${traceqlString(name)}`).join(" || ");

/** The spanset selecting the requests of a node or an edge (see the module comment). */
export function spansetFor(target: { node: string; kind: "service" | "virtual" } | { source: string; target: string; virtualTarget: boolean; fromUser: boolean }, extra = ""): string | undefined {
  const and = extra ? ` && ${extra}` : "";
  if ("node" in target) {
    if (target.node === "user" && target.kind === "virtual") return undefined;
    if (target.kind === "virtual") return `{ ${CALLS} && (${peerMatch(target.node)})${and} }`;
    return `{ resource.service.name = ${traceqlString(target.node)} && ${SERVED}${and} }`;
  }
  if (target.fromUser) return rootsOf(target.target, extra);
  if (target.virtualTarget) {
    return `{ resource.service.name = ${traceqlString(target.source)} && ${CALLS} && (${peerMatch(target.target)})${and} }`;
  }
  return `{ resource.service.name = ${traceqlString(target.source)} && ${CALLS} } > { resource.service.name = ${traceqlString(target.target)} && ${SERVED}${and} }`;
}

/** A service's root spans, whatever their kind (what the graph counts as `user` -> it). */
export function rootsOf(service: string, extra = ""): string {
  return `{ resource.service.name = ${traceqlString(service)} && span:parentID = nil${extra ? ` && ${extra}` : ""} }`;
}

/** A service's CONSUMER roots that carry a span link (the consumer side of linked messaging edges). */
export function linkedConsumersOf(service: string, extra = ""): string {
  return `{ resource.service.name = ${traceqlString(service)} && kind = consumer && span:parentID = nil && link:spanID != nil${extra ? ` && ${extra}` : ""} }`;
}

async function queryRange(q: string, w: Window, signal?: AbortSignal): Promise<TempoSeries[]> {
  const body = await getJson<{ series?: TempoSeries[] }>("/api/metrics/query_range", { q, start: w.start, end: w.end, step: w.step }, { signal });
  return body.series ?? [];
}

function dense(series: TempoSeries | undefined, w: Window, fill: number | null): Dense {
  const startMs = w.start * 1000;
  const stepMs = w.step * 1000;
  const n = Math.max(1, Math.ceil((w.end - w.start) / w.step));
  const values = new Array<number | null>(n).fill(fill);
  for (const s of series?.samples ?? []) {
    const i = Math.round((Number(s.timestampMs) - startMs) / stepMs);
    if (i >= 0 && i < n) values[i] = s.value;
  }
  return { startMs, stepMs, values };
}

const labelValue = (s: TempoSeries, key: string) => {
  const v = s.labels.find((l) => l.key === key)?.value;
  return v?.stringValue ?? (v?.doubleValue !== undefined ? String(v.doubleValue) : undefined);
};

export interface RedSeries {
  /** Requests per second. */
  rate: Dense;
  /** Failed requests as a fraction of requests, null where there were none. */
  errorRatio: Dense;
  /** Durations in ms. */
  p50: Dense;
  p99: Dense;
}

function ratio(errors: Dense, rate: Dense): Dense {
  return { ...rate, values: rate.values.map((r, i) => (r ? (errors.values[i] ?? 0) / r : null)) };
}

const toMs = (d: Dense): Dense => ({ ...d, values: d.values.map((v) => (v === null ? null : v * 1000)) });

/** Rate, error ratio and p50/p99 over the window for one spanset (and the same with errors only). */
export async function redSeries(spanset: string, errSpanset: string, w: Window, signal?: AbortSignal): Promise<RedSeries> {
  const [rate, errors, quantiles] = await Promise.all([
    queryRange(`${spanset} | rate()`, w, signal),
    queryRange(`${errSpanset} | rate()`, w, signal),
    queryRange(`${spanset} | quantile_over_time(duration, 0.5, 0.99)`, w, signal),
  ]);
  const r = dense(rate[0], w, 0);
  const q = (p: string) => toMs(dense(quantiles.find((s) => labelValue(s, "p") === p), w, null));
  return { rate: r, errorRatio: ratio(dense(errors[0], w, 0), r), p50: q("0.5"), p99: q("0.99") };
}

/** A spanset and the same with errors only. */
export interface Spansets {
  spanset: string;
  errorSpanset: string;
}

/** `redSeries` of `primary`, or of `fallback` when `primary` saw no request in the window. */
export async function redSeriesOr(primary: Spansets, fallback: Spansets | undefined, w: Window, signal?: AbortSignal): Promise<RedSeries> {
  const first = await redSeries(primary.spanset, primary.errorSpanset, w, signal);
  if (!fallback || first.rate.values.some((v) => v !== null && v > 0)) return first;
  return redSeries(fallback.spanset, fallback.errorSpanset, w, signal);
}

/** The same three figures for every service at once (`by(resource.service.name)`), keyed by service. */
export async function redSeriesByService(w: Window, signal?: AbortSignal): Promise<Map<string, RedSeries>> {
  const by = "by(resource.service.name)";
  const [rate, errors, quantiles] = await Promise.all([
    queryRange(`{ ${SERVED} } | rate() ${by}`, w, signal),
    queryRange(`{ ${SERVED} && status = error } | rate() ${by}`, w, signal),
    queryRange(`{ ${SERVED} } | quantile_over_time(duration, 0.5, 0.99) ${by}`, w, signal),
  ]);
  const key = "resource.service.name";
  const out = new Map<string, RedSeries>();
  for (const s of rate) {
    const name = labelValue(s, key);
    if (name === undefined) continue;
    const r = dense(s, w, 0);
    const err = dense(errors.find((e) => labelValue(e, key) === name), w, 0);
    const q = (p: string) => toMs(dense(quantiles.find((x) => labelValue(x, key) === name && labelValue(x, "p") === p), w, null));
    out.set(name, { rate: r, errorRatio: ratio(err, r), p50: q("0.5"), p99: q("0.99") });
  }
  return out;
}
