/**
 * The services page: every service of the project with its rate, error rate and p50/p99 over the
 * range (the service graph's node figures: the requests it served, its root spans included through
 * the `user` edge), a sparkline of each (TraceQL metrics by service: server and consumer spans,
 * which the per-minute rows answer; root spans for a service that has neither), sortable; a
 * service expands into its operations (the operations metrics API). Links go to the search page
 * filtered by service (and operation).
 */
import "../ui.css";
import "../service-map/service-map.css";
import { useEffect, useMemo, useState } from "preact/hooks";
import { getJson } from "../api.ts";
import { mount } from "../mount.tsx";
import { Sparkline } from "../service-map/charts.tsx";
import { errorFraction, formatMs, formatPercent, formatRate, kindName } from "../service-map/format.ts";
import type { ServiceGraph } from "../service-map/graph.ts";
import { searchHref } from "../service-map/links.ts";
import { redSeries, redSeriesByService, rootsOf, type Dense, type RedSeries } from "../service-map/metrics.ts";
import { fetchOperations, type OperationMetrics } from "../service-map/operations.ts";
import { RangePicker } from "../service-map/range-picker.tsx";
import { rangeFromUrl, windowOf, type Window } from "../service-map/range.ts";
import { SortHeader, sortRows, useSort } from "../service-map/sortable.tsx";

type Column = "name" | "rate" | "errors" | "p50" | "p99";

interface ServiceRow {
  name: string;
  rate: number;
  requests: number;
  failed: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function OperationsTable(props: { service: string; window: Window; range: string }) {
  const [ops, setOps] = useState<OperationMetrics[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sort, onSort] = useSort<Column>({ key: "rate", dir: "desc" });
  useEffect(() => {
    const ac = new AbortController();
    setOps(null);
    fetchOperations(props.service, props.window, ac.signal).then(setOps, (err: unknown) => !ac.signal.aborted && setError(message(err)));
    return () => ac.abort();
  }, [props.service, props.window]);
  if (error) return <p class="error-text">Operations could not be loaded: {error}</p>;
  if (!ops) return <p class="muted">Loading operations…</p>;
  if (!ops.length) return <p class="muted">No server, client, producer or consumer spans of this service in the range.</p>;
  const rows = sortRows(ops, sort, (o, k) => (k === "name" ? o.operation : k === "rate" ? o.rate : k === "errors" ? errorFraction(o.requests, o.errors) : k === "p50" ? o.p50Ms : o.p99Ms));
  return (
    <table class="sv" aria-label={`Operations of ${props.service}`}>
      <thead>
        <tr>
          <SortHeader label="Operation" column="name" sort={sort} onSort={onSort} />
          <th scope="col">Kind</th>
          <SortHeader label="Rate" column="rate" sort={sort} onSort={onSort} />
          <SortHeader label="Errors" column="errors" sort={sort} onSort={onSort} />
          <SortHeader label="p50" column="p50" sort={sort} onSort={onSort} />
          <SortHeader label="p99" column="p99" sort={sort} onSort={onSort} />
        </tr>
      </thead>
      <tbody>
        {rows.map((o) => {
          const err = errorFraction(o.requests, o.errors);
          return (
            <tr key={`${o.operation}\u0000${o.kind}`} data-operation={o.operation}>
              <td>
                <a href={searchHref({ service: props.service, operation: o.operation, range: props.range })}>{o.operation}</a>
              </td>
              <td>{kindName(o.kind)}</td>
              <td>{formatRate(o.rate)}</td>
              <td class={err > 0.05 ? "sv-failing" : undefined}>
                {formatPercent(err)} <span class="muted">({o.errors})</span>
              </td>
              <td>{formatMs(o.p50Ms)}</td>
              <td>{formatMs(o.p99Ms)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** A cell of the services table: a service's figure over the range and its sparkline (`label` names the chart). */
function SparkCell(props: { value: string; valueClass?: string; data: Dense | undefined; tone?: string; label: string }) {
  return (
    <td>
      <span class="sv-cell">
        <span class={props.valueClass}>{props.value}</span>
        <Sparkline data={props.data} tone={props.tone} label={props.label} />
      </span>
    </td>
  );
}

function ServicesPage() {
  const [range, setRange] = useState(rangeFromUrl);
  const [nonce, setNonce] = useState(0);
  const w = useMemo(() => windowOf(range), [range, nonce]);
  const [services, setServices] = useState<string[] | null>(null);
  const [graph, setGraph] = useState<ServiceGraph | null>(null);
  const [series, setSeries] = useState<Map<string, RedSeries> | null>(null);
  const [rootSeries, setRootSeries] = useState<ReadonlyMap<string, RedSeries>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [seriesError, setSeriesError] = useState<string | null>(null);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const [sort, onSort] = useSort<Column>({ key: "rate", dir: "desc" });

  useEffect(() => {
    const ac = new AbortController();
    setError(null);
    setSeriesError(null);
    setSeries(null);
    setRootSeries(new Map());
    Promise.all([getJson<{ data: string[] | null }>("/jaeger/api/services", {}, { signal: ac.signal }), getJson<ServiceGraph>("/api/service-graph", { start: w.start, end: w.end }, { signal: ac.signal })]).then(
      ([s, g]) => {
        setServices(s.data ?? []);
        setGraph(g);
      },
      (err: unknown) => !ac.signal.aborted && setError(message(err)),
    );
    // Sparklines walk the blocks of the range: they come after the table, and may fail alone.
    redSeriesByService(w, ac.signal).then(setSeries, (err: unknown) => !ac.signal.aborted && setSeriesError(message(err)));
    return () => ac.abort();
  }, [w]);

  // Services with requests but no server or consumer spans (their roots are INTERNAL spans): their
  // sparklines from their root spans, a block scan asked only for them.
  useEffect(() => {
    if (!series || !graph) return;
    const missing = graph.nodes.filter((n) => n.kind === "service" && n.requests > 0 && !series.has(n.id)).map((n) => n.id);
    if (!missing.length) return;
    const ac = new AbortController();
    Promise.all(missing.map(async (name) => [name, await redSeries(rootsOf(name), rootsOf(name, "status = error"), w, ac.signal)] as const)).then(
      (found) => setRootSeries(new Map(found)),
      (err: unknown) => !ac.signal.aborted && setSeriesError(message(err)),
    );
    return () => ac.abort();
  }, [series, graph]);

  const seconds = w.end - w.start;
  const rows: ServiceRow[] = useMemo(() => {
    const names = new Set([...(services ?? []), ...(graph?.nodes.filter((n) => n.kind === "service").map((n) => n.id) ?? [])]);
    return [...names].map((name) => {
      const n = graph?.nodes.find((x) => x.id === name && x.kind === "service");
      const requests = n?.requests ?? 0;
      const failed = n?.failed ?? 0;
      return { name, requests, failed, rate: requests / seconds, errors: errorFraction(requests, failed), p50Ms: n?.p50Ms ?? 0, p99Ms: n?.p99Ms ?? 0 };
    });
  }, [services, graph, seconds]);
  const sorted = sortRows(rows, sort, (r, k) => (k === "name" ? r.name : k === "rate" ? r.rate : k === "errors" ? r.errors : k === "p50" ? r.p50Ms : r.p99Ms));

  const toggle = (name: string) =>
    setOpen((o) => {
      const next = new Set(o);
      if (!next.delete(name)) next.add(name);
      return next;
    });

  return (
    <>
      <h1>Services</h1>
      <div class="toolbar">
        <RangePicker range={range} onChange={setRange} onRefresh={() => setNonce((n) => n + 1)} />
      </div>
      {error && <p class="notice error">The services could not be loaded: {error}</p>}
      {seriesError && <p class="error-text">Sparklines could not be loaded: {seriesError}</p>}
      {!graph && !error && <p class="muted">Loading…</p>}
      {graph && rows.length === 0 && <p class="muted">No services have sent spans in this range.</p>}
      {graph && rows.length > 0 && (
        <table class="sv">
          <caption class="muted">Requests each service served (server and consumer spans, and root spans of any kind) over the range; click a service for its operations.</caption>
          <thead>
            <tr>
              <SortHeader label="Service" column="name" sort={sort} onSort={onSort} />
              <SortHeader label="Rate" column="rate" sort={sort} onSort={onSort} />
              <SortHeader label="Errors" column="errors" sort={sort} onSort={onSort} />
              <SortHeader label="p50" column="p50" sort={sort} onSort={onSort} />
              <SortHeader label="p99" column="p99" sort={sort} onSort={onSort} />
              <th scope="col">Traces</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => {
              const s = series?.get(r.name) ?? rootSeries.get(r.name);
              const expanded = open.has(r.name);
              const rowId = `sv-ops-${sorted.indexOf(r)}`;
              return [
                <tr key={r.name} data-service={r.name}>
                  <th scope="row">
                    <span class="sv-name">
                      <button type="button" aria-expanded={expanded} aria-controls={rowId} onClick={() => toggle(r.name)}>
                        {r.name}
                      </button>
                    </span>
                  </th>
                  <SparkCell value={formatRate(r.rate)} data={s?.rate} label={`${r.name} requests per second over the range`} />
                  <SparkCell value={formatPercent(r.errors)} valueClass={r.errors > 0.05 ? "sv-failing" : undefined} data={s?.errorRatio} tone="sm-line-err" label={`${r.name} error percentage over the range`} />
                  <SparkCell value={formatMs(r.p50Ms)} data={s?.p50} tone="sm-line-b" label={`${r.name} p50 duration over the range`} />
                  <SparkCell value={formatMs(r.p99Ms)} data={s?.p99} label={`${r.name} p99 duration over the range`} />
                  <td>
                    <a href={searchHref({ service: r.name, range: range.id })} aria-label={`Search traces of ${r.name}`}>
                      Search
                    </a>
                  </td>
                </tr>,
                expanded && (
                  <tr key={`${r.name}\u0000ops`} id={rowId} class="sv-ops-row">
                    <td colSpan={6}>
                      <OperationsTable service={r.name} window={w} range={range.id} />
                    </td>
                  </tr>
                ),
              ];
            })}
          </tbody>
        </table>
      )}
    </>
  );
}

mount(() => <ServicesPage />);
