/**
 * @module
 * The database type every query function takes: drizzle's async SQLite base, which both the D1
 * driver and the libSQL driver extend, so the same queries run on either.
 */
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type * as schema from "./schema.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the run result differs per driver
export type Db = BaseSQLiteDatabase<"async", any, typeof schema>;

/** A Db that can run several statements as one atomic batch (D1 and libSQL both can; not transactions on D1). */
export type BatchingDb = Db & {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- drizzle's batch item types are driver-internal
  batch(queries: readonly [any, ...any[]]): Promise<unknown[]>;
};
