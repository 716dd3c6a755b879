/** @jsxImportSource hono/jsx */
/** Usage per day as a server-drawn SVG bar chart: no script, so nothing for the CSP to allow. */
import type { FC } from "hono/jsx";
import type { UsageDay } from "../../shared/db/queries/usage.ts";

export type { UsageDay };

/** Every day of the window, days without data as zeros, so bars keep their width and place. */
export function fillDays(rows: readonly UsageDay[], days: number, nowMs: number): UsageDay[] {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const out: UsageDay[] = [];
  for (let i = days - 1; i >= 0; i--) {
    const day = new Date(nowMs - i * 86_400_000).toISOString().slice(0, 10);
    out.push(byDay.get(day) ?? { day, spansAccepted: 0, spansRejected: 0, bytes: 0 });
  }
  return out;
}

const W = 720;
const H = 160;
const fmt = (n: number) => n.toLocaleString("en-US");

/** Accepted spans as bars, rejected stacked on top in the error colour; bytes stored in the tooltip and caption. */
export const UsageChart: FC<{ days: UsageDay[] }> = ({ days }) => {
  const total = (f: (d: UsageDay) => number) => days.reduce((n, d) => n + f(d), 0);
  const accepted = total((d) => d.spansAccepted);
  const rejected = total((d) => d.spansRejected);
  const bytes = total((d) => d.bytes);
  if (accepted + rejected === 0 && bytes === 0) return <p class="muted">No spans received in the last {days.length} days.</p>;
  const max = Math.max(...days.map((d) => d.spansAccepted + d.spansRejected), 1);
  const bar = W / days.length;
  const height = (n: number) => (n ? Math.max(2, (n / max) * H) : 0);
  return (
    <figure class="usage">
      <svg viewBox={`0 0 ${W} ${H + 20}`} role="img" aria-label={`Spans per day over ${days.length} days: ${accepted} accepted, ${rejected} rejected`}>
        {days.map((d, i) => {
          const a = height(d.spansAccepted);
          const r = height(d.spansRejected);
          return (
            <g>
              <title>{`${d.day}: ${fmt(d.spansAccepted)} spans accepted, ${fmt(d.spansRejected)} rejected, ${(d.bytes / 1e6).toFixed(2)} MB stored`}</title>
              <rect x={i * bar + 1} y={H - a} width={Math.max(1, bar - 2)} height={a} class="bar" />
              <rect x={i * bar + 1} y={H - a - r} width={Math.max(1, bar - 2)} height={r} class="bar rejected" />
              {(i === 0 || i === days.length - 1) && (
                // First label from the left edge, last to the right edge: never clipped.
                <text x={i === 0 ? 0 : W} y={H + 15} text-anchor={i === 0 ? "start" : "end"} class="axis">
                  {d.day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <span class="key accepted">{fmt(accepted)} spans accepted</span>, <span class="key rejected">{fmt(rejected)} rejected</span>, {(bytes / 1e6).toFixed(2)} MB stored (spans by
        the day they were received; bytes by the day their block starts).
      </figcaption>
    </figure>
  );
};
