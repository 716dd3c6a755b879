/**
 * @module
 * What a queue batch adds to a tenant's daily usage: spans accepted (from the ingest objects it
 * assembles) and spans rejected at ingest (carried in the messages), by the UTC day ingest
 * received them. Pure.
 */

export interface UsageDelta {
  day: string;
  spansAccepted: number;
  spansRejected: number;
}

export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function usageDeltas(accepted: readonly { receivedAtMs: number; spanCount: number }[], rejected: readonly { receivedAtMs?: number; rejectedSpans?: number }[]): UsageDelta[] {
  const byDay = new Map<string, UsageDelta>();
  const at = (ms: number) => {
    const day = utcDay(ms);
    let d = byDay.get(day);
    if (!d) byDay.set(day, (d = { day, spansAccepted: 0, spansRejected: 0 }));
    return d;
  };
  for (const a of accepted) at(a.receivedAtMs).spansAccepted += a.spanCount;
  for (const r of rejected) if (r.rejectedSpans && r.receivedAtMs !== undefined) at(r.receivedAtMs).spansRejected += r.rejectedSpans;
  // A day with nothing to add is no row to write.
  return [...byDay.values()].filter((d) => d.spansAccepted || d.spansRejected).sort((a, b) => a.day.localeCompare(b.day));
}
