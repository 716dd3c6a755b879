/**
 * @module
 * The index-store suite: every exported query function, run unchanged on each driver (the pattern
 * of drizzle's `sqlite-common.ts` and Hono's router `*.case.test`). A driver's test file builds a
 * migrated database and calls `runIndexStoreSuite`:
 * - `shared/db/queries/libsql.test.ts`: libSQL (`:memory:`) in Node, the unit project;
 * - `test/dashboard/queries-d1.test.ts`: D1 in workerd, the dashboard project.
 *
 * The database may be shared with other tests (D1 in a worker project), so every test makes its
 * own tenants and blocks with fresh ids and only asserts about those.
 */
import { describe, expect, it } from "vitest";
import type { BatchingDb } from "../../shared/db/client.ts";
import type { Block } from "../../shared/db/schema.ts";
import type { EdgeRow } from "../../shared/servicegraph/aggregate.ts";
import { operationRollup, ServiceNameType, serviceRollup, type OperationRow, type ServiceRow } from "../../shared/metrics/red.ts";
import { hashSecret } from "../../shared/auth/keys.ts";
import { createTenant, deleteTenantRows, getTenant, listTenantIdsWithRows, listTenants, listTenantsDeletedBefore, liveTenantIds, markTenantDeleted } from "../../shared/db/queries/tenants.ts";
import { createKey, findKeyByHash, listKeys, revokeKey, touchKey } from "../../shared/db/queries/keys.ts";
import {
  blockExists,
  compactionCandidates,
  deleteBlocks,
  expiredBlocks,
  listBlocks,
  recordBlock,
  replaceBlocks,
  type NewBlock,
} from "../../shared/db/queries/blocks.ts";
import { deleteMetricsBefore, readEdgeRows, readMinuteRowsByStep, readOperationRows, readServiceRows, writeMetricFlush } from "../../shared/db/queries/metrics.ts";
import { LatencyHistogram } from "../../shared/metrics/histogram.ts";
import {
  addMember,
  changePassword,
  createSession,
  createUser,
  deleteExpiredAuthRows,
  deleteSession,
  findSession,
  findUserByEmail,
  getMembership,
  listMembers,
  listUserTenants,
  removeMember,
  touchSession,
} from "../../shared/db/queries/accounts.ts";
import { clearThrottle, countAttempt, readThrottle, refundAttempt } from "../../shared/db/queries/throttle.ts";
import { tenantTotals, usagePerDay, usageRowStatements } from "../../shared/db/queries/usage.ts";
import type { UsageDelta } from "../../shared/assembly/usage-deltas.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures

/** Deterministic pseudo-random bytes (xorshift), so a failure shows the same bytes every run. */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Every byte value, in order: catches a driver that maps bytes through text or signed numbers. */
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

let seq = 0;
function uid(prefix: string): string {
  return `${prefix}_${crypto.randomUUID()}_${++seq}`;
}

const T0 = Date.UTC(2026, 0, 1);

function newBlock(over: Partial<NewBlock> = {}): NewBlock {
  const n = ++seq;
  return {
    id: uid("blk"),
    level: 0,
    formatVersion: 1,
    startMs: T0,
    endMs: T0 + 1000,
    traceCount: 10 + n,
    spanCount: 100 + n,
    bytes: 4096 + n,
    services: ["api", "db"],
    traceFilter: bytes(128, n),
    attributeIndex: null,
    createdAt: new Date(T0 + 60_000),
    ...over,
  };
}

function edgeRow(tenantId: string, over: Partial<EdgeRow> = {}): EdgeRow {
  const n = ++seq;
  return {
    tenantId,
    minute: 1_767_225_600,
    source: "api",
    target: "db",
    connectionType: "database",
    requests: 5,
    failed: 1,
    clientDurations: bytes(40, n),
    serverDurations: bytes(24, n + 1000),
    ...over,
  };
}

function operationRow(tenantId: string, over: Partial<OperationRow> = {}): OperationRow {
  const n = ++seq;
  return {
    tenantId,
    minute: 1_767_225_600,
    service: "api",
    operation: "GET /users",
    kind: 2,
    count: 7,
    errors: 2,
    durations: bytes(32, n),
    ...over,
  };
}

const byKey = <T extends { minute: number }>(key: (r: T) => string) => (a: T, b: T) => a.minute - b.minute || key(a).localeCompare(key(b));
const sortEdges = (rows: EdgeRow[]) => [...rows].sort(byKey<EdgeRow>((r) => `${r.source}|${r.target}|${r.connectionType}`));
const sortOps = (rows: OperationRow[]) => [...rows].sort(byKey<OperationRow>((r) => `${r.service}|${r.operation}|${r.kind}`));

/** Byte-exact, and a plain Uint8Array (not an ArrayBuffer, a number[], a string or a Node Buffer). */
function expectBytes(actual: unknown, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(Object.getPrototypeOf(actual)).toBe(Uint8Array.prototype);
  const a = actual as Uint8Array;
  expect(a.byteLength).toBe(expected.byteLength);
  expect(Array.from(a)).toEqual(Array.from(expected));
}

const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

// ---------------------------------------------------------------------------------------------

/**
 * Known driver-specific failures of the query functions (not of the tests). A driver's test file
 * lists the ones that apply to it; their tests then run as `it.fails`, so the run stays green while
 * the bug is open and turns red, asking for the entry to be removed, once it is fixed.
 *
 * - `d1-bound-parameter-limit`: D1 allows at most 100 bound parameters per statement (libSQL
 *   32766). `deleteBlocks` binds one per id and `readEdgeRows` / `readOperationRows` one per
 *   minute in `in`, so past 99 values they fail on D1 with "too many SQL variables".
 */
export type KnownIssue = "d1-bound-parameter-limit";

export function runIndexStoreSuite(name: string, getDb: () => BatchingDb, options: { knownIssues?: readonly KnownIssue[] } = {}): void {
  const itUnless = (issue: KnownIssue) => (options.knownIssues?.includes(issue) ? it.fails : it);

  describe(`index store on ${name}`, () => {
    const tenant = async (label = "t") => (await createTenant(getDb(), `${label}-${uid("n")}`)).id;
    /** Records blocks (without metric rows) for a tenant and returns them with the tenant id. */
    const seedBlocks = async (tenantId: string, blocks: NewBlock[]) => {
      for (const b of blocks) await recordBlock(getDb(), tenantId, b, [], []);
      return blocks.map((b): Block => ({ ...b, tenantId }));
    };

    describe("tenants", () => {
      it("createTenant stores the name, the given time and the default limits", async () => {
        const now = new Date(T0 + 123);
        const t = await createTenant(getDb(), "Acme", now);
        expect(t.id).toMatch(/^tn_/);
        expect(t).toEqual({
          id: t.id,
          name: "Acme",
          createdAt: now,
          retentionDays: 14,
          maxRequestBytes: 16 * 1024 * 1024,
          ingestBytesPerSecond: 15_000_000,
          ingestBurstBytes: 20_000_000,
          maxAttributeValueBytes: 64 * 1024,
          logsUrlTemplate: null,
          deletedAt: null,
        });
      });

      it("getTenant returns the stored row, and undefined for an unknown id", async () => {
        const t = await createTenant(getDb(), "Globex", new Date(T0 + 7));
        expect(await getTenant(getDb(), t.id)).toEqual(t);
        expect(await getTenant(getDb(), "tn_nope")).toBeUndefined();
      });

      it("listTenants returns every tenant, oldest first", async () => {
        const late = await createTenant(getDb(), "late", new Date(T0 - 1_000));
        const early = await createTenant(getDb(), "early", new Date(T0 - 2_000));
        const all = await listTenants(getDb());
        const mine = all.filter((t) => t.id === late.id || t.id === early.id);
        expect(mine).toEqual([early, late]);
        for (let i = 1; i < all.length; i++) expect(all[i]!.createdAt.getTime()).toBeGreaterThanOrEqual(all[i - 1]!.createdAt.getTime());
      });
    });

    describe("keys", () => {
      it("createKey returns the secret once and a public key without its hash; scopes are deduplicated", async () => {
        const tenantId = await tenant();
        const now = new Date(T0 + 5);
        const { key, secret } = await createKey(getDb(), tenantId, { name: "prod", scopes: ["ingest", "read", "ingest"] }, now);
        expect(secret).toMatch(/^et_/);
        expect(key).not.toHaveProperty("secretHash");
        expect(key).toEqual({ id: key.id, tenantId, name: "prod", scopes: ["ingest", "read"], prefix: secret.slice(0, 9), createdAt: now, lastUsedAt: null, revokedAt: null });
      });

      it("listKeys returns the tenant's keys newest first, without hashes", async () => {
        const tenantId = await tenant();
        const a = await createKey(getDb(), tenantId, { name: "a", scopes: ["ingest"] }, new Date(T0 + 1));
        const b = await createKey(getDb(), tenantId, { name: "b", scopes: ["read"] }, new Date(T0 + 2));
        const keys = await listKeys(getDb(), tenantId);
        expect(keys).toEqual([b.key, a.key]);
        for (const k of keys) expect(k).not.toHaveProperty("secretHash");
        expect(await listKeys(getDb(), await tenant())).toEqual([]);
      });

      it("findKeyByHash finds a live key with its tenant, by the SHA-256 of the secret only", async () => {
        const tenantId = await tenant();
        const { key, secret } = await createKey(getDb(), tenantId, { name: "k", scopes: ["ingest"] });
        const hash = await hashSecret(secret);
        const found = await findKeyByHash(getDb(), hash);
        expect(found?.key).toEqual({ ...key, secretHash: hash });
        expect(found?.tenant).toEqual(await getTenant(getDb(), tenantId));
        expect(await findKeyByHash(getDb(), secret)).toBeUndefined();
        expect(await findKeyByHash(getDb(), "0".repeat(64))).toBeUndefined();
      });

      it("touchKey sets last_used_at", async () => {
        const tenantId = await tenant();
        const { key } = await createKey(getDb(), tenantId, { name: "k", scopes: ["ingest"] });
        const when = new Date(T0 + 86_400_000);
        await touchKey(getDb(), tenantId, key.id, when);
        expect((await listKeys(getDb(), tenantId))[0]?.lastUsedAt).toEqual(when);
      });

      it("revokeKey revokes once; a revoked key is listed with revokedAt and no longer found by hash", async () => {
        const tenantId = await tenant();
        const { key, secret } = await createKey(getDb(), tenantId, { name: "k", scopes: ["ingest"] });
        const when = new Date(T0 + 3_600_000);
        expect(await revokeKey(getDb(), tenantId, key.id, when)).toBe(true);
        expect(await revokeKey(getDb(), tenantId, key.id)).toBe(false);
        expect(await revokeKey(getDb(), tenantId, "key_nope")).toBe(false);
        expect((await listKeys(getDb(), tenantId))[0]?.revokedAt).toEqual(when);
        expect(await findKeyByHash(getDb(), await hashSecret(secret))).toBeUndefined();
      });
    });

    describe("blocks", () => {
      it("recordBlock writes the catalog row and its edge and operation rows", async () => {
        const tenantId = await tenant();
        const block = newBlock({ services: ["api", "db", "cache"] });
        const edges = [edgeRow(tenantId), edgeRow(tenantId, { source: "user", target: "api", connectionType: "", clientDurations: new Uint8Array(0) })];
        const ops = [operationRow(tenantId), operationRow(tenantId, { operation: "SELECT", kind: 3 })];
        expect(await blockExists(getDb(), tenantId, block.id)).toBe(false);
        await recordBlock(getDb(), tenantId, block, edges, ops);
        expect(await blockExists(getDb(), tenantId, block.id)).toBe(true);
        expect(await listBlocks(getDb(), tenantId)).toEqual([{ ...block, tenantId }]);
        expect(sortEdges(await readEdgeRows(getDb(), tenantId, {}))).toEqual(sortEdges(edges));
        expect(sortOps(await readOperationRows(getDb(), tenantId, {}))).toEqual(sortOps(ops));
      });

      it("recordBlock again (a redelivered batch) keeps one catalog row and one row per metric key", async () => {
        const tenantId = await tenant();
        const block = newBlock();
        const edges = [edgeRow(tenantId)];
        const ops = [operationRow(tenantId)];
        await recordBlock(getDb(), tenantId, block, edges, ops);
        await recordBlock(getDb(), tenantId, block, edges, ops);
        expect(await listBlocks(getDb(), tenantId)).toEqual([{ ...block, tenantId }]);
        expect(await readEdgeRows(getDb(), tenantId, {})).toEqual(edges);
        expect(await readOperationRows(getDb(), tenantId, {})).toEqual(ops);
      });

      it("recordBlock keeps the first catalog row for an id and upserts metric rows to the new (merged) values", async () => {
        const tenantId = await tenant();
        const block = newBlock();
        const edge = edgeRow(tenantId);
        const op = operationRow(tenantId);
        await recordBlock(getDb(), tenantId, block, [edge], [op]);
        const merged = { ...edge, requests: 12, failed: 3, clientDurations: bytes(50, 77), serverDurations: bytes(60, 78) };
        const mergedOp = { ...op, count: 20, errors: 4, durations: bytes(33, 79) };
        const otherMinute = edgeRow(tenantId, { minute: edge.minute + 60 });
        await recordBlock(getDb(), tenantId, { ...block, traceCount: 999, services: ["changed"] }, [merged, otherMinute], [mergedOp]);
        expect(await listBlocks(getDb(), tenantId)).toEqual([{ ...block, tenantId }]);
        expect(sortEdges(await readEdgeRows(getDb(), tenantId, {}))).toEqual(sortEdges([merged, otherMinute]));
        expect(await readOperationRows(getDb(), tenantId, {})).toEqual([mergedOp]);
      });

      it("recordBlock is atomic: when one statement fails, neither the block nor any metric row is written", async () => {
        const tenantId = await tenant();
        const block = newBlock();
        const bad = operationRow(tenantId, { durations: null as unknown as Uint8Array }); // NOT NULL violation, last in the batch
        await expect(recordBlock(getDb(), tenantId, block, [edgeRow(tenantId)], [operationRow(tenantId, { operation: "ok" }), bad])).rejects.toThrow();
        expect(await blockExists(getDb(), tenantId, block.id)).toBe(false);
        expect(await readEdgeRows(getDb(), tenantId, {})).toEqual([]);
        expect(await readOperationRows(getDb(), tenantId, {})).toEqual([]);
      });

      it("recordBlock refuses a tenant that does not exist (foreign keys are on), and writes no metric rows for it", async () => {
        const ghost = `tn_ghost_${uid("g")}`;
        await expect(recordBlock(getDb(), ghost, newBlock(), [edgeRow(ghost)], [operationRow(ghost)])).rejects.toThrow();
        expect(await listBlocks(getDb(), ghost)).toEqual([]);
        expect(await readEdgeRows(getDb(), ghost, {})).toEqual([]);
        expect(await readOperationRows(getDb(), ghost, {})).toEqual([]);
      });

      it("listBlocks returns the blocks that overlap a range, newest end first, by level and up to a limit", async () => {
        const tenantId = await tenant();
        const [b1, b2, b3] = await seedBlocks(tenantId, [
          newBlock({ startMs: 1_000, endMs: 2_000 }),
          newBlock({ startMs: 3_000, endMs: 4_000 }),
          newBlock({ startMs: 5_000, endMs: 6_000, level: 1 }),
        ]);
        const list = (range?: Parameters<typeof listBlocks>[2]) => listBlocks(getDb(), tenantId, range).then(ids);
        expect(await listBlocks(getDb(), tenantId)).toEqual([b3, b2, b1]);
        expect(await list({ startMs: 3_500 })).toEqual(ids([b3!, b2!]));
        expect(await list({ startMs: 4_000 })).toEqual(ids([b3!, b2!])); // the range's ends are inclusive
        expect(await list({ startMs: 4_001 })).toEqual(ids([b3!]));
        expect(await list({ endMs: 3_500 })).toEqual(ids([b2!, b1!]));
        expect(await list({ endMs: 3_000 })).toEqual(ids([b2!, b1!]));
        expect(await list({ endMs: 2_999 })).toEqual(ids([b1!]));
        expect(await list({ startMs: 2_500, endMs: 3_500 })).toEqual(ids([b2!]));
        expect(await list({ startMs: 2_100, endMs: 2_900 })).toEqual([]);
        expect(await list({ level: 1 })).toEqual(ids([b3!]));
        expect(await list({ level: 0, startMs: 0 })).toEqual(ids([b2!, b1!]));
        expect(await list({ limit: 2 })).toEqual(ids([b3!, b2!]));
        expect(await list({ limit: 1, level: 0 })).toEqual(ids([b2!]));
      });

      it("compactionCandidates returns blocks of one level created before a time, oldest start first, up to a limit", async () => {
        const tenantId = await tenant();
        const created = (ms: number) => new Date(T0 + ms);
        const [late, early, mid] = await seedBlocks(tenantId, [
          newBlock({ startMs: 3_000, endMs: 3_500, createdAt: created(10) }),
          newBlock({ startMs: 1_000, endMs: 1_500, createdAt: created(20) }),
          newBlock({ startMs: 2_000, endMs: 2_500, createdAt: created(30) }),
        ]);
        await seedBlocks(tenantId, [newBlock({ startMs: 0, endMs: 10, createdAt: created(0) })]); // level 0, created first
        const [levelOne] = await seedBlocks(tenantId, [newBlock({ level: 1, startMs: 0, endMs: 10, createdAt: created(0) })]);
        const fresh = await seedBlocks(tenantId, [newBlock({ startMs: 500, endMs: 600, createdAt: created(1_000) })]);

        const c = await compactionCandidates(getDb(), tenantId, 0, T0 + 100, 10);
        expect(c.map((b) => b.startMs)).toEqual([0, 1_000, 2_000, 3_000]);
        expect(ids(c).slice(1)).toEqual(ids([early!, mid!, late!]));
        expect(ids(c)).not.toContain(fresh[0]!.id); // created after the cutoff
        expect(await compactionCandidates(getDb(), tenantId, 0, T0 + 30, 10).then(ids)).not.toContain(mid!.id); // the cutoff is exclusive
        expect(await compactionCandidates(getDb(), tenantId, 0, T0 + 100, 2).then((r) => r.map((b) => b.startMs))).toEqual([0, 1_000]);
        expect(await compactionCandidates(getDb(), tenantId, 1, T0 + 100, 10)).toEqual([levelOne]);
        expect(await compactionCandidates(getDb(), tenantId, 2, T0 + 100, 10)).toEqual([]);
      });

      it("replaceBlocks swaps the inputs for the merged block", async () => {
        const tenantId = await tenant();
        const [a, b, keep] = await seedBlocks(tenantId, [newBlock({ startMs: 1_000, endMs: 2_000 }), newBlock({ startMs: 1_500, endMs: 3_000 }), newBlock({ startMs: 9_000, endMs: 9_500 })]);
        const merged = newBlock({ level: 1, startMs: 1_000, endMs: 3_000, traceFilter: bytes(512, 4242) });
        await replaceBlocks(getDb(), tenantId, merged, [a!.id, b!.id]);
        expect(await listBlocks(getDb(), tenantId)).toEqual([keep, { ...merged, tenantId }]);
        // Run again (a retried compaction): nothing changes.
        await replaceBlocks(getDb(), tenantId, merged, [a!.id, b!.id]);
        expect(await listBlocks(getDb(), tenantId)).toEqual([keep, { ...merged, tenantId }]);
      });

      it("replaceBlocks is atomic: when the merged row cannot be written, the inputs stay", async () => {
        const tenantId = await tenant();
        const inputs = await seedBlocks(tenantId, [newBlock({ startMs: 1_000, endMs: 2_000 }), newBlock({ startMs: 2_000, endMs: 3_000 })]);
        const broken = newBlock({ level: 1, services: null as unknown as string[] }); // NOT NULL violation
        await expect(replaceBlocks(getDb(), tenantId, broken, ids(inputs))).rejects.toThrow();
        expect(await listBlocks(getDb(), tenantId)).toEqual([...inputs].reverse());
      });

      it("expiredBlocks returns blocks that ended before the cutoff; deleteBlocks removes exactly the given ids", async () => {
        const tenantId = await tenant();
        const [old1, old2, edge, fresh] = await seedBlocks(tenantId, [
          newBlock({ startMs: 100, endMs: 200 }),
          newBlock({ startMs: 300, endMs: 400 }),
          newBlock({ startMs: 400, endMs: 1_000 }),
          newBlock({ startMs: 900, endMs: 5_000 }),
        ]);
        const expired = await expiredBlocks(getDb(), tenantId, 1_000);
        expect(ids(expired).sort()).toEqual(ids([old1!, old2!]).sort()); // end == cutoff is not expired
        expect(expired.find((b) => b.id === old1!.id)).toEqual(old1);
        await deleteBlocks(getDb(), tenantId, []);
        expect(await listBlocks(getDb(), tenantId)).toHaveLength(4);
        await deleteBlocks(getDb(), tenantId, ids(expired));
        expect(await listBlocks(getDb(), tenantId)).toEqual([fresh, edge]);
        expect(await expiredBlocks(getDb(), tenantId, 1_000)).toEqual([]);
        expect(await blockExists(getDb(), tenantId, old1!.id)).toBe(false);
      });

      itUnless("d1-bound-parameter-limit")("deleteBlocks takes many ids at once (a retention run after a long pause)", async () => {
        const tenantId = await tenant();
        const many = await seedBlocks(tenantId, Array.from({ length: 150 }, (_, i) => newBlock({ startMs: i, endMs: i + 1 })));
        const expired = await expiredBlocks(getDb(), tenantId, 1_000);
        expect(expired).toHaveLength(150);
        await deleteBlocks(getDb(), tenantId, ids(expired));
        expect(await listBlocks(getDb(), tenantId)).toEqual([]);
        expect(many).toHaveLength(150);
      });

    });

    describe("metrics", () => {
      const M = 1_767_225_600;
      async function seedMetrics(tenantId: string) {
        const edges = [0, 1, 2, 3].map((i) => edgeRow(tenantId, { minute: M + 60 * i, source: `s${i}` }));
        const ops = [0, 1, 2, 3].map((i) => operationRow(tenantId, { minute: M + 60 * i, operation: `op${i}` }));
        await recordBlock(getDb(), tenantId, newBlock(), edges, ops);
        return { edges, ops };
      }

      it("writeMetricFlush writes a tenant object's rows once: new minutes as they are, stored minutes merged, a repeated flush not again", async () => {
        const tenantId = await tenant();
        const hist = (...ms: number[]) => {
          const h = new LatencyHistogram();
          for (const x of ms) h.observe(x);
          return h.encode();
        };
        const edge = (requests: number, ms: number[]) => edgeRow(tenantId, { minute: M, requests, failed: 0, clientDurations: hist(...ms), serverDurations: hist(...ms) });
        const op = (count: number, ms: number[]) => operationRow(tenantId, { minute: M, count, errors: 0, durations: hist(...ms) });
        const usage = [{ day: "2026-01-01", spansAccepted: 10, spansRejected: 1 }];
        expect(await writeMetricFlush(getDb(), tenantId, "f1", { edgeRows: [edge(2, [5, 6])], operationRows: [op(3, [1, 2, 3])], usage, storedMinutes: [] })).toBe("written");
        // Late spans of the same minute: the object says the minute may be stored, so it is merged.
        const late = { edgeRows: [edge(1, [7])], operationRows: [op(1, [4])], usage, storedMinutes: [M] };
        expect(await writeMetricFlush(getDb(), tenantId, "f2", late)).toBe("written");
        // The same flush again (its first answer lost): nothing is added.
        expect(await writeMetricFlush(getDb(), tenantId, "f2", late)).toBe("already-written");
        const [e] = await readEdgeRows(getDb(), tenantId, { in: [M] });
        const [o] = await readOperationRows(getDb(), tenantId, { in: [M] });
        expect({ requests: e!.requests, observed: LatencyHistogram.decode(e!.clientDurations).count }).toEqual({ requests: 3, observed: 3 });
        expect({ count: o!.count, observed: LatencyHistogram.decode(o!.durations).count }).toEqual({ count: 4, observed: 4 });
        expect(await usagePerDay(getDb(), tenantId, Date.UTC(2026, 0, 1))).toMatchObject([{ day: "2026-01-01", spansAccepted: 20, spansRejected: 2 }]);
      });

      it("readEdgeRows and readOperationRows select minutes by `in`, `from` and `to` (inclusive)", async () => {
        const tenantId = await tenant();
        const { edges, ops } = await seedMetrics(tenantId);
        const e = (q: Parameters<typeof readEdgeRows>[2]) => readEdgeRows(getDb(), tenantId, q).then(sortEdges);
        const o = (q: Parameters<typeof readOperationRows>[2]) => readOperationRows(getDb(), tenantId, q).then(sortOps);
        expect(await e({})).toEqual(edges);
        expect(await o({})).toEqual(ops);
        expect(await e({ in: [M + 60, M + 180, M + 999] })).toEqual([edges[1], edges[3]]);
        expect(await o({ in: [M] })).toEqual([ops[0]]);
        expect(await e({ in: [] })).toEqual([]);
        expect(await o({ in: [] })).toEqual([]);
        expect(await e({ from: M + 60 })).toEqual(edges.slice(1));
        expect(await o({ to: M + 60 })).toEqual(ops.slice(0, 2));
        expect(await e({ from: M + 60, to: M + 120 })).toEqual(edges.slice(1, 3));
        expect(await o({ from: M + 60, to: M + 120 })).toEqual(ops.slice(1, 3));
        expect(await e({ in: [M, M + 60, M + 120], from: M + 60 })).toEqual(edges.slice(1, 3));
        expect(await o({ from: M + 1_000 })).toEqual([]);
      });

      itUnless("d1-bound-parameter-limit")("readEdgeRows and readOperationRows take many minutes in `in` (a batch with late spans)", async () => {
        const tenantId = await tenant();
        const minutes = Array.from({ length: 150 }, (_, i) => M + 60 * i);
        await recordBlock(getDb(), tenantId, newBlock(), [edgeRow(tenantId, { minute: M })], [operationRow(tenantId, { minute: M + 60 * 149 })]);
        expect(await readEdgeRows(getDb(), tenantId, { in: minutes })).toHaveLength(1);
        expect(await readOperationRows(getDb(), tenantId, { in: minutes })).toHaveLength(1);
      });

      it("deleteMetricsBefore removes both tables' rows before the minute and keeps the rest", async () => {
        const tenantId = await tenant();
        const { edges, ops } = await seedMetrics(tenantId);
        await deleteMetricsBefore(getDb(), tenantId, M + 120);
        expect(await readEdgeRows(getDb(), tenantId, {}).then(sortEdges)).toEqual(edges.slice(2));
        expect(await readOperationRows(getDb(), tenantId, {}).then(sortOps)).toEqual(ops.slice(2));
        await deleteMetricsBefore(getDb(), tenantId, M + 100_000);
        expect(await readEdgeRows(getDb(), tenantId, {})).toEqual([]);
        expect(await readOperationRows(getDb(), tenantId, {})).toEqual([]);
      });
    });

    describe("service rows", () => {
      const M = 1_767_225_600;
      const hist = (...ms: number[]) => {
        const h = new LatencyHistogram();
        for (const x of ms) h.observe(x);
        return h.encode();
      };
      const svc = (tenantId: string, minute: number, service: string, count: number, over: Partial<ServiceRow> = {}): ServiceRow => ({
        tenantId, minute, service, serviceNameType: ServiceNameType.STRING, root: 1, status: 0, count, errors: Math.floor(count / 3), durations: hist(...Array.from({ length: count }, (_, i) => i + 1)), ...over,
      });
      const sortSvc = (rows: ServiceRow[]) => [...rows].sort((x, y) => x.minute - y.minute || x.service.localeCompare(y.service) || x.serviceNameType - y.serviceNameType || x.root - y.root || x.status - y.status);
      const flush = (tenantId: string, id: string, serviceRows: ServiceRow[], storedMinutes: number[] = []) => writeMetricFlush(getDb(), tenantId, id, { edgeRows: [], operationRows: [], serviceRows, usage: [], storedMinutes });

      it("writeMetricFlush writes them once, merged with the stored row of a minute written before; no operation reader sees them", async () => {
        const tenantId = await tenant();
        // Root or not and status are keys too: web's error and non-root spans of minute M are rows of their own.
        const rows = [svc(tenantId, M, "web", 3), svc(tenantId, M, "", 2), svc(tenantId, M, "", 1, { serviceNameType: ServiceNameType.ABSENT }), svc(tenantId, M + 60, "web", 4), svc(tenantId, M, "web", 2, { status: 2, errors: 2 }), svc(tenantId, M, "web", 5, { root: 0 })];
        expect(await flush(tenantId, "f1", rows)).toBe("written");
        expect(sortSvc(await readServiceRows(getDb(), tenantId, {}))).toEqual(sortSvc(rows));
        // A late span of minute M: merged with the stored row.
        const late = [svc(tenantId, M, "web", 1, { errors: 1, durations: hist(9) })];
        expect(await flush(tenantId, "f2", late, [M])).toBe("written");
        expect(await flush(tenantId, "f2", late, [M])).toBe("already-written");
        const [web] = await readServiceRows(getDb(), tenantId, { in: [M] }).then((r) => r.filter((x) => x.service === "web" && x.root === 1 && x.status === 0));
        expect({ count: web!.count, errors: web!.errors, observed: LatencyHistogram.decode(web!.durations).count }).toEqual({ count: 4, errors: 2, observed: 4 });
        expect(await readServiceRows(getDb(), tenantId, { from: M + 60 })).toEqual([rows[3]]);
        expect(await readServiceRows(getDb(), tenantId, { to: M + 59 }).then((r) => r.length)).toBe(5);
        expect(await readOperationRows(getDb(), tenantId, {})).toEqual([]);
        expect(await readEdgeRows(getDb(), tenantId, {})).toEqual([]);
      });

      it("readMinuteRowsByStep sums service minutes per step and service in SQL, with the first and last minute summed", async () => {
        const tenantId = await tenant();
        // Minutes M-60 .. M+600, two services; web also unnamed-typed in one minute.
        const rows = Array.from({ length: 12 }, (_, i) => [svc(tenantId, M - 60 + 60 * i, "web", i + 1), svc(tenantId, M - 60 + 60 * i, "cart", 1)]).flat();
        rows.push(svc(tenantId, M + 120, "web", 5, { serviceNameType: ServiceNameType.OTHER, service: '{"intValue":"7"}' }));
        await flush(tenantId, "f1", rows);
        const startMs = M * 1000 + 30_000; // minute M straddles the start
        const got = await readMinuteRowsByStep(getDb(), serviceRollup, tenantId, { startMs, endMs: startMs + 300_000, stepMs: 120_000 });
        const view = got.map((r) => `${r.service}/${r.serviceNameType} ${r.minute - M}..${r.lastMinute - M} count=${r.count} errors=${r.errors}`).sort();
        // Steps from M+30 s: [-1] = minute M (starts before), [0] = M+60, M+120, [1] = M+180, M+240, [2] = M+300 (cut at M+330 s).
        const errors = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => Math.floor((from + k + 2) / 3)).reduce((a, b) => a + b, 0);
        expect(view).toEqual(
          [
            `cart/0 0..0 count=1 errors=0`,
            `cart/0 60..120 count=2 errors=0`,
            `cart/0 180..240 count=2 errors=0`,
            `cart/0 300..300 count=1 errors=0`,
            `web/0 0..0 count=2 errors=${errors(0, 0)}`,
            `web/0 60..120 count=${3 + 4} errors=${errors(1, 2)}`,
            `web/0 180..240 count=${5 + 6} errors=${errors(3, 4)}`,
            `web/0 300..300 count=7 errors=${errors(5, 5)}`,
            `{"intValue":"7"}/2 120..120 count=5 errors=1`,
          ].sort(),
        );
        // Another tenant's id reads nothing.
        expect(await readMinuteRowsByStep(getDb(), serviceRollup, await tenant(), { startMs, endMs: startMs + 300_000, stepMs: 120_000 })).toEqual([]);
      });

      it("readMinuteRowsByStep sums operation minutes per step and key in SQL", async () => {
        const tenantId = await tenant();
        const ops = Array.from({ length: 6 }, (_, i) => [
          operationRow(tenantId, { minute: M + 60 * i, count: i + 1, errors: i % 2 }),
          operationRow(tenantId, { minute: M + 60 * i, operation: "SELECT", kind: 3, count: 1, errors: 0 }),
        ]).flat();
        expect(await writeMetricFlush(getDb(), tenantId, "ops", { edgeRows: [], operationRows: ops, serviceRows: [], usage: [], storedMinutes: [] })).toBe("written");
        const startMs = M * 1000;
        const got = await readMinuteRowsByStep(getDb(), operationRollup, tenantId, { startMs, endMs: startMs + 360_000, stepMs: 180_000 });
        const view = got.map((r) => `${r.service} ${r.operation} ${r.kind} ${r.minute - M}..${r.lastMinute - M} count=${r.count} errors=${r.errors}`).sort();
        expect(view).toEqual(
          [
            `api GET /users 2 0..120 count=${1 + 2 + 3} errors=1`,
            `api GET /users 2 180..300 count=${4 + 5 + 6} errors=2`,
            `api SELECT 3 0..120 count=3 errors=0`,
            `api SELECT 3 180..300 count=3 errors=0`,
          ].sort(),
        );
        expect(await readMinuteRowsByStep(getDb(), operationRollup, await tenant(), { startMs, endMs: startMs + 360_000, stepMs: 180_000 })).toEqual([]);
      });

      it("deleteMetricsBefore and deleteTenantRows remove them, and only the tenant's own", async () => {
        const a = await tenant("A");
        const b = await tenant("B");
        for (const t of [a, b]) await flush(t, "f", [svc(t, M, "web", 1), svc(t, M + 60, "web", 2)]);
        await deleteMetricsBefore(getDb(), a, M + 60);
        expect(await readServiceRows(getDb(), a, {}).then((r) => r.map((x) => x.minute))).toEqual([M + 60]);
        expect(await readServiceRows(getDb(), b, {})).toHaveLength(2);
        await deleteTenantRows(getDb(), a);
        expect(await readServiceRows(getDb(), a, {})).toEqual([]);
        expect(await readServiceRows(getDb(), b, {})).toHaveLength(2);
      });
    });

    describe("binary columns", () => {
      const cases: [string, () => Uint8Array][] = [
        ["every byte value", () => ALL_BYTES],
        ["empty", () => new Uint8Array(0)],
        ["a view at an offset into a larger buffer", () => new Uint8Array(bytes(300, 9).buffer, 17, 200)],
        ["64 KiB", () => bytes(65_536, 31)],
      ];

      for (const [label, make] of cases) {
        it(`round-trip as Uint8Array, byte-exact: ${label}`, async () => {
          const tenantId = await tenant();
          const value = make();
          const expected = value.slice(); // a copy, in case a driver touched the input
          const block = newBlock({ traceFilter: value });
          const edge = edgeRow(tenantId, { clientDurations: value, serverDurations: ALL_BYTES });
          const op = operationRow(tenantId, { durations: value });
          await recordBlock(getDb(), tenantId, block, [edge], [op]);

          const [listed] = await listBlocks(getDb(), tenantId);
          expectBytes(listed?.traceFilter, expected);
          const [candidate] = await compactionCandidates(getDb(), tenantId, 0, Date.now() + 1e12, 1);
          expectBytes(candidate?.traceFilter, expected);
          const [expired] = await expiredBlocks(getDb(), tenantId, Number.MAX_SAFE_INTEGER);
          expectBytes(expired?.traceFilter, expected);
          const [e] = await readEdgeRows(getDb(), tenantId, {});
          expectBytes(e?.clientDurations, expected);
          expectBytes(e?.serverDurations, ALL_BYTES);
          const [o] = await readOperationRows(getDb(), tenantId, {});
          expectBytes(o?.durations, expected);
          expect(Array.from(value)).toEqual(Array.from(expected));
        });
      }

      it("upserted histograms replace the old bytes entirely (a shorter value leaves no tail)", async () => {
        const tenantId = await tenant();
        const edge = edgeRow(tenantId, { clientDurations: bytes(100, 1), serverDurations: bytes(100, 2) });
        const op = operationRow(tenantId, { durations: bytes(100, 3) });
        await recordBlock(getDb(), tenantId, newBlock(), [edge], [op]);
        await recordBlock(getDb(), tenantId, newBlock(), [{ ...edge, clientDurations: bytes(3, 4), serverDurations: new Uint8Array(0) }], [{ ...op, durations: bytes(5, 5) }]);
        const [e] = await readEdgeRows(getDb(), tenantId, {});
        expectBytes(e?.clientDurations, bytes(3, 4));
        expectBytes(e?.serverDurations, new Uint8Array(0));
        const [o] = await readOperationRows(getDb(), tenantId, {});
        expectBytes(o?.durations, bytes(5, 5));
      });
    });

    describe("tenant isolation: tenant A's rows through tenant B's id", () => {
      async function seedA() {
        const a = await tenant("A");
        const b = await tenant("B");
        const { key, secret } = await createKey(getDb(), a, { name: "a-key", scopes: ["ingest"] });
        const blocks = await seedBlocks(a, [newBlock({ startMs: 1_000, endMs: 2_000 }), newBlock({ startMs: 2_000, endMs: 3_000 })]);
        const edges = [edgeRow(a)];
        const ops = [operationRow(a)];
        await recordBlock(getDb(), a, newBlock({ startMs: 500, endMs: 600 }), edges, ops);
        const snapshot = async () => ({
          tenant: await getTenant(getDb(), a),
          keys: await listKeys(getDb(), a),
          found: await findKeyByHash(getDb(), await hashSecret(secret)),
          blocks: await listBlocks(getDb(), a),
          edges: await readEdgeRows(getDb(), a, {}),
          ops: await readOperationRows(getDb(), a, {}),
        });
        return { a, b, key, secret, blocks, edges, ops, before: await snapshot(), snapshot };
      }

      it("reads: B sees none of A's keys, blocks or metric rows", async () => {
        const { a, b, key, secret, blocks } = await seedA();
        expect((await getTenant(getDb(), b))?.id).toBe(b);
        expect(await listKeys(getDb(), b)).toEqual([]);
        for (const blk of blocks) expect(await blockExists(getDb(), b, blk.id)).toBe(false);
        expect(await listBlocks(getDb(), b)).toEqual([]);
        expect(await listBlocks(getDb(), b, { startMs: 0, endMs: Number.MAX_SAFE_INTEGER })).toEqual([]);
        expect(await compactionCandidates(getDb(), b, 0, Date.UTC(9999, 0, 1), 100)).toEqual([]);
        expect(await expiredBlocks(getDb(), b, Number.MAX_SAFE_INTEGER)).toEqual([]);
        expect(await readEdgeRows(getDb(), b, {})).toEqual([]);
        expect(await readEdgeRows(getDb(), b, { from: 0, to: Number.MAX_SAFE_INTEGER })).toEqual([]);
        expect(await readOperationRows(getDb(), b, {})).toEqual([]);
        expect(await readOperationRows(getDb(), b, { in: [1_767_225_600] })).toEqual([]);
        // The one lookup without a tenant id names the key's own tenant.
        const found = await findKeyByHash(getDb(), await hashSecret(secret));
        expect(found?.key.id).toBe(key.id);
        expect(found?.tenant.id).toBe(a);
      });

      it("writes: nothing B does changes A's keys, blocks or metric rows", async () => {
        const { a, b, key, blocks, edges, ops, before, snapshot } = await seedA();
        const blockIds = ids(blocks);

        expect(await revokeKey(getDb(), b, key.id)).toBe(false);
        await touchKey(getDb(), b, key.id, new Date(T0 + 999_999));
        await deleteBlocks(getDb(), b, blockIds);
        const merged = newBlock({ level: 1 });
        await replaceBlocks(getDb(), b, merged, blockIds);
        await deleteMetricsBefore(getDb(), b, Number.MAX_SAFE_INTEGER);
        // B records a block under one of A's block ids, and metric rows with A's minute and names.
        await recordBlock(getDb(), b, { ...blocks[0]!, traceCount: 1, traceFilter: bytes(8, 1) }, [{ ...edges[0]!, tenantId: b, requests: 1 }], [{ ...ops[0]!, tenantId: b, count: 1 }]);
        const { key: bKey } = await createKey(getDb(), b, { name: "b-key", scopes: ["read"] });

        expect(await snapshot()).toEqual(before);
        expect(ids(await listKeys(getDb(), a))).not.toContain(bKey.id);
        expect(await blockExists(getDb(), a, merged.id)).toBe(false);
        expect(await listBlocks(getDb(), b).then(ids)).toEqual([merged.id]); // B's merged row is B's own
        expect(await blockExists(getDb(), b, blocks[0]!.id)).toBe(false); // block ids are global: A's id stays A's
        expect((await readEdgeRows(getDb(), b, {}))[0]?.requests).toBe(1);
        expect((await readOperationRows(getDb(), b, {}))[0]?.count).toBe(1);
        // And A's rows are still A's to change.
        expect(await revokeKey(getDb(), a, key.id)).toBe(true);
        await deleteMetricsBefore(getDb(), a, Number.MAX_SAFE_INTEGER);
        expect(await readEdgeRows(getDb(), b, {})).toHaveLength(1);
      });
    });


    describe("accounts, sessions and memberships", () => {
      const pw = { hash: "aGFzaA==", salt: "c2FsdA==", iterations: 100_000 };
      const email = () => `${uid("u")}@Example.com`;

      it("createUser stores a lowercased email once; findUserByEmail ignores case", async () => {
        const e = email();
        const u = await createUser(getDb(), e, pw, new Date(T0));
        expect(u).toMatchObject({ email: e.toLowerCase(), passwordHash: pw.hash, passwordIterations: 100_000 });
        expect(await createUser(getDb(), e.toUpperCase(), pw)).toBeUndefined();
        expect((await findUserByEmail(getDb(), e.toUpperCase()))?.id).toBe(u!.id);
        expect(await findUserByEmail(getDb(), e)).toEqual(u);
      });

      it("sessions are found by their id (stored hashed), touched, and ended; a password change ends the others", async () => {
        const u = (await createUser(getDb(), email(), pw))!;
        await createSession(getDb(), u.id, "session-one", "csrf-1", new Date(T0 + 1e9), new Date(T0));
        await createSession(getDb(), u.id, "session-two", "csrf-2", new Date(T0 + 1e9), new Date(T0));
        const one = (await findSession(getDb(), "session-one"))!;
        expect(one.user.id).toBe(u.id);
        expect(one.session.idHash).toBe(await hashSecret("session-one"));
        await touchSession(getDb(), one.session.idHash, new Date(T0 + 60_000));
        expect((await findSession(getDb(), "session-one"))!.session.lastSeenAt).toEqual(new Date(T0 + 60_000));
        await changePassword(getDb(), u.id, { ...pw, hash: "bmV3" }, one.session.idHash);
        expect(await findSession(getDb(), "session-two")).toBeUndefined();
        expect((await findSession(getDb(), "session-one"))!.user.passwordHash).toBe("bmV3");
        await deleteSession(getDb(), one.session.idHash);
        expect(await findSession(getDb(), "session-one")).toBeUndefined();
      });

      it("memberships: add once, read with the tenant, list both ways, remove", async () => {
        const t = await tenant("team");
        const owner = (await createUser(getDb(), email(), pw))!;
        const member = (await createUser(getDb(), email(), pw))!;
        expect(await addMember(getDb(), t, owner.id, "owner")).toBe(true);
        expect(await addMember(getDb(), t, member.id, "member")).toBe(true);
        expect(await addMember(getDb(), t, member.id, "owner")).toBe(false);
        expect(await getMembership(getDb(), t, member.id)).toMatchObject({ role: "member", tenant: { id: t } });
        expect((await listUserTenants(getDb(), owner.id)).map((m) => [m.tenant.id, m.role])).toEqual([[t, "owner"]]);
        expect((await listMembers(getDb(), t)).map((m) => m.userId).sort()).toEqual([owner.id, member.id].sort());
        expect(await removeMember(getDb(), t, member.id)).toBe(true);
        expect(await getMembership(getDb(), t, member.id)).toBeUndefined();
        expect(await getMembership(getDb(), await tenant("other"), owner.id)).toBeUndefined();
      });

      it("a session read with a tenant carries the user's membership of it, and none for another or a missing tenant", async () => {
        const t = await tenant("with-session");
        const other = await tenant("not-theirs");
        const u = (await createUser(getDb(), email(), pw))!;
        const stranger = (await createUser(getDb(), email(), pw))!;
        await addMember(getDb(), t, u.id, "member");
        await addMember(getDb(), other, stranger.id, "owner");
        await createSession(getDb(), u.id, "session-with-tenant", "csrf-t", new Date(T0 + 1e9), new Date(T0));
        const found = (await findSession(getDb(), "session-with-tenant", t))!;
        expect(found.user.id).toBe(u.id);
        expect(found.session.idHash).toBe(await hashSecret("session-with-tenant"));
        expect(found.membership).toEqual(await getMembership(getDb(), t, u.id));
        expect(found.membership).toMatchObject({ role: "member", tenant: { id: t } });
        // Another user's tenant, a missing one: the session is found, with no membership.
        expect(await findSession(getDb(), "session-with-tenant", other)).toMatchObject({ user: { id: u.id }, membership: undefined });
        expect(await findSession(getDb(), "session-with-tenant", "tn_missing")).toMatchObject({ user: { id: u.id }, membership: undefined });
        expect(await findSession(getDb(), "no-such-session", t)).toBeUndefined();
      });

      it("deleteExpiredAuthRows removes expired and idle sessions and spent throttle rows only", async () => {
        const u = (await createUser(getDb(), email(), pw))!;
        const now = T0 + 100 * 86_400_000;
        await createSession(getDb(), u.id, "s-live", "c", new Date(now + 1000), new Date(now - 1000));
        await createSession(getDb(), u.id, "s-old", "c", new Date(now - 1), new Date(now - 1000));
        await createSession(getDb(), u.id, "s-idle", "c", new Date(now + 1e9), new Date(now - 10_000));
        const spent = `acct:${uid("spent")}`;
        const locked = `acct:${uid("locked")}`;
        const policy = { maxFailures: 1, windowMs: 15_000, lockMs: 25_000 };
        await countAttempt(getDb(), [{ key: spent, policy }], now - 20_000);
        // The second attempt passes the limit: locked until now + 5 s.
        for (let i = 0; i < 2; i++) await countAttempt(getDb(), [{ key: locked, policy }], now - 20_000);
        expect(await deleteExpiredAuthRows(getDb(), 5_000, 15_000, now)).toBeGreaterThanOrEqual(3);
        expect(await findSession(getDb(), "s-live")).toBeDefined();
        expect(await findSession(getDb(), "s-old")).toBeUndefined();
        expect(await findSession(getDb(), "s-idle")).toBeUndefined();
        expect([...(await readThrottle(getDb(), [spent, locked])).keys()]).toEqual([locked]);
      });

      it("throttle: counts attempts in a window, locks the one past the limit, and forgets after the window", async () => {
        const key = `acct:${uid("x")}`;
        const policy = { maxFailures: 3, windowMs: 10_000, lockMs: 60_000 };
        const attempt = (at: number) => countAttempt(getDb(), [{ key, policy }], at);
        expect([await attempt(1000), await attempt(2000), await attempt(3000)]).toEqual([0, 0, 0]);
        expect(await attempt(4000)).toBe(60);
        // Locked: refused with the time left, and not counted further.
        expect(await attempt(34_000)).toBe(30);
        expect((await readThrottle(getDb(), [key])).get(key)).toEqual({ key, failures: 0, windowStartMs: 4000, lockedUntilMs: 64_000 });
        expect(await attempt(64_000)).toBe(0);
        // A window that is over starts again from one.
        const other = `acct:${uid("y")}`;
        for (const at of [0, 1, 2]) await countAttempt(getDb(), [{ key: other, policy }], at);
        expect(await countAttempt(getDb(), [{ key: other, policy }], 10_000)).toBe(0);
        expect((await readThrottle(getDb(), [other])).get(other)).toMatchObject({ failures: 1, windowStartMs: 10_000 });
        await clearThrottle(getDb(), key);
        expect((await readThrottle(getDb(), [key])).size).toBe(0);
      });

      it("throttle: one attempt counts on every key, the longest lock answers, and refunds skip locked keys", async () => {
        const a = `acct:${uid("a")}`;
        const b = `addr:${uid("b")}`;
        const tight = { maxFailures: 1, windowMs: 10_000, lockMs: 5_000 };
        const loose = { maxFailures: 10, windowMs: 10_000, lockMs: 9_000 };
        const keys = [
          { key: a, policy: tight },
          { key: b, policy: loose },
        ];
        expect(await countAttempt(getDb(), keys, 100)).toBe(0);
        expect(await countAttempt(getDb(), keys, 200)).toBe(5);
        await refundAttempt(getDb(), [a, b], 200);
        const rows = await readThrottle(getDb(), [a, b]);
        expect(rows.get(a)).toMatchObject({ failures: 0, lockedUntilMs: 5_200 });
        expect(rows.get(b)).toMatchObject({ failures: 1 });
        await refundAttempt(getDb(), [b], 300);
        await refundAttempt(getDb(), [b], 300);
        expect((await readThrottle(getDb(), [b])).get(b)).toMatchObject({ failures: 0 });
      });

      it("throttle: concurrent attempts on one key get distinct counts, so only the limit pass", async () => {
        const key = `acct:${uid("race")}`;
        const policy = { maxFailures: 5, windowMs: 60_000, lockMs: 60_000 };
        const waits = await Promise.all(Array.from({ length: 40 }, () => countAttempt(getDb(), [{ key, policy }], 1000)));
        expect(waits.filter((w) => w === 0)).toHaveLength(5);
        expect(waits.filter((w) => w === 60)).toHaveLength(35);
      });

      it("markTenantDeleted revokes the keys, removes the members and hides the tenant at once, and only that tenant", async () => {
        const doomed = await tenant("marked");
        const kept = await tenant("unmarked");
        const u = (await createUser(getDb(), email(), pw))!;
        const secrets: Record<string, string> = {};
        for (const t of [doomed, kept]) {
          await addMember(getDb(), t, u.id, "owner");
          secrets[t] = (await createKey(getDb(), t, { name: "k", scopes: ["ingest"] })).secret;
        }
        const at = new Date(T0);
        await markTenantDeleted(getDb(), doomed, at);
        expect(await findKeyByHash(getDb(), await hashSecret(secrets[doomed]!))).toBeUndefined();
        expect(await findKeyByHash(getDb(), await hashSecret(secrets[kept]!))).toBeDefined();
        expect((await listKeys(getDb(), doomed)).every((k) => k.revokedAt?.getTime() === T0)).toBe(true);
        expect(await getMembership(getDb(), doomed, u.id)).toBeUndefined();
        expect(await getTenant(getDb(), doomed)).toBeUndefined();
        expect((await listTenants(getDb())).map((t) => t.id)).not.toContain(doomed);
        expect([...(await liveTenantIds(getDb(), [doomed, kept, "tn_none"]))]).toEqual([kept]);
        // Still a row until purged: its storage prefix is not an orphan yet.
        expect((await listTenantIdsWithRows(getDb())).has(doomed)).toBe(true);
        expect((await listTenantsDeletedBefore(getDb(), T0)).map((t) => t.id)).not.toContain(doomed);
        expect((await listTenantsDeletedBefore(getDb(), T0 + 1)).map((t) => t.id)).toContain(doomed);
        expect((await listTenantsDeletedBefore(getDb(), T0 + 1)).map((t) => t.id)).not.toContain(kept);
      });

      it("deleteTenantRows removes every row of the tenant and nothing of another's; totals read the catalog", async () => {
        const doomed = await tenant("doomed");
        const kept = await tenant("kept");
        const u = (await createUser(getDb(), email(), pw))!;
        for (const t of [doomed, kept]) {
          await addMember(getDb(), t, u.id, "owner");
          await createKey(getDb(), t, { name: "k", scopes: ["ingest"] });
          await recordBlock(getDb(), t, newBlock({ spanCount: 7, traceCount: 2 }), [], []);
        }
        const totals = await tenantTotals(getDb(), kept);
        expect(totals).toMatchObject({ spans: 7, traces: 2, blocks: 1 });
        const day = new Date(T0).toISOString().slice(0, 10);
        // Usage rows as recordBlock and the tenant object's flush write them: each delta adds.
        const addUsage = (t: string, delta: UsageDelta) => getDb().batch(usageRowStatements(getDb(), t, [delta]) as unknown as readonly [unknown, ...unknown[]]);
        await addUsage(kept, { day, spansAccepted: 7, spansRejected: 2 });
        await addUsage(kept, { day, spansAccepted: 1, spansRejected: 0 });
        await addUsage(doomed, { day, spansAccepted: 5, spansRejected: 5 });
        expect(await usagePerDay(getDb(), kept, T0 - 1)).toEqual([{ day, spansAccepted: 8, spansRejected: 2, bytes: expect.any(Number) }]);
        await deleteTenantRows(getDb(), doomed);
        expect(await getTenant(getDb(), doomed)).toBeUndefined();
        expect(await listKeys(getDb(), doomed)).toEqual([]);
        expect(await listBlocks(getDb(), doomed)).toEqual([]);
        expect(await getMembership(getDb(), doomed, u.id)).toBeUndefined();
        expect(await tenantTotals(getDb(), kept)).toEqual(totals);
        expect(await usagePerDay(getDb(), doomed, T0 - 1)).toEqual([]);
        expect(await getMembership(getDb(), kept, u.id)).toBeDefined();
      });
    });
  });
}