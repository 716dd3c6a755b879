/**
 * @module
 * Merges fragments of one trace (from several ingest batches, or from several blocks at query or
 * compaction time) into one, dropping spans seen before. Queue delivery is at least once, so a
 * redelivered message brings the same spans again; late spans arrive in later blocks.
 *
 * A span's identity is (spanId, kind), not spanId alone: in Zipkin's shared-span model (B3 with
 * `shared: true`) the client and the server half of one RPC carry the same span id, and the
 * OpenTelemetry Zipkin mapping keeps them as two spans, CLIENT and SERVER. Deduplicating by id alone
 * would silently drop one half of every such RPC.
 */
import type { ResourceSpans, ScopeSpans } from "../model/span.ts";
import { resourceEntryKey, scopeEntryKey } from "./value-codec.ts";

/**
 * Identical resources (with schema URL) and identical scopes within them are merged, in order of
 * first appearance; of duplicate spans the first is kept; containers left without spans are
 * dropped. Inputs are not modified (span objects are shared, not copied).
 */
export function combineTraces(parts: ResourceSpans[][]): ResourceSpans[] {
  const out: ResourceSpans[] = [];
  const resources = new Map<string, { rs: ResourceSpans; scopes: Map<string, ScopeSpans> }>();
  const seen = new Set<string>();
  for (const part of parts) {
    for (const rs of part) {
      // Keys are computed once per container, and only for containers that keep a span.
      let r: { rs: ResourceSpans; scopes: Map<string, ScopeSpans> } | undefined;
      for (const ss of rs.scopeSpans) {
        let s: ScopeSpans | undefined;
        for (const span of ss.spans) {
          const id = `${span.spanId}/${span.kind}`;
          if (seen.has(id)) continue;
          seen.add(id);
          if (!r) {
            const rk = resourceEntryKey({ resource: rs.resource, schemaUrl: rs.schemaUrl });
            r = resources.get(rk);
            if (!r) {
              r = { rs: { resource: rs.resource, scopeSpans: [], schemaUrl: rs.schemaUrl }, scopes: new Map() };
              resources.set(rk, r);
              out.push(r.rs);
            }
          }
          if (!s) {
            const sk = scopeEntryKey({ scope: ss.scope, schemaUrl: ss.schemaUrl });
            s = r.scopes.get(sk);
            if (!s) {
              s = { scope: ss.scope, spans: [], schemaUrl: ss.schemaUrl };
              r.scopes.set(sk, s);
              r.rs.scopeSpans.push(s);
            }
          }
          s.spans.push(span);
        }
      }
    }
  }
  return out;
}

/**
 * Fragments of traces (each ingest object's trace groups, or each block's traces) merged into one
 * entry per trace id, in order of first appearance, with `combineTraces`. Assembly and compaction
 * both build their blocks with this.
 */
export function mergeTraceFragments(fragments: Iterable<{ traceId: string; resourceSpans: ResourceSpans[] }>): { traceId: string; resourceSpans: ResourceSpans[] }[] {
  const parts = new Map<string, ResourceSpans[][]>();
  for (const f of fragments) {
    let list = parts.get(f.traceId);
    if (!list) parts.set(f.traceId, (list = []));
    list.push(f.resourceSpans);
  }
  return [...parts].map(([traceId, list]) => ({ traceId, resourceSpans: list.length === 1 ? list[0]! : combineTraces(list) }));
}
