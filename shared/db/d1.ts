/** The D1 adapter: the only place a D1 binding becomes a `Db`. */
import { drizzle, type AnyD1Database } from "drizzle-orm/d1";
import type { Db } from "./client.ts";
import * as schema from "./schema.ts";

const cache = new WeakMap<object, Db>();

export function d1(binding: AnyD1Database): Db {
  let db = cache.get(binding);
  if (!db) {
    db = drizzle(binding, { schema });
    cache.set(binding, db);
  }
  return db;
}
