/**
 * @module
 * The database type every query function takes: drizzle's async SQLite base, which both the D1
 * driver and the libSQL driver extend, so the same queries run on either.
 */
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type * as schema from "./schema.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the run result differs per driver
export type Db = BaseSQLiteDatabase<"async", any, typeof schema>;
