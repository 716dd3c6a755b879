/**
 * Rate, error percentage and p50/p99 charts of one spanset (or of `fallback` when the spanset saw
 * no request), loaded from the TraceQL metrics API.
 */
import { useEffect, useState } from "preact/hooks";
import { LineChart } from "./charts.tsx";
import { formatMs, formatPercent, formatRate } from "./format.ts";
import { redSeriesOr, type RedSeries, type Spansets } from "./metrics.ts";
import type { Window } from "./range.ts";

export function RedCharts(props: { spanset: string; errorSpanset: string; fallback?: Spansets; window: Window }) {
  const [series, setSeries] = useState<RedSeries | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ac = new AbortController();
    setSeries(null);
    setError(null);
    redSeriesOr(props, props.fallback, props.window, ac.signal).then(setSeries, (err: unknown) => {
      if (!ac.signal.aborted) setError(err instanceof Error ? err.message : String(err));
    });
    return () => ac.abort();
  }, [props.spanset, props.errorSpanset, props.fallback?.spanset, props.window]);
  if (error) return <p class="error-text">Charts could not be loaded: {error}</p>;
  if (!series) return <p class="muted" aria-live="polite">Loading charts…</p>;
  return (
    <div class="sm-charts" data-charts="loaded">
      <LineChart title="Requests" lines={[{ name: "rate", tone: "sm-line-a", data: series.rate }]} format={formatRate} />
      <LineChart title="Errors" lines={[{ name: "errors", tone: "sm-line-err", data: series.errorRatio }]} format={formatPercent} />
      <LineChart
        title="Duration"
        lines={[
          { name: "p50", tone: "sm-line-b", data: series.p50 },
          { name: "p99", tone: "sm-line-a", data: series.p99 },
        ]}
        format={formatMs}
      />
    </div>
  );
}
