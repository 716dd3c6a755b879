// The dashboard's static assets (Workers Static Assets, answered without running the worker) get
// their headers from dashboard/public/_headers. Served here by Miniflare's assets pipeline, the
// one wrangler dev uses, from the real directory.
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY } from "../../workers/dashboard/security-headers.ts";

const ASSETS = fileURLToPath(new URL("../../dashboard/public", import.meta.url));
// Shared chunks exist once `npm run build:ui` has run (npm test runs it first; the output is not committed).
const CHUNKS = `${ASSETS}/static/ui/chunks`;
const chunk = existsSync(CHUNKS) ? readdirSync(CHUNKS).find((f) => f.endsWith(".js")) : undefined;
let mf: Miniflare;

beforeAll(async () => {
  mf = new Miniflare({
    workers: [
      {
        config: {
          name: "dashboard-assets",
          compatibilityDate: "2026-11-01",
          manifest: {
            mainModule: "worker.mjs",
            modules: { "worker.mjs": { type: "esm" as const, contents: `export default { fetch() { return new Response("from the worker", { status: 404 }); } };` } },
          },
          assets: { directory: ASSETS, hasUserWorker: true },
        },
        dev: { cacheAPI: false },
      },
    ],
    enableDevRegistry: false,
    logRequests: false,
  });
  await mf.ready;
}, 60_000);
afterAll(() => mf?.dispose());

describe("static asset headers", () => {
  it("sends nosniff and the pages' CSP with every asset", async () => {
    for (const path of ["/static/app.css", "/static/app.js", "/static/favicon.svg"]) {
      const res = await mf.dispatchFetch(`http://localhost${path}`);
      await res.arrayBuffer();
      expect(res.status, path).toBe(200);
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("content-security-policy"), path).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
    }
  });

  it("has the unhashed files (the pages name them) revalidated on every load", async () => {
    for (const path of ["/static/app.css", "/static/app.js"]) {
      const res = await mf.dispatchFetch(`http://localhost${path}`);
      await res.arrayBuffer();
      expect(res.headers.get("cache-control"), path).not.toContain("immutable");
    }
  });

  it.skipIf(!chunk)("caches a shared chunk for a year, immutable, with the same security headers", async () => {
    const res = await mf.dispatchFetch(`http://localhost/static/ui/chunks/${chunk}`);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("does not serve the _headers file itself", async () => {
    const res = await mf.dispatchFetch("http://localhost/_headers");
    expect(await res.text()).toBe("from the worker");
  });
});
