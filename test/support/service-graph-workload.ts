/**
 * @module
 * A seeded shop workload whose true service graph is known: traces across nine services (and six
 * virtual nodes), with failures at known rates, and the truth recorded as the spans are made (not
 * derived from them afterwards), so a test can hold the service-graph code to exact counts.
 *
 *   user -> frontend -> cart -> redis (database)
 *                    -> checkout -> payment -> stripe-api (peer.service, uninstrumented)
 *                                -> currency
 *                                -> orders (database, db.name)
 *                                => shipping (kafka producer -> consumer) -> email
 *                                => kafka (producer with no consumer in the trace: virtual)
 *                    -> recommendation -> product-catalog
 *                    -> api.geo.example (server.address, uninstrumented)
 *                    -> a beacon with no peer attribute (no edge)
 * Some frontend roots have a parent id that never arrives (a browser that did not export): they
 * make no edge at all.
 */
import { SpanKind, type ResourceSpans, type Span, type TraceBatch } from "../../shared/model/span.ts";
import type { ConnectionType } from "../../shared/servicegraph/edges.ts";
import { Rng } from "./random-otlp.ts";
import { testResourceSpans, testSpan } from "./spans.ts";

export interface TrueEdge {
  source: string;
  target: string;
  connectionType: ConnectionType;
  /** Minute of the request's start, unix seconds. */
  minute: number;
  failed: boolean;
  /** The latency the API reports: server side when instrumented, else client side. */
  latencyMs: number;
}

/** A span as the generator meant it, for RED truth. */
export interface TrueSpan {
  service: string;
  name: string;
  kind: number;
  minute: number;
  error: boolean;
  durationMs: number;
}

export interface Workload {
  /** Each trace's spans with their service, traces in start order. */
  traces: Array<Array<{ service: string; span: Span }>>;
  edges: TrueEdge[];
  spans: TrueSpan[];
  services: string[];
  virtualNodes: string[];
}

export const WORKLOAD_SERVICES = ["frontend", "cart", "checkout", "payment", "currency", "shipping", "email", "recommendation", "product-catalog"];
export const WORKLOAD_VIRTUAL_NODES = ["user", "redis", "orders", "stripe-api", "kafka", "api.geo.example"];

const NS_PER_MS = 1_000_000;

class TraceBuilder {
  readonly spans: Array<{ service: string; span: Span }> = [];
  readonly traceId: string;
  readonly #rng: Rng;
  readonly #w: { edges: TrueEdge[]; spans: TrueSpan[] };

  constructor(rng: Rng, w: { edges: TrueEdge[]; spans: TrueSpan[] }) {
    this.#rng = rng;
    this.#w = w;
    this.traceId = rng.hex(16);
  }

  /** Log-normal latency in whole nanoseconds. */
  latencyNs(medianMs: number, sigma = 0.5): number {
    const z = Math.sqrt(-2 * Math.log(1 - this.#rng.next())) * Math.cos(2 * Math.PI * this.#rng.next());
    return Math.max(1, Math.round(medianMs * Math.exp(sigma * z) * NS_PER_MS));
  }

  chance(p: number): boolean {
    return this.#rng.chance(p);
  }

  span(service: string, kind: number, name: string, parentSpanId: string, startNs: bigint, durNs: number, error: boolean, attributes: Record<string, string> = {}): string {
    const spanId = this.#rng.hex(8);
    const span = testSpan({ traceId: this.traceId, spanId, parentSpanId, name, kind, start: startNs, end: startNs + BigInt(durNs), error, attributes });
    this.spans.push({ service, span });
    this.#w.spans.push({ service, name, kind, minute: minuteOf(startNs), error, durationMs: durNs / NS_PER_MS });
    return spanId;
  }

  edge(e: TrueEdge): void {
    this.#w.edges.push(e);
  }

  /**
   * An instrumented call: a client (or producer) span in `from` and its server (or consumer) child
   * in `to`. `serve` adds the callee's own work under the server span. Returns the client span's
   * end.
   */
  call(
    o: { from: string; to: string; name: string; parent: string; startNs: bigint; medianMs: number; messaging?: boolean; serverErrorRate?: number; clientOnlyErrorRate?: number },
    serve?: (serverSpanId: string, startNs: bigint) => void,
  ): bigint {
    const netNs = this.latencyNs(0.4, 0.3);
    const serverStart = o.startNs + BigInt(netNs);
    const serverDur = this.latencyNs(o.medianMs);
    const serverErr = this.chance(o.serverErrorRate ?? 0);
    const clientOnlyErr = this.chance(o.clientOnlyErrorRate ?? 0);
    const clientErr = clientOnlyErr || (serverErr && this.chance(0.5));
    const clientDur = serverDur + 2 * netNs;
    const clientId = this.span(o.from, o.messaging ? SpanKind.PRODUCER : SpanKind.CLIENT, o.name, o.parent, o.startNs, clientDur, clientErr, o.messaging ? { "messaging.system": "kafka" } : { "http.method": "GET" });
    const serverId = this.span(o.to, o.messaging ? SpanKind.CONSUMER : SpanKind.SERVER, o.name, clientId, serverStart, serverDur, serverErr);
    serve?.(serverId, serverStart);
    this.edge({
      source: o.from,
      target: o.to,
      connectionType: o.messaging ? "messaging_system" : "",
      minute: minuteOf(o.startNs),
      failed: clientErr || serverErr,
      latencyMs: serverDur / NS_PER_MS,
    });
    return o.startNs + BigInt(clientDur);
  }

  /** A client span nobody instruments the other end of. `target` undefined: no edge expected. */
  uninstrumented(o: { from: string; parent: string; startNs: bigint; name: string; kind?: number; attributes: Record<string, string>; target: string | undefined; connectionType: ConnectionType; medianMs: number; errorRate: number }): void {
    const dur = this.latencyNs(o.medianMs);
    const err = this.chance(o.errorRate);
    this.span(o.from, o.kind ?? SpanKind.CLIENT, o.name, o.parent, o.startNs, dur, err, o.attributes);
    if (o.target !== undefined) this.edge({ source: o.from, target: o.target, connectionType: o.connectionType, minute: minuteOf(o.startNs), failed: err, latencyMs: dur / NS_PER_MS });
  }
}

function minuteOf(ns: bigint): number {
  return Number(ns / 60_000_000_000n) * 60;
}

/** `traceCount` traces starting uniformly over [startSec, startSec + spreadSec). */
export function generateWorkload(seed: number, traceCount: number, startSec: number, spreadSec: number): Workload {
  const rng = new Rng(seed);
  const w: Workload = { traces: [], edges: [], spans: [], services: WORKLOAD_SERVICES, virtualNodes: WORKLOAD_VIRTUAL_NODES };
  const starts = Array.from({ length: traceCount }, () => BigInt(startSec) * 1_000_000_000n + BigInt(Math.floor(rng.next() * spreadSec * 1e9)));
  starts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const t0 of starts) {
    const t = new TraceBuilder(rng, w);
    const orphan = t.chance(0.02);
    const rootDur = t.latencyNs(80);
    const rootErr = t.chance(0.01);
    const root = t.span("frontend", SpanKind.SERVER, "GET /", orphan ? rng.hex(8) : "", t0, rootDur, rootErr);
    if (!orphan) t.edge({ source: "user", target: "frontend", connectionType: "virtual_node", minute: minuteOf(t0), failed: rootErr, latencyMs: rootDur / NS_PER_MS });
    let at = t0 + 100_000n;

    if (t.chance(0.7)) {
      at = t.call({ from: "frontend", to: "cart", name: "GET /cart", parent: root, startNs: at, medianMs: 8, clientOnlyErrorRate: 0.02 }, (sid, s) => {
        const n = t.chance(0.5) ? 2 : 1;
        for (let i = 0; i < n; i++) {
          t.uninstrumented({ from: "cart", parent: sid, startNs: s + BigInt(i * 1000), name: "HGET", attributes: { "db.system": "redis" }, target: "redis", connectionType: "database", medianMs: 0.3, errorRate: 0.01 });
        }
      });
    }
    if (t.chance(0.3)) {
      at = t.call({ from: "frontend", to: "checkout", name: "POST /checkout", parent: root, startNs: at, medianMs: 120, serverErrorRate: 0.02 }, (sid, s) => {
        t.call({ from: "checkout", to: "payment", name: "POST /charge", parent: sid, startNs: s, medianMs: 60, serverErrorRate: 0.08 }, (pid, ps) => {
          t.uninstrumented({ from: "payment", parent: pid, startNs: ps, name: "POST /v1/charges", attributes: { "peer.service": "stripe-api", "server.address": "api.stripe.com" }, target: "stripe-api", connectionType: "virtual_node", medianMs: 45, errorRate: 0.03 });
        });
        t.call({ from: "checkout", to: "currency", name: "GET /convert", parent: sid, startNs: s + 1000n, medianMs: 2 });
        t.uninstrumented({ from: "checkout", parent: sid, startNs: s + 2000n, name: "INSERT orders", attributes: { "db.system": "postgresql", "db.name": "orders" }, target: "orders", connectionType: "database", medianMs: 4, errorRate: 0.005 });
        if (t.chance(0.9)) {
          t.call({ from: "checkout", to: "shipping", name: "orders process", parent: sid, startNs: s + 3000n, medianMs: 15, messaging: true, serverErrorRate: 0.04 }, (cid, cs) => {
            t.call({ from: "shipping", to: "email", name: "POST /send", parent: cid, startNs: cs, medianMs: 25, serverErrorRate: 0.01 });
          });
        } else {
          t.uninstrumented({ from: "checkout", parent: sid, startNs: s + 3000n, name: "orders publish", kind: SpanKind.PRODUCER, attributes: { "messaging.system": "kafka" }, target: "kafka", connectionType: "virtual_node", medianMs: 1, errorRate: 0 });
        }
      });
    }
    if (t.chance(0.5)) {
      at = t.call({ from: "frontend", to: "recommendation", name: "GET /recs", parent: root, startNs: at, medianMs: 30 }, (sid, s) => {
        t.span("recommendation", SpanKind.INTERNAL, "rank", sid, s, t.latencyNs(5), false);
        t.call({ from: "recommendation", to: "product-catalog", name: "GET /products", parent: sid, startNs: s, medianMs: 10, serverErrorRate: 0.005 });
      });
    }
    if (t.chance(0.2)) {
      t.uninstrumented({ from: "frontend", parent: root, startNs: at, name: "GET /geo", attributes: { "server.address": "api.geo.example" }, target: "api.geo.example", connectionType: "virtual_node", medianMs: 20, errorRate: 0.05 });
    }
    if (t.chance(0.1)) {
      t.uninstrumented({ from: "frontend", parent: root, startNs: at, name: "POST /beacon", attributes: { "http.method": "POST" }, target: undefined, connectionType: "", medianMs: 3, errorRate: 0 });
    }
    w.traces.push(t.spans);
  }
  return w;
}

/**
 * Deals the spans into `batchCount` arrival batches, as separate SDK exports would: trace i
 * arrives around batch i·batchCount/traceCount and each of its spans up to `spread` batches
 * later, in random order within a batch, spans of one service in short runs of resources.
 */
export function splitIntoBatches(w: Workload, seed: number, batchCount: number, spread: number): TraceBatch[] {
  const rng = new Rng(seed);
  const buckets: Array<Array<{ service: string; span: Span }>> = Array.from({ length: batchCount + spread }, () => []);
  w.traces.forEach((spans, i) => {
    const base = Math.floor((i * batchCount) / w.traces.length);
    for (const s of spans) buckets[base + rng.int(spread + 1)]!.push(s);
  });
  return buckets.map((spans) => {
    for (let i = spans.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [spans[i], spans[j]] = [spans[j]!, spans[i]!];
    }
    const rs: ResourceSpans[] = [];
    let run: { service: string; spans: Span[] } | undefined;
    for (const s of spans) {
      if (run === undefined || run.service !== s.service) {
        if (run !== undefined) rs.push(testResourceSpans(run.service, run.spans));
        run = { service: s.service, spans: [] };
      }
      run.spans.push(s.span);
    }
    if (run !== undefined) rs.push(testResourceSpans(run.service, run.spans));
    return { resourceSpans: rs };
  });
}
