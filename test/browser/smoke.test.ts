/**
 * The browser harness works end to end: Debian's Chromium, driven by playwright-core, loads a page
 * from the stack `npm start` runs (started by test/e2e/global-setup.ts), renders it, and a
 * screenshot lands in test/artifacts/. Fails if Chromium is missing or does not start, or if the
 * stack does not answer.
 */
import { existsSync, statSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { collectProblems, gotoPage, launchBrowser, newPage, screenshot, VIEWPORT } from "./support.ts";

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

test("the dashboard's /healthz loads in Chromium and is screenshotted", async () => {
  const page = await newPage(browser);
  const problems = await collectProblems(page);

  const response = await gotoPage(page, `${inject("dashboardUrl")}/healthz`, { waitUntil: "load" });
  expect(response?.status()).toBe(200);
  expect(response?.headers()["content-type"]).toMatch(/^application\/json/);
  expect(await response?.json()).toEqual({ ok: true });
  // What Chromium rendered, not only what the server sent.
  expect(JSON.parse(await page.locator("pre").first().innerText())).toEqual({ ok: true });
  expect(await page.evaluate(() => [window.innerWidth, window.innerHeight])).toEqual([VIEWPORT.width, VIEWPORT.height]);

  const path = await screenshot(page, "smoke-healthz");
  expect(existsSync(path)).toBe(true);
  expect(statSync(path).size).toBeGreaterThan(0);

  expect(problems.all()).toEqual([]);
  await page.context().close();
});

test("the problem collector sees console errors, page errors and CSP violations", async () => {
  // The collector is what later tests rely on to fail on a broken page: check it fails here.
  const page = await newPage(browser);
  const problems = await collectProblems(page);
  // Served by the route below, never by the stack: a page made to go wrong in each way.
  const url = `${inject("dashboardUrl")}/__browser-test/problems`;
  await page.route(url, (route) =>
    route.fulfill({
      contentType: "text/html",
      headers: { "content-security-policy": "default-src 'self'; script-src 'self' 'nonce-ok'" },
      body: `<!doctype html><title>problems</title>
        <script nonce="ok">console.error("logged error"); setTimeout(() => { throw new Error("uncaught"); });</script>
        <script>console.log("blocked inline script ran");</script>`,
    }),
  );
  await gotoPage(page, url);
  await expect.poll(() => problems.pageErrors.length).toBe(1);
  await expect.poll(() => problems.cspViolations.length).toBeGreaterThan(0);
  expect(problems.consoleErrors.some((m) => m.includes("logged error"))).toBe(true);
  expect(problems.pageErrors[0]).toContain("uncaught");
  expect(problems.cspViolations[0]).toMatch(/^script-src(-elem)? blocked inline/);
  await page.context().close();
});
