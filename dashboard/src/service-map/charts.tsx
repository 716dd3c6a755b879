/**
 * @module
 * Small SVG charts drawn by Preact: a line chart with a y scale and the window's start and end
 * (the side panel), and a sparkline (the services table). Values are per bucket; null is a gap.
 */
import type { Dense } from "./metrics.ts";
import { formatTime } from "./format.ts";

export interface Line {
  name: string;
  /** A CSS class giving the stroke colour (sm-line-a, sm-line-b, sm-line-err). */
  tone: string;
  data: Dense;
}

/** Polyline paths, one per run of non-null values; a lone value becomes a tiny segment. */
function paths(values: (number | null)[], x: (i: number) => number, y: (v: number) => number): string {
  let d = "";
  let open = false;
  values.forEach((v, i) => {
    if (v === null) {
      open = false;
      return;
    }
    const px = x(i).toFixed(1);
    const py = y(v).toFixed(1);
    const alone = !open && (values[i + 1] ?? null) === null;
    d += open ? `L${px} ${py}` : alone ? `M${(x(i) - 1).toFixed(1)} ${py}L${(x(i) + 1).toFixed(1)} ${py}` : `M${px} ${py}`;
    open = true;
  });
  return d;
}

function maxOf(lines: Line[]): number {
  let m = 0;
  for (const l of lines) for (const v of l.data.values) if (v !== null && v > m) m = v;
  return m;
}

export function LineChart(props: { title: string; lines: Line[]; format: (v: number) => string; max?: number }) {
  const W = 320;
  const H = 96;
  const padL = 6;
  const padR = 6;
  const padT = 16;
  const padB = 16;
  const first = props.lines[0]?.data;
  const n = first?.values.length ?? 0;
  const hasData = props.lines.some((l) => l.data.values.some((v) => v !== null && v > 0));
  const max = props.max ?? (maxOf(props.lines) || 1);
  const x = (i: number) => padL + (n <= 1 ? 0 : (i / (n - 1)) * (W - padL - padR));
  const y = (v: number) => padT + (1 - Math.min(v, max) / max) * (H - padT - padB);
  const spanSeconds = first ? (n * first.stepMs) / 1000 : 0;
  const summary = props.lines.map((l) => `${l.name} max ${props.format(maxOf([l]))}`).join(", ");
  return (
    <figure class="sm-chart">
      <figcaption>
        <span>{props.title}</span>
        <span class="sm-legend">
          {props.lines.length > 1 &&
            props.lines.map((l) => (
              <span key={l.name} class={`sm-key ${l.tone}`}>
                {l.name}
              </span>
            ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={hasData ? `${props.title}: ${summary}` : `${props.title}: no data`}>
        <line class="sm-axis" x1={padL} x2={W - padR} y1={H - padB} y2={H - padB} />
        <line class="sm-grid" x1={padL} x2={W - padR} y1={padT} y2={padT} />
        <text class="sm-tick" x={W - padR} y={padT - 4} text-anchor="end">
          {props.format(max)}
        </text>
        {first && (
          <>
            <text class="sm-tick" x={padL} y={H - 3}>
              {formatTime(first.startMs, spanSeconds)}
            </text>
            <text class="sm-tick" x={W - padR} y={H - 3} text-anchor="end">
              {formatTime(first.startMs + n * first.stepMs, spanSeconds)}
            </text>
          </>
        )}
        {hasData ? (
          props.lines.map((l) => <path key={l.name} class={`sm-line ${l.tone}`} d={paths(l.data.values, x, y)} />)
        ) : (
          <text class="sm-empty" x={W / 2} y={H / 2 + 4} text-anchor="middle">
            no data in this range
          </text>
        )}
      </svg>
    </figure>
  );
}

export function Sparkline(props: { data: Dense | undefined; label: string; tone?: string }) {
  const W = 96;
  const H = 24;
  const values = props.data?.values ?? [];
  const n = values.length;
  const max = maxOf(props.data ? [{ name: "", tone: "", data: props.data }] : []) || 1;
  const x = (i: number) => (n <= 1 ? 0 : (i / (n - 1)) * (W - 2) + 1);
  const y = (v: number) => 2 + (1 - v / max) * (H - 4);
  return (
    <svg class="sm-spark" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={props.label}>
      <line class="sm-axis" x1={0} x2={W} y1={H - 1} y2={H - 1} />
      {n > 0 && <path class={`sm-line ${props.tone ?? "sm-line-a"}`} d={paths(values, x, y)} />}
    </svg>
  );
}
