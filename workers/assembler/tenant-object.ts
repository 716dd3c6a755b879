/**
 * @module
 * The tenant object: one SQLite-backed Durable Object per tenant (bound as TENANTS; its class lives
 * in the assembler worker, the other workers bind it by script name). It owns what is mutable per
 * tenant, so that everything else can run in parallel:
 *
 * - **The ledger** of ingest keys whose spans are in a catalogued block and whose metrics are
 *   counted (shared/tenant-object/ledger.ts): a redelivered message, at any time the queue could
 *   still hold it, is acked without work, and nothing is counted twice.
 * - **Open metrics** (shared/tenant-object/open-metrics.ts): halves waiting for a partner, rows of
 *   minutes not closed, usage not written. Consumers commit deltas; every FLUSH_EVERY_MS an alarm
 *   writes what is final to D1 (`writeMetricFlush`: merged with stored rows, exactly once).
 * - **The ingest rate limit**: a token bucket that ingest isolates take leases from
 *   (shared/ingest/rate-limit.ts). In memory only.
 *
 * Storage (SQLite, all written in `transactionSync`, so a commit is all or nothing):
 * - `log`: each applied delta, in order. The in-memory state is the last snapshot plus the log
 *   replayed, so a commit writes one row (plus one ledger row per receive minute of its keys)
 *   instead of rewriting the state. A flush writes a new snapshot and drops the log behind it.
 * - `snapshot`: the open metrics as JSON, in parts of at most 1 MB (rows cap at 2 MB).
 * - `ledger`: one row per (receive minute, commit) with the keys' ids as one blob.
 * - `pending_flush`: closed rows taken out of the state and not yet confirmed by D1.
 * - `meta`: the tenant id, the log position of the snapshot, flags.
 *
 * Every method runs its storage work without awaiting in between (the object's input gate holds
 * other calls only across storage operations): a ledger check and the commit that records the keys
 * cannot interleave with another commit.
 */
import { DurableObject } from "cloudflare:workers";
import { indexStore } from "../../shared/db/select-index-store.ts";
import { writeMetricFlush } from "../../shared/db/queries/metrics.ts";
import { getTenant } from "../../shared/db/queries/tenants.ts";
import type { BatchingDb } from "../../shared/db/client.ts";
import { TokenBucket, type LeaseAnswer, type LeaseRequest } from "../../shared/ingest/rate-limit.ts";
import type { EdgeRow } from "../../shared/servicegraph/aggregate.ts";
import { currentServiceRows, type OperationRow, type ServiceRow } from "../../shared/metrics/red.ts";
import { decodeRowSets, encodeRowSets, rowCount, withTenantIds, type EncodedRowSets } from "../../shared/metrics/row-kinds.ts";
import type { TimeWindow } from "../../shared/metrics/rows.ts";
import type { UsageDelta } from "../../shared/assembly/usage-deltas.ts";
import { legacyAssemblerStateKey } from "../../shared/storage/keys.ts";
import type { CommitResult, FlushResult, TenantObjectApi } from "../../shared/tenant-object/api.ts";
import { LEDGER_RETENTION_MS, ledgerEntries, packByMinute, unpackIds, type LedgerEntry } from "../../shared/tenant-object/ledger.ts";
import { decodeLegacyState } from "../../shared/tenant-object/legacy-state.ts";
import { decodeDelta, encodeDelta, OpenMetrics, type ClosedRows, type OpenMetricsJson, type TenantDelta } from "../../shared/tenant-object/open-metrics.ts";
import type { AssemblerEnv } from "./env.ts";

/** How often the alarm writes what is final while the tenant is active (TENANT_FLUSH_INTERVAL_MS overrides it). */
export const FLUSH_EVERY_MS = 30_000;
/** After a failed D1 write, the next try. */
const FLUSH_RETRY_MS = 10_000;
/** Ledger rows older than the retention are removed at most this often. */
const LEDGER_PRUNE_EVERY_MS = 3_600_000;
/** Ledger minutes kept in memory (the ids of recent minutes, which redeliveries ask about). */
const LEDGER_CACHE_IDS = 200_000;
const PART_CHARS = 1_000_000;

/** A pending flush as stored: the closed rows in JSON form (`serviceRows` absent in one taken by the version before them). */
type PendingFlushJson = EncodedRowSets<ClosedRows>;

export class TenantObject extends DurableObject<AssemblerEnv> implements TenantObjectApi {
  readonly #sql: SqlStorage;
  #tenantId: string | undefined;
  #metrics: OpenMetrics | undefined;
  #seq = 0;
  #logRows = 0;
  /** minute -> id -> block, for the minutes asked about recently. */
  readonly #ledger = new Map<number, Map<string, string>>();
  #ledgerCached = 0;
  readonly #bucket = new TokenBucket();
  #alarmAt: number | null | undefined;
  /** A D1 write in progress: the next alarm or flush call waits its turn. */
  #flushing: Promise<FlushResult> | undefined;
  /** Rows written to and read from this object's SQLite since it started (billed per row), for the benches. */
  #rowsWritten = 0;
  #rowsRead = 0;
  readonly #flushEveryMs: number;

  constructor(ctx: DurableObjectState, env: AssemblerEnv) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#flushEveryMs = Number(env.TENANT_FLUSH_INTERVAL_MS ?? FLUSH_EVERY_MS);
    this.#createTables();
    this.#tenantId = this.#meta("tenant");
  }

  #createTables(): void {
    this.#exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID");
    this.#exec("CREATE TABLE IF NOT EXISTS snapshot (part INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    this.#exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER NOT NULL, part INTEGER NOT NULL, wall_ms INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (seq, part)) WITHOUT ROWID");
    this.#exec("CREATE TABLE IF NOT EXISTS ledger (minute INTEGER NOT NULL, seq INTEGER NOT NULL, block TEXT NOT NULL, ids BLOB NOT NULL, PRIMARY KEY (minute, seq)) WITHOUT ROWID");
    this.#exec("CREATE TABLE IF NOT EXISTS pending_flush (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID");
  }

  // ---- RPC ------------------------------------------------------------------------------------

  async assembled(tenantId: string, keys: string[]): Promise<Record<string, string>> {
    const entries = await ledgerEntries(keys);
    await this.#load(tenantId);
    return Object.fromEntries(this.#lookup(entries));
  }

  async commit(tenantId: string, sent: TenantDelta, wallMs: number): Promise<CommitResult> {
    // Rows of a consumer of the version before `tenantId` (a deploy in progress) name it `tenant`.
    const delta = withTenantIds(sent);
    const entries = await ledgerEntries(delta.keys);
    const body = encodeDelta(delta);
    const metrics = await this.#load(tenantId);
    // From here to the end no await: the check and the record are one step.
    const assembled = this.#lookup(entries);
    if (assembled.size) return { applied: false, assembled: Object.fromEntries(assembled) };
    const seq = ++this.#seq;
    this.ctx.storage.transactionSync(() => {
      for (let part = 0; part * PART_CHARS < body.length || part === 0; part++) {
        this.#exec("INSERT INTO log (seq, part, wall_ms, body) VALUES (?, ?, ?, ?)", seq, part, wallMs, body.slice(part * PART_CHARS, (part + 1) * PART_CHARS));
      }
      for (const [minute, ids] of packByMinute(entries)) this.#exec("INSERT INTO ledger (minute, seq, block, ids) VALUES (?, ?, ?, ?)", minute, seq, delta.blockId ?? "", toArrayBuffer(ids));
    });
    this.#logRows++;
    for (const e of entries) this.#ledger.get(e.minute)?.set(e.id, delta.blockId ?? "");
    try {
      metrics.apply(delta, wallMs);
    } catch (err) {
      // Stored but not applied (a bug): rebuild from storage on the next call rather than diverge.
      this.#metrics = undefined;
      throw err;
    }
    this.#ensureAlarm(Date.now() + this.#flushEveryMs);
    return { applied: true };
  }

  async takeLease(tenantId: string, request: LeaseRequest): Promise<LeaseAnswer> {
    void tenantId; // the bucket needs no stored state
    return this.#bucket.grant(request.cost, request.want, request.ratePerSecond, request.burst, Date.now());
  }

  async edgeRows(tenantId: string, window: TimeWindow): Promise<EdgeRow[]> {
    return (await this.#load(tenantId)).rowsIn("edgeRows", window);
  }

  async operationRows(tenantId: string, window: TimeWindow): Promise<OperationRow[]> {
    return (await this.#load(tenantId)).rowsIn("operationRows", window);
  }

  async serviceRows(tenantId: string, window: TimeWindow): Promise<{ rows: ServiceRow[]; from: number }> {
    const metrics = await this.#load(tenantId);
    return { rows: metrics.rowsIn("serviceRows", window), from: metrics.serviceRowsFrom };
  }

  async usage(tenantId: string): Promise<UsageDelta[]> {
    return (await this.#load(tenantId)).usage;
  }

  async flush(tenantId: string, wallMs = Date.now()): Promise<FlushResult> {
    await this.#load(tenantId);
    return this.#flushOnce(wallMs);
  }

  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    // A message still in flight may commit here again; the assembler's next flush then finds the
    // tenant gone (see alarm) and clears it once more.
    this.#createTables();
    this.#tenantId = undefined;
    this.#metrics = undefined;
    this.#ledger.clear();
    this.#ledgerCached = 0;
    this.#seq = 0;
    this.#logRows = 0;
    this.#alarmAt = null;
  }

  /** Figures for tests and benches. */
  async stats(): Promise<{ seq: number; logRows: number; ledgerRows: number; pendingHalves: number; rowsWritten: number; rowsRead: number; pendingFlush: number }> {
    // Counted before these two reads: the figures are of the object's own work.
    const counted = { rowsWritten: this.#rowsWritten, rowsRead: this.#rowsRead };
    return {
      seq: this.#seq,
      logRows: this.#logRows,
      ledgerRows: Number(this.#sql.exec<{ n: number }>("SELECT count(*) AS n FROM ledger").one().n),
      pendingHalves: this.#metrics?.pendingHalves ?? 0,
      ...counted,
      pendingFlush: Number(this.#sql.exec<{ n: number }>("SELECT count(*) AS n FROM pending_flush").one().n),
    };
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const tenantId = this.#tenantId;
    if (!tenantId) return;
    const metrics = await this.#load(tenantId);
    const now = Date.now();
    let failed = false;
    try {
      await this.#flushOnce(now);
    } catch (err) {
      console.error("tenant object: flush failed, retrying", tenantId, err);
      failed = true;
      // A deleted tenant's object: its rows can never be written (and nobody reads them).
      if (!(await this.#tenantExists(tenantId).catch(() => true))) {
        console.error("tenant object: tenant", tenantId, "no longer exists; clearing its object");
        await this.destroy();
        return;
      }
    }
    this.#pruneLedger(now);
    if (failed) return this.#setAlarm(now + FLUSH_RETRY_MS);
    if (metrics.holdsAnything || this.#logRows > 0 || this.#pendingFlushes().length) return this.#setAlarm(now + this.#flushEveryMs);
    // Idle: wake when the oldest ledger rows expire.
    const oldest = this.#all<{ m: number | null }>("SELECT min(minute) AS m FROM ledger")[0]?.m ?? null;
    if (oldest !== null) await this.#setAlarm(Math.max(now + LEDGER_PRUNE_EVERY_MS, oldest * 1000 + LEDGER_RETENTION_MS));
  }

  // ---- state ----------------------------------------------------------------------------------

  /** The open metrics, loaded from the snapshot and the log on first use. */
  async #load(tenantId: string): Promise<OpenMetrics> {
    if (this.#tenantId !== undefined && this.#tenantId !== tenantId) throw new Error(`tenant object of ${this.#tenantId} called for ${tenantId}`);
    if (this.#metrics) return this.#metrics;
    let loaded: OpenMetrics | undefined;
    await this.ctx.blockConcurrencyWhile(async () => {
      if (this.#metrics) return;
      if (this.#tenantId === undefined) {
        this.#tenantId = tenantId;
        this.#exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('tenant', ?)", tenantId);
      }
      const parts = this.#all<{ body: string }>("SELECT body FROM snapshot ORDER BY part");
      const metrics = parts.length ? OpenMetrics.fromJSON(JSON.parse(parts.map((p) => p.body).join("")) as OpenMetricsJson) : new OpenMetrics(tenantId);
      // The log holds only what came after the snapshot (a snapshot drops the log behind it).
      this.#seq = Number(this.#meta("seq") ?? 0);
      let logRows = 0;
      let current: { seq: number; wallMs: number; body: string } | undefined;
      const replay = () => {
        if (current) metrics.apply(decodeDelta(current.body), current.wallMs);
      };
      for (const row of this.#all<{ seq: number; wall_ms: number; body: string }>("SELECT seq, wall_ms, body FROM log ORDER BY seq, part")) {
        if (current && current.seq === row.seq) current.body += row.body;
        else {
          replay();
          current = { seq: row.seq, wallMs: row.wall_ms, body: row.body };
          logRows++;
        }
        this.#seq = Math.max(this.#seq, row.seq);
      }
      replay();
      this.#logRows = logRows;
      if (this.#meta("migrated") === undefined) await this.#importLegacyState(tenantId, metrics);
      this.#metrics = loaded = metrics;
    });
    return loaded ?? this.#metrics!;
  }

  /** The tenant's R2 state object of earlier assemblers, taken over once, then deleted. */
  async #importLegacyState(tenantId: string, metrics: OpenMetrics): Promise<void> {
    const key = legacyAssemblerStateKey(tenantId);
    const object = await this.env.SPANS.get(key);
    if (object) {
      const legacy = decodeLegacyState(new Uint8Array(await object.arrayBuffer()));
      const wallMs = Date.now();
      metrics.apply({ keys: [], clockMs: legacy.edges?.clockMs ?? 0, halves: legacy.edges?.pending ?? [], edgeRows: legacy.openEdgeRows, operationRows: legacy.openOperationRows, usage: [] }, wallMs);
      const groups = await Promise.all(legacy.recentBatches.map(async (g) => ({ blockId: g.blockId, entries: await ledgerEntries(g.keys) })));
      this.ctx.storage.transactionSync(() => {
        for (const g of groups) {
          const seq = ++this.#seq;
          for (const [minute, ids] of packByMinute(g.entries)) this.#exec("INSERT INTO ledger (minute, seq, block, ids) VALUES (?, ?, ?, ?)", minute, seq, g.blockId, toArrayBuffer(ids));
        }
        this.#writeSnapshot(metrics);
      });
      await this.env.SPANS.delete(key);
      this.#ensureAlarm(wallMs + this.#flushEveryMs);
    }
    this.#exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('migrated', '1')");
  }

  /** The entries the ledger holds, with their blocks. Synchronous: see the module comment. */
  #lookup(entries: readonly LedgerEntry[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const e of entries) {
      let minute = this.#ledger.get(e.minute);
      if (!minute) {
        minute = new Map();
        for (const row of this.#all<{ block: string; ids: ArrayBuffer }>("SELECT block, ids FROM ledger WHERE minute = ?", e.minute)) {
          for (const id of unpackIds(new Uint8Array(row.ids))) minute.set(id, row.block);
        }
        this.#cacheLedgerMinute(e.minute, minute);
      }
      const block = minute.get(e.id);
      if (block !== undefined) out.set(e.key, block);
    }
    return out;
  }

  #cacheLedgerMinute(minute: number, ids: Map<string, string>): void {
    this.#ledger.set(minute, ids);
    this.#ledgerCached += ids.size;
    for (const [m, cached] of this.#ledger) {
      if (this.#ledgerCached <= LEDGER_CACHE_IDS || m === minute) break;
      this.#ledger.delete(m);
      this.#ledgerCached -= cached.size;
    }
  }

  #pruneLedger(nowMs: number): void {
    const last = Number(this.#meta("ledger_pruned_at") ?? 0);
    if (nowMs - last < LEDGER_PRUNE_EVERY_MS) return;
    const cutoffMinute = Math.floor((nowMs - LEDGER_RETENTION_MS) / 60_000) * 60;
    this.ctx.storage.transactionSync(() => {
      this.#exec("DELETE FROM ledger WHERE minute < ?", cutoffMinute);
      this.#exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('ledger_pruned_at', ?)", String(nowMs));
    });
    for (const m of [...this.#ledger.keys()]) {
      if (m >= cutoffMinute) continue;
      this.#ledgerCached -= this.#ledger.get(m)!.size;
      this.#ledger.delete(m);
    }
  }

  // ---- flushing to D1 -------------------------------------------------------------------------

  /** One flush at a time: a second caller waits for the first, then runs its own. */
  async #flushOnce(wallMs: number): Promise<FlushResult> {
    while (this.#flushing) await this.#flushing.catch(() => undefined);
    const run = this.#flush(wallMs);
    this.#flushing = run;
    try {
      return await run;
    } finally {
      this.#flushing = undefined;
    }
  }

  async #flush(wallMs: number): Promise<FlushResult> {
    const tenantId = this.#tenantId!;
    const metrics = this.#metrics!;
    // A flush that did not complete before goes first, as it was taken (its id makes it once-only).
    let pending = this.#pendingFlushes()[0];
    if (!pending) {
      const closed = metrics.takeClosed(wallMs);
      if (closed || this.#logRows > 0) {
        const id = closed ? crypto.randomUUID() : undefined;
        this.ctx.storage.transactionSync(() => {
          this.#writeSnapshot(metrics);
          if (id && closed) {
            const body: PendingFlushJson = encodeRowSets({ edgeRows: closed.edgeRows, operationRows: closed.operationRows, serviceRows: closed.serviceRows ?? [], usage: closed.usage, storedMinutes: closed.storedMinutes });
            this.#exec("INSERT INTO pending_flush (id, body) VALUES (?, ?)", id, JSON.stringify(body));
          }
        });
        if (id && closed) pending = { id, rows: closed };
      }
    }
    if (!pending) return { rows: 0, usageDays: 0 };
    const db = (await indexStore(this.env)) as BatchingDb;
    await writeMetricFlush(db, tenantId, pending.id, pending.rows);
    this.#exec("DELETE FROM pending_flush WHERE id = ?", pending.id);
    return { rows: rowCount(pending.rows), usageDays: pending.rows.usage.length };
  }

  /** The state as a snapshot at the current log position; the log behind it is dropped. */
  #writeSnapshot(metrics: OpenMetrics): void {
    const text = JSON.stringify(metrics.toJSON());
    this.#exec("DELETE FROM snapshot");
    for (let part = 0; part * PART_CHARS < text.length; part++) this.#exec("INSERT INTO snapshot (part, body) VALUES (?, ?)", part, text.slice(part * PART_CHARS, (part + 1) * PART_CHARS));
    this.#exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('seq', ?)", String(this.#seq));
    this.#exec("DELETE FROM log WHERE seq <= ?", this.#seq);
    this.#logRows = 0;
  }

  #pendingFlushes(): { id: string; rows: ClosedRows }[] {
    return this.#all<{ id: string; body: string }>("SELECT id, body FROM pending_flush").map((r) => {
      const rows = decodeRowSets(JSON.parse(r.body) as PendingFlushJson);
      // Service rows of the version before their root/status keys fit no D1 row now (migration
      // 0010); their minutes are before the object's serviceRowsFrom, so they are dropped.
      return { id: r.id, rows: { ...rows, serviceRows: currentServiceRows(rows.serviceRows) ?? [] } };
    });
  }

  async #tenantExists(tenantId: string): Promise<boolean> {
    return (await getTenant(await indexStore(this.env), tenantId)) !== undefined;
  }

  // ---- small helpers --------------------------------------------------------------------------

  #ensureAlarm(atMs: number): void {
    if (this.#alarmAt === undefined) {
      // Unknown after a restart: ask once (a read, not a billed write).
      void this.ctx.storage.getAlarm().then((at) => {
        this.#alarmAt = at;
        if (at === null) void this.#setAlarm(atMs);
      });
      this.#alarmAt = atMs; // until the read answers, do not ask again
      return;
    }
    if (this.#alarmAt === null) void this.#setAlarm(atMs);
  }

  async #setAlarm(atMs: number): Promise<void> {
    this.#alarmAt = atMs;
    this.#rowsWritten++; // each setAlarm is billed as one row written
    await this.ctx.storage.setAlarm(atMs);
  }

  #meta(k: string): string | undefined {
    return this.#all<{ v: string }>("SELECT v FROM meta WHERE k = ?", k)[0]?.v;
  }

  /** A statement that writes, run to the end, its billed rows counted. */
  #exec(query: string, ...bindings: unknown[]): void {
    const cursor = this.#sql.exec(query, ...bindings);
    cursor.toArray();
    this.#rowsWritten += cursor.rowsWritten;
    this.#rowsRead += cursor.rowsRead;
  }

  /** A query's rows, read at once, its billed rows counted. */
  #all<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    const cursor = this.#sql.exec<T>(query, ...bindings);
    const rows = cursor.toArray();
    this.#rowsRead += cursor.rowsRead;
    this.#rowsWritten += cursor.rowsWritten;
    return rows;
  }
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
