/**
 * @module
 * The map's pan and zoom: the view a graph opens with, and the one that fits it all. The first
 * view keeps edge labels legible (the labels' 11 and 12 px are user units, so a scale under 1
 * shrinks them): a graph too large for the canvas at scale 1 opens at scale 1 centred on the
 * selected node, or on the graph's middle, and "Fit all" shows the whole of it smaller.
 */
import type { Layout } from "./graph.ts";

export interface View {
  /** Translation in canvas pixels, then scale. */
  x: number;
  y: number;
  k: number;
}

export const MIN_K = 0.2;
export const MAX_K = 3;
/** The smallest scale the map opens at: edge labels (11 px and up) stay at least 11 px on screen. */
export const LEGIBLE_K = 1;
const MAX_FIT_K = 1.2;
const PAD = 12;

export const clampK = (k: number) => Math.min(MAX_K, Math.max(MIN_K, k));

/** The whole graph in a `w` x `h` canvas, centred. */
export function fitView(layout: Pick<Layout, "width" | "height">, w: number, h: number): View {
  const k = clampK(Math.min(MAX_FIT_K, (w - 2 * PAD) / Math.max(1, layout.width), (h - 2 * PAD) / Math.max(1, layout.height)));
  return { k, x: (w - layout.width * k) / 2, y: (h - layout.height * k) / 2 };
}

/**
 * The view a graph opens with: the fit when it keeps labels legible, else scale `LEGIBLE_K` with
 * `focus` (a point of the layout) in the middle, moved so no empty margin shows where the graph
 * still extends past the canvas.
 */
export function openingView(layout: Pick<Layout, "width" | "height">, w: number, h: number, focus?: { x: number; y: number }): View {
  const fit = fitView(layout, w, h);
  if (fit.k >= LEGIBLE_K) return fit;
  const k = LEGIBLE_K;
  const place = (canvas: number, size: number, at: number) => {
    if (size * k <= canvas) return (canvas - size * k) / 2;
    // Centre on the focus, clamped so the graph's edges stay at or past the canvas' edges.
    return Math.min(PAD, Math.max(canvas - size * k - PAD, canvas / 2 - at * k));
  };
  const f = focus ?? { x: layout.width / 2, y: layout.height / 2 };
  return { k, x: place(w, layout.width, f.x), y: place(h, layout.height, f.y) };
}
