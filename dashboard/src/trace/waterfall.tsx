/**
 * @module
 * The waterfall: the span tree as a virtualised treegrid. Rows have a fixed height and only those
 * in the scroll viewport (plus an overscan) are in the DOM, so a 10,000-span trace renders and
 * scrolls like a 10-span one. Keyboard: roving focus on the selected row (Up/Down/Home/End/
 * PageUp/PageDown move, Left collapses or goes to the parent, Right expands or goes to the first
 * child, Enter opens the detail). Span text is rendered as text only (Preact escapes it).
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { SpanNode } from "../../../shared/trace-view/span-tree.ts";
import { axisTicks, formatDuration } from "../time-format.ts";
import type { TraceModel } from "./model.ts";

export const ROW_HEIGHT = 26;
const OVERSCAN = 12;

export interface TimeWindow {
  startUs: number;
  endUs: number;
}

export interface WaterfallProps {
  model: TraceModel;
  rows: SpanNode[];
  collapsed: ReadonlySet<SpanNode>;
  selected: SpanNode | undefined;
  matches: ReadonlySet<SpanNode>;
  /** Spans the search's TraceQL query matched (opened from a search). */
  queryMatches?: ReadonlySet<SpanNode>;
  /** Rows shown only as the ancestors of filtered spans (drawn faint). */
  context?: ReadonlySet<SpanNode>;
  /** The name column's width in pixels (dragged by the user), or undefined for the default. */
  nameWidth?: number;
  onNameWidth?: (px: number | undefined) => void;
  showCritical: boolean;
  window: TimeWindow;
  /** Bumped to scroll the selected row into view (deep link, search next/prev). */
  revealToken: number;
  onSelect: (n: SpanNode) => void;
  onOpen: (n: SpanNode) => void;
  onToggle: (n: SpanNode, expand?: boolean) => void;
  /** Called once, after the first rows have been painted (the page's performance mark). */
  onPainted?: () => void;
}

const pct = (x: number) => `${Math.max(0, Math.min(100, x))}%`;

export function Waterfall(p: WaterfallProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);
  const focusPending = useRef(false);
  const painted = useRef(false);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setViewport(el.clientHeight);
    const ro = new ResizeObserver(() => setViewport(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const selectedIndex = p.selected ? p.rows.indexOf(p.selected) : -1;

  const scrollToIndex = (i: number, centre: boolean) => {
    const el = scroller.current;
    if (!el || i < 0) return;
    const top = i * ROW_HEIGHT;
    let next = el.scrollTop;
    if (centre) next = top - el.clientHeight / 2 + ROW_HEIGHT / 2;
    else if (top < el.scrollTop) next = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) next = top + ROW_HEIGHT - el.clientHeight;
    next = Math.max(0, Math.min(next, p.rows.length * ROW_HEIGHT - el.clientHeight));
    if (next !== el.scrollTop) el.scrollTop = next;
    // Render the rows there now rather than on the scroll event, so the row can take focus.
    setScrollTop(el.scrollTop);
  };

  useLayoutEffect(() => {
    if (p.revealToken) scrollToIndex(selectedIndex, true);
  }, [p.revealToken]);

  // A layout effect: focus moves in the same task as the key press, before anyone reads it.
  useLayoutEffect(() => {
    if (!focusPending.current) return;
    focusPending.current = false;
    scroller.current?.querySelector<HTMLElement>(`[data-index="${selectedIndex}"]`)?.focus({ preventScroll: true });
  });

  useEffect(() => {
    if (painted.current || !p.rows.length) return;
    painted.current = true;
    // rAF runs before the next paint; the timeout after it runs once that frame is painted.
    requestAnimationFrame(() => setTimeout(() => p.onPainted?.(), 0));
  });

  const move = (i: number) => {
    if (!p.rows.length) return;
    const j = Math.max(0, Math.min(p.rows.length - 1, i));
    focusPending.current = true;
    p.onSelect(p.rows[j]!);
    scrollToIndex(j, false);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const cur = selectedIndex < 0 ? 0 : selectedIndex;
    const node = p.rows[cur];
    const page = Math.max(1, Math.floor(viewport / ROW_HEIGHT) - 1);
    switch (e.key) {
      case "ArrowDown":
        move(selectedIndex < 0 ? 0 : cur + 1);
        break;
      case "ArrowUp":
        move(cur - 1);
        break;
      case "Home":
        move(0);
        break;
      case "End":
        move(p.rows.length - 1);
        break;
      case "PageDown":
        move(cur + page);
        break;
      case "PageUp":
        move(cur - page);
        break;
      case "ArrowLeft":
        if (!node) return;
        if (node.children.length && !p.collapsed.has(node)) {
          focusPending.current = true;
          p.onToggle(node, false);
        } else if (node.parent) move(p.rows.indexOf(node.parent));
        break;
      case "ArrowRight":
        if (!node) return;
        if (node.children.length && p.collapsed.has(node)) {
          focusPending.current = true;
          p.onToggle(node, true);
        } else if (node.children.length) move(cur + 1);
        break;
      case "Enter":
      case " ":
        if (!node) return;
        p.onOpen(node);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const fitWidth = useMemo(() => namesWidth(p.model), [p.model]);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(p.rows.length, Math.ceil((scrollTop + viewport) / ROW_HEIGHT) + OVERSCAN);
  const { startUs: ws, endUs: we } = p.window;
  const span = Math.max(1, we - ws);
  const x = (us: number) => ((us - ws) / span) * 100;
  const focusIndex = selectedIndex >= 0 ? selectedIndex : 0;

  const rendered = [];
  for (let i = first; i < last; i++) {
    const n = p.rows[i]!;
    const s = n.span;
    const colour = p.model.colours.get(n.service);
    const dur = n.endUs - n.startUs;
    // The bar keeps its true geometry (its critical segments and events are relative to it) and the
    // timeline cell clips it to the zoomed window; the label goes by the visible part.
    const barLeft = x(n.startUs);
    const barRight = x(n.endUs);
    const left = Math.max(0, Math.min(100, barLeft));
    const right = Math.max(0, Math.min(100, barRight));
    const error = s.status.code === 2;
    const crit = p.showCritical ? p.model.critical.get(n) : undefined;
    const expanded = n.children.length ? !p.collapsed.has(n) : undefined;
    const cls = ["tv-row", n === p.selected ? "selected" : "", p.matches.has(n) ? "match" : "", p.queryMatches?.has(n) ? "qmatch" : "", p.context?.has(n) ? "ctx" : "", crit ? "crit" : "", error ? "err" : ""].join(" ");
    rendered.push(
      <div
        key={s.spanId + i}
        role="row"
        class={cls}
        data-index={i}
        data-span-id={s.spanId}
        aria-level={n.depth + 1}
        aria-expanded={expanded}
        aria-selected={n === p.selected}
        aria-rowindex={i + 1}
        tabIndex={i === focusIndex ? 0 : -1}
        style={{ transform: `translateY(${i * ROW_HEIGHT}px)` }}
        onClick={() => {
          focusPending.current = true;
          p.onSelect(n);
          p.onOpen(n);
        }}
      >
        <div role="gridcell" class="tv-name" style={{ paddingLeft: `${Math.min(n.depth, 40) * 14 + 4}px` }}>
          <span
            class={`tv-toggle${n.children.length ? "" : " leaf"}`}
            aria-hidden="true"
            onClick={(e) => {
              e.stopPropagation();
              if (n.children.length) p.onToggle(n);
            }}
          >
            {n.children.length ? (expanded ? "▾" : "▸") : ""}
          </span>
          <span class="tv-swatch" style={{ background: colour }} />
          {error && (
            <span class="tv-err-icon" title="Error" aria-label="error">
              !
            </span>
          )}
          <span class="tv-service">{n.service}</span>
          <span class="tv-op">{s.name}</span>
          {n.children.length > 0 && !expanded && <span class="tv-count">{countDescendants(n)}</span>}
        </div>
        <div role="gridcell" class="tv-timeline">
          <div class={`tv-bar${error ? " err" : ""}`} style={{ left: `${barLeft}%`, width: `max(2px, ${barRight - barLeft}%)`, background: colour }}>
            {crit?.map((c, k) => (
              <span key={k} class="tv-crit" style={{ left: pct(((c.startUs - n.startUs) / Math.max(1, dur)) * 100), width: pct(((c.endUs - c.startUs) / Math.max(1, dur)) * 100) }} />
            ))}
            {s.events.map((e, k) => (
              <span key={`e${k}`} class="tv-event" title={e.name} style={{ left: pct(((eventUs(p.model, e.timeUnixNano) - n.startUs) / Math.max(1, dur)) * 100) }} />
            ))}
          </div>
          {/* The duration goes after the bar, or before it near the right edge, or inside a bar that fills the row. */}
          <span class={`tv-dur${right > 80 && left < 15 ? " inside" : ""}`} style={right <= 80 ? { left: pct(right) } : left >= 15 ? { right: pct(100 - left) } : { right: pct(100 - right) }}>
            {formatDuration(dur)}
          </span>
        </div>
      </div>,
    );
  }

  // Ticks on round values of the window (100 ms, 200 ms…), the row grid lines under them.
  const { step, ticks } = axisTicks(ws, we);
  const gridStyle: Record<string, string> = { "--tv-grid-size": `${(step / span) * 100}%`, "--tv-grid-pos": `${((ticks[0]! - ws) / span) * 100}%` };
  // The user's width, else what the longest name needs (so opening the detail panel narrows the
  // timeline, not the names), within 60% of the waterfall.
  gridStyle["--tv-name-w"] = p.nameWidth ? `${p.nameWidth}px` : `clamp(15rem, ${fitWidth}px, 60%)`;
  return (
    <div class="tv-waterfall" style={gridStyle}>
      <div class="tv-head">
        <div class="tv-name">
          <span aria-hidden="true">Service &amp; operation</span>
          <ColumnResizer width={p.nameWidth} onWidth={(px) => p.onNameWidth?.(px)} />
        </div>
        <div class="tv-timeline tv-ticks" aria-hidden="true">
          {ticks.map((t) => {
            const at = ((t - ws) / span) * 100;
            return (
              <span key={t} class={`tv-tick${at > 88 ? " last" : at < 6 ? " first" : ""}`} style={{ left: pct(at) }} data-us={t}>
                {t === 0 ? "0" : formatDuration(t)}
              </span>
            );
          })}
        </div>
      </div>
      <div
        ref={scroller}
        class="tv-scroll"
        role="treegrid"
        aria-label="Spans"
        aria-rowcount={p.rows.length}
        aria-multiselectable="false"
        onScroll={(e) => setScrollTop((e.currentTarget as HTMLElement).scrollTop)}
        onKeyDown={onKeyDown}
      >
        <div class="tv-spacer" style={{ height: `${p.rows.length * ROW_HEIGHT}px` }}>
          {rendered}
        </div>
      </div>
    </div>
  );
}

const descendantCounts = new WeakMap<SpanNode, number>();
function countDescendants(n: SpanNode): number {
  let c = descendantCounts.get(n);
  if (c !== undefined) return c;
  c = 0;
  const stack = [...n.children];
  while (stack.length) {
    const x = stack.pop()!;
    c++;
    stack.push(...x.children);
  }
  descendantCounts.set(n, c);
  return c;
}

/** An event's time in microseconds from the trace start. */
export function eventUs(model: TraceModel, timeUnixNano: string): number {
  return Number((BigInt(timeUnixNano) - model.tree.traceStartUnixNano) / 1000n);
}

const MIN_NAME_PX = 120;

/**
 * The handle between the name column and the timeline: drag it (or focus it and press ← →) to
 * widen the names; a double click goes back to the default width.
 */
function ColumnResizer({ width, onWidth }: { width: number | undefined; onWidth: (px: number | undefined) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const bounds = () => {
    const head = ref.current?.closest(".tv-waterfall") as HTMLElement | null;
    const total = head?.clientWidth ?? 1000;
    const current = (ref.current?.parentElement as HTMLElement | null)?.getBoundingClientRect().width ?? total / 3;
    return { total, current, max: Math.max(MIN_NAME_PX, total - 160) };
  };
  const clamp = (px: number) => {
    const { max } = bounds();
    return Math.round(Math.max(MIN_NAME_PX, Math.min(max, px)));
  };
  const onPointerDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    e.preventDefault();
    const el = e.currentTarget as HTMLElement;
    el.setPointerCapture(e.pointerId);
    const startX = e.clientX;
    const startW = bounds().current;
    const move = (m: PointerEvent) => onWidth(clamp(startW + m.clientX - startX));
    const up = () => {
      el.removeEventListener("pointermove", move);
      el.removeEventListener("pointerup", up);
      el.removeEventListener("pointercancel", up);
    };
    el.addEventListener("pointermove", move);
    el.addEventListener("pointerup", up);
    el.addEventListener("pointercancel", up);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const d = e.key === "ArrowRight" ? 24 : e.key === "ArrowLeft" ? -24 : 0;
    if (!d) return;
    e.preventDefault();
    onWidth(clamp(bounds().current + d));
  };
  return (
    <div
      ref={ref}
      class="tv-resizer"
      role="separator"
      aria-orientation="vertical"
      aria-label="Resize the name column"
      aria-valuenow={width ?? undefined}
      tabIndex={0}
      onPointerDown={onPointerDown}
      onKeyDown={onKeyDown}
      onDblClick={() => onWidth(undefined)}
    />
  );
}

/**
 * The pixels a name cell needs for its span's service and name, whole, for the widest span of the
 * trace: estimated from the length for every span, then measured (canvas text metrics, in the
 * page's font) for the few widest, so a 10,000-span trace costs a few milliseconds.
 */
function namesWidth(model: TraceModel): number {
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const family = getComputedStyle(document.body).fontFamily || "sans-serif";
  // Indent, toggle, swatch, error mark, the gaps between them and the cell's padding (see trace.css).
  const fixed = (n: SpanNode) => Math.min(n.depth, 40) * 14 + 4 + rem + 10 + (n.span.status.code === 2 ? 14 + 0.35 * rem : 0) + 3 * 0.35 * rem + 0.4 * rem + 8;
  const estimate = (n: SpanNode) => fixed(n) + (n.service.length * 0.8 + n.span.name.length * 0.85) * rem * 0.62;
  const widest = model.tree.ordered
    .map((n) => ({ n, w: estimate(n) }))
    .sort((a, b) => b.w - a.w)
    .slice(0, 24)
    .map((x) => x.n);
  const ctx = document.createElement("canvas").getContext("2d");
  if (!ctx) return Math.max(0, ...widest.map(estimate));
  let max = 0;
  for (const n of widest) {
    ctx.font = `500 ${0.8 * rem}px ${family}`;
    const service = ctx.measureText(n.service).width;
    ctx.font = `600 ${0.85 * rem}px ${family}`;
    const name = ctx.measureText(n.span.name).width;
    max = Math.max(max, fixed(n) + service + name);
  }
  return Math.ceil(max);
}
