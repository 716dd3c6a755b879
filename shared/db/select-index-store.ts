/**
 * @module
 * Chooses the index store by configuration: the `DB` D1 binding unless `INDEX_STORE_URL` names a
 * libSQL database (Turso, or any sqld over `libsql:`/`https:`), for a deployment that outgrew one
 * D1 database (10 GB cap). Either way the result is a `BatchingDb` every query function takes.
 *
 * The libSQL path is loaded with a dynamic import, so a D1 deployment never evaluates the libSQL
 * HTTP client. It is still in the bundle (wrangler's esbuild inlines dynamic imports); see
 * ARCHITECTURE.md "Index store" for the size it adds.
 */
import type { AnyD1Database } from "drizzle-orm/d1";
import type { BatchingDb } from "./client.ts";
import { d1 } from "./d1.ts";

export interface IndexStoreEnv {
  DB: AnyD1Database;
  /** A libSQL URL (`libsql://<db>.turso.io`, `https://...`); unset means D1. */
  INDEX_STORE_URL?: string;
  /** The libSQL auth token (a secret: `wrangler secret put INDEX_STORE_AUTH_TOKEN`). */
  INDEX_STORE_AUTH_TOKEN?: string;
}

// One libSQL client per URL and token for the isolate's lifetime, like the D1 adapter's cache.
const libsqlStores = new Map<string, Promise<BatchingDb>>();

export function indexStore(env: IndexStoreEnv): Promise<BatchingDb> {
  const url = env.INDEX_STORE_URL?.trim();
  if (!url) return Promise.resolve(d1(env.DB) as BatchingDb);
  const authToken = env.INDEX_STORE_AUTH_TOKEN || undefined;
  const cacheKey = `${url}\n${authToken ?? ""}`;
  let store = libsqlStores.get(cacheKey);
  if (!store) {
    store = openLibsql(url, authToken);
    libsqlStores.set(cacheKey, store);
    // A failed open (a malformed URL) is not cached, so a fixed configuration takes effect.
    store.catch(() => libsqlStores.delete(cacheKey));
  }
  return store;
}

async function openLibsql(url: string, authToken: string | undefined): Promise<BatchingDb> {
  const [{ createClient }, { libsql }] = await Promise.all([import("@libsql/client/web"), import("./libsql.ts")]);
  return libsql(createClient({ url, authToken }));
}
