/**
 * @module
 * The traces found, as a table sortable by start, duration, span and error count (headers are buttons;
 * the sorted one carries aria-sort). A row links to its trace; ticking two rows offers a comparison.
 */
import type { ComponentChildren } from "preact";
import { formatAbsolute, formatDuration, formatRelative, plural } from "./format.ts";
import { serviceChipStyle } from "./colors.ts";
import type { Sort, SortKey } from "./query.ts";
import { MatchedSpans, type Matched } from "./matched-spans.tsx";
import type { HitSummary } from "../../../shared/trace-view/search-hit.ts";

/** A search hit's summary (shared/trace-view/search-hit.ts) with its trace's id and link. */
export interface Row extends HitSummary {
  traceID: string;
  href: string;
  /** The spans the query matched (each links into the trace at that span). */
  matched?: Matched;
}

export function sortRows(rows: readonly Row[], sort: Sort): Row[] {
  const value = (r: Row) => (sort.key === "start" ? r.startMs : sort.key === "duration" ? r.durationMs : sort.key === "errors" ? r.errors : r.spans);
  // Ties keep the newest first, whatever the column.
  return [...rows].sort((a, b) => (value(a) - value(b)) * (sort.desc ? -1 : 1) || b.startMs - a.startMs);
}

function SortHeader({ label, col, sort, onSort, children }: { label: string; col: SortKey; sort: Sort; onSort: (s: Sort) => void; children?: ComponentChildren }) {
  const active = sort.key === col;
  return (
    <th scope="col" aria-sort={active ? (sort.desc ? "descending" : "ascending") : undefined} class="sortable">
      <button type="button" onClick={() => onSort({ key: col, desc: active ? !sort.desc : true })}>
        {label}
        <span class="arrow" aria-hidden="true">
          {active ? (sort.desc ? " ▼" : " ▲") : " ↕"}
        </span>
      </button>
      {children}
    </th>
  );
}

export function Results(props: { rows: Row[]; sort: Sort; onSort: (s: Sort) => void; selected: string[]; onSelect: (ids: string[]) => void; compareHref: (a: string, b: string) => string; nowMs: number; showMatched?: boolean }) {
  const { rows, sort, selected } = props;
  const longest = Math.max(...rows.map((r) => r.durationMs), 0);
  const toggle = (id: string, on: boolean) => props.onSelect(on ? [...selected.filter((s) => s !== id), id].slice(-2) : selected.filter((s) => s !== id));
  // A click anywhere on a row opens the trace, unless it was on a control of its own.
  const openRow = (e: MouseEvent, href: string) => {
    const target = e.target as HTMLElement;
    if (target.closest("a, button, input, label") || window.getSelection()?.toString()) return;
    location.assign(href);
  };
  return (
    <div class="results">
      <div class="compare-bar" aria-live="polite">
        {selected.length === 2 ? (
          <a class="button primary" href={props.compareHref(selected[0]!, selected[1]!)}>
            Compare the two selected traces
          </a>
        ) : (
          <span class="muted">{selected.length === 1 ? "Select one more trace to compare." : "Tick two traces to compare them."}</span>
        )}
        {selected.length > 0 && (
          <button type="button" class="link" onClick={() => props.onSelect([])}>
            Clear selection
          </button>
        )}
      </div>
      <table class="traces">
        <caption class="sr-only">Traces found, {sort.key === "start" ? "by start time" : sort.key === "duration" ? "by duration" : sort.key === "errors" ? "by error count" : "by span count"}</caption>
        <thead>
          <tr>
            <th scope="col" class="select">
              <span class="sr-only">Compare</span>
            </th>
            <th scope="col">Root span</th>
            <SortHeader label="Started" col="start" sort={sort} onSort={props.onSort} />
            <SortHeader label="Duration" col="duration" sort={sort} onSort={props.onSort} />
            <SortHeader label="Spans" col="spans" sort={sort} onSort={props.onSort} />
            <SortHeader label="Errors" col="errors" sort={sort} onSort={props.onSort} />
            <th scope="col">Services</th>
            <th scope="col">Trace ID</th>
          </tr>
        </thead>
        <tbody>
          {sortRows(rows, sort).map((r) => (
            <tr key={r.traceID} data-trace-id={r.traceID} class={[r.errors ? "has-errors" : "", selected.includes(r.traceID) ? "selected" : ""].join(" ").trim() || undefined} onClick={(e) => openRow(e, r.href)}>
              <td class="select">
                <input type="checkbox" aria-label={`Select trace ${r.traceID.slice(0, 8)} to compare`} checked={selected.includes(r.traceID)} onChange={(e) => toggle(r.traceID, e.currentTarget.checked)} />
              </td>
              <td class="root">
                <span class="chip" style={serviceChipStyle(r.rootService)}>
                  {r.rootService || "unknown service"}
                </span>
                <a href={r.href} class="root-name">
                  {r.rootName || "(root span not received)"}
                </a>
                {props.showMatched && r.matched && <MatchedSpans matched={r.matched} traceHref={r.href} traceID={r.traceID} />}
              </td>
              <td title={formatAbsolute(r.startMs)} data-label="Started">
                <time dateTime={new Date(r.startMs).toISOString()}>{formatRelative(r.startMs, props.nowMs)}</time>
              </td>
              <td class="num" data-label="Duration">
                <span class="bar" style={{ width: `${longest > 0 ? Math.max(1, (r.durationMs / longest) * 100) : 0}%` }} aria-hidden="true" />
                {formatDuration(r.durationMs)}
              </td>
              <td class="num" data-label="Spans">{r.spans.toLocaleString()}</td>
              <td class={r.errors ? "num error-text" : "num muted"} data-label="Errors">{r.errors ? r.errors.toLocaleString() : "–"}</td>
              <td class="services">
                {r.services.map((s) => (
                  <span key={s.name} class={s.errors ? "chip small with-errors" : "chip small"} style={serviceChipStyle(s.name)} title={`${s.name}: ${plural(s.spans, "span")}${s.errors ? `, ${plural(s.errors, "error")}` : ""}`}>
                    {s.name} {s.spans}
                    {s.errors ? <span class="chip-errors"> · {s.errors} err</span> : null}
                  </span>
                ))}
              </td>
              <td class="mono trace-id" data-label="Trace ID">
                <a href={r.href} tabIndex={-1}>
                  {r.traceID.slice(0, 16)}
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

