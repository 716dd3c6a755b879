/**
 * The trace view (issue 6) in Chromium against a local stack: a multi-service trace exported with
 * the real OpenTelemetry SDK (a database CLIENT span, an error, a span event, a span link, and a
 * span whose name and attributes are HTML) opened, expanded and collapsed, searched, driven by
 * keyboard, its span detail and deep link, the statistics, flame graph and JSON tabs, downloaded
 * and opened again from the file on /trace-file. Then a 10,000-span trace: the waterfall keeps
 * only a screenful of rows in the DOM, and every span can be reached by scrolling. Screenshots of
 * each view go to test/artifacts/trace-*.png; no console error, CSP violation or dialog is allowed.
 */
import { context as otelContext, trace, SpanKind, SpanStatusCode, type Span, type Tracer } from "@opentelemetry/api";
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { exportSpans, newAccount, postForm, signIn, waitForSpans, type Account } from "./seed.ts";
import { collectProblems, gotoPage, launchBrowser, newPage, screenshot, VIEWPORT, type PageProblems } from "./support.ts";

const dashboardUrl = inject("dashboardUrl");
const ingestUrl = inject("ingestUrl");
const XSS = "<img src=x onerror=alert(1)>";

let browser: Browser;
let page: Page;
let problems: PageProblems;
const dialogs: string[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

async function openPage(account: Account): Promise<Page> {
  const p = await newPage(browser);
  await signIn(p.context(), account);
  problems = await collectProblems(p);
  // An alert() from injected markup would show as a dialog: record it (and dismiss it).
  p.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return p;
}

const child = (tracer: Tracer, parent: Span, name: string, opts: Parameters<Tracer["startSpan"]>[1]) => tracer.startSpan(name, opts, trace.setSpan(otelContext.active(), parent));

interface Seeded {
  traceId: string;
  /** The root's start, epoch milliseconds; the spans' times are offsets from it. */
  t0: number;
  ids: Record<string, string>;
  linked: { traceId: string; spanId: string };
}

/**
 * frontend → api → (SELECT orders on postgres with "validate cart" running inside it, so off the
 * critical path; the XSS span with a link; charge card: error), render.
 */
async function seedTrace(account: Account, variant = false): Promise<Seeded> {
  const ids: Record<string, string> = {};
  let traceId = "";
  let linked = { traceId: "", spanId: "" };
  const t0 = Date.now() - 60_000;
  const at = (ms: number) => t0 + ms;
  await exportSpans(ingestUrl, account.secret, (tracerFor) => {
    const frontend = tracerFor("frontend");
    const api = tracerFor("api");
    const worker = tracerFor("worker");
    // The linked span lives in a trace of its own.
    const job = worker.startSpan("process order", { kind: SpanKind.CONSUMER, startTime: at(0) });
    job.end(at(40));
    linked = { traceId: job.spanContext().traceId, spanId: job.spanContext().spanId };

    const root = frontend.startSpan("GET /checkout", { kind: SpanKind.SERVER, startTime: at(0), attributes: { "http.request.method": "GET", "url.path": "/checkout" } });
    traceId = root.spanContext().traceId;
    const call = child(frontend, root, "POST /api/orders", { kind: SpanKind.CLIENT, startTime: at(10) });
    const server = child(api, call, "POST /api/orders", { kind: SpanKind.SERVER, startTime: at(15), attributes: { "http.route": "/api/orders" } });
    const validate = child(api, server, "validate cart", { startTime: at(60) });
    validate.addEvent("cache miss", { "cache.key": "cart:42" }, at(70));
    // The variant's error moved: validating fails, charging succeeds.
    if (variant) validate.setStatus({ code: SpanStatusCode.ERROR, message: "cart expired" });
    validate.end(at(80));
    const db = child(api, server, "SELECT orders", { kind: SpanKind.CLIENT, startTime: at(50), attributes: { "db.system": "postgresql", "db.statement": "SELECT * FROM orders WHERE id = $1" } });
    // The variant (for comparing): the query is slower, a cache lookup is new, "render page" is gone.
    db.end(at(variant ? 220 : 120));
    if (variant) child(api, server, "GET cache", { kind: SpanKind.CLIENT, startTime: at(45) }).end(at(48));
    const xss = child(api, server, XSS, { startTime: at(122), attributes: { "xss.value": "<script>alert(2)</script>", [XSS]: "<img src=x onerror=alert(3)>" }, links: [{ context: job.spanContext(), attributes: { "link.reason": "<b>follows</b>" } }] });
    xss.end(at(128));
    const charge = child(api, server, "charge card", { kind: SpanKind.CLIENT, startTime: at(130) });
    if (!variant) {
      charge.recordException({ name: "CardError", message: "card declined" }, at(235));
      charge.setStatus({ code: SpanStatusCode.ERROR, message: "card declined" });
    }
    charge.end(at(240));
    server.end(at(245));
    call.end(at(250));
    const render = variant ? undefined : child(frontend, root, "render page", { startTime: at(255) });
    render?.end(at(290));
    root.end(at(300));
    for (const [k, s] of Object.entries({ root, call, server, validate, db, xss, charge, render })) if (s) ids[k] = s.spanContext().spanId;
  });
  return { traceId, t0, ids, linked };
}

const rowsIn = (p: Page) => p.locator('[role="treegrid"] [role="row"]');
const row = (p: Page, spanId: string) => p.locator(`[role="row"][data-span-id="${spanId}"]`);

test("the trace view: waterfall, detail, critical path, search, keyboard, tabs, download and file", async () => {
  const account = await newAccount(dashboardUrl);
  const seeded = await seedTrace(account);
  await waitForSpans(account, 9);
  // The project's logs link (settings page): the span detail fills it per span.
  const settings = `/app/t/${account.tenantId}/settings`;
  expect(await postForm(account, settings, { retentionDays: "14", ingestMegabytesPerSecond: "15", logsUrlTemplate: "https://logs.example.com/search?trace={traceId}&span={spanId}&svc={service}" })).toBe(303);
  page = await openPage(account);
  const traceUrl = `${dashboardUrl}/app/t/${account.tenantId}/traces/${seeded.traceId}`;
  await gotoPage(page, traceUrl);
  await rowsIn(page).first().waitFor();

  // Header.
  await expect(page.locator('[data-stat="spans"]').innerText()).resolves.toBe("8");
  await expect(page.locator('[data-stat="services"]').innerText()).resolves.toBe("2");
  await expect(page.locator('[data-stat="errors"]').innerText()).resolves.toBe("1");
  await expect(page.getByRole("heading", { level: 1 }).innerText()).resolves.toContain("GET /checkout");
  await expect(page.getByRole("link", { name: "Compare with another trace" }).getAttribute("href")).resolves.toBe(`/app/t/${account.tenantId}/compare?a=${seeded.traceId}`);
  await expect(rowsIn(page).count()).resolves.toBe(8);

  // The HTML-named span is text; nothing in it became an element.
  await expect(row(page, seeded.ids.xss!).locator(".tv-op").innerText()).resolves.toBe(XSS);
  await expect(page.locator("#app img, #app script, #app b").count()).resolves.toBe(0);

  // Critical path: on by default, drawn on the bars; the toggle removes it.
  await expect(page.locator(".tv-row.crit").count()).resolves.toBeGreaterThan(2);
  await expect(row(page, seeded.ids.charge!).getAttribute("class")).resolves.toContain("crit");
  await expect(row(page, seeded.ids.validate!).getAttribute("class")).resolves.not.toContain("crit");
  await screenshot(page, "trace-waterfall");
  await page.getByLabel("Critical path").uncheck();
  await expect(page.locator(".tv-crit").count()).resolves.toBe(0);
  await page.getByLabel("Critical path").check();
  await expect(page.locator(".tv-crit").count()).resolves.toBeGreaterThan(2);

  // Expand and collapse: the api server span, then all, then back.
  await row(page, seeded.ids.server!).locator(".tv-toggle").click();
  await expect(row(page, seeded.ids.server!).getAttribute("aria-expanded")).resolves.toBe("false");
  await expect(rowsIn(page).count()).resolves.toBe(4);
  await row(page, seeded.ids.server!).locator(".tv-toggle").click();
  await expect(rowsIn(page).count()).resolves.toBe(8);
  await page.getByRole("button", { name: "Collapse all" }).click();
  await expect(rowsIn(page).count()).resolves.toBe(1);
  await screenshot(page, "trace-collapsed");
  await page.getByRole("button", { name: "Expand all" }).click();
  await expect(rowsIn(page).count()).resolves.toBe(8);

  // Span detail: the database span, with the URL following the selection.
  await row(page, seeded.ids.db!).click();
  const detail = page.getByRole("complementary", { name: "Span detail" });
  await expect(detail.getByRole("table", { name: "Span attributes" }).innerText()).resolves.toContain("postgresql");
  await expect(detail.innerText()).resolves.toContain("client");
  expect(new URL(page.url()).searchParams.get("span")).toBe(seeded.ids.db);
  await expect(detail.getByRole("link", { name: /Logs for this span/ }).getAttribute("href")).resolves.toBe(
    `https://logs.example.com/search?trace=${seeded.traceId}&span=${seeded.ids.db}&svc=api`,
  );
  await screenshot(page, "trace-detail-db");

  // The error span: status and message, its exception event marked on the bar.
  await row(page, seeded.ids.charge!).click();
  await expect(detail.innerText()).resolves.toContain("error: card declined");
  await expect(detail.innerText()).resolves.toContain("exception");
  await expect(row(page, seeded.ids.charge!).locator(".tv-event").count()).resolves.toBe(1);

  // The XSS span: name and attributes as text; its link goes to our own trace page only.
  await row(page, seeded.ids.xss!).click();
  await expect(detail.getByRole("table", { name: "Span attributes" }).innerText()).resolves.toContain("<script>alert(2)</script>");
  await expect(detail.locator(".tv-detail-name").innerText()).resolves.toBe(XSS);
  const link = detail.locator(".tv-links a");
  await expect(link.getAttribute("href")).resolves.toBe(`/app/t/${account.tenantId}/traces/${seeded.linked.traceId}?span=${seeded.linked.spanId}`);
  await expect(page.locator("#app img, #app script, #app b").count()).resolves.toBe(0);
  await screenshot(page, "trace-detail-xss");

  // Search within the trace.
  await page.getByLabel("Find in trace").fill("orders");
  await expect(page.locator(".tv-match-count").innerText()).resolves.toBe("1 of 3");
  await expect(page.locator(".tv-row.match").count()).resolves.toBe(3);
  await page.getByLabel("Find in trace").press("Enter");
  await expect(page.locator('.tv-row[aria-selected="true"]').getAttribute("data-span-id")).resolves.toBe(seeded.ids.call);
  await page.getByRole("button", { name: "Next match" }).click();
  await expect(page.locator(".tv-match-count").innerText()).resolves.toBe("2 of 3");
  await expect(page.locator('.tv-row[aria-selected="true"]').getAttribute("data-span-id")).resolves.toBe(seeded.ids.server);
  await page.getByRole("button", { name: "Previous match" }).click();
  await expect(page.locator('.tv-row[aria-selected="true"]').getAttribute("data-span-id")).resolves.toBe(seeded.ids.call);
  await page.getByLabel("Find in trace").fill("postgresql");
  await expect(page.locator(".tv-match-count").innerText()).resolves.toBe("1 of 1");
  await screenshot(page, "trace-search");
  await page.getByLabel("Find in trace").fill("");

  // Keyboard: roving focus on the selected row.
  await row(page, seeded.ids.root!).click();
  await page.keyboard.press("ArrowDown");
  await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("data-span-id"))).toBe(seeded.ids.call);
  await page.keyboard.press("ArrowDown");
  await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("data-span-id"))).toBe(seeded.ids.server);
  await page.keyboard.press("ArrowLeft");
  await expect(row(page, seeded.ids.server!).getAttribute("aria-expanded")).resolves.toBe("false");
  await expect(rowsIn(page).count()).resolves.toBe(4);
  await page.keyboard.press("ArrowRight");
  await expect(rowsIn(page).count()).resolves.toBe(8);
  await page.keyboard.press("ArrowRight");
  await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("data-span-id"))).toBe(seeded.ids.db);
  await page.keyboard.press("ArrowLeft");
  await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("data-span-id"))).toBe(seeded.ids.server);
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await expect(detail.locator(".tv-detail-name").innerText()).resolves.toBe("render page");
  await screenshot(page, "trace-keyboard");

  // Deep link to a span: selected, scrolled to, detail open.
  await gotoPage(page, `${traceUrl}?span=${seeded.ids.db}`);
  await expect(detail.locator(".tv-detail-name").innerText()).resolves.toBe("SELECT orders");
  await expect(row(page, seeded.ids.db!).getAttribute("aria-selected")).resolves.toBe("true");

  // Minimap: drag across the first half zooms the waterfall; Reset goes back.
  const box = (await page.locator(".tv-minimap").boundingBox())!;
  await page.mouse.move(box.x + 5, box.y + 20);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + 20, { steps: 5 });
  await page.mouse.up();
  await expect(page.getByRole("button", { name: "Reset zoom" }).isVisible()).resolves.toBe(true);
  await screenshot(page, "trace-zoomed");
  await page.getByRole("button", { name: "Reset zoom" }).click();

  // The other views.
  await page.getByRole("tab", { name: "Statistics" }).click();
  const stats = page.locator(".tv-table tbody tr");
  await expect(stats.count()).resolves.toBe(8);
  await page.getByRole("button", { name: "Total" }).click();
  await expect(stats.first().innerText()).resolves.toContain("GET /checkout");
  await screenshot(page, "trace-stats");
  await page.getByRole("tab", { name: "Flame graph" }).click();
  await expect(page.locator(".tv-flame-span").count()).resolves.toBe(8);
  await page.locator(`.tv-flame-span[data-span-id="${seeded.ids.server}"]`).click();
  await expect(page.locator(".tv-flame-span").count()).resolves.toBe(5);
  await screenshot(page, "trace-flame");
  // The same by keyboard: back out to the whole trace, then focus the span and press Enter.
  await page.locator(".tv-crumbs button").first().click();
  await expect(page.locator(".tv-flame-span").count()).resolves.toBe(8);
  await page.locator(`.tv-flame-span[data-span-id="${seeded.ids.server}"]`).focus();
  await page.keyboard.press("Enter");
  await expect(page.locator(".tv-flame-span").count()).resolves.toBe(5);
  await page.getByRole("tab", { name: "JSON" }).click();
  const json = await page.locator(".tv-json").innerText();
  expect(json).toContain('"resourceSpans"');
  expect(json).toContain(XSS);
  await screenshot(page, "trace-json");

  // Download, then open the file on /trace-file.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download JSON" }).click()]);
  expect(download.suggestedFilename()).toBe(`trace-${seeded.traceId}.json`);
  const file = await download.path();
  const body = JSON.parse(readFileSync(file, "utf8")) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
  expect(body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans))).toHaveLength(8);

  await gotoPage(page, `${dashboardUrl}/app/t/${account.tenantId}/trace-file`);
  await screenshot(page, "trace-file-empty");
  await page.getByLabel("Open OTLP JSON file").setInputFiles({ name: "trace.json", mimeType: "application/json", buffer: readFileSync(file) });
  await rowsIn(page).first().waitFor();
  await expect(rowsIn(page).count()).resolves.toBe(8);
  await expect(page.locator(".tv-file-note").innerText()).resolves.toContain("not stored");
  await expect(row(page, seeded.ids.xss!).locator(".tv-op").innerText()).resolves.toBe(XSS);
  await screenshot(page, "trace-file");
  // The other theme: the same view must stay readable (look at the screenshot).
  await page.getByRole("button", { name: /theme/i }).click();
  await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toMatch(/dark|light/);
  await row(page, seeded.ids.charge!).click();
  await screenshot(page, "trace-other-theme");
  // A file that is not a trace is refused with a reason.
  await page.getByLabel("Open OTLP JSON file").setInputFiles({ name: "nope.json", mimeType: "application/json", buffer: Buffer.from('{"hello":1}') });
  await expect(page.getByRole("alert").innerText()).resolves.toContain("expected {resourceSpans}");

  // Compare with a variant of the trace: matched by structure, what was added, removed, slower.
  const other = await seedTrace(account, true);
  await waitForSpans(account, 18);
  await gotoPage(page, `${dashboardUrl}/app/t/${account.tenantId}/compare?a=${seeded.traceId}&b=${other.traceId}`);
  await page.locator('[data-stat="matched"]').waitFor();
  await expect(page.locator('[data-stat="matched"]').innerText()).resolves.toBe("7");
  await expect(page.locator('[data-stat="added"]').innerText()).resolves.toBe("1");
  await expect(page.locator('[data-stat="removed"]').innerText()).resolves.toBe("1");
  await expect(page.locator(".cmp-slower tbody tr").first().innerText()).resolves.toContain("SELECT orders");
  await expect(page.locator('.cmp-tree tr[data-kind="added"]').innerText()).resolves.toContain("GET cache");
  await expect(page.locator('.cmp-tree tr[data-kind="removed"]').innerText()).resolves.toContain("render page");
  await expect(page.getByLabel("Trace A").inputValue()).resolves.toBe(seeded.traceId);
  await expect(page.locator("#app img, #app script, #app b").count()).resolves.toBe(0);
  await screenshot(page, "trace-compare");

  expect(dialogs).toEqual([]);
  expect(problems.all()).toEqual([]);
});

/** A page in the given time zone (not the suite's UTC, so local and UTC times differ), allowed to use the clipboard. */
async function openPageIn(account: Account, timezoneId: string): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, locale: "en-US", timezoneId });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: dashboardUrl });
  const p = await context.newPage();
  await signIn(context, account);
  problems = await collectProblems(p);
  p.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return p;
}

/** `#rrggbb` as the `rgb(r, g, b)` Chromium computes. */
const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(", ")})`;
/** Minutes since midnight of `2026-12-03 20:39:17.123456 GMT+5:30`'s time. */
const minutesOf = (text: string) => {
  const m = /^\d{4}-\d\d-\d\d (\d\d):(\d\d):\d\d\.\d{6} /.exec(text);
  if (!m) throw new Error(`not a timestamp: ${text}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

test("the on-call tools: filters, next error, name column, one colour per service, times, logs windows, span links, the search's matches, compare", { timeout: 300_000 }, async () => {
  const account = await newAccount(dashboardUrl, "oncall");
  const seeded = await seedTrace(account);
  const other = await seedTrace(account, true);
  // Enough traces that the search's results run past the bottom of the window.
  await exportSpans(ingestUrl, account.secret, (tracerFor) => {
    const bulk = tracerFor("bulk");
    for (let i = 0; i < 30; i++) bulk.startSpan(`GET /item/${i}`, { kind: SpanKind.SERVER, startTime: Date.now() - 50_000 + i * 100 }).end(Date.now() - 50_000 + i * 100 + 20);
  });
  await waitForSpans(account, 18 + 30);
  const settings = `/app/t/${account.tenantId}/settings`;
  expect(await postForm(account, settings, { retentionDays: "14", ingestMegabytesPerSecond: "15", logsUrlTemplate: "https://logs.example.com/search?trace={traceId}&span={spanId}&svc={service}&from={startMs}&to={endMs}" })).toBe(303);
  page = await openPageIn(account, "Asia/Kolkata");
  // The search's compare action stays in view when rows far down the list are ticked.
  await gotoPage(page, `${dashboardUrl}/app/t/${account.tenantId}/search`);
  const boxes = page.getByRole("checkbox", { name: /to compare$/ });
  await boxes.nth(5).waitFor({ timeout: 30_000 });
  const n = await boxes.count();
  expect(n).toBeGreaterThan(15);
  await boxes.nth(n - 1).check();
  await boxes.nth(n - 2).check();
  const compare = page.getByRole("link", { name: "Compare the two selected traces" });
  const inView = await compare.evaluate((e) => {
    const r = e.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight && window.scrollY > 0;
  });
  expect(inView).toBe(true);
  await screenshot(page, "trace-compare-sticky");
  const traceUrl = `${dashboardUrl}/app/t/${account.tenantId}/traces/${seeded.traceId}`;
  await gotoPage(page, traceUrl);
  await rowsIn(page).first().waitFor();

  // Times: local (India, UTC+5:30) with the zone written, and the UTC toggle shifts every time shown.
  const start = page.locator('[data-stat="start"]');
  const localStart = await start.innerText();
  expect(localStart).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} GMT\+5:30/);
  await page.getByRole("button", { name: "UTC" }).click();
  await expect.poll(() => start.innerText()).toMatch(/ UTC/);
  expect((minutesOf(localStart) - minutesOf(await start.innerText()) + 1440) % 1440).toBe(330);
  expect(await start.innerText()).toContain(new Date(seeded.t0).toISOString().slice(11, 19));
  await expect(page.getByRole("button", { name: "UTC" }).getAttribute("aria-pressed")).resolves.toBe("true");
  // Axis ticks on round values of the 300 ms trace.
  await expect(page.locator(".tv-head .tv-tick").allInnerTexts()).resolves.toEqual(["0", "100 ms", "200 ms", "300 ms"]);
  // Zoomed into an arbitrary window, still round: equal steps of 1, 2 or 5 times a power of ten.
  const box = (await page.locator(".tv-minimap").boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.13, box.y + 20);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.61, box.y + 20, { steps: 5 });
  await page.mouse.up();
  await page.getByRole("button", { name: "Reset zoom" }).waitFor();
  const ticks = (await page.locator(".tv-head .tv-tick").evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.us)))) as number[];
  expect(ticks.length).toBeGreaterThanOrEqual(2);
  const step = ticks[1]! - ticks[0]!;
  expect(String(step / 10 ** Math.floor(Math.log10(step)))).toMatch(/^[125]$/);
  for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBeCloseTo(step, 3);
  for (const t of ticks) expect((t / step) % 1).toBeCloseTo(0, 6);
  for (const label of await page.locator(".tv-head .tv-tick").allInnerTexts()) expect(label).toMatch(/^\d+(\.\d+)? (µs|ms|s)$/);
  await screenshot(page, "trace-oncall-ticks");
  await page.getByRole("button", { name: "Reset zoom" }).click();

  // Filters: errors only keeps the error span and, faint, its ancestors.
  await page.getByLabel("Show spans").selectOption("errors");
  await expect(rowsIn(page).count()).resolves.toBe(4);
  await expect(page.locator(".tv-row.ctx").count()).resolves.toBe(3);
  await expect(row(page, seeded.ids.charge!).getAttribute("class")).resolves.not.toContain("ctx");
  await screenshot(page, "trace-filter-errors");
  // Matching the find box: the three "orders" spans and the root for context.
  await page.getByLabel("Find in trace").fill("orders");
  await page.getByLabel("Show spans").selectOption("find");
  await expect(rowsIn(page).count()).resolves.toBe(4);
  await expect(row(page, seeded.ids.render!).count()).resolves.toBe(0);
  await page.getByLabel("Show spans").selectOption("all");
  await page.getByLabel("Find in trace").fill("");
  await expect(rowsIn(page).count()).resolves.toBe(8);

  // Next error: from the root to the failing span, its detail open.
  await row(page, seeded.ids.root!).click();
  await page.getByRole("button", { name: "Next error" }).click();
  await expect(page.locator('.tv-row[aria-selected="true"]').getAttribute("data-span-id")).resolves.toBe(seeded.ids.charge);
  const detail = page.getByRole("complementary", { name: "Span detail" });
  await expect(detail.innerText()).resolves.toContain("error: card declined");
  // The detail's start is in UTC too, as chosen.
  await expect(detail.innerText()).resolves.toMatch(/\d\d:\d\d:\d\d\.\d{6} UTC/);

  // With the detail open, names are still whole, even on a smaller screen; the column can be
  // dragged wider, and stays so.
  const namesCut = () => page.locator(".tv-row .tv-op").evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth).map((e) => e.textContent));
  await expect(namesCut()).resolves.toEqual([]);
  await page.setViewportSize({ width: 1024, height: 800 });
  await expect.poll(namesCut).toEqual([]);
  await screenshot(page, "trace-names-1024");
  await page.setViewportSize(VIEWPORT);
  const nameHead = page.locator(".tv-head .tv-name");
  const before = (await nameHead.boundingBox())!.width;
  const handle = (await page.getByRole("separator", { name: "Resize the name column" }).boundingBox())!;
  await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
  await page.mouse.down();
  await page.mouse.move(handle.x + handle.width / 2 + 120, handle.y + handle.height / 2, { steps: 4 });
  await page.mouse.up();
  const after = (await nameHead.boundingBox())!.width;
  expect(after).toBeGreaterThan(before + 100);
  const rowName = (await row(page, seeded.ids.server!).locator(".tv-name").boundingBox())!.width;
  expect(Math.abs(rowName - after)).toBeLessThan(2);
  await screenshot(page, "trace-name-column");

  // Logs: the trace's link over the trace padded by a minute, the span's over the span padded.
  const logs = (href: string | null) => Object.fromEntries(new URL(href!).searchParams);
  expect(logs(await page.getByRole("link", { name: /Logs for this trace/ }).getAttribute("href"))).toEqual({ trace: seeded.traceId, span: "", svc: "frontend", from: String(seeded.t0 - 60_000), to: String(seeded.t0 + 300 + 60_000) });
  expect(logs(await detail.getByRole("link", { name: /Logs for this span/ }).getAttribute("href"))).toEqual({ trace: seeded.traceId, span: seeded.ids.charge, svc: "api", from: String(seeded.t0 + 130 - 60_000), to: String(seeded.t0 + 240 + 60_000) });

  // Copy link: the address of this trace at this span, which opens it there.
  await detail.getByRole("button", { name: "Copy link to this span" }).click();
  // The clipboard is what matters ("Copied" shows for 1.5 s only, too short to catch on a busy machine).
  const copied = `${traceUrl}?span=${seeded.ids.charge}`;
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(copied);
  await gotoPage(page, `${dashboardUrl}/app/t/${account.tenantId}/traces/${other.traceId}`);
  await gotoPage(page, copied);
  await expect(detail.locator(".tv-detail-name").innerText()).resolves.toBe("charge card");
  // The dragged width was kept.
  expect(Math.abs((await nameHead.boundingBox())!.width - after)).toBeLessThan(2);

  // One colour per service: the same in this trace, another trace, the flame graph, the search's chips and the map.
  const swatch = (spanId: string) => row(page, spanId).locator(".tv-swatch").evaluate((e) => getComputedStyle(e).backgroundColor);
  const apiColour = await swatch(seeded.ids.server!);
  const frontendColour = await swatch(seeded.ids.root!);
  expect(apiColour).not.toBe(frontendColour);
  await page.getByRole("tab", { name: "Flame graph" }).click();
  await expect(page.locator(`.tv-flame-span[data-span-id="${seeded.ids.server}"]`).evaluate((e) => getComputedStyle(e).backgroundColor)).resolves.toBe(apiColour);
  await gotoPage(page, `${dashboardUrl}/app/t/${account.tenantId}/traces/${other.traceId}`);
  await rowsIn(page).first().waitFor();
  await expect(swatch(other.ids.server!)).resolves.toBe(apiColour);
  await expect(swatch(other.ids.root!)).resolves.toBe(frontendColour);
  await gotoPage(page, `${dashboardUrl}/app/t/${account.tenantId}/search?service=api`);
  const chip = page.locator("table.traces td.services .chip", { hasText: "api" }).first();
  await chip.waitFor({ timeout: 30_000 });
  await expect(chip.evaluate((e) => getComputedStyle(e).getPropertyValue("--chip-color").trim()).then(rgb)).resolves.toBe(apiColour);
  // A found trace's link carries the search's TraceQL: the trace view marks the spans it matched (the five api spans).
  await Promise.all([page.waitForURL(/\/traces\/[0-9a-f]+\?q=/, { waitUntil: "commit" }), page.locator(`tr[data-trace-id="${seeded.traceId}"] a.root-name`).click()]);
  await expect.poll(() => page.locator(".tv-query-note").innerText(), { timeout: 30_000 }).toContain("matched 5 spans");
  await expect(page.locator(".tv-row.qmatch").count()).resolves.toBe(5);
  await expect(row(page, seeded.ids.root!).getAttribute("class")).resolves.not.toContain("qmatch");
  await gotoPage(page, `${dashboardUrl}/app/t/${account.tenantId}/service-map?range=15m`);
  const mapNode = page.locator('g.sm-node[data-node="api"] .sm-node-colour');
  await mapNode.waitFor({ timeout: 30_000 });
  await expect(mapNode.getAttribute("fill").then((f) => rgb(f!))).resolves.toBe(apiColour);

  // Opened with the search's TraceQL: the spans it matched are marked, and can be the filter.
  await gotoPage(page, `${traceUrl}?q=${encodeURIComponent("{ kind = client }")}`);
  await expect.poll(() => page.locator(".tv-query-note").innerText(), { timeout: 30_000 }).toContain("matched 3 spans");
  await expect(page.locator(".tv-row.qmatch").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.spanId).sort())).resolves.toEqual([seeded.ids.call, seeded.ids.db, seeded.ids.charge].sort());
  await page.getByLabel("Show spans").selectOption("query");
  await expect(rowsIn(page).count()).resolves.toBe(5);
  await screenshot(page, "trace-query-matches");

  // Compare: error status differences and the two waterfalls side by side on one scale.
  await gotoPage(page, `${dashboardUrl}/app/t/${account.tenantId}/compare?a=${seeded.traceId}&b=${other.traceId}`);
  await page.locator('[data-stat="status-changed"]').waitFor();
  await expect(page.locator('[data-stat="errors"]').innerText()).resolves.toBe("1 → 1");
  await expect(page.locator('[data-stat="status-changed"]').innerText()).resolves.toBe("2");
  await expect(page.locator('.cmp-status tr[data-change="error gone"]').innerText()).resolves.toContain("charge card");
  await expect(page.locator('.cmp-status tr[data-change="new error"]').innerText()).resolves.toContain("cart expired");
  await expect(page.locator('.cmp-tree tr[data-status="new error"]').innerText()).resolves.toContain("validate cart");
  const dbRow = page.locator(".cmp-tree tr", { hasText: "SELECT orders" });
  const barA = (await dbRow.locator(".cmp-wf-a .cmp-bar").boundingBox())!;
  const barB = (await dbRow.locator(".cmp-wf-b .cmp-bar").boundingBox())!;
  // 70 ms in A, 170 ms in B.
  expect(barB.width / barA.width).toBeGreaterThan(2);
  expect(barB.width / barA.width).toBeLessThan(3);
  const cacheRow = page.locator('.cmp-tree tr[data-kind="added"]');
  await expect(cacheRow.locator(".cmp-wf-a .cmp-bar").count()).resolves.toBe(0);
  await expect(cacheRow.locator(".cmp-wf-b .cmp-bar").count()).resolves.toBe(1);
  await expect(page.locator(".cmp-tree .cmp-wf-b .cmp-bar.err").count()).resolves.toBe(1);
  await screenshot(page, "trace-compare-waterfalls");


  expect(dialogs).toEqual([]);
  expect(problems.all()).toEqual([]);
});

test("a 10,000-span trace: virtualised rows, every span reachable by scrolling", { timeout: 300_000 }, async () => {
  const account = await newAccount(dashboardUrl, "big");
  let traceId = "";
  const t0 = Date.now() - 120_000;
  await exportSpans(ingestUrl, account.secret, async (tracerFor) => {
    const services = ["gateway", "orders", "inventory", "postgres"].map(tracerFor);
    const root = services[0]!.startSpan("GET /big", { kind: SpanKind.SERVER, startTime: t0 });
    traceId = root.spanContext().traceId;
    let made = 1;
    for (let i = 0; i < 99; i++) {
      const batch = child(services[1 + (i % 2)]!, root, `batch ${i}`, { startTime: t0 + i * 10 });
      for (let j = 0; j < 100; j++) {
        const item = child(services[3]!, batch, `item ${i}.${j}`, { kind: SpanKind.CLIENT, startTime: t0 + i * 10 + j * 0.1 });
        item.end(t0 + i * 10 + j * 0.1 + 0.08);
      }
      batch.end(t0 + i * 10 + 10);
      made += 101;
      // The batch processor's queue holds 2,048 spans: let it export before adding more.
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 400));
    }
    root.end(t0 + 1000);
    expect(made).toBe(10_000);
  });
  await waitForSpans(account, 10_000, 180_000);
  page = await openPage(account);
  await gotoPage(page, `${dashboardUrl}/app/t/${account.tenantId}/traces/${traceId}`);
  await rowsIn(page).first().waitFor({ timeout: 30_000 });
  await expect(page.locator('[data-stat="spans"]').innerText()).resolves.toBe("10000");
  await expect(page.locator('[role="treegrid"]').getAttribute("aria-rowcount")).resolves.toBe("10000");
  expect(await rowsIn(page).count()).toBeLessThan(80);
  await screenshot(page, "trace-10k");

  // Scroll through all of it a viewport at a time, collecting the span ids the DOM held.
  const seen = await page.evaluate(async () => {
    const el = document.querySelector<HTMLElement>('[role="treegrid"]')!;
    const ids = new Set<string>();
    let maxRows = 0;
    for (let top = 0; ; top += el.clientHeight) {
      el.scrollTop = top;
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      const rows = el.querySelectorAll<HTMLElement>('[role="row"]');
      maxRows = Math.max(maxRows, rows.length);
      rows.forEach((r) => ids.add(r.dataset.spanId!));
      if (top >= el.scrollHeight) break;
    }
    return { ids: ids.size, maxRows };
  });
  expect(seen.ids).toBe(10_000);
  expect(seen.maxRows).toBeLessThan(80);
  await expect(rowsIn(page).last().getAttribute("aria-rowindex")).resolves.toBe("10000");

  // Keyboard at scale: End and Home scroll to the row and keep focus on it.
  await rowsIn(page).last().click();
  await page.keyboard.press("Home");
  await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-rowindex"))).toBe("1");
  await page.keyboard.press("End");
  await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-rowindex"))).toBe("10000");
  await screenshot(page, "trace-10k-end");
  expect(dialogs).toEqual([]);
  expect(problems.all()).toEqual([]);
});
