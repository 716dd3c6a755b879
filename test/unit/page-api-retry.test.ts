/**
 * The pages' API client (dashboard/src/api.ts) against a real HTTP server: a read answered 503 with
 * Retry-After is asked again, a few times, and then reported; other errors are reported at once
 * with the server's message. The page globals it reads (`location`, the root element's tenant) are
 * the only stand-ins.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ApiError, getJson, retryWaitMs } from "../../dashboard/src/api.ts";

/** What the server answers next, per request, and the tenant headers it saw. */
let script: { status: number; retryAfter?: string; body: string }[] = [];
const seen: (string | undefined)[] = [];
let server: Server;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers["x-edgetrace-tenant"] as string | undefined);
    const next = script.shift() ?? { status: 500, body: JSON.stringify({ message: "script ran out" }) };
    res.writeHead(next.status, { "content-type": "application/json", ...(next.retryAfter !== undefined ? { "retry-after": next.retryAfter } : {}) });
    res.end(next.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(globalThis, { location: { origin }, document: { getElementById: () => ({ dataset: { tenant: "tn_page" } }) } });
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  script = [];
  seen.length = 0;
});

const unavailable = { status: 503, retryAfter: "0", body: JSON.stringify({ message: "storage is briefly unavailable" }) };

describe("the pages' API client", () => {
  it("asks again after a 503 and returns the answer that follows", async () => {
    script = [unavailable, unavailable, { status: 200, body: JSON.stringify({ traces: [1] }) }];
    await expect(getJson("/api/search", { q: "{ }", limit: 5 })).resolves.toEqual({ traces: [1] });
    expect(seen).toEqual(["tn_page", "tn_page", "tn_page"]);
  });

  it("reports the 503 with its message after three more tries", async () => {
    script = [unavailable, unavailable, unavailable, unavailable, { status: 200, body: "{}" }];
    const err = await getJson("/api/search").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(503);
    expect((err as ApiError).message).toBe("storage is briefly unavailable");
    expect(seen).toHaveLength(4);
  });

  it("does not repeat a request the server refused", async () => {
    script = [{ status: 400, body: JSON.stringify({ message: "q: unexpected }" }) }, { status: 200, body: "{}" }];
    await expect(getJson("/api/search")).rejects.toMatchObject({ status: 400, message: "q: unexpected }" });
    expect(seen).toHaveLength(1);
  });

  it("stops waiting when the page aborts the read", async () => {
    script = [{ ...unavailable, retryAfter: "5" }, { status: 200, body: "{}" }];
    const ctl = new AbortController();
    const read = getJson("/api/search", {}, { signal: ctl.signal });
    setTimeout(() => ctl.abort(new Error("left the page")), 50);
    await expect(read).rejects.toThrow("left the page");
    expect(seen).toHaveLength(1);
  });

  it("waits what Retry-After says, at most 5 s, 1 s when it is not a number of seconds", () => {
    expect(retryWaitMs("2")).toBe(2000);
    expect(retryWaitMs("120")).toBe(5000);
    expect(retryWaitMs(null)).toBe(1000);
    expect(retryWaitMs("Wed, 21 Oct 2015 07:28:00 GMT")).toBe(1000);
  });
});
