/**
 * @module
 * The flame graph: spans stacked by depth, width by duration. Clicking a span zooms to it (its
 * time range and the spans under it) and selects it; the breadcrumb goes back out. Spans too
 * narrow to see at the current zoom are not put in the DOM.
 */
import { useMemo, useState } from "preact/hooks";
import type { SpanNode } from "../../../shared/trace-view/span-tree.ts";
import { formatDuration } from "../time-format.ts";
import type { TraceModel } from "./model.ts";

const ROW = 22;
/** Narrower than this share of the view (about a pixel at common widths) is not drawn. */
const MIN_WIDTH_PCT = 0.08;

/**
 * Rows for the flame graph. Siblings that overlap in time (parallel calls) cannot share a row, so
 * each span's children are packed into lanes (first lane free at the child's start), and lanes are
 * stacked under the span, each as tall as its tallest subtree. A subtree's rows are contiguous.
 */
export function flameRows(roots: readonly SpanNode[]): { row: Map<SpanNode, number>; height: Map<SpanNode, number>; total: number } {
  const height = new Map<SpanNode, number>();
  const lanesOf = new Map<SpanNode, SpanNode[][]>();
  const measure = (n: SpanNode): number => {
    const lanes: { end: number; nodes: SpanNode[] }[] = [];
    for (const c of n.children) {
      const lane = lanes.find((l) => l.end <= c.startUs);
      if (lane) {
        lane.end = c.endUs;
        lane.nodes.push(c);
      } else lanes.push({ end: c.endUs, nodes: [c] });
    }
    let h = 1;
    for (const l of lanes) h += l.nodes.reduce((m, c) => Math.max(m, measure(c)), 0);
    lanesOf.set(n, lanes.map((l) => l.nodes));
    height.set(n, h);
    return h;
  };
  const row = new Map<SpanNode, number>();
  const place = (n: SpanNode, r: number) => {
    row.set(n, r);
    let offset = r + 1;
    for (const lane of lanesOf.get(n) ?? []) {
      for (const c of lane) place(c, offset);
      offset += lane.reduce((m, c) => Math.max(m, height.get(c)!), 0);
    }
  };
  // Roots share rows the same way, as lanes of an imaginary parent.
  let total = 0;
  const rootLanes: { end: number; nodes: SpanNode[] }[] = [];
  for (const r of [...roots].sort((a, b) => a.startUs - b.startUs)) {
    measure(r);
    const lane = rootLanes.find((l) => l.end <= r.startUs);
    if (lane) {
      lane.end = r.endUs;
      lane.nodes.push(r);
    } else rootLanes.push({ end: r.endUs, nodes: [r] });
  }
  for (const lane of rootLanes) {
    for (const r of lane.nodes) place(r, total);
    total += lane.nodes.reduce((m, r) => Math.max(m, height.get(r)!), 0);
  }
  return { row, height, total };
}

export function FlameGraph({ model, selected, onSelect }: { model: TraceModel; selected: SpanNode | undefined; onSelect: (n: SpanNode) => void }) {
  const [focus, setFocus] = useState<SpanNode | undefined>(undefined);
  const startUs = focus ? focus.startUs : 0;
  const endUs = focus ? focus.endUs : model.tree.durationUs;
  const width = Math.max(1, endUs - startUs);
  const layout = useMemo(() => flameRows(model.tree.roots), [model]);
  const baseRow = focus ? layout.row.get(focus)! : 0;
  const rows = focus ? layout.height.get(focus)! : layout.total;

  // What to draw: the focused span's subtree (or everything), clipped to the window.
  const nodes: SpanNode[] = [];
  const inFocus = (n: SpanNode) => {
    if (!focus) return true;
    for (let p: SpanNode | undefined = n; p; p = p.parent) if (p === focus) return true;
    return false;
  };
  for (const n of model.tree.ordered) {
    if (n.endUs < startUs || n.startUs > endUs) continue;
    const w = ((Math.min(n.endUs, endUs) - Math.max(n.startUs, startUs)) / width) * 100;
    if (w < MIN_WIDTH_PCT && n.endUs - n.startUs > 0) continue;
    if (!inFocus(n)) continue;
    nodes.push(n);
  }
  const path: SpanNode[] = [];
  for (let p = focus; p; p = p.parent) path.unshift(p);

  return (
    <div class="tv-flame-wrap">
      <nav class="tv-crumbs" aria-label="Flame graph zoom">
        <button type="button" class="link" onClick={() => setFocus(undefined)} disabled={!focus}>
          Whole trace
        </button>
        {path.map((p) => (
          <span key={p.span.spanId}>
            {" › "}
            <button type="button" class="link" onClick={() => setFocus(p)} disabled={p === focus}>
              {p.span.name}
            </button>
          </span>
        ))}
        <span class="muted"> · {formatDuration(width)} · click or press Enter on a span to zoom into it</span>
      </nav>
      <div class="tv-flame" role="group" aria-label="Flame graph" style={{ height: `${rows * ROW}px` }}>
        {nodes.map((n) => {
          const l = ((Math.max(n.startUs, startUs) - startUs) / width) * 100;
          const w = ((Math.min(n.endUs, endUs) - Math.max(n.startUs, startUs)) / width) * 100;
          const err = n.span.status.code === 2;
          return (
            // Buttons, so the flame graph is usable from the keyboard too (Tab, Enter).
            <button
              type="button"
              key={n.span.spanId}
              class={`tv-flame-span${n === selected ? " selected" : ""}${err ? " err" : ""}`}
              data-span-id={n.span.spanId}
              aria-label={`${n.service}: ${n.span.name}, ${formatDuration(n.endUs - n.startUs)}${err ? ", error" : ""}`}
              aria-pressed={n === selected}
              title={`${n.service}: ${n.span.name} (${formatDuration(n.endUs - n.startUs)})`}
              style={{ left: `${l}%`, width: `max(1px, ${w}%)`, top: `${(layout.row.get(n)! - baseRow) * ROW}px`, background: model.colours.get(n.service) }}
              onClick={() => {
                onSelect(n);
                if (n.children.length) setFocus(n);
              }}
            >
              {w > 3 ? `${n.span.name} ${formatDuration(n.endUs - n.startUs)}` : ""}
            </button>
          );
        })}
      </div>
    </div>
  );
}
