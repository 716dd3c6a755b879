/**
 * @module
 * The one colour of each service, everywhere in the dashboard (search chips, the waterfall, the
 * flame graph, the minimap, the comparison and the service map): a pure function of the name, so
 * a service keeps its colour across traces, pages and reloads.
 */

/**
 * Well-separated colours that read on both themes (mid lightness; no pure red: red means error),
 * in an order where neighbours differ most.
 */
export const SERVICE_PALETTE = [
  "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7", "#9c755f", "#17becf", "#bab0ac",
  "#8cd17d", "#d37295", "#a0cbe8", "#ffbe7d", "#499894", "#86bcb6", "#d4a6c8", "#f1ce63", "#7f9fd6", "#c39bd3",
] as const;

/** FNV-1a over the name's UTF-16 units (fast, and spreads short similar names well). */
function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The service's colour, a `#rrggbb` from {@link SERVICE_PALETTE}. */
export function serviceColor(name: string): string {
  return SERVICE_PALETTE[fnv1a(name) % SERVICE_PALETTE.length]!;
}

/** Style for a service chip (search.css tints its fill and edge from `--chip-color`). */
export function serviceChipStyle(name: string): Record<string, string> {
  return { "--chip-color": serviceColor(name) };
}
