/**
 * @module
 * The service map drawn as SVG: nodes by shape, edges with arrowheads and a label (rate, error
 * percentage, p99), pan by dragging, zoom by the wheel (around the pointer) or the buttons, a reset
 * to the opening view (labels legible: view.ts) and a fit of the whole graph. Nodes and edges are
 * focusable buttons (Enter or Space selects).
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { serviceColor } from "../search/colors.ts";
import { errorFraction, formatMs, formatPercent, formatRate } from "./format.ts";
import { edgePath, LABEL_HEIGHT, LABEL_WIDTH, type Layout, type PlacedEdge, type PlacedNode } from "./graph.ts";
import { clampK, fitView, openingView, type View } from "./view.ts";

export type Selection = { type: "node"; id: string } | { type: "edge"; key: string } | null;

/** Errors above this share of requests mark a node or edge. */
const ERROR_MARK = 0.05;

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function NodeShape(props: { p: PlacedNode }) {
  const { width: w, height: h, shape } = props.p;
  const x = -w / 2;
  const y = -h / 2;
  if (shape === "database") {
    const ry = 7;
    return (
      <>
        <path class="sm-node-body" d={`M${x} ${y + ry}A${w / 2} ${ry} 0 0 1 ${x + w} ${y + ry}V${y + h - ry}A${w / 2} ${ry} 0 0 1 ${x} ${y + h - ry}Z`} />
        <path class="sm-node-rim" d={`M${x} ${y + ry}A${w / 2} ${ry} 0 0 0 ${x + w} ${y + ry}`} />
      </>
    );
  }
  if (shape === "user") return <rect class="sm-node-body" x={x} y={y} width={w} height={h} rx={h / 2} />;
  return <rect class="sm-node-body" x={x} y={y} width={w} height={h} rx={8} />;
}

function activate(e: KeyboardEvent, fn: () => void) {
  if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    fn();
  }
}

const KIND_WORD: Record<string, string> = { service: "service", database: "database", user: "callers of root spans", peer: "external peer" };

function MapNode(props: { p: PlacedNode; windowSeconds: number; selected: boolean; onSelect: () => void; wasDrag: () => boolean }) {
  const { p } = props;
  const n = p.node;
  const err = errorFraction(n.requests, n.failed);
  const rate = formatRate(n.requests / props.windowSeconds);
  const label = `${KIND_WORD[p.shape]} ${n.id}: ${rate}, ${formatPercent(err)} errors, p99 ${formatMs(n.p99Ms)}`;
  const cls = `sm-node sm-node-${p.shape}${err > ERROR_MARK ? " sm-failing" : ""}${props.selected ? " sm-selected" : ""}`;
  return (
    <g
      class={cls}
      transform={`translate(${p.x} ${p.y})`}
      // Lower case: Preact sets SVG attributes verbatim, and "tabIndex" is not an SVG attribute.
      tabindex={0}
      role="button"
      aria-label={label}
      aria-pressed={props.selected}
      data-node={n.id}
      onClick={() => !props.wasDrag() && props.onSelect()}
      onKeyDown={(e) => activate(e, props.onSelect)}
    >
      <title>{label}</title>
      <NodeShape p={p} />
      {p.shape === "service" && <rect class="sm-node-colour" x={-p.width / 2 + 3} y={-p.height / 2 + 6} width={4} height={p.height - 12} rx={2} fill={serviceColor(n.id)} />}
      <text class="sm-node-name" y={p.shape === "database" ? 2 : -4} text-anchor="middle">
        {truncate(n.id, 20)}
      </text>
      <text class="sm-node-figures" y={p.shape === "database" ? 18 : 13} text-anchor="middle">
        {n.requests > 0 ? `${rate} · ${formatPercent(err)}` : p.shape === "user" ? "callers" : "no requests in"}
      </text>
    </g>
  );
}

function MapEdge(props: { p: PlacedEdge; windowSeconds: number; selected: boolean; onSelect: () => void; wasDrag: () => boolean }) {
  const { p } = props;
  const e = p.edge;
  const err = errorFraction(e.requests, e.failed);
  const rate = formatRate(e.requests / props.windowSeconds);
  const label = `${e.source} to ${e.target}: ${rate}, ${formatPercent(err)} errors, p99 ${formatMs(e.p99Ms)}`;
  const d = edgePath(p.points);
  const failing = err > ERROR_MARK;
  return (
    <g
      class={`sm-edge${failing ? " sm-failing" : ""}${props.selected ? " sm-selected" : ""}${e.connectionType === "database" || e.connectionType === "virtual_node" ? " sm-edge-virtual" : ""}`}
      tabindex={0}
      role="button"
      aria-label={label}
      aria-pressed={props.selected}
      data-edge={`${e.source}->${e.target}`}
      onClick={() => !props.wasDrag() && props.onSelect()}
      onKeyDown={(ev) => activate(ev, props.onSelect)}
    >
      <title>{label}</title>
      <path class="sm-edge-hit" d={d} />
      <path class="sm-edge-line" d={d} marker-end={failing ? "url(#sm-arrow-failing)" : props.selected ? "url(#sm-arrow-selected)" : "url(#sm-arrow)"} />
      <g transform={`translate(${p.labelX} ${p.labelY})`}>
        <rect class="sm-edge-label-bg" x={-LABEL_WIDTH / 2} y={-LABEL_HEIGHT / 2} width={LABEL_WIDTH} height={LABEL_HEIGHT} rx={5} />
        <text class="sm-edge-label" y={-3} text-anchor="middle">
          {rate}
        </text>
        <text class="sm-edge-label sm-edge-label-sub" y={11} text-anchor="middle">
          {`${formatPercent(err)} err · p99 ${formatMs(e.p99Ms)}`}
        </text>
      </g>
    </g>
  );
}

export function MapView(props: { layout: Layout; windowSeconds: number; selection: Selection; onSelect: (s: Selection) => void }) {
  const { layout } = props;
  const svgRef = useRef<SVGSVGElement>(null);
  const [size, setSize] = useState({ w: 800, h: 560 });
  const [view, setView] = useState<View>({ x: 0, y: 0, k: 1 });
  const drag = useRef<{ px: number; py: number; vx: number; vy: number; moved: boolean } | null>(null);
  const lastDragMoved = useRef(false);
  // Until the user pans or zooms, the view follows the canvas size (e.g. the panel opening).
  const touched = useRef(false);

  // The opening view centres the selected node (a link or reload with `node=`) when it must zoom.
  const sel0 = props.selection;
  const focus = sel0?.type === "node" ? layout.nodes.find((n) => n.node.id === sel0.id) : undefined;
  const fit = (w = size.w, h = size.h): View => openingView(layout, w, h, focus);

  // Track the element's size; refit only when the graph changes (not on every resize).
  useLayoutEffect(() => {
    const el = svgRef.current;
    if (!el) return;
    touched.current = false;
    const measure = () => {
      const r = el.getBoundingClientRect();
      setSize({ w: r.width, h: r.height });
      if (!touched.current) setView(fit(r.width, r.height));
      return r;
    };
    measure();
    const ro = new ResizeObserver(() => measure());
    ro.observe(el);
    return () => ro.disconnect();
  }, [layout]);

  // A non-passive wheel listener: Preact's onWheel cannot preventDefault the page scroll.
  useEffect(() => {
    const el = svgRef.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      touched.current = true;
      const r = el.getBoundingClientRect();
      const mx = e.clientX - r.left;
      const my = e.clientY - r.top;
      setView((v) => {
        const k = clampK(v.k * Math.exp(-e.deltaY * 0.0015));
        return { k, x: mx - ((mx - v.x) / v.k) * k, y: my - ((my - v.y) / v.k) * k };
      });
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, []);

  const zoomBy = (f: number) => {
    touched.current = true;
    setView((v) => {
      const k = clampK(v.k * f);
      const cx = size.w / 2;
      const cy = size.h / 2;
      return { k, x: cx - ((cx - v.x) / v.k) * k, y: cy - ((cy - v.y) / v.k) * k };
    });
  };

  const onPointerDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    drag.current = { px: e.clientX, py: e.clientY, vx: view.x, vy: view.y, moved: false };
  };
  const onPointerMove = (e: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.px;
    const dy = e.clientY - d.py;
    if (!d.moved && Math.hypot(dx, dy) < 4) return;
    if (!d.moved) {
      d.moved = true;
      touched.current = true;
      svgRef.current?.setPointerCapture(e.pointerId);
    }
    setView((v) => ({ ...v, x: d.vx + dx, y: d.vy + dy }));
  };
  const onPointerUp = () => {
    lastDragMoved.current = drag.current?.moved ?? false;
    drag.current = null;
  };
  const wasDrag = () => lastDragMoved.current;

  const sel = props.selection;
  return (
    <div class="sm-canvas">
      <div class="sm-zoom" role="group" aria-label="Zoom">
        <button type="button" onClick={() => zoomBy(1.25)} aria-label="Zoom in">
          +
        </button>
        <button type="button" onClick={() => zoomBy(0.8)} aria-label="Zoom out">
          −
        </button>
        <button
          type="button"
          onClick={() => {
            touched.current = false;
            setView(fit());
          }}
        >
          Reset view
        </button>
        <button
          type="button"
          onClick={() => {
            touched.current = true;
            setView(fitView(layout, size.w, size.h));
          }}
        >
          Fit all
        </button>
      </div>
      <svg
        ref={svgRef}
        class={`sm-svg${drag.current?.moved ? " sm-dragging" : ""}`}
        role="group"
        aria-label="Service map: drag to pan, scroll to zoom; each node and edge is a button"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
      >
        <defs>
          {["sm-arrow", "sm-arrow-failing", "sm-arrow-selected"].map((id) => (
            <marker key={id} id={id} class={id} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
              <path d="M0 0L10 5L0 10Z" />
            </marker>
          ))}
        </defs>
        <g transform={`translate(${view.x} ${view.y}) scale(${view.k})`}>
          {layout.edges.map((p) => (
            <MapEdge key={p.key} p={p} windowSeconds={props.windowSeconds} selected={sel?.type === "edge" && sel.key === p.key} onSelect={() => props.onSelect({ type: "edge", key: p.key })} wasDrag={wasDrag} />
          ))}
          {layout.nodes.map((p) => (
            <MapNode key={p.node.id} p={p} windowSeconds={props.windowSeconds} selected={sel?.type === "node" && sel.id === p.node.id} onSelect={() => props.onSelect({ type: "node", id: p.node.id })} wasDrag={wasDrag} />
          ))}
        </g>
      </svg>
    </div>
  );
}
