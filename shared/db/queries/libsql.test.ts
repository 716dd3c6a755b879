// The index-store suite on libSQL: in-memory databases through @libsql/client in Node, migrated
// from migrations/ by migrateLibsql (the same files wrangler applies to D1). It runs twice: as is,
// and without a global Buffer, which is how drizzle's libSQL session sees a Worker on an older
// compatibility date without nodejs_compat, and which changes how it hands back blobs.
import { readFileSync } from "node:fs";
import { createClient, type Client } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { libsql, migrateLibsql, type LibsqlDb } from "../libsql.ts";
import * as schema from "../schema.ts";
import { runIndexStoreSuite } from "../../../test/support/index-store-suite.ts";
import { createTenant } from "./tenants.ts";
import { listBlocks, recordBlock } from "./blocks.ts";
import { d1 } from "../d1.ts";
import { indexStore } from "../select-index-store.ts";

async function open(): Promise<{ client: Client; db: LibsqlDb }> {
  const client = createClient({ url: ":memory:" });
  const db = libsql(client);
  await migrateLibsql(db);
  return { client, db };
}

describe("libSQL adapter", () => {
  let client: Client;
  let db: LibsqlDb;
  beforeAll(async () => ({ client, db } = await open()));
  afterAll(() => client.close());

  it("migrateLibsql creates the schema's tables and is idempotent", async () => {
    await migrateLibsql(db);
    const tables = await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    expect(tables.rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(["tenants", "api_keys", "blocks", "edge_minutes", "operation_minutes", "users", "sessions", "memberships", "login_throttle", "__drizzle_migrations"]),
    );
    const applied = await client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
    const journal = JSON.parse(readFileSync(new URL("../../../migrations/meta/_journal.json", import.meta.url), "utf8")) as { entries: unknown[] };
    expect(Number(applied.rows[0]?.n)).toBe(journal.entries.length);
  });

  it("libsql() gives one Db per client", () => {
    expect(libsql(client)).toBe(db);
  });

  it("why libsql() wraps the client: plain drizzle mangles blobs when there is no global Buffer", async () => {
    const plain = drizzle({ client, schema });
    const tenantId = (await createTenant(db, "blobs")).id;
    const filter = Uint8Array.from([0x00, 0xff, 0xfe, 0x80, 0x41]);
    await recordBlock(db, tenantId, { id: `blk_${crypto.randomUUID()}`, level: 0, formatVersion: 1, startMs: 1, endMs: 2, traceCount: 1, spanCount: 1, bytes: 1, services: [], traceFilter: filter, attributeIndex: null, createdAt: new Date(0) }, [], []);

    vi.stubGlobal("Buffer", undefined);
    try {
      const [viaPlain] = await listBlocks(plain, tenantId);
      expect(Array.from(viaPlain!.traceFilter)).not.toEqual(Array.from(filter)); // decoded as UTF-8 text first
      const [viaAdapter] = await listBlocks(db, tenantId);
      expect(Array.from(viaAdapter!.traceFilter)).toEqual(Array.from(filter));
    } finally {
      vi.unstubAllGlobals();
    }
    // With a Buffer (Node, nodejs_compat) plain drizzle keeps the bytes but hands back a Buffer.
    const [withBuffer] = await listBlocks(plain, tenantId);
    expect(Object.getPrototypeOf(withBuffer!.traceFilter)).not.toBe(Uint8Array.prototype);
  });
});

describe("indexStore chooses by configuration", () => {
  const DB = { prepare() {}, batch() {}, exec() {} } as unknown as Parameters<typeof d1>[0];

  it("uses D1 when INDEX_STORE_URL is unset or blank", async () => {
    expect(await indexStore({ DB })).toBe(d1(DB));
    expect(await indexStore({ DB, INDEX_STORE_URL: " " })).toBe(d1(DB));
  });

  it("uses one libSQL web client per URL and token otherwise", async () => {
    const a = await indexStore({ DB, INDEX_STORE_URL: "https://edgetrace-example.turso.io", INDEX_STORE_AUTH_TOKEN: "t1" });
    expect(a).not.toBe(d1(DB));
    expect((a as unknown as { $client: Client }).$client.protocol).toBe("http");
    expect(await indexStore({ DB, INDEX_STORE_URL: "https://edgetrace-example.turso.io", INDEX_STORE_AUTH_TOKEN: "t1" })).toBe(a);
    expect(await indexStore({ DB, INDEX_STORE_URL: "https://edgetrace-example.turso.io", INDEX_STORE_AUTH_TOKEN: "t2" })).not.toBe(a);
  });

  it("refuses a URL the web client cannot use (file:), every time", async () => {
    await expect(indexStore({ DB, INDEX_STORE_URL: "file:index.db" })).rejects.toThrow(/URL_SCHEME_NOT_SUPPORTED|supports only/);
    await expect(indexStore({ DB, INDEX_STORE_URL: "file:index.db" })).rejects.toThrow();
  });
});

{
  let client: Client;
  let db: LibsqlDb;
  describe("libSQL (:memory:)", () => {
    beforeAll(async () => ({ client, db } = await open()));
    afterAll(() => client.close());
    runIndexStoreSuite("libSQL (:memory:)", () => db);
  });
}

{
  let client: Client;
  let db: LibsqlDb;
  describe("libSQL (:memory:) without a global Buffer", () => {
    beforeAll(async () => {
      ({ client, db } = await open());
      vi.stubGlobal("Buffer", undefined);
    });
    afterAll(() => {
      vi.unstubAllGlobals();
      client.close();
    });
    runIndexStoreSuite("libSQL (:memory:), no global Buffer", () => db);
  });
}
