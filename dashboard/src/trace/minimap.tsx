/**
 * @module
 * The whole trace in small above the waterfall (a canvas: one line per span, so 10,000 spans cost
 * one draw), with the zoomed time window shaded. Dragging across it selects a window; Reset goes
 * back to the whole trace. Arrow keys on the focused minimap pan a zoomed window.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { formatDuration } from "../time-format.ts";
import type { TraceModel } from "./model.ts";
import type { TimeWindow } from "./waterfall.tsx";

const HEIGHT = 56;

export function Minimap({ model, window: win, onWindow }: { model: TraceModel; window: TimeWindow; onWindow: (w: TimeWindow) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const total = Math.max(1, model.tree.durationUs);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const draw = () => {
      const w = c.clientWidth;
      const dpr = window.devicePixelRatio || 1;
      c.width = Math.max(1, Math.round(w * dpr));
      c.height = Math.round(HEIGHT * dpr);
      const ctx = c.getContext("2d");
      if (!ctx) return;
      ctx.scale(dpr, dpr);
      const rows = model.tree.ordered;
      const rowH = Math.max(0.5, HEIGHT / Math.max(1, rows.length));
      for (let i = 0; i < rows.length; i++) {
        const n = rows[i]!;
        ctx.fillStyle = model.colours.get(n.service) ?? "#888";
        const x0 = (n.startUs / total) * w;
        ctx.fillRect(x0, (i / rows.length) * HEIGHT, Math.max(1, ((n.endUs - n.startUs) / total) * w), Math.max(1, rowH - (rowH > 3 ? 1 : 0)));
      }
    };
    draw();
    const ro = new ResizeObserver(draw);
    ro.observe(c);
    return () => ro.disconnect();
  }, [model, total]);

  const usAt = (clientX: number) => {
    const r = box.current!.getBoundingClientRect();
    return Math.max(0, Math.min(1, (clientX - r.left) / Math.max(1, r.width))) * total;
  };

  const onPointerDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    const at = usAt(e.clientX);
    setDrag({ from: at, to: at });
  };
  const onPointerMove = (e: PointerEvent) => {
    if (drag) setDrag({ from: drag.from, to: usAt(e.clientX) });
  };
  const onPointerUp = () => {
    if (!drag) return;
    const a = Math.min(drag.from, drag.to);
    const b = Math.max(drag.from, drag.to);
    setDrag(null);
    // A click (no real drag) is not a window.
    if (b - a > total / 500) onWindow({ startUs: a, endUs: b });
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const width = win.endUs - win.startUs;
    if (width >= total) return;
    const step = width / 4;
    let start = win.startUs;
    if (e.key === "ArrowLeft") start -= step;
    else if (e.key === "ArrowRight") start += step;
    else return;
    e.preventDefault();
    start = Math.max(0, Math.min(total - width, start));
    onWindow({ startUs: start, endUs: start + width });
  };

  const shown = drag ? { startUs: Math.min(drag.from, drag.to), endUs: Math.max(drag.from, drag.to) } : win;
  const l = (shown.startUs / total) * 100;
  const r = (shown.endUs / total) * 100;
  const zoomed = win.startUs > 0 || win.endUs < total;
  return (
    <div class="tv-minimap-wrap">
      <div
        ref={box}
        class="tv-minimap"
        role="slider"
        tabIndex={0}
        aria-label="Trace overview: drag to zoom into a time window"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={Math.round(win.startUs)}
        aria-valuetext={`${formatDuration(win.startUs)} to ${formatDuration(win.endUs)}`}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onKeyDown={onKeyDown}
      >
        <canvas ref={canvas} class="tv-minimap-canvas" />
        <div class="tv-shade" style={{ left: 0, width: `${l}%` }} />
        <div class="tv-shade" style={{ left: `${r}%`, right: 0 }} />
        <div class="tv-window" style={{ left: `${l}%`, width: `${Math.max(0.2, r - l)}%` }} />
      </div>
      <div class="tv-minimap-bar">
        <span class="muted">
          {zoomed ? `Showing ${formatDuration(win.startUs)} – ${formatDuration(win.endUs)} of ${formatDuration(total)}` : "Drag across the overview to zoom into a time window"}
        </span>
        {zoomed && (
          <button type="button" onClick={() => onWindow({ startUs: 0, endUs: total })}>
            Reset zoom
          </button>
        )}
      </div>
    </div>
  );
}
