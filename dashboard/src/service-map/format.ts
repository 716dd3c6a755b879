/** Number formats of the service pages: rates, percentages, durations. */

/** Requests per second, with enough digits that a quiet service is not "0". */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond === 0) return "0 req/s";
  if (perSecond >= 100) return `${Math.round(perSecond)} req/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)} req/s`;
  if (perSecond >= 0.01) return `${perSecond.toFixed(2)} req/s`;
  // Below 0.01/s per minute reads better than a string of zeros.
  return `${(perSecond * 60).toFixed(2)} req/min`;
}

export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction) || fraction === 0) return "0%";
  const p = fraction * 100;
  return p >= 10 ? `${Math.round(p)}%` : p >= 0.1 ? `${p.toFixed(1)}%` : "<0.1%";
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function errorFraction(requests: number, failed: number): number {
  return requests > 0 ? failed / requests : 0;
}

/** Jaeger-style names of OTLP span kinds (the operations API gives the number). */
export function kindName(kind: number): string {
  return ["unspecified", "internal", "server", "client", "producer", "consumer"][kind] ?? String(kind);
}

export function formatTime(ms: number, spanSeconds: number): string {
  const d = new Date(ms);
  const hm = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  return spanSeconds > 86400 ? `${d.getMonth() + 1}/${d.getDate()} ${hm}` : hm;
}
