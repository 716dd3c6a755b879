/**
 * The service map and services pages against `npm start`: a workload exported with the real
 * OpenTelemetry JS SDK (frontend -> checkout -> postgres, some failing), then the map (services
 * and the database drawn, edges labelled, a node's panel with charts and a search link, keyboard
 * selection) and the services page (sparklines, operations). Also: a producer and its consumer in
 * two traces joined by a span link (billing => mailer), a service whose only requests are INTERNAL
 * roots (web-frontend), labels legible and clear of other edges at the opening zoom, and the
 * selected node kept in the URL. The service graph reads the minutes
 * the assembler has not closed yet too, and every pair here completes within one export (and a
 * database call makes its edge at once), so no wait for the 60 s pairing window is needed.
 * Screenshots go to test/artifacts/service-map-*.png.
 */
import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { exportSpans, newAccount, recordInternalRoots, recordLinkedMessages, signIn, waitForSpans, type Account } from "./seed.ts";
import { collectProblems, gotoPage, launchBrowser, screenshot, VIEWPORT, type PageProblems } from "./support.ts";

const dashboardUrl = inject("dashboardUrl");
const ingestUrl = inject("ingestUrl");

let browser: Browser;
let page: Page;
let problems: PageProblems;
let account: Account;

const TRACES = 12;
const MESSAGES = 6;
const PAGE_LOADS = 6;

beforeAll(async () => {
  account = await newAccount(dashboardUrl, "map <shop>");
  const now = Date.now();
  await exportSpans(ingestUrl, account.secret, (tracerFor) => {
    const frontend = tracerFor("frontend");
    const checkout = tracerFor("checkout");
    for (let i = 0; i < TRACES; i++) {
      // Spans a few seconds in the past, spread over a minute, with explicit times.
      const t0 = now - 70_000 + i * 5_000;
      const failing = i % 4 === 0;
      const root = frontend.startSpan("GET /cart", { kind: SpanKind.SERVER, startTime: t0 });
      const rootCtx = trace.setSpan(context.active(), root);
      const call = frontend.startSpan("POST /checkout", { kind: SpanKind.CLIENT, startTime: t0 + 2, attributes: { "http.request.method": "POST" } }, rootCtx);
      const callCtx = trace.setSpan(context.active(), call);
      const served = checkout.startSpan("POST /checkout", { kind: SpanKind.SERVER, startTime: t0 + 5 }, callCtx);
      const servedCtx = trace.setSpan(context.active(), served);
      const db = checkout.startSpan("SELECT orders", { kind: SpanKind.CLIENT, startTime: t0 + 8, attributes: { "db.system": "postgresql", "db.name": "orders" } }, servedCtx);
      if (failing) db.setStatus({ code: SpanStatusCode.ERROR, message: "deadlock detected" });
      db.end(t0 + 20 + i);
      if (failing) served.setStatus({ code: SpanStatusCode.ERROR, message: "payment failed" });
      served.end(t0 + 40 + i);
      if (failing) call.setStatus({ code: SpanStatusCode.ERROR });
      call.end(t0 + 45 + i);
      root.end(t0 + 50 + i);
    }
    recordLinkedMessages(tracerFor, { producer: "billing", consumer: "mailer", count: MESSAGES, startMs: now - 60_000 });
    recordInternalRoots(tracerFor, { service: "web-frontend", count: PAGE_LOADS, startMs: now - 60_000, durationMs: 120 });
  });
  await waitForSpans(account, TRACES * 4 + MESSAGES * 3 + PAGE_LOADS * 2);
  browser = await launchBrowser();
  const ctx = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, locale: "en-US", timezoneId: "UTC" });
  await signIn(ctx, account);
  page = await ctx.newPage();
  problems = await collectProblems(page);
});

afterAll(async () => {
  await browser?.close();
});

const shot = (name: string) => screenshot(page, `service-map-${name}`);
const base = () => `${dashboardUrl}/app/t/${account.tenantId}`;

test("the service map draws services, the database and labelled edges; a node opens its panel", async () => {
  await gotoPage(page, `${base()}/service-map?range=15m`);
  const node = (id: string) => page.locator(`g.sm-node[data-node="${id}"]`);
  await node("frontend").waitFor({ timeout: 30_000 });
  await expect(node("checkout").count()).resolves.toBe(1);
  await expect(node("orders").getAttribute("class")).resolves.toContain("sm-node-database");
  await expect(node("user").getAttribute("class")).resolves.toContain("sm-node-user");
  const edge = page.locator('g.sm-edge[data-edge="frontend->checkout"]');
  await expect(edge.locator("text.sm-edge-label").first().textContent()).resolves.toMatch(/req\/(s|min)/);
  await expect(page.locator('g.sm-edge[data-edge="checkout->orders"] .sm-edge-label-sub').textContent()).resolves.toMatch(/^25% err · p99 \d/);
  await expect(page.locator("select").inputValue()).resolves.toBe("15m");
  await shot("map");

  await node("checkout").click();
  const panel = page.getByRole("complementary", { name: "Details of checkout" });
  await panel.locator('[data-charts="loaded"], .error-text').first().waitFor({ timeout: 30_000 });
  await expect(panel.locator(".error-text").allTextContents()).resolves.toEqual([]);
  await expect(panel.locator("svg path.sm-line").count()).resolves.toBeGreaterThanOrEqual(3);
  const search = panel.getByRole("link", { name: "Search traces of checkout" });
  await expect(search.getAttribute("href")).resolves.toBe(`/app/t/${account.tenantId}/search?service=checkout&range=15m`);
  await expect(panel.getByRole("link", { name: "SELECT orders" }).getAttribute("href")).resolves.toBe(`/app/t/${account.tenantId}/search?service=checkout&operation=SELECT%20orders&range=15m`);
  await shot("node-panel");

  // Keyboard: an edge is a focusable button; Enter opens its panel.
  await page.locator('g.sm-edge[data-edge="checkout->orders"]').focus();
  await page.keyboard.press("Enter");
  const edgePanel = page.getByRole("complementary", { name: "Details of checkout → orders" });
  await edgePanel.locator('[data-charts="loaded"], .error-text').first().waitFor({ timeout: 30_000 });
  await expect(edgePanel.locator(".error-text").allTextContents()).resolves.toEqual([]);
  await expect(edgePanel.textContent()).resolves.toContain("3 of 12");
  await shot("edge-panel");

  // Zoom and reset change the view, and nothing breaks.
  const g = page.locator("svg.sm-svg > g");
  const before = await g.getAttribute("transform");
  await page.mouse.move(400, 400);
  await page.mouse.wheel(0, -400);
  await expect.poll(() => g.getAttribute("transform")).not.toBe(before);
  const zoomed = await g.getAttribute("transform");
  // Reset fits the graph to the canvas as it is now (narrower with the panel open).
  await page.getByRole("button", { name: "Reset view" }).click();
  await expect.poll(() => g.getAttribute("transform")).not.toBe(zoomed);
  await shot("after-reset");
  expect(problems.all()).toEqual([]);
});

test("a message produced in one trace and consumed in another, joined by a link, is one messaging edge", async () => {
  await gotoPage(page, `${base()}/service-map?range=15m`);
  const edge = page.locator('g.sm-edge[data-edge="billing->mailer"]');
  await edge.waitFor({ timeout: 30_000 });
  await expect(page.locator('g.sm-edge[data-edge="user->mailer"]').count()).resolves.toBe(0);
  await expect(page.locator('g.sm-node[data-node="mailer"]').getAttribute("class")).resolves.toContain("sm-node-service");
  await edge.focus();
  await page.keyboard.press("Enter");
  const panel = page.getByRole("complementary", { name: "Details of billing → mailer" });
  await expect(panel.textContent()).resolves.toContain(`0 of ${MESSAGES}`);
  // Its charts: mailer's consumer roots with a link (no producer is mailer's parent).
  await panel.locator('[data-charts="loaded"], .error-text').first().waitFor({ timeout: 30_000 });
  await expect(panel.locator(".error-text").allTextContents()).resolves.toEqual([]);
  await expect(panel.locator("svg path.sm-line").count()).resolves.toBeGreaterThanOrEqual(3);
  await shot("messaging-edge");

  // A service whose requests are INTERNAL roots: its panel charts them.
  await page.locator('g.sm-node[data-node="web-frontend"]').click();
  const roots = page.getByRole("complementary", { name: "Details of web-frontend" });
  await roots.locator('[data-charts="loaded"], .error-text').first().waitFor({ timeout: 30_000 });
  await expect(roots.locator(".error-text").allTextContents()).resolves.toEqual([]);
  await expect(roots.locator("svg path.sm-line").count()).resolves.toBeGreaterThanOrEqual(3);
  expect(problems.all()).toEqual([]);
});

/** Rendered size of every edge label's text, and which other edge's line crosses a label's box. */
function measureLabels() {
  return page.evaluate(() => {
    const edges = [...document.querySelectorAll<SVGGElement>("g.sm-edge")];
    const fontPx = [...document.querySelectorAll<SVGTextElement>("text.sm-edge-label")].map((t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM()!.a);
    const overlaps: string[] = [];
    for (const e of edges) {
      const box = e.querySelector("rect.sm-edge-label-bg")!.getBoundingClientRect();
      for (const other of edges) {
        if (other === e) continue;
        const path = other.querySelector<SVGPathElement>("path.sm-edge-line")!;
        const m = path.getScreenCTM()!;
        const length = path.getTotalLength();
        for (let at = 0; at <= length; at += 1) {
          const p = path.getPointAtLength(at).matrixTransform(m);
          if (p.x > box.left + 0.5 && p.x < box.right - 0.5 && p.y > box.top + 0.5 && p.y < box.bottom - 0.5) {
            overlaps.push(`${other.dataset.edge} crosses the label of ${e.dataset.edge}`);
            break;
          }
        }
      }
    }
    return { edges: edges.length, fontPx, overlaps };
  });
}

test("at the opening zoom edge labels are at least 11 px and clear of other edges", async () => {
  const g = page.locator("svg.sm-svg > g");
  for (const width of [VIEWPORT.width, 960]) {
    // At 960 px the graph is wider than the canvas at scale 1: it opens at scale 1, not fitted.
    await page.setViewportSize({ ...VIEWPORT, width });
    await gotoPage(page, `${base()}/service-map?range=15m`);
    await page.locator('g.sm-edge[data-edge="billing->mailer"]').waitFor({ timeout: 30_000 });
    const measured = await measureLabels();
    // user->frontend, user->billing, user->web-frontend, frontend->checkout, checkout->orders, billing->mailer
    expect(measured.edges).toBe(6);
    expect(measured.fontPx.length).toBe(12);
    expect(Math.min(...measured.fontPx), `at ${width} px`).toBeGreaterThanOrEqual(11);
    expect(measured.overlaps).toEqual([]);
    await shot(`opening-zoom-${width}`);
  }
  // There "Fit all" shows the whole graph, smaller.
  const opening = await g.getAttribute("transform");
  expect(opening).toMatch(/scale\(1\)$/);
  await page.getByRole("button", { name: "Fit all" }).click();
  await expect.poll(async () => Number(/scale\(([\d.]+)\)/.exec((await g.getAttribute("transform")) ?? "")?.[1])).toBeLessThan(1);
  await page.setViewportSize(VIEWPORT);
  expect(problems.all()).toEqual([]);
});

test("the selected node is in the URL: a reload opens its panel again", async () => {
  await gotoPage(page, `${base()}/service-map?range=15m`);
  await page.locator('g.sm-node[data-node="mailer"]').click();
  await expect.poll(() => new URL(page.url()).searchParams.get("node")).toBe("mailer");
  await page.reload();
  const panel = page.getByRole("complementary", { name: "Details of mailer" });
  await panel.waitFor({ timeout: 30_000 });
  await expect(page.locator('g.sm-node[data-node="mailer"]').getAttribute("aria-pressed")).resolves.toBe("true");
  await expect(page.locator("select").inputValue()).resolves.toBe("15m");
  await panel.getByRole("button", { name: /close/i }).click();
  await expect.poll(() => new URL(page.url()).searchParams.get("node")).toBe(null);
  expect(problems.all()).toEqual([]);
});

test("the services page lists services with sparklines and expands operations", async () => {
  await gotoPage(page, `${base()}/services?range=15m`);
  const row = (name: string) => page.locator(`tr[data-service="${name}"]`);
  await row("checkout").waitFor({ timeout: 30_000 });
  await expect(row("frontend").count()).resolves.toBe(1);
  await expect(row("orders").count()).resolves.toBe(0);
  // A service whose only requests are its INTERNAL root spans: their rate and latency.
  await expect(row("web-frontend").locator("td").nth(0).locator(".sv-cell > span").first().textContent()).resolves.toBe(`${((PAGE_LOADS / 900) * 60).toFixed(2)} req/min`);
  const p50 = await row("web-frontend").locator("td").nth(2).locator(".sv-cell > span").first().textContent();
  expect(p50).toMatch(/^\d+ ms$/);
  expect(Math.abs(parseFloat(p50!) - 120)).toBeLessThanOrEqual(6);
  await expect.poll(() => row("web-frontend").locator("svg.sm-spark path.sm-line").count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
  await expect(row("checkout").locator("td").nth(1).textContent()).resolves.toBe("25%");
  await expect.poll(() => row("checkout").locator("svg.sm-spark path.sm-line").count(), { timeout: 30_000 }).toBe(4);
  await row("checkout").getByRole("button", { name: "checkout" }).click();
  const ops = page.getByRole("table", { name: "Operations of checkout" });
  await ops.locator('tr[data-operation="SELECT orders"]').waitFor();
  await expect(ops.locator('tr[data-operation="POST /checkout"]').count()).resolves.toBe(1);
  await shot("services");

  // Sorting by name puts billing first; again, last.
  await page.getByRole("button", { name: "Service" }).click();
  await expect(page.locator("tbody > tr[data-service]").first().getAttribute("data-service")).resolves.toBe("billing");
  await page.getByRole("button", { name: "Service" }).click();
  await expect(page.locator("tbody > tr[data-service]").first().getAttribute("data-service")).resolves.toBe("web-frontend");
  expect(problems.all()).toEqual([]);
});
