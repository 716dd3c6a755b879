/**
 * @module
 * The libSQL adapter: the only place a `@libsql/client` Client becomes a `Db`. The same schema and
 * query functions then run on a local SQLite file, an in-memory database or a Turso database, for
 * a tenant who outgrows one D1 database.
 *
 * Which client to pass:
 * - in a Worker, `createClient` from `@libsql/client/web` (HTTP to Turso / sqld; no `file:`);
 * - in Node (tests, scripts), `createClient` from `@libsql/client` with `file:` or `:memory:`.
 *
 * Migrations: D1 gets `migrations/` through `wrangler d1 migrations apply`; a libSQL database gets
 * the same files through `migrateLibsql` below (Node only: it reads the folder with `node:fs`) or
 * through `drizzle-kit migrate` with a libSQL (`dialect: "turso"`) config. Both record what they
 * applied in their own table (`d1_migrations` / `__drizzle_migrations`), so one database must
 * stick to one of the two.
 */
import type { Client, ResultSet, Row, Transaction } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import type { BatchingDb } from "./client.ts";
import * as schema from "./schema.ts";

/** A libSQL-backed database: a `BatchingDb` (every query function accepts it) that the migrator also takes. */
export type LibsqlDb = LibSQLDatabase<typeof schema> & BatchingDb;

const cache = new WeakMap<Client, LibsqlDb>();

export function libsql(client: Client): LibsqlDb {
  let db = cache.get(client);
  if (!db) {
    db = drizzle({ client: blobsAsUint8Array(client), schema }) as LibsqlDb;
    cache.set(client, db);
  }
  return db;
}

/*
 * Blobs. The libSQL clients return a BLOB as an ArrayBuffer, and drizzle's libSQL session
 * (`normalizeFieldValue` in drizzle-orm/libsql/session) then turns every ArrayBuffer into a Node
 * `Buffer` when a global `Buffer` exists (Node; workerd at our 2026-11-01 compatibility date), and
 * otherwise (workerd at older dates without nodejs_compat) decodes it as UTF-8 text. Text decoding
 * loses bytes: a trace filter or histogram would come back as a string, which the schema's `bytes`
 * column cannot turn back into the bytes. A Buffer keeps the bytes but is not a plain Uint8Array
 * (`slice` shares memory, deep equality and JSON differ from D1's). The wrapper below hands drizzle
 * plain Uint8Arrays, which it passes through untouched: binary columns come back byte-exact and as
 * plain Uint8Arrays on every runtime, as they do on D1.
 */

function blobsAsUint8Array(client: Client): Client {
  return new Proxy(client, {
    get(target, prop) {
      switch (prop) {
        case "execute":
          return async (...args: Parameters<Client["execute"]>) => fixResult(await target.execute(...args));
        case "batch":
          return async (...args: Parameters<Client["batch"]>) => (await target.batch(...args)).map(fixResult);
        case "migrate":
          return async (...args: Parameters<Client["migrate"]>) => (await target.migrate(...args)).map(fixResult);
        case "transaction":
          return async (...args: Parameters<Client["transaction"]>) => fixTransaction(await target.transaction(...args));
      }
      // Bound to the real client: its methods use private fields, which a proxy receiver lacks.
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function fixTransaction(tx: Transaction): Transaction {
  return new Proxy(tx, {
    get(target, prop) {
      if (prop === "execute") return async (...args: Parameters<Transaction["execute"]>) => fixResult(await target.execute(...args));
      if (prop === "batch") return async (...args: Parameters<Transaction["batch"]>) => (await target.batch(...args)).map(fixResult);
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function fixResult(rs: ResultSet): ResultSet {
  if (rs.rows.some((row) => Array.prototype.some.call(row, (v) => v instanceof ArrayBuffer))) {
    (rs as { rows: Row[] }).rows = rs.rows.map((row) => fixRow(row, rs.columns));
  }
  return rs;
}

/** A copy of a row with ArrayBuffers as Uint8Arrays, shaped like the clients' rows (indexes hidden, names enumerable). */
function fixRow(row: Row, columns: string[]): Row {
  const out = {} as Row;
  Object.defineProperty(out, "length", { value: row.length });
  for (let i = 0; i < row.length; i++) {
    const raw = row[i];
    const value = raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw;
    Object.defineProperty(out, i, { value });
    const column = columns[i];
    if (column !== undefined && !Object.hasOwn(out, column)) Object.defineProperty(out, column, { value, enumerable: true, configurable: true, writable: true });
  }
  return out;
}

// drizzle's migrator reads the folder with `node:fs`. Naming it through a variable keeps bundlers
// (wrangler's esbuild) from inlining it, and with it a static `import "node:fs"` that a Worker
// without nodejs_compat cannot load, into every Worker that uses `libsql()`.
const MIGRATOR: string = "drizzle-orm/libsql/migrator";
const NODE_URL: string = "node:url";

/**
 * Applies the drizzle-kit migrations (by default the repo's `migrations/`) that the database has not
 * seen yet, in one libSQL batch (a transaction), recording them in `__drizzle_migrations`. Node only.
 */
export async function migrateLibsql(db: LibsqlDb, migrationsFolder?: string): Promise<void> {
  const [{ migrate }, { fileURLToPath }] = (await Promise.all([import(/* @vite-ignore */ MIGRATOR), import(/* @vite-ignore */ NODE_URL)])) as [
    typeof import("drizzle-orm/libsql/migrator"),
    { fileURLToPath(url: URL): string },
  ];
  await migrate(db, { migrationsFolder: migrationsFolder ?? fileURLToPath(new URL("../../migrations", import.meta.url)) });
}
