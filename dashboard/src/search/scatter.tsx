/**
 * @module
 * Duration over start time for the traces found, one dot per trace (red with errors), drawn as SVG
 * by Preact so that every label is text, never markup. Each dot is a link to its trace (keyboard
 * reachable, with a title for hover); its size grows with the span count.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { formatAbsolute, formatDuration, plural } from "./format.ts";

export interface Dot {
  traceID: string;
  label: string;
  startMs: number;
  durationMs: number;
  spans: number;
  errors: number;
  href: string;
}

const HEIGHT = 220;
const M = { top: 12, right: 16, bottom: 34, left: 64 };

/** About `count` round steps (1, 2, 5 × 10^n) covering 0..max. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
  const ticks: number[] = [];
  // The last tick is at or above max, so the highest dot stays inside the plot.
  for (let v = 0; ticks.length === 0 || ticks[ticks.length - 1]! < max - step * 1e-9; v += step) ticks.push(v);
  return ticks;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800].map((s) => s * 1000);

/** Round instants (in local time for steps under a day) between `from` and `to`, at most ~`count`. */
export function timeTicks(from: number, to: number, count = 6): number[] {
  const span = to - from;
  const step = TIME_STEPS.find((s) => span / s <= count) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  const offset = new Date(from).getTimezoneOffset() * 60_000;
  const first = Math.ceil((from - offset) / step) * step + offset;
  const ticks: number[] = [];
  for (let t = first; t <= to; t += step) ticks.push(t);
  return ticks;
}

function timeLabel(ms: number, span: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (span <= 10 * 60_000) return `${hm}:${pad(d.getSeconds())}`;
  if (span <= 86400_000) return hm;
  return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${hm}`;
}

export function Scatter({ dots }: { dots: Dot[] }) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(960);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(320, Math.floor(el.clientWidth)));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  if (!dots.length) return null;
  let t0 = Math.min(...dots.map((d) => d.startMs));
  let t1 = Math.max(...dots.map((d) => d.startMs));
  // A lone trace (or a burst within a second) still gets a readable axis around it.
  const pad = Math.max((t1 - t0) * 0.04, 30_000);
  t0 -= pad;
  t1 += pad;
  const yTicks = niceTicks(Math.max(...dots.map((d) => d.durationMs)) * 1.05 || 1);
  const yMax = yTicks[yTicks.length - 1]! || 1;
  const plotW = width - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;
  const x = (t: number) => M.left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (ms: number) => M.top + plotH - (ms / yMax) * plotH;
  const maxSpans = Math.max(...dots.map((d) => d.spans), 1);
  const radius = (spans: number) => 3.5 + 5 * Math.sqrt(spans / maxSpans);
  const errors = dots.filter((d) => d.errors > 0).length;

  return (
    <figure class="scatter" ref={box}>
      <figcaption>
        <span>Duration over time of the traces shown</span>
        <span class="legend">
          <span class="key ok">{plural(dots.length - errors, "trace")} without errors</span>
          <span class="key err">{plural(errors, "trace")} with errors</span>
        </span>
      </figcaption>
      <svg width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`} role="group" aria-label={`Duration over time: ${plural(dots.length, "trace")}; each dot links to its trace`}>
        <g class="axis" aria-hidden="true">
          {yTicks.map((v) => (
            <g key={`y${v}`}>
              <line class="grid" x1={M.left} x2={width - M.right} y1={y(v)} y2={y(v)} />
              <text x={M.left - 8} y={y(v)} text-anchor="end" dominant-baseline="middle">
                {v === 0 ? "0" : formatDuration(v)}
              </text>
            </g>
          ))}
          {timeTicks(t0, t1, Math.max(2, Math.floor(plotW / 110))).map((t) => (
            <g key={`x${t}`}>
              <line class="tick" x1={x(t)} x2={x(t)} y1={M.top + plotH} y2={M.top + plotH + 5} />
              <text x={x(t)} y={M.top + plotH + 18} text-anchor="middle">
                {timeLabel(t, t1 - t0)}
              </text>
            </g>
          ))}
          <line class="base" x1={M.left} x2={width - M.right} y1={M.top + plotH} y2={M.top + plotH} />
          <text class="title" transform={`translate(14 ${M.top + plotH / 2}) rotate(-90)`} text-anchor="middle">
            duration
          </text>
        </g>
        {/* Big dots first, so the small ones land on top and stay clickable. */}
        {[...dots]
          .sort((a, b) => b.spans - a.spans)
          .map((d) => {
            const title = `${d.label} · ${formatDuration(d.durationMs)} · ${plural(d.spans, "span")}${d.errors ? ` · ${plural(d.errors, "error")}` : ""} · ${formatAbsolute(d.startMs)}`;
            return (
              <a key={d.traceID} href={d.href} class={d.errors ? "dot err" : "dot ok"} data-trace-id={d.traceID} aria-label={title}>
                <title>{title}</title>
                <circle cx={x(d.startMs)} cy={y(d.durationMs)} r={radius(d.spans)} />
              </a>
            );
          })}
      </svg>
    </figure>
  );
}
