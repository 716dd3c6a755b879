/**
 * @module
 * The D1 / libSQL schema: the single source of the tables. `npm run db:generate` turns changes
 * into SQL under migrations/, which wrangler applies (locally at start and in tests).
 *
 * D1 bills per row written and every index adds a written row, so this schema holds what is
 * small and hot (tenants, keys, later the block catalog and per-minute aggregates); span data
 * lives in R2.
 */
import { customType, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Binary columns as Uint8Array on every driver: D1 hands blobs back as arrays of numbers or
 * ArrayBuffers depending on the runtime, libSQL as ArrayBuffers, and Workers have no Buffer.
 */
const bytes = customType<{ data: Uint8Array; driverData: ArrayBuffer | Uint8Array | number[] }>({
  dataType: () => "blob",
  toDriver: (value) => value,
  fromDriver: (value) => (value instanceof Uint8Array ? value : Array.isArray(value) ? Uint8Array.from(value) : new Uint8Array(value)),
});

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  /** Days a trace is kept (Tempo's block retention default is 14). */
  retentionDays: integer("retention_days").notNull().default(14),
  /** Largest accepted request body, counted after decompression. */
  maxRequestBytes: integer("max_request_bytes").notNull().default(16 * 1024 * 1024),
  /** Token-bucket ingest limit in decompressed bytes per second and its burst (Tempo's defaults). */
  ingestBytesPerSecond: integer("ingest_bytes_per_second").notNull().default(15_000_000),
  ingestBurstBytes: integer("ingest_burst_bytes").notNull().default(20_000_000),
  /** Longer string attribute values are truncated, not rejected. */
  maxAttributeValueBytes: integer("max_attribute_value_bytes").notNull().default(64 * 1024),
  /** The trace view's link from a span to its logs (shared/tenancy/logs-link.ts), or null. */
  logsUrlTemplate: text("logs_url_template"),
  /**
   * Set when the project is deleted: its keys are revoked and its members removed at once, its data
   * is purged by the assembler's cron once every isolate's key cache has expired (workers/assembler
   * /purge.ts). A deleted tenant is invisible to every query of tenants.ts.
   */
  deletedAt: integer("deleted_at", { mode: "timestamp_ms" }),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** JSON array of scopes: "ingest" | "read" | "admin". */
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull(),
    /** Lowercase hex SHA-256 of the secret; the secret itself is never stored. */
    secretHash: text("secret_hash").notNull(),
    /** The first characters of the secret, so a user can tell keys apart. */
    prefix: text("prefix").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (t) => [uniqueIndex("api_keys_secret_hash").on(t.secretHash), index("api_keys_tenant").on(t.tenantId)],
);

export type Tenant = typeof tenants.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;


/**
 * The block catalog: one row per immutable block object in R2. Trace-by-id walks a tenant's rows
 * newest first and tests each block's trace-id filter before reading R2, so the filter lives here.
 */
export const blocks = sqliteTable(
  "blocks",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    /** 0 = written by the assembler from ingest objects; n+1 = compacted from level n. */
    level: integer("level").notNull(),
    formatVersion: integer("format_version").notNull(),
    /** Earliest span start and latest span end in the block, unix milliseconds. */
    startMs: integer("start_ms").notNull(),
    endMs: integer("end_ms").notNull(),
    traceCount: integer("trace_count").notNull(),
    spanCount: integer("span_count").notNull(),
    bytes: integer("bytes").notNull(),
    /** JSON array of the service names in the block, for search pruning. */
    services: text("services", { mode: "json" }).$type<string[]>().notNull(),
    /** The block's trace-id filter (see shared/block/trace-filter.ts). */
    traceFilter: bytes("trace_filter").notNull(),
    /**
     * The block's attribute index (shared/block/attribute-index.ts): a search skips the block
     * without reading R2 when its query cannot match. Null for blocks written before indexes.
     */
    attributeIndex: bytes("attribute_index"),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("blocks_tenant_end").on(t.tenantId, t.endMs)],
);

/**
 * The columns every per-minute metric table starts its row (and primary key) with. A function, so
 * each table gets builders of its own.
 */
const tenantMinuteColumns = () => ({
  tenantId: text("tenant_id").notNull(),
  minute: integer("minute").notNull(),
});

/** Spans, errors among them and their duration histogram: the RED counts of one row. */
const redColumns = () => ({
  count: integer("count").notNull(),
  errors: integer("errors").notNull(),
  durations: bytes("durations").notNull(),
});

/** Service-graph edges per minute (shared/servicegraph/aggregate.ts EdgeRow). */
export const edgeMinutes = sqliteTable(
  "edge_minutes",
  {
    ...tenantMinuteColumns(),
    source: text("source").notNull(),
    target: text("target").notNull(),
    connectionType: text("connection_type").notNull(),
    requests: integer("requests").notNull(),
    failed: integer("failed").notNull(),
    clientDurations: bytes("client_durations").notNull(),
    serverDurations: bytes("server_durations").notNull(),
  },
  // WITHOUT ROWID (migration 0006, hand-written: drizzle cannot declare it): the primary key is the
  // table, so an insert writes one billed row, not two (row and key index). The same for
  // operation_minutes, usage_days and metric_flushes. A drizzle-kit migration that rebuilds one of
  // these tables must add WITHOUT ROWID again (blocks is WITHOUT ROWID too).
  (t) => [primaryKey({ columns: [t.tenantId, t.minute, t.source, t.target, t.connectionType] })],
);

/** RED metrics per service, operation and kind per minute (shared/metrics/red.ts OperationRow). */
export const operationMinutes = sqliteTable(
  "operation_minutes",
  {
    ...tenantMinuteColumns(),
    service: text("service").notNull(),
    operation: text("operation").notNull(),
    kind: integer("kind").notNull(),
    ...redColumns(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.minute, t.service, t.operation, t.kind] })],
);

/**
 * Every span per service per minute, whatever its kind (shared/metrics/red.ts ServiceRow): what
 * TraceQL metrics over all spans (`{ } | rate() by(resource.service.name)`) read instead of blocks.
 * Keyed also by root or not and status (migration 0010), so the rows answer Grafana Traces
 * Drilldown's root-span and per-status panels. A table of its own rather than operation rows with a sentinel kind: the rollup read is then a
 * primary-key range of exactly these rows (a day of a tenant: minutes x services), not every
 * operation row of the window filtered, and no reader of operation rows can pick them up.
 * WITHOUT ROWID (migration 0008, hand-edited), as the other metric tables.
 */
export const serviceMinutes = sqliteTable(
  "service_minutes",
  {
    ...tenantMinuteColumns(),
    service: text("service").notNull(),
    serviceNameType: integer("service_name_type").notNull(),
    /** 1 for spans without a parent span id (roots), 0 for the others. */
    root: integer("root").notNull(),
    /** The spans' status code. */
    status: integer("status").notNull(),
    ...redColumns(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.minute, t.service, t.serviceNameType, t.root, t.status] })],
);

export type Block = typeof blocks.$inferSelect;

/** Dashboard accounts. Email is stored lowercased; the password only as a PBKDF2 hash. */
export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull().unique(),
  /** base64 PBKDF2-SHA256 output, its salt, and the iteration count it was made with. */
  passwordHash: text("password_hash").notNull(),
  passwordSalt: text("password_salt").notNull(),
  passwordIterations: integer("password_iterations").notNull(),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  passwordChangedAt: integer("password_changed_at", { mode: "timestamp_ms" }).notNull(),
});

/**
 * Server-side sessions. The cookie holds a random 256-bit id; only its SHA-256 is stored, so a
 * leaked table does not log anyone in. The CSRF token is per session (synchronizer token).
 */
export const sessions = sqliteTable(
  "sessions",
  {
    idHash: text("id_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    csrfToken: text("csrf_token").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    /** Refreshed at most every few minutes (a D1 write per refresh); idle expiry counts from it. */
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }).notNull(),
    /** Absolute expiry, whatever the activity. */
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("sessions_user").on(t.userId)],
);

/** Who may use a tenant in the dashboard, and how: owners manage keys, members and settings. */
export const memberships = sqliteTable(
  "memberships",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role").$type<"owner" | "member">().notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] }), index("memberships_user").on(t.userId)],
);

/** Failed-login counters per account and per client address (shared/auth/login-throttle.ts). */
export const loginThrottle = sqliteTable("login_throttle", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  windowStartMs: integer("window_start_ms").notNull(),
  lockedUntilMs: integer("locked_until_ms").notNull(),
});

export type User = typeof users.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type Membership = typeof memberships.$inferSelect;

/**
 * Spans accepted and rejected per tenant per day (UTC, by ingest receive time), for the usage
 * chart. Counted by the assembler from its queue messages and written in the same D1 batch as the
 * block catalog row, so a redelivered batch is not counted twice.
 */
export const usageDays = sqliteTable(
  "usage_days",
  {
    tenantId: text("tenant_id").notNull(),
    /** YYYY-MM-DD */
    day: text("day").notNull(),
    spansAccepted: integer("spans_accepted").notNull(),
    spansRejected: integer("spans_rejected").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.day] })],
);

/**
 * The last write of closed metric rows and usage by each tenant's object (workers/assembler/
 * tenant-object.ts), in the same D1 batch as the rows: a retried write whose first attempt did
 * commit finds its id here and is not applied again. One row per tenant (each write deletes the
 * previous one).
 */
export const metricFlushes = sqliteTable(
  "metric_flushes",
  {
    tenantId: text("tenant_id").notNull(),
    flushId: text("flush_id").notNull(),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.flushId] })],
);
