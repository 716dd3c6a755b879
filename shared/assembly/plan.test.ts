/**
 * The queue consumer's decisions for one tenant's share of a batch, case by case of redelivery:
 * which keys need the ledger, which are read, skipped, written into the block, counted in the
 * delta, and which R2 objects are deleted. The worker does the I/O; here the reads are a map.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SpanKind, type ResourceSpans } from "../model/span.ts";
import { at, batchOf, testSpan, testResourceSpans } from "../../test/support/spans.ts";
import { decodeIngestBatch, encodeIngestBatch, type IngestBatchObject } from "../ingest/batch-object.ts";
import { groupByTrace } from "../ingest/group-by-trace.ts";
import { ingestBatchKey } from "../storage/keys.ts";
import type { EdgeRow } from "../servicegraph/aggregate.ts";
import type { OperationRow } from "../metrics/red.ts";
import type { TenantDelta } from "../tenant-object/open-metrics.ts";
import {
  SPILL_AFTER_ATTEMPTS,
  deterministicBlockId,
  distinctSources,
  isUsageOnly,
  mayBeRedelivered,
  onFailure,
  planTenantBatch,
  sourcesToRead,
  tenantDelta,
  type AssemblySource,
  type TenantBatchPlan,
} from "./plan.ts";

const TENANT = "tn_a";
const T0 = 1_764_090_000; // 2025-11-25T17:00:00Z
const DAY = "2025-11-25";
const RECV = T0 * 1000 + 5_000;

const T1 = "11111111111111111111111111111111";
const T2 = "22222222222222222222222222222222";
const T3 = "33333333333333333333333333333333";

const span = (traceId: string, spanId: string, kind: number, parentSpanId = "", extra: { name?: string; attributes?: Record<string, string>; error?: boolean } = {}) =>
  testSpan({ traceId, spanId, parentSpanId, kind, start: at(T0 + 10), end: at(T0 + 10, 20), ...extra });

interface Fixture {
  key: string;
  object: IngestBatchObject;
}

/** An ingest object as the assembler reads it: encoded and decoded as ingest stores it. */
function ingestObject(batchId: string, receivedAtMs: number, ...rs: ResourceSpans[]): Fixture {
  const { bytes } = encodeIngestBatch({ tenantId: TENANT, batchId, receivedAtMs, source: "otlp-proto", traces: groupByTrace(batchOf(...rs)) });
  return { key: ingestBatchKey(TENANT, receivedAtMs, batchId), object: decodeIngestBatch(bytes) };
}

// A: the frontend's root server span and its client call to cart (trace T1).
const A = ingestObject("a", RECV, testResourceSpans("frontend", [span(T1, "a1a1a1a1a1a1a1a1", SpanKind.SERVER, "", { name: "GET /" }), span(T1, "a2a2a2a2a2a2a2a2", SpanKind.CLIENT, "a1a1a1a1a1a1a1a1", { name: "GET /cart" })]));
// B: cart's server span for A's call (T1), and a root of another trace (T3) listed first.
const B = ingestObject(
  "b",
  RECV + 1_000,
  testResourceSpans("cart", [span(T3, "b3b3b3b3b3b3b3b3", SpanKind.SERVER, "", { name: "GET /health" }), span(T1, "b1b1b1b1b1b1b1b1", SpanKind.SERVER, "a2a2a2a2a2a2a2a2", { name: "GET /cart", error: true })]),
);
// C: a payment call to an uninstrumented API (T2): a client half that nothing in the batch pairs.
const C = ingestObject("c", RECV + 2_000, testResourceSpans("payment", [span(T2, "c1c1c1c1c1c1c1c1", SpanKind.CLIENT, "c0c0c0c0c0c0c0c0", { name: "POST /charge", attributes: { "peer.service": "stripe" } })]));

type SourceOptions = Partial<Pick<AssemblySource, "attempts" | "swept">>;
const inline = (f: Fixture, o: SourceOptions = { attempts: 1 }): AssemblySource => ({ key: f.key, inline: new Uint8Array([0x1f, 0x8b]), bytes: 1000, spanCount: f.object.spanCount, receivedAtMs: f.object.receivedAtMs, ...o });
const r2 = (f: Fixture, o: SourceOptions = { attempts: 1 }): AssemblySource => ({ key: f.key, bytes: 1000, spanCount: f.object.spanCount, receivedAtMs: f.object.receivedAtMs, ...o });
/** A message that only reports spans ingest refused: no object. */
const usageOnly = (batchId: string, receivedAtMs: number, rejectedSpans: number, o: SourceOptions = { attempts: 1 }): AssemblySource => ({
  key: ingestBatchKey(TENANT, receivedAtMs, batchId),
  bytes: 0,
  spanCount: 0,
  rejectedSpans,
  receivedAtMs,
  ...o,
});
const U = usageOnly("u", RECV + 3_000, 7);
const U2 = usageOnly("u2", RECV + 4_000, 3);

const FIXTURES = new Map([A, B, C].map((f) => [f.key, f.object]));

/** The block id, computed independently: "l0-" and 12 bytes of SHA-256 of the sorted keys. */
const blockIdOf = (keys: string[]) => `l0-${createHash("sha256").update([...keys].sort().join("\n")).digest("hex").slice(0, 24)}`;

const edgeSummary = (rows: EdgeRow[]) => rows.map((r) => `${r.minute} ${r.source}->${r.target}:${r.connectionType} requests=${r.requests} failed=${r.failed}`).sort();
const opSummary = (rows: OperationRow[]) => rows.map((r) => `${r.minute} ${r.service} ${r.operation} kind=${r.kind} count=${r.count} errors=${r.errors}`).sort();
const halfSummary = (d: TenantDelta) => d.halves.map((h) => `${h.key} ${h.side} ${h.service}`).sort();
const traceSummary = (plan: TenantBatchPlan) => plan.block?.traces.map((t) => `${t.traceId}: ${t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId))).join(",")}`);

/** What the worker does around the plan: ask the ledger if needed, read what is to be read. */
async function runPlan(input: AssemblySource[], ledger: string[] = [], gone: string[] = []) {
  const sources = distinctSources(input);
  const redelivered = mayBeRedelivered(sources);
  // A first delivery never asks the ledger: the test's ledger would be a lie then.
  const assembled = new Map(redelivered ? ledger.map((k) => [k, "l0-earlier"] as const) : []);
  const toRead = sourcesToRead(sources, assembled);
  const objects = new Map(toRead.map((s) => [s.key, gone.includes(s.key) ? undefined : FIXTURES.get(s.key)]));
  const plan = await planTenantBatch({ tenantId: TENANT, sources, assembled, objects });
  return { sources, redelivered, toRead: toRead.map((s) => s.key), plan };
}

interface Case {
  name: string;
  sources: AssemblySource[];
  ledger?: string[];
  gone?: string[];
  redelivered: boolean;
  read: string[];
  skipped: string[];
  /** Keys of the objects in the block; undefined when no block. */
  block?: string[];
  createdAtMs?: number;
  /** The delta's keys; undefined when no delta. */
  delta?: string[];
  usage?: { spansAccepted: number; spansRejected: number };
  deleteAfter: string[];
}

const spans = (...fs: Fixture[]) => fs.reduce((n, f) => n + f.object.spanCount, 0);
/** A case's outcome when the objects of `keys` are assembled: a block of them created at `createdAtMs`, and a delta of the same keys that accepts `spansAccepted` spans. */
const assembles = (keys: string[], createdAtMs: number, spansAccepted: number): Pick<Case, "block" | "createdAtMs" | "delta" | "usage"> => ({ block: keys, createdAtMs, delta: keys, usage: { spansAccepted, spansRejected: 0 } });

const CASES: Case[] = [
  {
    name: "first delivery, inline: no ledger call, everything assembled, nothing to delete",
    sources: [inline(A), inline(B)],
    redelivered: false,
    read: [A.key, B.key],
    skipped: [],
    ...assembles([A.key, B.key], RECV + 1_000, 4),
    deleteAfter: [],
  },
  {
    name: "first delivery, R2: the R2 objects are deleted after",
    sources: [r2(A), r2(B)],
    redelivered: false,
    read: [A.key, B.key],
    skipped: [],
    ...assembles([A.key, B.key], RECV + 1_000, 4),
    deleteAfter: [A.key, B.key],
  },
  {
    name: "a retry (attempts 2) asks the ledger; nothing there: as a first delivery",
    sources: [inline(A, { attempts: 2 }), r2(B)],
    redelivered: true,
    read: [A.key, B.key],
    skipped: [],
    ...assembles([A.key, B.key], RECV + 1_000, 4),
    deleteAfter: [B.key],
  },
  {
    name: "a source of the sweep (no attempts) asks the ledger",
    sources: [r2(C, { swept: true })],
    redelivered: true,
    read: [C.key],
    skipped: [],
    ...assembles([C.key], RECV + 2_000, 1),
    deleteAfter: [C.key],
  },
  {
    name: "some keys in the ledger: skipped, not read, not in block or delta; their R2 objects deleted",
    sources: [r2(A, { attempts: 2 }), inline(B, { attempts: 2 }), r2(C, { attempts: 2 })],
    ledger: [A.key, B.key],
    redelivered: true,
    read: [C.key],
    skipped: [A.key, B.key],
    ...assembles([C.key], RECV + 2_000, 1),
    deleteAfter: [A.key, C.key],
  },
  {
    name: "an R2 object gone (assembled and deleted before): skipped, not deleted again",
    sources: [r2(A, { attempts: 2 }), inline(B, { attempts: 2 })],
    gone: [A.key],
    redelivered: true,
    read: [A.key, B.key],
    skipped: [A.key],
    ...assembles([B.key], RECV + 1_000, 2),
    deleteAfter: [],
  },
  {
    name: "a usage-only message: not read, not in the block, in the delta's keys and usage",
    sources: [inline(A), U],
    redelivered: false,
    read: [A.key],
    skipped: [],
    block: [A.key],
    createdAtMs: RECV,
    delta: [A.key, U.key],
    usage: { spansAccepted: 2, spansRejected: 7 },
    deleteAfter: [],
  },
  {
    name: "only usage-only messages: no block, a delta of usage",
    sources: [U, U2],
    redelivered: false,
    read: [],
    skipped: [],
    delta: [U.key, U2.key],
    usage: { spansAccepted: 0, spansRejected: 10 },
    deleteAfter: [],
  },
  {
    name: "every source in the ledger: no block, no delta; R2 leftovers deleted",
    sources: [r2(A, { attempts: 3 }), inline(B, { attempts: 2 }), usageOnly("u", RECV + 3_000, 7, { attempts: 2 })],
    ledger: [A.key, B.key, U.key],
    redelivered: true,
    read: [],
    skipped: [A.key, B.key, U.key],
    deleteAfter: [A.key],
  },
  {
    name: "a message twice in the batch: counted once",
    sources: [inline(A), inline(B), inline(A)],
    redelivered: false,
    read: [A.key, B.key],
    skipped: [],
    ...assembles([A.key, B.key], RECV + 1_000, 4),
    deleteAfter: [],
  },
];

describe("planTenantBatch, by redelivery case", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_, c) => {
    const { sources, redelivered, toRead, plan } = await runPlan(c.sources, c.ledger, c.gone);
    expect(sources.map((s) => s.key)).toEqual([...new Set(c.sources.map((s) => s.key))]);
    expect(redelivered).toBe(c.redelivered);
    expect(toRead).toEqual(c.read);
    expect([...plan.skipped].sort()).toEqual([...c.skipped].sort());
    expect([...plan.deleteAfter].sort()).toEqual([...c.deleteAfter].sort());

    if (c.block === undefined) expect(plan.block).toBeUndefined();
    else {
      expect(plan.block?.blockId).toBe(blockIdOf(c.block));
      expect(plan.block?.createdAtMs).toBe(c.createdAtMs);
      // The block holds exactly the spans of its objects.
      const inBlock = plan.block!.traces.flatMap((t) => t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId))));
      const expected = c.block.flatMap((k) => FIXTURES.get(k)!.traces.flatMap((t) => t.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId)))));
      expect(inBlock.sort()).toEqual(expected.sort());
    }

    if (c.delta === undefined) {
      expect(plan.delta).toBeUndefined();
      expect(plan.entries).toEqual([]);
    } else {
      expect(plan.delta!.keys).toEqual(c.delta);
      expect(plan.entries.map((e) => e.source.key)).toEqual(c.delta);
      expect(plan.delta!.blockId).toBe(c.block === undefined ? undefined : blockIdOf(c.block));
      expect(plan.delta!.usage).toEqual([{ day: DAY, ...c.usage }]);
      // The arrival clock: the newest receive time among the delta's sources, usage-only included.
      const times = c.delta.map((k) => c.sources.find((s) => s.key === k)!.receivedAtMs!);
      expect(plan.delta!.clockMs).toBe(Math.max(...times));
    }
    // Nothing skipped is counted, nothing counted is skipped.
    for (const k of plan.skipped) expect(plan.delta?.keys ?? []).not.toContain(k);
  });
});

describe("planTenantBatch, block and metrics", () => {
  it("makes the same block, and the same counts, from the same objects in any order", async () => {
    const orders = [
      [A, B, C],
      [A, C, B],
      [B, A, C],
      [B, C, A],
      [C, A, B],
      [C, B, A],
    ];
    const plans = await Promise.all(orders.map(async (o) => (await runPlan(o.map((f) => inline(f)))).plan));
    const first = plans[0]!;
    // Traces in order of first appearance over the objects in key order (A, B, C): T1, T3, T2.
    expect(traceSummary(first)).toEqual([`${T1}: a1a1a1a1a1a1a1a1,a2a2a2a2a2a2a2a2,b1b1b1b1b1b1b1b1`, `${T3}: b3b3b3b3b3b3b3b3`, `${T2}: c1c1c1c1c1c1c1c1`]);
    expect(first.block!.blockId).toBe(blockIdOf([A.key, B.key, C.key]));
    for (const [i, p] of plans.entries()) {
      const order = orders[i]!.map((f) => f.object.batchId).join("");
      expect(p.block, order).toEqual(first.block);
      expect(edgeSummary(p.delta!.edgeRows), order).toEqual(edgeSummary(first.delta!.edgeRows));
      expect(opSummary(p.delta!.operationRows), order).toEqual(opSummary(first.delta!.operationRows));
      expect(halfSummary(p.delta!), order).toEqual(halfSummary(first.delta!));
      expect(p.delta!.usage, order).toEqual(first.delta!.usage);
      expect(p.delta!.clockMs, order).toBe(first.delta!.clockMs);
    }
  });

  it("pairs a client and its server child from two objects of the batch; a lone client half is left to the tenant object", async () => {
    const { plan } = await runPlan([inline(A), inline(B), inline(C)]);
    const delta = plan.delta!;
    expect(edgeSummary(delta.edgeRows)).toEqual([
      `${T0} frontend->cart: requests=1 failed=1`,
      `${T0} user->cart:virtual_node requests=1 failed=0`,
      `${T0} user->frontend:virtual_node requests=1 failed=0`,
    ]);
    // Only C's call to stripe waits, with the expiry of its own arrival plus the 60 s wait.
    expect(delta.halves).toEqual([
      { key: `${T2}-c1c1c1c1c1c1c1c1`, side: "client", service: "payment", messaging: false, durationMs: 20, failed: false, startSec: T0 + 10, peer: "stripe", expiresAtMs: RECV + 2_000 + 60_000 },
    ]);
    expect(opSummary(delta.operationRows)).toEqual([
      `${T0} cart GET /cart kind=${SpanKind.SERVER} count=1 errors=1`,
      `${T0} cart GET /health kind=${SpanKind.SERVER} count=1 errors=0`,
      `${T0} frontend GET / kind=${SpanKind.SERVER} count=1 errors=0`,
      `${T0} frontend GET /cart kind=${SpanKind.CLIENT} count=1 errors=0`,
      `${T0} payment POST /charge kind=${SpanKind.CLIENT} count=1 errors=0`,
    ]);
  });

  it("counts spans repeated across two objects once in operation rows and edges, and keeps one copy in the block", async () => {
    // A2 is another export of A's spans (an SDK retrying after a timeout), plus one new span.
    const A2 = ingestObject("a2", RECV + 500, testResourceSpans("frontend", [...A.object.traces[0]!.resourceSpans[0]!.scopeSpans[0]!.spans, span(T1, "a3a3a3a3a3a3a3a3", SpanKind.SERVER, "", { name: "GET /other" })]));
    const objects = new Map([A, A2].map((f) => [f.key, f.object]));
    const plan = await planTenantBatch({ tenantId: TENANT, sources: [inline(A), inline(A2)], assembled: new Map(), objects });
    expect(opSummary(plan.delta!.operationRows)).toEqual([
      `${T0} frontend GET / kind=${SpanKind.SERVER} count=1 errors=0`,
      `${T0} frontend GET /cart kind=${SpanKind.CLIENT} count=1 errors=0`,
      `${T0} frontend GET /other kind=${SpanKind.SERVER} count=1 errors=0`,
    ]);
    expect(edgeSummary(plan.delta!.edgeRows)).toEqual([`${T0} user->frontend:virtual_node requests=2 failed=0`]);
    expect(halfSummary(plan.delta!)).toEqual([`${T1}-a2a2a2a2a2a2a2a2 client frontend`]);
    expect(traceSummary(plan)).toEqual([`${T1}: a1a1a1a1a1a1a1a1,a2a2a2a2a2a2a2a2,a3a3a3a3a3a3a3a3`]);
    expect(plan.block!.spanCount).toBe(3);
    // Usage is what ingest accepted: both objects, in full.
    expect(plan.delta!.usage).toEqual([{ day: DAY, spansAccepted: 5, spansRejected: 0 }]);
  });

  it("after a refused commit, tenantDelta without the refused entries counts the rest only", async () => {
    const { plan } = await runPlan([inline(A, { attempts: 2 }), inline(B, { attempts: 2 }), inline(C, { attempts: 2 }), { ...U, attempts: 2 }]);
    // Another consumer committed A meanwhile (it got the same message).
    const rest = plan.entries.filter((e) => e.source.key !== A.key);
    const delta = tenantDelta(TENANT, rest, plan.block!.blockId);
    expect(delta.keys).toEqual([B.key, C.key, U.key]);
    expect(delta.blockId).toBe(blockIdOf([A.key, B.key, C.key]));
    expect(delta.clockMs).toBe(RECV + 3_000);
    expect(delta.usage).toEqual([{ day: DAY, spansAccepted: spans(B, C), spansRejected: 7 }]);
    expect(opSummary(delta.operationRows)).toEqual([
      `${T0} cart GET /cart kind=${SpanKind.SERVER} count=1 errors=1`,
      `${T0} cart GET /health kind=${SpanKind.SERVER} count=1 errors=0`,
      `${T0} payment POST /charge kind=${SpanKind.CLIENT} count=1 errors=0`,
    ]);
    // Without A, B's server span has no client here: it goes to the tenant object as a half.
    expect(edgeSummary(delta.edgeRows)).toEqual([`${T0} user->cart:virtual_node requests=1 failed=0`]);
    expect(halfSummary(delta)).toEqual([`${T1}-a2a2a2a2a2a2a2a2 server cart`, `${T2}-c1c1c1c1c1c1c1c1 client payment`]);
    // And the refused entry alone is what the other consumer counted.
    const other = tenantDelta(TENANT, plan.entries.filter((e) => e.source.key === A.key), undefined);
    expect(opSummary(other.operationRows)).toEqual([`${T0} frontend GET / kind=${SpanKind.SERVER} count=1 errors=0`, `${T0} frontend GET /cart kind=${SpanKind.CLIENT} count=1 errors=0`]);
    expect(other.usage).toEqual([{ day: DAY, spansAccepted: 2, spansRejected: 0 }]);
  });

  it("takes the arrival clock of a usage-only message without receivedAtMs from its key", () => {
    const source: AssemblySource = { key: ingestBatchKey(TENANT, RECV + 9_000, "u9"), bytes: 0, rejectedSpans: 2 };
    expect(isUsageOnly(source)).toBe(true);
    expect(tenantDelta(TENANT, [{ source }], undefined).clockMs).toBe(RECV + 9_000);
  });
});

describe("deterministicBlockId", () => {
  it("depends on the set of inputs only", async () => {
    const id = await deterministicBlockId(0, [B.key, A.key]);
    expect(id).toBe(blockIdOf([A.key, B.key]));
    expect(id).toMatch(/^l0-[0-9a-f]{24}$/);
    expect(await deterministicBlockId(0, [A.key, B.key])).toBe(id);
    expect(await deterministicBlockId(1, [A.key, B.key])).toBe(`l1-${id.slice(3)}`);
    expect(await deterministicBlockId(0, [A.key])).not.toBe(id);
  });
});

describe("mayBeRedelivered / isUsageOnly / sourcesToRead", () => {
  it.each([
    ["no attempts given (a first delivery)", [{ key: A.key }], false],
    ["attempts 1", [{ key: A.key, attempts: 1 }, { key: B.key, attempts: 1 }], false],
    ["one of them attempts 2", [{ key: A.key, attempts: 1 }, { key: B.key, attempts: 2 }], true],
    ["swept", [{ key: A.key, swept: true }], true],
    ["swept false, attempts 1", [{ key: A.key, swept: false, attempts: 1 }], false],
    ["empty", [], false],
  ] as Array<[string, AssemblySource[], boolean]>)("%s -> %s", (_, sources, expected) => {
    expect(mayBeRedelivered(sources)).toBe(expected);
  });

  it.each([
    ["bytes 0, no inline", { key: "k", bytes: 0 }, true],
    ["bytes 0 but inline", { key: "k", bytes: 0, inline: new Uint8Array(1) }, false],
    ["no bytes given (an R2 object)", { key: "k" }, false],
    ["bytes > 0", { key: "k", bytes: 10 }, false],
  ] as Array<[string, AssemblySource, boolean]>)("isUsageOnly: %s -> %s", (_, source, expected) => {
    expect(isUsageOnly(source)).toBe(expected);
  });

  it("reads neither ledger keys nor usage-only messages", () => {
    const toRead = sourcesToRead([r2(A), inline(B), U, r2(C)], new Map([[C.key, "l0-x"]]));
    expect(toRead.map((s) => s.key)).toEqual([A.key, B.key]);
  });

  it("keeps one source per key, the last one given", () => {
    expect(distinctSources([inline(A, { attempts: 1 }), r2(B), inline(A, { attempts: 3 })])).toEqual([inline(A, { attempts: 3 }), r2(B)]);
  });
});

describe("onFailure", () => {
  it.each([
    ["inline, first attempt", inline(A), 1, "retry"],
    ["inline, one before the limit", inline(A), SPILL_AFTER_ATTEMPTS - 1, "retry"],
    ["inline, at the limit", inline(A), SPILL_AFTER_ATTEMPTS, "spill"],
    ["inline, past the limit", inline(A), SPILL_AFTER_ATTEMPTS + 3, "spill"],
    ["R2, at the limit (already in R2: the sweep finds it)", r2(A), SPILL_AFTER_ATTEMPTS, "retry"],
    ["R2, far past the limit", r2(A), 50, "retry"],
    ["usage-only, at the limit (nothing to spill)", U, SPILL_AFTER_ATTEMPTS, "retry"],
  ] as const)("%s -> %s", (_, source, attempts, expected) => {
    expect(onFailure(source, attempts)).toBe(expected);
  });

  it("spills after 5 attempts", () => {
    expect(SPILL_AFTER_ATTEMPTS).toBe(5);
  });
});
