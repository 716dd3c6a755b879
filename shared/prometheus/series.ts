/**
 * @module
 * The per-minute rows as the Prometheus series Tempo's metrics-generator would have written, named
 * and labelled as Grafana's Tempo datasource reads them:
 *
 * - edge rows: `traces_service_graph_request_total`, `..._request_failed_total`,
 *   `..._request_server_seconds_{bucket,sum,count}` (server span durations) and
 *   `..._request_client_seconds_{bucket,sum,count}` (client span durations), labelled `client`,
 *   `server` and `connection_type` ("" for a plain call, `database`, `messaging_system`,
 *   `virtual_node`); the root's caller is `client="user"` as in Tempo.
 * - operation rows: `traces_spanmetrics_calls_total` (`service`, `span_name`, `span_kind` as
 *   `SPAN_KIND_SERVER`..., `status_code`) and `traces_spanmetrics_latency_{bucket,sum,count}`
 *   (`service`, `span_name`, `span_kind`). The rows count errors but do not tell OK from UNSET, so
 *   calls are split into `STATUS_CODE_ERROR` and `STATUS_CODE_UNSET` (every span without an
 *   error); their one latency histogram covers both, so latency series carry no `status_code`
 *   and a latency query filtering on it finds nothing rather than a wrong answer.
 *
 * A series here is a counter's increase per minute: `points` maps a minute's start (epoch seconds)
 * to what the counter grew by in that minute. Histogram buckets `le` are powers of two in
 * milliseconds (1 ms to 65.536 s, and +Inf): those are exact bucket bounds of the rows' histograms
 * (shared/metrics/histogram.ts), so the cumulative bucket counts are exact. A minute without spans
 * has no point.
 */
import { LatencyHistogram } from "../metrics/histogram.ts";
import type { OperationRow } from "../metrics/red.ts";
import type { EdgeRow } from "../servicegraph/aggregate.ts";

export type Labels = Record<string, string>;

export interface Series {
  labels: Labels;
  /** Minute start (epoch seconds) to the counter's increase in that minute. */
  points: Map<number, number>;
}

export const SERVICE_GRAPH_PREFIX = "traces_service_graph_";
export const SPAN_METRICS_PREFIX = "traces_spanmetrics_";

/** Every metric served, with its Prometheus type and help, for /api/v1/metadata. */
export const METRICS: Record<string, { type: "counter" | "histogram"; help: string }> = {
  traces_service_graph_request_total: { type: "counter", help: "Requests between two nodes of the service graph." },
  traces_service_graph_request_failed_total: { type: "counter", help: "Failed requests between two nodes of the service graph." },
  traces_service_graph_request_server_seconds: { type: "histogram", help: "Server span durations of requests between two nodes, in seconds." },
  traces_service_graph_request_client_seconds: { type: "histogram", help: "Client span durations of requests between two nodes, in seconds." },
  traces_spanmetrics_calls_total: { type: "counter", help: "Spans per service, span name, kind and status." },
  traces_spanmetrics_latency: { type: "histogram", help: "Span durations per service, span name and kind, in seconds." },
};

/** Upper bounds of the histogram buckets, in ms: 2^0 .. 2^16. */
const LE_MS = Array.from({ length: 17 }, (_, k) => 2 ** k);
/** The rows' histograms have 8 buckets per doubling, so 2^k ms is the upper bound of bucket 8k. */
const BUCKETS_PER_DOUBLING = 8;

const SPAN_KINDS = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"];

/** Prometheus' name for an OTLP span kind number. */
export function spanKindLabel(kind: number): string {
  return SPAN_KINDS[kind] ?? "SPAN_KIND_UNSPECIFIED";
}

/** One identity for a label set: its pairs sorted by name. */
export function labelsKey(labels: Labels): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/** Series being built: points of one label set (and minute) added together. */
class SeriesBuilder {
  readonly #series = new Map<string, Series>();

  add(all: Labels, minute: number, value: number): void {
    // A label with an empty value is no label in Prometheus (connection_type of a plain call).
    const labels = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== ""));
    const key = labelsKey(labels);
    let s = this.#series.get(key);
    if (!s) this.#series.set(key, (s = { labels, points: new Map() }));
    s.points.set(minute, (s.points.get(minute) ?? 0) + value);
  }

  counter(name: string, labels: Labels, minute: number, value: number): void {
    if (value > 0) this.add({ __name__: name, ...labels }, minute, value);
  }

  /** `_bucket` (cumulative, per `le`), `_sum` (seconds) and `_count` of one encoded histogram; none when it is empty. */
  histogram(name: string, labels: Labels, minute: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const h = LatencyHistogram.decode(bytes);
    if (h.count === 0) return;
    const { zero, buckets } = h.buckets();
    let at = 0;
    let cumulative = zero;
    for (const le of LE_MS) {
      const top = Math.log2(le) * BUCKETS_PER_DOUBLING;
      while (at < buckets.length && buckets[at]![0] <= top) cumulative += buckets[at++]![1];
      this.add({ __name__: `${name}_bucket`, ...labels, le: String(le / 1000) }, minute, cumulative);
    }
    this.add({ __name__: `${name}_bucket`, ...labels, le: "+Inf" }, minute, h.count);
    this.add({ __name__: `${name}_sum`, ...labels }, minute, h.sum / 1000);
    this.add({ __name__: `${name}_count`, ...labels }, minute, h.count);
  }

  series(): Series[] {
    return [...this.#series.values()];
  }
}

/** The service-graph series of edge rows. */
export function edgeSeries(rows: Iterable<EdgeRow>): Series[] {
  const b = new SeriesBuilder();
  for (const r of rows) {
    const labels = { client: r.source, server: r.target, connection_type: r.connectionType };
    b.counter("traces_service_graph_request_total", labels, r.minute, r.requests);
    b.counter("traces_service_graph_request_failed_total", labels, r.minute, r.failed);
    b.histogram("traces_service_graph_request_server_seconds", labels, r.minute, r.serverDurations);
    b.histogram("traces_service_graph_request_client_seconds", labels, r.minute, r.clientDurations);
  }
  return b.series();
}

/** The span-metrics series of operation rows. */
export function operationSeries(rows: Iterable<OperationRow>): Series[] {
  const b = new SeriesBuilder();
  for (const r of rows) {
    const labels = { service: r.service, span_name: r.operation, span_kind: spanKindLabel(r.kind) };
    b.counter("traces_spanmetrics_calls_total", { ...labels, status_code: "STATUS_CODE_ERROR" }, r.minute, r.errors);
    b.counter("traces_spanmetrics_calls_total", { ...labels, status_code: "STATUS_CODE_UNSET" }, r.minute, r.count - r.errors);
    b.histogram("traces_spanmetrics_latency", labels, r.minute, r.durations);
  }
  return b.series();
}
