/**
 * @module
 * Export timing for the cost benchmark. `multiServiceWorkload` (test/support/multi-service-workload.ts)
 * flushes an instance's spans only every 512 spans; an SDK's BatchSpanProcessor also exports when
 * its 5 s timer (started by the first span into an empty buffer) fires. Both decide how many
 * requests, queue messages and R2 objects a million spans become, so this re-exports the same
 * spans per instance with both rules and gives each request its export time (the end time of the
 * span that triggered it, or the timer).
 */
import type { InstrumentationScope, Resource, ScopeSpans, Span, TraceBatch } from "../../shared/model/span.ts";

export interface TimedRequest {
  /** Unix ms at which the exporter sent it. */
  atMs: number;
  spanCount: number;
  batch: TraceBatch;
}

/** OpenTelemetry SDK defaults (BatchSpanProcessor). */
export const SCHEDULED_DELAY_MS = 5000;
export const MAX_EXPORT_BATCH_SIZE = 512;

const endMs = (s: Span) => Number(BigInt(s.endTimeUnixNano) / 1_000_000n);

export function sdkExports(requests: readonly TraceBatch[], delayMs = SCHEDULED_DELAY_MS, maxBatch = MAX_EXPORT_BATCH_SIZE): TimedRequest[] {
  // Every instance has one Resource object and one InstrumentationScope object per library.
  const perInstance = new Map<Resource, { schemaUrl: string; spans: { scope: InstrumentationScope; scopeSchemaUrl: string; span: Span }[] }>();
  for (const req of requests) {
    for (const rs of req.resourceSpans) {
      let inst = perInstance.get(rs.resource);
      if (!inst) perInstance.set(rs.resource, (inst = { schemaUrl: rs.schemaUrl, spans: [] }));
      for (const ss of rs.scopeSpans) for (const span of ss.spans) inst.spans.push({ scope: ss.scope, scopeSchemaUrl: ss.schemaUrl, span });
    }
  }
  const out: TimedRequest[] = [];
  for (const [resource, inst] of perInstance) {
    // Spans reach the processor when they end.
    inst.spans.sort((a, b) => endMs(a.span) - endMs(b.span));
    let pending: typeof inst.spans = [];
    let timerAt = 0;
    const flush = (atMs: number) => {
      const byScope = new Map<InstrumentationScope, ScopeSpans>();
      for (const p of pending) {
        let ss = byScope.get(p.scope);
        if (!ss) byScope.set(p.scope, (ss = { scope: p.scope, spans: [], schemaUrl: p.scopeSchemaUrl }));
        ss.spans.push(p.span);
      }
      out.push({ atMs, spanCount: pending.length, batch: { resourceSpans: [{ resource, scopeSpans: [...byScope.values()], schemaUrl: inst.schemaUrl }] } });
      pending = [];
    };
    for (const p of inst.spans) {
      const t = endMs(p.span);
      if (pending.length && t >= timerAt) flush(timerAt);
      if (!pending.length) timerAt = t + delayMs;
      pending.push(p);
      if (pending.length >= maxBatch) flush(t);
    }
    if (pending.length) flush(timerAt);
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/**
 * Queue batching as configured for the assembler (max_batch_size 100, max_batch_timeout 5 s): a
 * batch opens with the first waiting message and is delivered when it holds 100 messages or 5 s
 * after it opened.
 */
export function queueBatches<T extends { atMs: number }>(items: readonly T[], maxSize = 100, timeoutMs = 5000): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let openedAt = 0;
  for (const it of [...items].sort((a, b) => a.atMs - b.atMs)) {
    if (current.length && (current.length >= maxSize || it.atMs >= openedAt + timeoutMs)) {
      batches.push(current);
      current = [];
    }
    if (!current.length) openedAt = it.atMs;
    current.push(it);
  }
  if (current.length) batches.push(current);
  return batches;
}
