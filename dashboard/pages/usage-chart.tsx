/** @jsxImportSource hono/jsx */
/** Usage per day as a server-drawn SVG bar chart: no script, so nothing for the CSP to allow. */
import type { FC } from "hono/jsx";

export interface UsageDay {
  /** YYYY-MM-DD (UTC). */
  day: string;
  spans: number;
  bytes: number;
}

/** Every day of the window, days without data as zeros, so bars keep their width and place. */
export function fillDays(rows: readonly UsageDay[], days: number, nowMs: number): UsageDay[] {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const out: UsageDay[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const day = new Date(nowMs - i * 86_400_000).toISOString().slice(0, 10);
    out.push(byDay.get(day) ?? { day, spans: 0, bytes: 0 });
  }
  return out;
}

const W = 720;
const H = 160;

export const UsageChart: FC<{ days: UsageDay[] }> = ({ days }) => {
  if (!days.some((d) => d.spans > 0)) return <p class="muted">No spans stored in the last {days.length} days.</p>;
  const max = Math.max(...days.map((d) => d.spans), 1);
  const bar = W / days.length;
  const totalSpans = days.reduce((n, d) => n + d.spans, 0);
  const totalBytes = days.reduce((n, d) => n + d.bytes, 0);
  return (
    <figure class="usage">
      <svg viewBox={`0 0 ${W} ${H + 20}`} role="img" aria-label={`Spans stored per day: ${totalSpans} spans over ${days.length} days`}>
        {days.map((d, i) => {
          const h = d.spans ? Math.max(2, (d.spans / max) * H) : 0;
          return (
            <g>
              <rect x={i * bar + 1} y={H - h} width={Math.max(1, bar - 2)} height={h} class="bar">
                <title>{`${d.day}: ${d.spans} spans, ${(d.bytes / 1e6).toFixed(2)} MB stored`}</title>
              </rect>
              {(i === 0 || i === days.length - 1) && (
                <text x={i * bar + bar / 2} y={H + 15} text-anchor="middle" class="axis">
                  {d.day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {totalSpans.toLocaleString("en-US")} spans accepted, {(totalBytes / 1e6).toFixed(2)} MB stored (by the day the spans started).
      </figcaption>
    </figure>
  );
};
