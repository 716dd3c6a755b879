/**
 * Transient storage trouble answers a retryable 503 with Retry-After on every query API (OTLP and
 * Grafana clients retry 503, not 500). A D1 that fails every statement with SQLITE_BUSY stands in
 * for a locked database: a lock cannot be produced on demand.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../workers/dashboard/app.ts";
import type { DashboardEnv } from "../../workers/dashboard/env.ts";
import { tenantWithKey } from "../support/store-assembled.ts";

const busy = () => {
  throw new Error("D1_ERROR: database is locked: SQLITE_BUSY");
};
const statement: Record<string, unknown> = { bind: () => statement, all: busy, run: busy, first: busy, raw: busy };
const lockedDb = { prepare: () => statement, batch: busy, exec: busy, withSession: () => lockedDb } as unknown as D1Database;

async function get(path: string, secret: string, db?: D1Database) {
  const ctx = createExecutionContext();
  const workerEnv = { ...(env as unknown as DashboardEnv), ...(db ? { DB: db } : {}) };
  const res = await app.fetch(new Request(`http://dashboard.local${path}`, { headers: { "x-api-key": secret } }), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

let secret: string;

beforeAll(async () => {
  ({ secret } = await tenantWithKey(["read"]));
});

describe("transient storage errors", () => {
  const now = Math.floor(Date.now() / 1000);
  for (const path of [
    `/api/search?q=${encodeURIComponent("{ }")}&start=${now - 3600}&end=${now}`,
    `/jaeger/api/services`,
    `/zipkin/api/v2/services`,
    `/api/traces/${"ab".repeat(16)}`,
  ]) {
    it(`answers 503 with Retry-After, not 500: ${path.split("?")[0]}`, async () => {
      // The key is known to the isolate first (a healthy request), then the database locks.
      expect((await get(path, secret)).status).toBeLessThan(500);
      const res = await get(path, secret, lockedDb);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
    });
  }
});
