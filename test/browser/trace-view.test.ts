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
import { collectProblems, launchBrowser, newPage, screenshot, type PageProblems } from "./support.ts";

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
    validate.end(at(80));
    const db = child(api, server, "SELECT orders", { kind: SpanKind.CLIENT, startTime: at(50), attributes: { "db.system": "postgresql", "db.statement": "SELECT * FROM orders WHERE id = $1" } });
    // The variant (for comparing): the query is slower, a cache lookup is new, "render page" is gone.
    db.end(at(variant ? 220 : 120));
    if (variant) child(api, server, "GET cache", { kind: SpanKind.CLIENT, startTime: at(45) }).end(at(48));
    const xss = child(api, server, XSS, { startTime: at(122), attributes: { "xss.value": "<script>alert(2)</script>", [XSS]: "<img src=x onerror=alert(3)>" }, links: [{ context: job.spanContext(), attributes: { "link.reason": "<b>follows</b>" } }] });
    xss.end(at(128));
    const charge = child(api, server, "charge card", { kind: SpanKind.CLIENT, startTime: at(130) });
    charge.recordException({ name: "CardError", message: "card declined" }, at(235));
    charge.setStatus({ code: SpanStatusCode.ERROR, message: "card declined" });
    charge.end(at(240));
    server.end(at(245));
    call.end(at(250));
    const render = variant ? undefined : child(frontend, root, "render page", { startTime: at(255) });
    render?.end(at(290));
    root.end(at(300));
    for (const [k, s] of Object.entries({ root, call, server, validate, db, xss, charge, render })) if (s) ids[k] = s.spanContext().spanId;
  });
  return { traceId, ids, linked };
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
  await page.goto(traceUrl);
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
  await page.goto(`${traceUrl}?span=${seeded.ids.db}`);
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

  await page.goto(`${dashboardUrl}/app/t/${account.tenantId}/trace-file`);
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
  await page.goto(`${dashboardUrl}/app/t/${account.tenantId}/compare?a=${seeded.traceId}&b=${other.traceId}`);
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
  await page.goto(`${dashboardUrl}/app/t/${account.tenantId}/traces/${traceId}`);
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
