/**
 * @module
 * The D1 / libSQL schema: the single source of the tables. `npm run db:generate` turns changes
 * into SQL under migrations/, which wrangler applies (locally at start and in tests).
 *
 * D1 bills per row written and every index adds a written row, so this schema holds what is
 * small and hot (tenants, keys, later the block catalog and per-minute aggregates); span data
 * lives in R2.
 */
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

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

