/**
 * @module
 * The preset time ranges of the client pages (search, service map, services): one list, so a
 * `range=` in a link means the same window on every page.
 */
export const RANGES = [
  { id: "15m", label: "Last 15 minutes", seconds: 15 * 60 },
  { id: "1h", label: "Last hour", seconds: 3600 },
  { id: "3h", label: "Last 3 hours", seconds: 3 * 3600 },
  { id: "6h", label: "Last 6 hours", seconds: 6 * 3600 },
  { id: "12h", label: "Last 12 hours", seconds: 12 * 3600 },
  { id: "24h", label: "Last 24 hours", seconds: 24 * 3600 },
  { id: "2d", label: "Last 2 days", seconds: 2 * 86400 },
  { id: "7d", label: "Last 7 days", seconds: 7 * 86400 },
] as const;

export type PresetRange = (typeof RANGES)[number];
