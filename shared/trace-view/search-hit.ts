/**
 * @module
 * A trace as a search answers it (Tempo's `/api/search` JSON) summed up for a row: root, start,
 * duration, span and error counts, per-service counts. One function for the search page's rows
 * and the overview's latest traces.
 */

/** The fields of a Tempo search hit a row reads. */
export interface SearchHit {
  rootServiceName: string;
  rootTraceName: string;
  startTimeUnixNano: string;
  durationMs?: number;
  serviceStats?: Record<string, { spanCount: number; errorCount?: number }>;
}

export interface HitSummary {
  rootService: string;
  rootName: string;
  startMs: number;
  durationMs: number;
  spans: number;
  errors: number;
  /** Per service: spans and error spans, most spans first. */
  services: { name: string; spans: number; errors: number }[];
}

/** Unix nanoseconds (a decimal string) as milliseconds: nanoseconds overflow a double's exact range, milliseconds do not. */
export function nanosToMs(unixNano: string): number {
  return Number(BigInt(unixNano) / 1_000_000n) + Number(BigInt(unixNano) % 1_000_000n) / 1e6;
}

export function summarizeHit(t: SearchHit): HitSummary {
  const services = Object.entries(t.serviceStats ?? {})
    .map(([name, s]) => ({ name, spans: s.spanCount, errors: s.errorCount ?? 0 }))
    .sort((a, b) => b.spans - a.spans || a.name.localeCompare(b.name));
  return {
    rootService: t.rootServiceName,
    rootName: t.rootTraceName,
    startMs: nanosToMs(t.startTimeUnixNano),
    durationMs: t.durationMs ?? 0,
    spans: services.reduce((n, s) => n + s.spans, 0),
    errors: services.reduce((n, s) => n + s.errors, 0),
    services,
  };
}
