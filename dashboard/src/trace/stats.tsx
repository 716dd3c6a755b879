/**
 * @module
 * The statistics tab: traceStats per service and operation (or summed per service), sortable by
 * any column.
 */
import { useMemo, useState } from "preact/hooks";
import { traceStats, type OperationStats } from "../../../shared/trace-view/trace-stats.ts";
import { formatDuration } from "../time-format.ts";
import type { TraceModel } from "./model.ts";

type Key = "service" | "operation" | "count" | "totalUs" | "avgUs" | "minUs" | "maxUs" | "selfUs" | "errors";
const COLUMNS: { key: Key; label: string; numeric: boolean }[] = [
  { key: "service", label: "Service", numeric: false },
  { key: "operation", label: "Operation", numeric: false },
  { key: "count", label: "Count", numeric: true },
  { key: "totalUs", label: "Total", numeric: true },
  { key: "avgUs", label: "Avg", numeric: true },
  { key: "minUs", label: "Min", numeric: true },
  { key: "maxUs", label: "Max", numeric: true },
  { key: "selfUs", label: "Self time", numeric: true },
  { key: "errors", label: "Errors", numeric: true },
];

type Row = OperationStats & { avgUs: number };

function byService(rows: OperationStats[]): OperationStats[] {
  const out = new Map<string, OperationStats>();
  for (const r of rows) {
    const s = out.get(r.service);
    if (!s) out.set(r.service, { ...r, operation: `${rows.filter((x) => x.service === r.service).length} operations` });
    else {
      s.count += r.count;
      s.totalUs += r.totalUs;
      s.selfUs += r.selfUs;
      s.minUs = Math.min(s.minUs, r.minUs);
      s.maxUs = Math.max(s.maxUs, r.maxUs);
      s.errors += r.errors;
    }
  }
  return [...out.values()];
}

export function StatsTable({ model }: { model: TraceModel }) {
  const all = useMemo(() => traceStats(model.tree), [model]);
  const [group, setGroup] = useState<"operation" | "service">("operation");
  const [sort, setSort] = useState<{ key: Key; desc: boolean }>({ key: "selfUs", desc: true });
  const traceUs = Math.max(1, model.tree.durationUs);
  const rows: Row[] = (group === "service" ? byService(all) : all).map((r) => ({ ...r, avgUs: r.totalUs / r.count }));
  rows.sort((a, b) => {
    const x = a[sort.key];
    const y = b[sort.key];
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return sort.desc ? -c : c;
  });
  return (
    <div class="tv-stats">
      <div class="toolbar">
        <label class="tv-inline">
          Group by{" "}
          <select value={group} onChange={(e) => setGroup((e.currentTarget as HTMLSelectElement).value as "operation" | "service")}>
            <option value="operation">service and operation</option>
            <option value="service">service</option>
          </select>
        </label>
        <span class="muted">Self time: a span's duration not covered by its children (concurrent children counted once).</span>
      </div>
      <table class="tv-table">
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th key={c.key} scope="col" class={c.numeric ? "num" : ""} aria-sort={sort.key === c.key ? (sort.desc ? "descending" : "ascending") : "none"}>
                <button type="button" class="tv-sort" onClick={() => setSort({ key: c.key, desc: sort.key === c.key ? !sort.desc : c.numeric })}>
                  {c.label}
                  {sort.key === c.key ? (sort.desc ? " ▼" : " ▲") : ""}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.service}\u0000${r.operation}`}>
              <td>
                <span class="tv-cell-service">
                  <span class="tv-swatch" style={{ background: model.colours.get(r.service) }} />
                  {r.service}
                </span>
              </td>
              <td>{r.operation}</td>
              <td class="num">{r.count}</td>
              <td class="num">{formatDuration(r.totalUs)}</td>
              <td class="num">{formatDuration(r.avgUs)}</td>
              <td class="num">{formatDuration(r.minUs)}</td>
              <td class="num">{formatDuration(r.maxUs)}</td>
              <td class="num">
                {formatDuration(r.selfUs)} <span class="muted">({((r.selfUs / traceUs) * 100).toFixed(1)}%)</span>
              </td>
              <td class={`num${r.errors ? " error-text" : ""}`}>{r.errors}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
