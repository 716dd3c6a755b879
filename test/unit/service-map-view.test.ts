import { describe, expect, it } from "vitest";
import { fitView, LEGIBLE_K, openingView } from "../../dashboard/src/service-map/view.ts";

describe("service map view", () => {
  it("opens fitted when the whole graph fits at a legible scale", () => {
    const v = openingView({ width: 600, height: 300 }, 1000, 600);
    expect(v).toEqual(fitView({ width: 600, height: 300 }, 1000, 600));
    expect(v.k).toBeGreaterThanOrEqual(LEGIBLE_K);
    // Centred.
    expect(v.x).toBeCloseTo((1000 - 600 * v.k) / 2);
    expect(v.y).toBeCloseTo((600 - 300 * v.k) / 2);
  });

  it("opens at scale 1 when fitting would shrink the labels, centred on the graph", () => {
    const layout = { width: 2000, height: 400 };
    expect(fitView(layout, 1000, 600).k).toBeLessThan(1);
    const v = openingView(layout, 1000, 600);
    expect(v.k).toBe(1);
    expect(v.x).toBe(500 - 1000);
    // The height fits at scale 1: centred vertically.
    expect(v.y).toBe(100);
  });

  it("centres the selected node, but shows no empty margin past the graph's ends", () => {
    const layout = { width: 2000, height: 400 };
    expect(openingView(layout, 1000, 600, { x: 1200, y: 200 }).x).toBe(500 - 1200);
    // Near the left end: the graph's left edge stays at the padding.
    expect(openingView(layout, 1000, 600, { x: 100, y: 200 }).x).toBe(12);
    // Near the right end: its right edge stays at the canvas' right edge less the padding.
    expect(openingView(layout, 1000, 600, { x: 1950, y: 200 }).x).toBe(1000 - 2000 - 12);
  });
});
