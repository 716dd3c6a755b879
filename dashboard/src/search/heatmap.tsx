/**
 * @module
 * Span durations over the whole window searched, as a heatmap (time across, power-of-two duration
 * buckets up, darker = more spans), from TraceQL metrics' `histogram_over_time(duration)` over the
 * search's query: unlike the scatter, which plots the traces returned, it covers every matching
 * span of the window. SVG by Preact; every cell has a title.
 */
import { formatAbsolute, formatDuration, plural } from "./format.ts";
import type { DurationHistogram } from "./data.ts";
import { timeTicks } from "./scatter.tsx";

const WIDTH = 960;

/** The bucket's k: its upper bound is 2^k nanoseconds (Tempo's histogram buckets). */
const bucketOf = (upperSeconds: number) => Math.round(Math.log2(upperSeconds * 1e9));
const ROW = 14;
const M = { top: 8, right: 16, bottom: 30, left: 64 };

export function Heatmap({ histogram }: { histogram: DurationHistogram }) {
  const { cells, startMs, endMs, stepMs } = histogram;
  if (!cells.length) return null;
  // Rows: every bucket (2^k ns upper bounds) from the shortest to the longest seen, so gaps show
  // as empty rows.
  const bounds = cells.map((c) => bucketOf(c.upperSeconds));
  const low = Math.min(...bounds);
  const high = Math.max(...bounds);
  const rows = high - low + 1;
  const height = M.top + rows * ROW + M.bottom;
  const plotW = WIDTH - M.left - M.right;
  const columns = Math.max(1, Math.ceil((endMs - startMs) / stepMs));
  const cellW = plotW / columns;
  const x = (t: number) => M.left + ((t - startMs) / (endMs - startMs)) * plotW;
  const y = (upper: number) => M.top + (high - bucketOf(upper)) * ROW;
  const most = Math.max(...cells.map((c) => c.count));
  const total = cells.reduce((n, c) => n + c.count, 0);
  const labelRows = [...Array(rows).keys()].filter((i) => i % Math.max(1, Math.ceil(rows / 5)) === 0);
  return (
    <figure class="heatmap" aria-label="Span durations over the window">
      <figcaption>
        Span durations over the whole window <span class="muted">({plural(total, "matching span")})</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${height}`} width="100%" role="img" aria-label={`Heatmap of ${plural(total, "span")} by duration and time`}>
        <g class="axis">
          {labelRows.map((i) => {
            return (
              <text key={i} x={M.left - 6} y={M.top + i * ROW + ROW - 3} text-anchor="end">
                ≤ {formatDuration(2 ** (high - i) / 1e6)}
              </text>
            );
          })}
          {timeTicks(startMs, endMs).map((t) => (
            <text key={t} x={x(t)} y={height - 10} text-anchor="middle">
              {new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}
            </text>
          ))}
        </g>
        {cells.map((c) => (
          <rect key={`${c.timestampMs}:${c.upperSeconds}`} class="cell" data-bucket={bucketOf(c.upperSeconds)} x={x(c.timestampMs)} y={y(c.upperSeconds)} width={Math.max(1, cellW - 1)} height={ROW - 1} fill-opacity={0.2 + 0.8 * (Math.log1p(c.count) / Math.log1p(most))}>
            <title>{`${plural(c.count, "span")} of ≤ ${formatDuration(c.upperSeconds * 1000)} from ${formatAbsolute(c.timestampMs)}`}</title>
          </rect>
        ))}
      </svg>
    </figure>
  );
}
