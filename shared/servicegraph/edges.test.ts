import { describe, expect, it } from "vitest";
import { SpanKind, type Span } from "../model/span.ts";
import { at, batchOf, testSpan, testResourceSpans, TRACE_ID, type SpanFields } from "../../test/support/spans.ts";
import { EdgeStore, type EdgeStoreState } from "./edges.ts";

const T0 = 1_764_090_000;
const NOW = 1_764_090_000_000; // arrival clock, ms

const client = (spanId: string, extra: Partial<SpanFields> = {}) =>
  testSpan({ spanId, parentSpanId: "1111111111111111", kind: SpanKind.CLIENT, start: at(T0, 0), end: at(T0, 30), ...extra });
const server = (spanId: string, parentSpanId: string, extra: Partial<SpanFields> = {}) =>
  testSpan({ spanId, parentSpanId, kind: SpanKind.SERVER, start: at(T0, 5), end: at(T0, 25), ...extra });

/** One span of `service` arriving at `nowMs`, in a batch of its own. */
const add = (store: EdgeStore, span: Span, service: string, nowMs: number) => store.addBatch(batchOf(testResourceSpans(service, [span])), nowMs);

/** Saves and restores the store the way the assembler will, through JSON text. */
function roundTrip(store: EdgeStore): EdgeStore {
  return EdgeStore.fromJSON(JSON.parse(JSON.stringify(store.toJSON())) as EdgeStoreState);
}

describe("EdgeStore", () => {
  it("pairs a client span with its server child in one batch, in either order", () => {
    for (const order of ["client first", "server first"]) {
      const store = new EdgeStore("tn_a");
      const c = testResourceSpans("frontend", [client("aaaaaaaaaaaaaaaa")]);
      const s = testResourceSpans("cart", [server("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa", { error: true })]);
      const edges = store.addBatch(order === "client first" ? batchOf(c, s) : batchOf(s, c), NOW);
      expect(edges, order).toEqual([
        { source: "frontend", target: "cart", connectionType: "", failed: true, clientMs: 30, serverMs: 20, startSec: T0, traceId: c.scopeSpans[0]!.spans[0]!.traceId },
      ]);
      expect(store.pendingCount).toBe(0);
      expect(store.stats.paired).toBe(1);
    }
  });

  it("pairs halves that arrive in different batches, through the JSON state", () => {
    let store = new EdgeStore("tn_a");
    expect(store.addBatch(batchOf(testResourceSpans("frontend", [client("aaaaaaaaaaaaaaaa", { error: true })])), NOW)).toEqual([]);
    store = roundTrip(store);
    expect(store.pendingCount).toBe(1);
    expect(store.expire(NOW + 59_999)).toEqual([]);
    store = roundTrip(store);
    const edges = store.addBatch(batchOf(testResourceSpans("cart", [server("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa")])), NOW + 59_999);
    expect(edges).toMatchObject([{ source: "frontend", target: "cart", connectionType: "", failed: true }]);
    expect(store.toJSON().pending).toEqual([]);
  });

  it("makes producer -> consumer edges of type messaging_system", () => {
    const store = new EdgeStore("tn_a");
    const edges = store.addBatch(
      batchOf(
        testResourceSpans("checkout", [client("aaaaaaaaaaaaaaaa", { kind: SpanKind.PRODUCER, attributes: { "messaging.system": "kafka" } })]),
        testResourceSpans("shipping", [server("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa", { kind: SpanKind.CONSUMER })]),
      ),
      NOW,
    );
    expect(edges).toMatchObject([{ source: "checkout", target: "shipping", connectionType: "messaging_system" }]);
  });

  it("makes database edges at once, named as Tempo names them", () => {
    const store = new EdgeStore("tn_a");
    const cases: Array<[Record<string, string>, string]> = [
      [{ "db.system": "redis" }, "redis"],
      [{ "db.system": "postgresql", "db.name": "orders" }, "orders"],
      [{ "db.system.name": "postgresql", "db.namespace": "orders" }, "orders"],
      [{ "db.system": "postgresql", "db.name": "orders", "server.address": "pg-main" }, "pg-main"],
      [{ "db.system": "postgresql", "server.address": "pg-main", "peer.service": "orders-db" }, "orders-db"],
    ];
    cases.forEach(([attributes, target], i) => {
      const edges = add(store, client(`c${i}`.padEnd(16, "0"), { attributes, error: i === 0 }), "cart", NOW);
      expect(edges, JSON.stringify(attributes)).toMatchObject([
        { source: "cart", target, connectionType: "database", failed: i === 0, clientMs: 30, serverMs: undefined },
      ]);
    });
    expect(store.pendingCount).toBe(0);
    expect(store.stats.database).toBe(cases.length);
  });

  it("makes user edges at once for server and consumer spans without a parent", () => {
    const store = new EdgeStore("tn_a");
    const edges = store.addBatch(
      batchOf(
        testResourceSpans("frontend", [server("aaaaaaaaaaaaaaaa", "", { error: true }), server("bbbbbbbbbbbbbbbb", "0000000000000000")]),
        testResourceSpans("worker", [server("cccccccccccccccc", "", { kind: SpanKind.CONSUMER })]),
      ),
      NOW,
    );
    expect(edges).toMatchObject([
      { source: "user", target: "frontend", connectionType: "virtual_node", failed: true, clientMs: undefined, serverMs: 20, startSec: T0 },
      { source: "user", target: "frontend", failed: false },
      { source: "user", target: "worker", connectionType: "virtual_node" },
    ]);
    expect(store.pendingCount).toBe(0);
  });

  it("expires an unpaired client to a virtual node named by its peer attribute, after the wait", () => {
    const peers: Array<[Record<string, string>, string | undefined]> = [
      [{ "peer.service": "stripe", "server.address": "api.stripe.com" }, "stripe"],
      [{ "service.peer.name": "stripe" }, "stripe"],
      [{ "messaging.system": "kafka", "server.address": "broker-1" }, "kafka"],
      [{ "server.address": "api.geo.example" }, "api.geo.example"],
      [{ "net.peer.name": "legacy-host" }, "legacy-host"],
      [{ "http.method": "GET" }, undefined],
    ];
    const store = new EdgeStore("tn_a", { waitMs: 10_000 });
    peers.forEach(([attributes], i) => add(store, client(`c${i}`.padEnd(16, "0"), { attributes, error: i === 0 }), "payment", NOW));
    expect(store.expire(NOW + 9_999)).toEqual([]);
    const edges = store.expire(NOW + 10_000);
    expect(edges.map((e) => e.target)).toEqual(peers.flatMap(([, t]) => (t === undefined ? [] : [t])));
    expect(edges[0]).toMatchObject({ source: "payment", connectionType: "virtual_node", failed: true, clientMs: 30, serverMs: undefined, startSec: T0 });
    expect(store.stats).toMatchObject({ expiredToVirtual: 5, expiredDropped: 1 });
    expect(store.pendingCount).toBe(0);
  });

  it("drops server halves whose client never comes, and late halves after the wait", () => {
    const store = new EdgeStore("tn_a", { waitMs: 10_000 });
    add(store, server("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa"), "cart", NOW);
    add(store, client("cccccccccccccccc", { attributes: { "peer.service": "cart" } }), "frontend", NOW);
    expect(store.expire(NOW + 10_000)).toMatchObject([{ source: "frontend", target: "cart", connectionType: "virtual_node" }]);
    // The server half of that client arrives too late: it waits alone and is dropped.
    expect(add(store, server("dddddddddddddddd", "cccccccccccccccc"), "cart", NOW + 11_000)).toEqual([]);
    expect(store.expire(NOW + 21_000)).toEqual([]);
    expect(store.stats).toMatchObject({ paired: 0, expiredToVirtual: 1, expiredDropped: 2 });
  });

  it("keeps its clock from running backwards", () => {
    const store = new EdgeStore("tn_a", { waitMs: 10_000 });
    add(store, client("aaaaaaaaaaaaaaaa", { attributes: { "peer.service": "x" } }), "a", NOW + 50_000);
    // An older batch processed late: its halves wait from the store's clock, not from their own time.
    add(store, client("bbbbbbbbbbbbbbbb", { attributes: { "peer.service": "y" } }), "a", NOW);
    expect(store.toJSON().pending.map((h) => h.expiresAtMs)).toEqual([NOW + 60_000, NOW + 60_000]);
    expect(store.expire(NOW + 1)).toEqual([]); // an older clock changes nothing
    expect(store.expire(NOW + 60_000)).toHaveLength(2);
  });

  it("keeps the first expiry when the same half comes again", () => {
    const store = new EdgeStore("tn_a", { waitMs: 10_000 });
    add(store, server("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa"), "shipping", NOW);
    add(store, server("cccccccccccccccc", "aaaaaaaaaaaaaaaa"), "email", NOW + 5_000);
    expect(store.toJSON().pending).toMatchObject([{ service: "email", expiresAtMs: NOW + 10_000 }]);
  });

  it("expires the oldest half early when full", () => {
    const store = new EdgeStore("tn_a", { maxPending: 2 });
    add(store, client("aaaaaaaaaaaaaaaa", { attributes: { "peer.service": "x" } }), "a", NOW);
    add(store, client("bbbbbbbbbbbbbbbb"), "a", NOW);
    const edges = add(store, client("cccccccccccccccc"), "a", NOW);
    expect(edges).toMatchObject([{ source: "a", target: "x", connectionType: "virtual_node" }]);
    expect(store.pendingCount).toBe(2);
    expect(store.stats.evicted).toBe(1);
    // Pairing still frees room without evicting.
    expect(add(store, server("dddddddddddddddd", "bbbbbbbbbbbbbbbb"), "b", NOW)).toHaveLength(1);
    expect(store.stats.evicted).toBe(1);
  });

  it("ignores internal spans with a parent and resources without service.name", () => {
    const store = new EdgeStore("tn_a");
    const edges = store.addBatch(
      batchOf(
        testResourceSpans("a", [testSpan({ spanId: "aaaaaaaaaaaaaaaa", parentSpanId: "1111111111111111", kind: SpanKind.INTERNAL, start: at(T0), end: at(T0, 1) })]),
        testResourceSpans(undefined, [server("bbbbbbbbbbbbbbbb", "")]),
      ),
      NOW,
    );
    expect(edges).toEqual([]);
    expect(store.pendingCount).toBe(0);
  });

  it("counts a root span of any kind as a request from user to its service", () => {
    for (const kind of [SpanKind.INTERNAL, SpanKind.UNSPECIFIED, SpanKind.SERVER, SpanKind.CONSUMER]) {
      const store = new EdgeStore("tn_a");
      const root = testSpan({ spanId: "aaaaaaaaaaaaaaaa", kind, start: at(T0), end: at(T0, 40), error: true });
      expect(add(store, root, "web-frontend", NOW), `kind ${kind}`).toEqual([
        { source: "user", target: "web-frontend", connectionType: "virtual_node", failed: true, clientMs: undefined, serverMs: 40, startSec: T0, traceId: TRACE_ID },
      ]);
      expect(store.pendingCount).toBe(0);
    }
  });

  it("a CLIENT root is a request from user and also waits for its server", () => {
    const store = new EdgeStore("tn_a");
    const root = testSpan({ spanId: "aaaaaaaaaaaaaaaa", kind: SpanKind.CLIENT, start: at(T0), end: at(T0, 30) });
    expect(add(store, root, "cron", NOW)).toMatchObject([{ source: "user", target: "cron", serverMs: 30 }]);
    expect(add(store, server("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa"), "api", NOW)).toMatchObject([{ source: "cron", target: "api", connectionType: "", clientMs: 30, serverMs: 20 }]);
  });

  describe("a consumer root linked to its producer in another trace", () => {
    const PRODUCER_TRACE = "1234567890abcdef1234567890abcdef";
    const CONSUMER_TRACE = "fedcba0987654321fedcba0987654321";
    const producer = () => testSpan({ traceId: PRODUCER_TRACE, spanId: "aaaaaaaaaaaaaaaa", parentSpanId: "1111111111111111", kind: SpanKind.PRODUCER, start: at(T0, 0), end: at(T0, 4), attributes: { "messaging.system": "kafka" } });
    const consumer = (links = [{ traceId: PRODUCER_TRACE, spanId: "aaaaaaaaaaaaaaaa" }]) => ({
      ...testSpan({ traceId: CONSUMER_TRACE, spanId: "cccccccccccccccc", kind: SpanKind.CONSUMER, start: at(T0, 500), end: at(T0, 530) }),
      links: links.map((l) => ({ ...l, traceState: "", attributes: [], droppedAttributesCount: 0, flags: 1 })),
    });
    const messaging = { source: "orders", target: "mailer", connectionType: "messaging_system", failed: false, clientMs: 4, serverMs: 30, startSec: T0, traceId: PRODUCER_TRACE };

    it("pairs as one messaging_system edge, producer first or consumer first, through the JSON state", () => {
      let store = new EdgeStore("tn_a");
      expect(add(store, producer(), "orders", NOW)).toEqual([]);
      store = roundTrip(store);
      expect(add(store, consumer(), "mailer", NOW + 5_000)).toEqual([messaging]);

      store = new EdgeStore("tn_a");
      expect(add(store, consumer(), "mailer", NOW)).toEqual([]);
      store = roundTrip(store);
      expect(store.toJSON().pending[0]).toMatchObject({ key: `${PRODUCER_TRACE}-aaaaaaaaaaaaaaaa`, side: "server", linked: true });
      expect(add(store, producer(), "orders", NOW + 5_000)).toEqual([messaging]);
      expect(store.pendingCount).toBe(0);
      expect(store.expire(NOW + 600_000)).toEqual([]);
    });

    it("without its producer, falls back to user -> consumer when the wait ends; the producer to its broker", () => {
      const store = new EdgeStore("tn_a");
      expect(add(store, consumer(), "mailer", NOW)).toEqual([]);
      expect(store.expire(NOW + 59_999)).toEqual([]);
      expect(store.expire(NOW + 60_000)).toMatchObject([{ source: "user", target: "mailer", connectionType: "virtual_node", serverMs: 30, clientMs: undefined }]);
      expect(add(store, producer(), "orders", NOW + 70_000)).toEqual([]);
      expect(store.expire(NOW + 130_000)).toMatchObject([{ source: "orders", target: "kafka", connectionType: "virtual_node" }]);
    });

    it("follows the first valid link; a consumer root without one is user -> consumer at once", () => {
      const store = new EdgeStore("tn_a");
      const twoLinks = consumer([{ traceId: "0".repeat(32), spanId: "0".repeat(16) }, { traceId: PRODUCER_TRACE, spanId: "aaaaaaaaaaaaaaaa" }]);
      expect(add(store, twoLinks, "mailer", NOW)).toEqual([]);
      expect(add(store, producer(), "orders", NOW)).toEqual([messaging]);
      expect(add(store, consumer([]), "mailer", NOW)).toMatchObject([{ source: "user", target: "mailer" }]);
    });

    it("a consumer with a parent pairs by its parent, not its links", () => {
      const store = new EdgeStore("tn_a");
      const child = { ...consumer(), traceId: PRODUCER_TRACE, parentSpanId: "bbbbbbbbbbbbbbbb" };
      expect(add(store, child, "mailer", NOW)).toEqual([]);
      expect(add(store, producer(), "orders", NOW)).toEqual([]);
      expect(store.toJSON().pending.map((h) => h.key).sort()).toEqual([`${PRODUCER_TRACE}-aaaaaaaaaaaaaaaa`, `${PRODUCER_TRACE}-bbbbbbbbbbbbbbbb`]);
    });
  });

  it("refuses a state of another format", () => {
    expect(() => EdgeStore.fromJSON({ format: "x", tenant: "t", clockMs: 0, pending: [] } as unknown as EdgeStoreState)).toThrow(/unknown format/);
  });
});

describe("EdgeStore.addPending and expire(clock, wallMs)", () => {
  const WALL = 1_800_000_000_000; // the object's wall clock, unrelated to arrival times

  /** The halves a consumer's own store leaves unpaired, as shared/assembly/plan.ts sends them. */
  function halvesOf(nowMs: number, ...rs: ReturnType<typeof testResourceSpans>[]) {
    const consumer = new EdgeStore("tn_a");
    expect(consumer.addBatch(batchOf(...rs), nowMs)).toEqual([]);
    return consumer.toJSON().pending;
  }
  const lonely = (spanId: string, peer: string) => testResourceSpans("frontend", [client(spanId, { attributes: { "peer.service": peer } })]);

  it("pairs a half with a waiting half of the other side, whichever store it came from", () => {
    const traceId = client("aaaaaaaaaaaaaaaa").traceId;
    // Waiting from addBatch, partner through addPending.
    const store = new EdgeStore("tn_a");
    store.addBatch(batchOf(testResourceSpans("frontend", [client("aaaaaaaaaaaaaaaa", { error: true })])), NOW);
    const edges = store.addPending(halvesOf(NOW + 1_000, testResourceSpans("cart", [server("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa")])), NOW + 1_000, WALL);
    expect(edges).toEqual([{ source: "frontend", target: "cart", connectionType: "", failed: true, clientMs: 30, serverMs: 20, startSec: T0, traceId }]);
    expect(store.pendingCount).toBe(0);
    expect(store.stats.paired).toBe(1);

    // Both through addPending, server first.
    const object = new EdgeStore("tn_a");
    expect(object.addPending(halvesOf(NOW, testResourceSpans("cart", [server("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa")])), NOW, WALL)).toEqual([]);
    expect(object.addPending(halvesOf(NOW, testResourceSpans("frontend", [client("aaaaaaaaaaaaaaaa")])), NOW, WALL + 5_000)).toEqual([
      { source: "frontend", target: "cart", connectionType: "", failed: false, clientMs: 30, serverMs: 20, startSec: T0, traceId },
    ]);
    expect(object.pendingCount).toBe(0);
  });

  it("records heldSinceMs, keeps the half's own expiry, and moves the clock forward only", () => {
    const store = new EdgeStore("tn_a");
    store.addPending(halvesOf(NOW, lonely("aaaaaaaaaaaaaaaa", "x")), NOW + 5_000, WALL);
    // The expiry the consumer's store gave it (its arrival plus the wait), not the clock's.
    expect(store.toJSON().pending).toMatchObject([{ key: `${TRACE_ID}-aaaaaaaaaaaaaaaa`, side: "client", peer: "x", expiresAtMs: NOW + 60_000, heldSinceMs: WALL }]);
    expect(store.clockMs).toBe(NOW + 5_000);
    store.addPending([], NOW, WALL + 1);
    expect(store.clockMs).toBe(NOW + 5_000);
  });

  it("keeps the first copy's expiry and heldSinceMs when the same half comes again", () => {
    const store = new EdgeStore("tn_a");
    store.addPending(halvesOf(NOW, testResourceSpans("shipping", [server("bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa")])), NOW, WALL);
    // A second consumer of the same message, later in both clocks.
    store.addPending(halvesOf(NOW + 30_000, testResourceSpans("email", [server("cccccccccccccccc", "aaaaaaaaaaaaaaaa")])), NOW + 30_000, WALL + 30_000);
    expect(store.toJSON().pending).toMatchObject([{ service: "email", side: "server", expiresAtMs: NOW + 60_000, heldSinceMs: WALL }]);
    expect(store.pendingCount).toBe(1);
    expect(store.stats.paired).toBe(0);
  });

  // A half that came through addPending at (NOW, WALL) with expiresAtMs NOW + 60 s.
  it.each([
    ["neither clock passed", NOW + 59_999, WALL + 59_999, false],
    ["arrival clock passed, wall clock not (a fast backlog drain)", NOW + 600_000, WALL + 59_999, false],
    ["wall clock passed, arrival clock not (a quiet tenant)", NOW + 59_999, WALL + 600_000, false],
    ["both passed, exactly", NOW + 60_000, WALL + 60_000, true],
    ["both passed", NOW + 600_000, WALL + 600_000, true],
  ])("expire(clock, wall): %s -> expired %s", (_, clockMs, wallMs, expired) => {
    const store = new EdgeStore("tn_a");
    store.addPending(halvesOf(NOW, lonely("aaaaaaaaaaaaaaaa", "stripe")), NOW, WALL);
    const edges = store.expire(clockMs, wallMs);
    expect(edges).toEqual(expired ? [{ source: "frontend", target: "stripe", connectionType: "virtual_node", failed: false, clientMs: 30, serverMs: undefined, startSec: T0, traceId: TRACE_ID }] : []);
    expect(store.pendingCount).toBe(expired ? 0 : 1);
  });

  it("holds halves of addBatch to the arrival clock only, and without a wall clock all halves", () => {
    const store = new EdgeStore("tn_a");
    store.addBatch(batchOf(lonely("aaaaaaaaaaaaaaaa", "local")), NOW);
    store.addPending(halvesOf(NOW, lonely("bbbbbbbbbbbbbbbb", "merged")), NOW, WALL);
    // The wall clock only holds the merged half back.
    expect(store.expire(NOW + 60_000, WALL + 1).map((e) => e.target)).toEqual(["local"]);
    // Without a wall clock the merged half goes by the arrival clock alone.
    expect(store.expire(NOW + 60_000).map((e) => e.target)).toEqual(["merged"]);
    expect(store.pendingCount).toBe(0);
  });

  it("keeps heldSinceMs through the JSON state", () => {
    let store = new EdgeStore("tn_a");
    store.addPending(halvesOf(NOW, lonely("aaaaaaaaaaaaaaaa", "stripe")), NOW, WALL);
    store = roundTrip(store);
    expect(store.toJSON().pending[0]!.heldSinceMs).toBe(WALL);
    expect(store.expire(NOW + 60_000, WALL + 59_999)).toEqual([]);
    store = roundTrip(store);
    expect(store.expire(NOW + 60_000, WALL + 60_000)).toMatchObject([{ target: "stripe" }]);
  });
});
