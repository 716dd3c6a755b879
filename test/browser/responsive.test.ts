/**
 * Phones and small screens (issue 15): every dashboard page, server-rendered and client, at
 * 390x844 (a phone) and 1440x900 (a desktop), in the light and the dark theme, has no page-level
 * horizontal overflow (an inner box such as the waterfall may scroll on its own, the page may
 * not). On the phone the navigation is behind a menu button that opens it, tables read as lists
 * (every row inside the screen), and an opened span's detail is a full-width sheet while the
 * waterfall keeps the screen's width. Data from the real OpenTelemetry SDK; screenshots of each
 * page go to test/artifacts/responsive-<page>-<width>-<theme>.png.
 */
import { context as otelContext, trace, SpanKind, SpanStatusCode, type Span, type Tracer } from "@opentelemetry/api";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { exportSpans, newAccount, signIn, waitForSpans, type Account } from "./seed.ts";
import { collectProblems, gotoPage, launchBrowser, screenshot, type PageProblems } from "./support.ts";

const dashboardUrl = inject("dashboardUrl");
const ingestUrl = inject("ingestUrl");

const PHONE = { width: 390, height: 844 } as const;
const DESKTOP = { width: 1440, height: 900 } as const;
const SIZES = [PHONE, DESKTOP];
const THEMES = ["light", "dark"] as const;

let browser: Browser;
/** A project with traces, and one with none yet (its overview is the first-run guide). */
let shop: Account;
let empty: Account;
const traceIds: string[] = [];

const child = (tracer: Tracer, parent: Span, name: string, opts: Parameters<Tracer["startSpan"]>[1]) => tracer.startSpan(name, opts, trace.setSpan(otelContext.active(), parent));

/** Two checkout traces (the second slower, with an error): frontend → api → postgres. */
async function seed(account: Account): Promise<void> {
  await exportSpans(ingestUrl, account.secret, (tracerFor) => {
    const frontend = tracerFor("frontend");
    const api = tracerFor("api");
    for (const [i, slow] of [0, 1].entries()) {
      const t0 = Date.now() - 120_000 + i * 30_000;
      const at = (ms: number) => t0 + ms * (slow ? 2 : 1);
      const root = frontend.startSpan("GET /checkout/a-rather-long-path-name-for-a-phone-screen", { kind: SpanKind.SERVER, startTime: at(0), attributes: { "http.request.method": "GET", "url.full": "https://shop.example.com/checkout/a-rather-long-path-name-for-a-phone-screen?with=a&long=query&string=that&does=not&break=anywhere" } });
      traceIds.push(root.spanContext().traceId);
      const call = child(frontend, root, "POST /api/orders", { kind: SpanKind.CLIENT, startTime: at(10) });
      const server = child(api, call, "POST /api/orders", { kind: SpanKind.SERVER, startTime: at(15), attributes: { "http.route": "/api/orders" } });
      const db = child(api, server, "SELECT orders", { kind: SpanKind.CLIENT, startTime: at(30), attributes: { "db.system": "postgresql", "db.statement": "SELECT id, customer_id, total_cents, created_at FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 50" } });
      db.end(at(120));
      const charge = child(api, server, "charge card", { kind: SpanKind.CLIENT, startTime: at(130) });
      if (slow) charge.setStatus({ code: SpanStatusCode.ERROR, message: "card declined" });
      charge.end(at(200));
      server.end(at(210));
      call.end(at(220));
      root.end(at(250));
    }
  });
}

beforeAll(async () => {
  browser = await launchBrowser();
  [shop, empty] = await Promise.all([newAccount(dashboardUrl, "a shop with a long project name"), newAccount(dashboardUrl, "empty")]);
  await seed(shop);
  await waitForSpans(shop, 10);
});

afterAll(async () => {
  await browser?.close();
});

interface PageCase {
  name: string;
  account: () => Account | undefined;
  path: () => string;
  /** Waits until the page shows its content (client pages render after their data arrives). */
  ready: (page: Page) => Promise<void>;
}

const shown = (selector: string) => (page: Page) => page.locator(selector).first().waitFor({ timeout: 60_000 });
const inShop = (p = "") => () => `/app/t/${shop.tenantId}${p}`;

const PAGES: PageCase[] = [
  { name: "login", account: () => undefined, path: () => "/login", ready: shown("form") },
  { name: "signup", account: () => undefined, path: () => "/signup", ready: shown("form") },
  { name: "projects", account: () => shop, path: () => "/app", ready: shown("main h1") },
  { name: "first-run", account: () => empty, path: () => `/app/t/${empty.tenantId}`, ready: shown("[data-first-run]") },
  { name: "overview", account: () => shop, path: inShop(), ready: shown("main h1") },
  { name: "keys", account: () => shop, path: inShop("/keys"), ready: shown("table.keys tbody tr") },
  { name: "settings", account: () => shop, path: inShop("/settings"), ready: shown("main form") },
  { name: "account", account: () => shop, path: () => "/app/account", ready: shown("main form") },
  { name: "search", account: () => shop, path: inShop("/search"), ready: shown("[data-trace-id]") },
  { name: "trace", account: () => shop, path: () => `/app/t/${shop.tenantId}/traces/${traceIds[1]}`, ready: shown('[role="treegrid"] [role="row"]') },
  { name: "compare", account: () => shop, path: () => `/app/t/${shop.tenantId}/compare?a=${traceIds[0]}&b=${traceIds[1]}`, ready: shown("table.cmp-tree tbody tr") },
  { name: "service-map", account: () => shop, path: inShop("/service-map"), ready: shown("g.sm-node") },
  { name: "services", account: () => shop, path: inShop("/services"), ready: shown("[data-service]") },
];

async function open(c: PageCase, size: { width: number; height: number }, theme: "light" | "dark"): Promise<{ page: Page; problems: PageProblems }> {
  // The theme follows the system setting unless switched: emulate the setting.
  const context = await browser.newContext({ viewport: size, deviceScaleFactor: 1, locale: "en-US", timezoneId: "UTC", colorScheme: theme });
  const account = c.account();
  if (account) await signIn(context, account);
  const page = await context.newPage();
  const problems = await collectProblems(page);
  const response = await gotoPage(page, `${dashboardUrl}${c.path()}`);
  expect(response?.status(), `${c.name} answered ${response?.status()}`).toBe(200);
  await c.ready(page);
  return { page, problems };
}

/** The page's own horizontal overflow, in CSS pixels (0: none). */
const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/** Elements sticking out past the right edge, to name in a failure. */
const widest = (page: Page) =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll("body *"))
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 8)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}${e.className && typeof e.className === "string" ? `.${e.className.trim().split(/\s+/).join(".")}` : ""} right=${Math.round(e.getBoundingClientRect().right)}`),
  );

const box = async (page: Page, selector: string) => {
  const b = await page.locator(selector).first().boundingBox();
  if (!b) throw new Error(`${selector} is not shown`);
  return b;
};

describe.each(THEMES)("%s theme", (theme) => {
  test.each(PAGES.map((p) => [p.name, p] as const))("%s fits 390 and 1440 px wide, and its navigation is reachable", async (name, c) => {
    for (const size of SIZES) {
      const { page, problems } = await open(c, size, theme);
      const dark = await page.evaluate(() => getComputedStyle(document.documentElement).colorScheme);
      expect(dark).toBe(theme);
      await screenshot(page, `responsive-${name}-${size.width}-${theme}`);
      expect(await overflow(page), `${name} at ${size.width}px overflows: ${(await widest(page)).join(", ")}`).toBeLessThanOrEqual(0);

      if (c.account()) {
        const menu = page.getByRole("button", { name: "Menu" });
        const projects = page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Projects" });
        if (size === PHONE) {
          // Folded: the links are hidden until the menu button opens them, then inside the screen.
          expect(await projects.isVisible()).toBe(false);
          await menu.click();
          await projects.waitFor();
          const b = (await projects.boundingBox())!;
          expect(b.x).toBeGreaterThanOrEqual(0);
          expect(b.x + b.width).toBeLessThanOrEqual(size.width);
          if (c.path().startsWith("/app/t/")) await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Services" }).waitFor();
          await screenshot(page, `responsive-${name}-${size.width}-${theme}-menu`);
          expect(await overflow(page)).toBeLessThanOrEqual(0);
          await page.keyboard.press("Escape");
          await projects.waitFor({ state: "hidden" });
        } else {
          expect(await menu.isVisible()).toBe(false);
          expect(await projects.isVisible()).toBe(true);
        }
      }
      expect(problems.all()).toEqual([]);
      await page.context().close();
    }
  });
});

test.each(SIZES.map((s) => [s.width, s] as const))("tables at %i px: lists on a phone, tables on a desktop", async (width, size) => {
  for (const [name, row] of [
    ["keys", "table.keys tbody tr"],
    ["search", "tr[data-trace-id]"],
    ["services", "tr[data-service]"],
  ] as const) {
    const c = PAGES.find((p) => p.name === name)!;
    const { page } = await open(c, size, "light");
    const rows = await page.locator(row).evaluateAll((trs) => trs.map((tr) => ({ display: getComputedStyle(tr).display, right: tr.getBoundingClientRect().right })));
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      if (size === PHONE) {
        expect(r.display, `${name}: a row on a phone`).not.toBe("table-row");
        expect(r.right, `${name}: a row on a phone ends inside the screen`).toBeLessThanOrEqual(width);
      } else {
        expect(r.display, `${name}: a row on a desktop`).toBe("table-row");
      }
    }
    await page.context().close();
  }
});

test.each(THEMES)("the trace view (%s theme): on a phone a span's detail is a full-width sheet and the waterfall keeps the screen's width; beside it on a desktop", async (theme) => {
  const c = PAGES.find((p) => p.name === "trace")!;
  for (const size of SIZES) {
    const { page, problems } = await open(c, size, theme);
    const before = await box(page, ".tv-waterfall");
    await page.locator('[role="row"]', { hasText: "SELECT orders" }).first().click();
    const detail = page.getByRole("complementary", { name: "Span detail" });
    await detail.waitFor();
    await screenshot(page, `responsive-trace-span-${size.width}-${theme}`);
    expect(await overflow(page), (await widest(page)).join(", ")).toBeLessThanOrEqual(0);
    const sheet = (await detail.boundingBox())!;
    const waterfall = await box(page, ".tv-waterfall");
    if (size === PHONE) {
      // The sheet spans the screen; the waterfall is as wide as before the span was opened.
      expect(sheet.x).toBeLessThanOrEqual(1);
      expect(sheet.width).toBeGreaterThanOrEqual(size.width - 2);
      expect(waterfall.width).toBeGreaterThanOrEqual(before.width - 1);
      expect(waterfall.width).toBeGreaterThanOrEqual(size.width * 0.85);
      // The sheet closes again, by its button.
      await detail.getByRole("button", { name: /close/i }).click();
      await detail.waitFor({ state: "hidden" });
      // The other tabs fit too (their wide tables scroll in their own box).
      for (const [tab, content] of [
        ["Statistics", ".tv-stats table"],
        ["Flame graph", ".tv-flame-span"],
        ["JSON", ".tv-json"],
      ] as const) {
        await page.getByRole("tab", { name: tab }).click();
        await page.locator(content).first().waitFor();
        await screenshot(page, `responsive-trace-${tab.toLowerCase().replace(" ", "-")}-${size.width}-${theme}`);
        expect(await overflow(page), `${tab}: ${(await widest(page)).join(", ")}`).toBeLessThanOrEqual(0);
      }
    } else {
      // Beside the waterfall, as before: both have room.
      expect(sheet.x).toBeGreaterThan(waterfall.x + waterfall.width - 1);
      expect(waterfall.width).toBeGreaterThan(800);
    }
    expect(problems.all()).toEqual([]);
    await page.context().close();
  }
});
