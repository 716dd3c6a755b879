/**
 * @module
 * Service-graph edges from spans, formed the way Tempo's metrics-generator forms them, with the
 * unpaired halves kept in a plain-JSON `EdgeStore` so a pair whose spans arrive in different queue
 * batches still pairs.
 *
 * Edges (connection types are Tempo's label values):
 * - A CLIENT or PRODUCER span in service A (the client half, keyed by trace id and its own span id)
 *   and a SERVER or CONSUMER span in service B whose parent is that span (the server half, keyed by
 *   trace id and its parent span id) make one request A -> B. `connectionType` is
 *   "messaging_system" when either half is a PRODUCER or CONSUMER, else "".
 * - A CLIENT or PRODUCER span with a database attribute (`db.system`, `db.system.name`, `db.name`,
 *   `db.namespace`) makes an edge at once, without waiting for a server half, to a virtual node
 *   named by the first of `peer.service`, `server.address`, `net.peer.name`, `db.name`,
 *   `db.namespace`, `db.system`, `db.system.name`; `connectionType` "database". This is Tempo's
 *   rule and order (minus `network.peer.address`, an IP that would make a node per replica).
 * - A SERVER or CONSUMER span without a parent makes an edge `user` -> B at once (no client can
 *   ever pair with it; Tempo waits for expiry first, with the same result); "virtual_node".
 * - Any other root span (INTERNAL or unspecified, as SDKs make by default, or a CLIENT or PRODUCER
 *   root) also makes `user` -> B: the request its service served. Tempo leaves these out, so a
 *   front end whose roots are not SERVER spans showed no requests. A CLIENT or PRODUCER root then
 *   also waits as a client half, like any other.
 * - A CONSUMER root with a span link (a message consumed in a trace of its own, linked to the
 *   PRODUCER span that sent it) waits as a server half keyed by the link's trace and span id,
 *   which is the producer span's own client key: the pair is producer -> consumer,
 *   "messaging_system", in whichever order the two traces arrive. The producer's service comes
 *   from its own half, so nothing is looked up. Only the first link is followed (a batch
 *   consumer's other messages are not counted), and when no producer half arrives within the wait
 *   (the producer span was not exported, or the message waited in the queue longer than the wait
 *   after the producer reached ingest) the consumer falls back to `user` -> B on expiry. Tempo
 *   pairs by parent only; the link is our addition.
 * - A client half still unpaired when its wait expires makes an edge to a virtual node named by
 *   the first of `peer.service`, `service.peer.name`, `messaging.system`, `server.address`,
 *   `net.peer.name` ("virtual_node"), or nothing when it has none of them. Tempo's default list is
 *   `peer.service`, `db.name`, `db.system`; the database ones never get here (they pair at once),
 *   and the others are added so an uninstrumented HTTP API or a broker nobody consumes from in the
 *   same trace still shows up. The cost: a call whose server span was sampled away or arrived after
 *   the wait also shows up, as an edge to its host name.
 * - An unpaired server half with a parent is dropped when it expires, as in Tempo.
 * Only span attributes are read for these names. Spans whose resource has no `service.name` are
 * skipped. A request is failed when either half has status ERROR. The edge's time is the client
 * span's start (the server span's for `user` edges). Latency: `clientMs` is the client span's
 * duration, `serverMs` the server span's; the side that was not instrumented is undefined.
 *
 * Pending window: a half waits `waitMs` (default 60 s) of arrival time, measured by the `nowMs`
 * the caller passes with each batch, not by span timestamps (those come from other machines'
 * clocks). Pass the time the spans were received by ingest (the batch object's `receivedAtMs`) to
 * `addBatch` and the newest such time to `expire`: then a backlog in the queue does not expire
 * halves whose partners are merely queued behind them. The store's clock is the largest time it
 * has been given, so an older batch processed late cannot move it back. 60 s rather than Tempo's
 * 10 s: OpenTelemetry SDKs export every 5 s per process and a client span ends after its server
 * span, so halves routinely reach ingest seconds apart, plus queue batching. At most `maxPending`
 * halves (default 10,000) are held; past that the oldest is expired early (and counted as evicted).
 *
 * Each span must be fed once: a span fed again after its pair completed waits alone and expires
 * (a client with a peer attribute then adds one spurious virtual-node request). The assembler's
 * span dedupe decides which spans are new.
 */
import { durationMs, isRootSpan, serviceName, stringAttribute, unixSeconds } from "../metrics/span-fields.ts";
import { SpanKind, StatusCode, type KeyValue, type ResourceSpans, type Span } from "../model/span.ts";

/** Tempo's `connection_type` values. */
export type ConnectionType = "" | "messaging_system" | "database" | "virtual_node";

/** The virtual node that calls root server spans. */
export const USER_NODE = "user";

/** One request between two nodes. */
export interface Edge {
  source: string;
  target: string;
  connectionType: ConnectionType;
  failed: boolean;
  /** Client span duration in ms; undefined for `user` edges. */
  clientMs: number | undefined;
  /** Server span duration in ms; undefined when the target is a virtual node. */
  serverMs: number | undefined;
  /** Unix seconds of the request's start (client span start, or server span start for `user`). */
  startSec: number;
  traceId: string;
}

/** An unpaired half, as persisted between batches. */
export interface PendingHalf {
  /** `<traceId>-<client span id>`: the client's own id, the server's parent id. */
  key: string;
  side: "client" | "server";
  service: string;
  /** PRODUCER or CONSUMER span. */
  messaging: boolean;
  durationMs: number;
  failed: boolean;
  /** Unix seconds of the span's start. */
  startSec: number;
  /** Client halves: the virtual node to use if no server half comes; "" to drop. */
  peer: string;
  /** A CONSUMER root keyed by its span link: `user` -> it if no producer half comes. */
  linked?: boolean;
  /** Store clock (ms) at which the half stops waiting. */
  expiresAtMs: number;
  /**
   * Wall-clock time (ms) at which the half reached this store, when it came from another store
   * (`addPending`): it then also waits `waitMs` of wall time before it can expire (see `expire`).
   */
  heldSinceMs?: number;
}

export const EDGE_STORE_FORMAT = "edgetrace.edges.v1";

/** What `toJSON` returns and `fromJSON` takes: plain JSON, one blob per tenant. */
export interface EdgeStoreState {
  format: typeof EDGE_STORE_FORMAT;
  /** The store's `tenantId`, under the name it has always been stored with (rows keep it too: metrics/rows.ts). */
  tenant: string;
  /** The largest arrival time (ms) given so far. */
  clockMs: number;
  /** In arrival order. */
  pending: PendingHalf[];
}

export interface EdgeStoreOptions {
  /** How long a half waits for its partner, in ms of arrival time. Default 60,000. */
  waitMs?: number;
  /** Most halves held; the oldest is expired early past this. Default 10,000. */
  maxPending?: number;
}

export const DEFAULT_EDGE_WAIT_MS = 60_000;
export const DEFAULT_MAX_PENDING = 10_000;

/** Counts since this instance was made (not persisted): for logs and tests. */
export interface EdgeStoreStats {
  paired: number;
  database: number;
  user: number;
  expiredToVirtual: number;
  expiredDropped: number;
  /** Halves expired early because the store was full (also counted in the two above). */
  evicted: number;
}

const DATABASE_MARKERS = ["db.system", "db.system.name", "db.name", "db.namespace"];
const DATABASE_NAMES = ["peer.service", "server.address", "net.peer.name", "db.name", "db.namespace", "db.system", "db.system.name"];
const VIRTUAL_PEER_NAMES = ["peer.service", "service.peer.name", "messaging.system", "server.address", "net.peer.name"];

/** Pairs client and server halves of one tenant's requests across batches. */
export class EdgeStore {
  readonly tenantId: string;
  readonly stats: EdgeStoreStats = { paired: 0, database: 0, user: 0, expiredToVirtual: 0, expiredDropped: 0, evicted: 0 };
  readonly #waitMs: number;
  readonly #maxPending: number;
  /** Insertion order is arrival order, which eviction relies on. */
  readonly #pending = new Map<string, PendingHalf>();
  #clockMs = 0;

  constructor(tenantId: string, options: EdgeStoreOptions = {}) {
    this.tenantId = tenantId;
    this.#waitMs = options.waitMs ?? DEFAULT_EDGE_WAIT_MS;
    this.#maxPending = Math.max(1, options.maxPending ?? DEFAULT_MAX_PENDING);
  }

  /** Restores a store saved with `toJSON` (options are not part of the state). */
  static fromJSON(state: EdgeStoreState, options: EdgeStoreOptions = {}): EdgeStore {
    if (state.format !== EDGE_STORE_FORMAT) throw new Error(`edge store: unknown format ${String(state.format)}`);
    const store = new EdgeStore(state.tenant, options);
    store.#clockMs = state.clockMs;
    for (const half of state.pending) store.#pending.set(half.key, { ...half });
    return store;
  }

  toJSON(): EdgeStoreState {
    return { format: EDGE_STORE_FORMAT, tenant: this.tenantId, clockMs: this.#clockMs, pending: [...this.#pending.values()].map((h) => ({ ...h })) };
  }

  /** The store's clock: the largest arrival time given so far. */
  get clockMs(): number {
    return this.#clockMs;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Adds the spans of a batch or trace group that arrived at `nowMs`; returns the edges completed
   * by them (pairs, database calls, root servers, and any halves evicted to make room).
   */
  addBatch(group: { resourceSpans: readonly ResourceSpans[] }, nowMs: number): Edge[] {
    this.#advance(nowMs);
    const out: Edge[] = [];
    for (const rs of group.resourceSpans) {
      const service = serviceName(rs.resource);
      if (service === undefined) continue;
      for (const ss of rs.scopeSpans) for (const span of ss.spans) this.#addSpan(span, service, out);
    }
    return out;
  }

  /**
   * Halves another store left unpaired (a consumer's share of one queue batch), merged into this
   * one: each pairs with a waiting partner, or waits with its own expiry (arrival time plus the
   * wait). `clockMs` is the newest arrival time among them; `wallMs` is now, recorded on each half
   * so that `expire` with a wall clock also lets it wait that long in real time.
   */
  addPending(halves: readonly PendingHalf[], clockMs: number, wallMs: number): Edge[] {
    this.#advance(clockMs);
    const out: Edge[] = [];
    for (const half of halves) this.#upsert({ ...half, heldSinceMs: wallMs }, out);
    return out;
  }

  /**
   * Ends the wait of every half whose time is up at `nowMs` (or the store's clock if later):
   * client halves with a virtual-node attribute become virtual-node edges, the rest are dropped.
   * With `wallMs`, a half merged by `addPending` must also have been held `waitMs` of wall time:
   * a message retried late (its consumer failed) during a fast backlog drain, when the arrival
   * clock runs ahead of real time, still finds its partners waiting.
   */
  expire(nowMs: number, wallMs?: number): Edge[] {
    this.#advance(nowMs);
    const out: Edge[] = [];
    for (const half of this.#pending.values()) {
      if (half.expiresAtMs > this.#clockMs) continue;
      if (wallMs !== undefined && half.heldSinceMs !== undefined && half.heldSinceMs + this.#waitMs > wallMs) continue;
      this.#pending.delete(half.key);
      this.#resolveExpired(half, out);
    }
    return out;
  }

  #advance(nowMs: number): void {
    if (nowMs > this.#clockMs) this.#clockMs = nowMs;
  }

  #addSpan(span: Span, service: string, out: Edge[]): void {
    const kind = span.kind;
    const isClient = kind === SpanKind.CLIENT || kind === SpanKind.PRODUCER;
    const isServer = kind === SpanKind.SERVER || kind === SpanKind.CONSUMER;
    const root = isRootSpan(span.parentSpanId);
    if (!isClient && !isServer && !root) return;
    const ms = durationMs(span.startTimeUnixNano, span.endTimeUnixNano);
    const failed = span.status.code === StatusCode.ERROR;
    const startSec = unixSeconds(span.startTimeUnixNano);
    const producer = kind === SpanKind.CONSUMER && root ? producerLink(span) : undefined;

    if (root && producer === undefined) {
      // The request the root's service served, from a caller nobody instrumented.
      this.stats.user++;
      out.push({ source: USER_NODE, target: service, connectionType: "virtual_node", failed, clientMs: undefined, serverMs: ms, startSec, traceId: span.traceId });
      if (!isClient) return;
    }
    if (isClient) {
      const database = databaseName(span.attributes);
      if (database !== undefined) {
        this.stats.database++;
        out.push({ source: service, target: database, connectionType: "database", failed, clientMs: ms, serverMs: undefined, startSec, traceId: span.traceId });
        return;
      }
    }

    this.#upsert(
      {
        key: producer ?? `${span.traceId}-${isClient ? span.spanId : span.parentSpanId}`,
        side: isClient ? "client" : "server",
        service,
        messaging: kind === SpanKind.PRODUCER || kind === SpanKind.CONSUMER,
        durationMs: ms,
        failed,
        startSec,
        peer: isClient ? (firstAttribute(span.attributes, VIRTUAL_PEER_NAMES) ?? "") : "",
        expiresAtMs: this.#clockMs + this.#waitMs,
        ...(producer !== undefined ? { linked: true } : {}),
      },
      out,
    );
  }

  #upsert(half: PendingHalf, out: Edge[]): void {
    const waiting = this.#pending.get(half.key);
    if (waiting !== undefined && waiting.side !== half.side) {
      this.#pending.delete(half.key);
      this.stats.paired++;
      out.push(half.side === "client" ? pair(half, waiting) : pair(waiting, half));
      return;
    }
    if (waiting !== undefined) {
      // The same half again (a second consumer of one message, or a repeat): the latest wins and
      // keeps the first one's place and expiry, as Tempo's store does.
      this.#pending.set(half.key, { ...half, expiresAtMs: waiting.expiresAtMs, heldSinceMs: waiting.heldSinceMs });
      return;
    }
    if (this.#pending.size >= this.#maxPending) {
      const oldest = this.#pending.values().next().value!;
      this.#pending.delete(oldest.key);
      this.stats.evicted++;
      this.#resolveExpired(oldest, out);
    }
    this.#pending.set(half.key, half);
  }

  #resolveExpired(half: PendingHalf, out: Edge[]): void {
    if (half.side === "client" && half.peer !== "") {
      this.stats.expiredToVirtual++;
      out.push({
        source: half.service,
        target: half.peer,
        connectionType: "virtual_node",
        failed: half.failed,
        clientMs: half.durationMs,
        serverMs: undefined,
        startSec: half.startSec,
        traceId: traceIdOf(half.key),
      });
    } else if (half.side === "server" && half.linked === true) {
      this.stats.expiredToVirtual++;
      out.push({ source: USER_NODE, target: half.service, connectionType: "virtual_node", failed: half.failed, clientMs: undefined, serverMs: half.durationMs, startSec: half.startSec, traceId: traceIdOf(half.key) });
    } else {
      this.stats.expiredDropped++;
    }
  }
}

/** The client key (`<traceId>-<spanId>`) of the producer span a consumer root links to, if any. */
function producerLink(span: Span): string | undefined {
  const link = span.links.find((l) => /^[0-9a-f]{32}$/.test(l.traceId) && /^[0-9a-f]{16}$/.test(l.spanId) && !/^0+$/.test(l.spanId));
  return link === undefined ? undefined : `${link.traceId}-${link.spanId}`;
}

function pair(client: PendingHalf, server: PendingHalf): Edge {
  return {
    source: client.service,
    target: server.service,
    connectionType: client.messaging || server.messaging ? "messaging_system" : "",
    failed: client.failed || server.failed,
    clientMs: client.durationMs,
    serverMs: server.durationMs,
    startSec: client.startSec,
    traceId: traceIdOf(client.key),
  };
}

function traceIdOf(key: string): string {
  return key.slice(0, key.indexOf("-"));
}

function firstAttribute(attributes: readonly KeyValue[], keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const v = stringAttribute(attributes, key);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** The database node a client span calls, or undefined when it is not a database call. */
function databaseName(attributes: readonly KeyValue[]): string | undefined {
  if (firstAttribute(attributes, DATABASE_MARKERS) === undefined) return undefined;
  return firstAttribute(attributes, DATABASE_NAMES);
}
