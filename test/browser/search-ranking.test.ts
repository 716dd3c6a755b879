/**
 * Search correctness in Chromium against the local stack, with spans from the OpenTelemetry JS SDK:
 * - a trace exported in two parts, the second only after the first was stored (so the two sit in
 *   two blocks), is shown as the whole trace (root, duration, spans, errors) when found through the
 *   part without its root;
 * - sorting by duration shows the slowest traces of the whole window, not the newest page
 *   reordered, and the page says what the results cover; a heatmap of span durations covers the
 *   whole window too;
 * - a tag value that reads as a number (`http.status_code = 500`) is suggested once and finds the
 *   spans where it is the number and those where it is the string.
 * Screenshots go to test/artifacts/search-ranking-*.png.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type SpanContext } from "@opentelemetry/api";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { exportSpans, newAccount, signIn, waitForSpans, type Account } from "./seed.ts";
import { collectProblems, gotoPage, launchBrowser, newPage, screenshot, type PageProblems } from "./support.ts";

let browser: Browser;
let page: Page;
let problems: PageProblems;
let account: Account;
const ids: Record<string, string> = {};

beforeAll(async () => {
  account = await newAccount(inject("dashboardUrl"), "ranking");
  const now = Date.now();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
  let root: SpanContext | undefined;
  const splitStart = at(10);
  // First export: an old slow job, four quick requests (two with a status code, once an int and
  // once a string) and the split trace's first part: web-frontend's root and a failed call.
  await exportSpans(inject("ingestUrl"), account.secret, (tracerFor) => {
    const batch = tracerFor("batch");
    const nightly = batch.startSpan("nightly export", { startTime: at(40) }, ROOT_CONTEXT);
    ids.nightly = nightly.spanContext().traceId;
    nightly.setStatus({ code: SpanStatusCode.ERROR });
    nightly.end(new Date(at(40).getTime() + 5000));

    const web = tracerFor("web-frontend");
    const codes: (number | string | undefined)[] = [500, "500", 200, undefined];
    codes.forEach((code, i) => {
      const s = web.startSpan("GET /", { startTime: at(4 - i), kind: SpanKind.SERVER, attributes: code === undefined ? {} : { "http.status_code": code } }, ROOT_CONTEXT);
      ids[`quick-${i}`] = s.spanContext().traceId;
      s.end(new Date(at(4 - i).getTime() + 10 + i));
    });

    const r = web.startSpan("GET /checkout", { startTime: splitStart, kind: SpanKind.SERVER }, ROOT_CONTEXT);
    root = r.spanContext();
    ids.split = root.traceId;
    const session = web.startSpan("GET /session", { startTime: new Date(splitStart.getTime() + 10) }, trace.setSpanContext(ROOT_CONTEXT, root));
    session.setStatus({ code: SpanStatusCode.ERROR });
    session.end(new Date(splitStart.getTime() + 40));
    r.end(new Date(splitStart.getTime() + 2600));
  });
  await waitForSpans(account, 7);
  // Second export, after the first is stored: checkout-service's part, under the root.
  await exportSpans(inject("ingestUrl"), account.secret, (tracerFor) => {
    const checkout = tracerFor("checkout-service");
    const orders = checkout.startSpan("POST /orders", { startTime: new Date(splitStart.getTime() + 40), kind: SpanKind.SERVER }, trace.setSpanContext(ROOT_CONTEXT, root!));
    for (const [name, from, ms] of [["charge", 50, 900], ["reserve", 960, 100]] as const) {
      const s = checkout.startSpan(name, { startTime: new Date(splitStart.getTime() + from) }, trace.setSpan(ROOT_CONTEXT, orders));
      s.setStatus({ code: SpanStatusCode.ERROR });
      s.end(new Date(splitStart.getTime() + from + ms));
    }
    orders.end(new Date(splitStart.getTime() + 2600));
  });
  await waitForSpans(account, 10);
  browser = await launchBrowser();
  page = await newPage(browser);
  await signIn(page.context(), account);
  problems = await collectProblems(page);
});

afterAll(async () => {
  await browser?.close();
});

const shot = (name: string) => screenshot(page, `search-ranking-${name}`);
const searchUrl = (params = "") => `${account.dashboardUrl}/app/t/${account.tenantId}/search${params}`;
const summary = () => page.locator("p.summary").innerText();
const rows = async () => {
  if ((await summary()).startsWith("Searching")) return ["(searching)"];
  return page.locator("table.traces tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.traceId));
};
const expectRows = (...keys: string[]) => expect.poll(rows, { timeout: 15_000 }).toEqual(keys.map((k) => ids[k]));

test("a trace stored in two blocks is shown whole when found through the part without its root", async () => {
  await gotoPage(page, searchUrl("?service=checkout-service"));
  await expectRows("split");
  const row = page.locator(`tr[data-trace-id="${ids.split}"]`);
  await expect(row.locator(".root .chip").innerText()).resolves.toBe("web-frontend");
  await expect(row.locator(".root-name").innerText()).resolves.toBe("GET /checkout");
  const cell = (label: string) => row.locator(`td[data-label="${label}"]`).innerText();
  // Duration, spans, errors: the whole trace's (the part alone: 2.56 s, 3 spans, 2 errors).
  await expect(cell("Duration")).resolves.toContain("2.6 s");
  await expect(cell("Spans")).resolves.toBe("5");
  await expect(cell("Errors")).resolves.toBe("3");
  await expect(row.locator("td.services").innerText()).resolves.toMatch(/checkout-service 3 · 2 err[\s\S]*web-frontend 2 · 1 err/);
  await shot("split");
});

test("sorting by duration shows the slowest of the whole window, and says so", async () => {
  await gotoPage(page, searchUrl("?limit=3"));
  await expectRows("quick-3", "quick-2", "quick-1");
  await expect(summary()).resolves.toMatch(/^The 3 newest matching traces in the last hour/);
  // The heatmap covers the whole window: the 5 s job (the bucket up to 2^33 ns, 8.6 s) is on it,
  // though not among the rows, and so is every span (10).
  await expect.poll(() => page.locator('figure.heatmap rect.cell[data-bucket="33"]').count(), { timeout: 15_000 }).toBe(1);
  await expect(page.locator("figure.heatmap figcaption").innerText()).resolves.toContain("10 matching spans");
  await shot("heatmap");
  await page.locator("th", { has: page.getByRole("button", { name: /^Duration/ }) }).getByRole("button").click();
  // The 5 s job 40 minutes ago and the 2.6 s checkout, though neither is among the newest three.
  await expectRows("nightly", "split", "quick-3");
  await expect(summary()).resolves.toMatch(/^The 3 slowest matching traces in the last hour/);
  expect(new URL(page.url()).searchParams.get("sort")).toBe("duration-desc");
  await shot("slowest");
  // A link to the sorted search opens the same answer.
  await page.reload();
  await expectRows("nightly", "split", "quick-3");
  // Most errors: the split trace's three, then the job's one, then newest first.
  await page.locator("th", { has: page.getByRole("button", { name: /^Errors/ }) }).getByRole("button").click();
  await expectRows("split", "nightly", "quick-3");
  await expect(summary()).resolves.toMatch(/^The 3 most failing matching traces in the last hour/);
});

test("a numeric tag value is suggested once and matches the number and the string", async () => {
  await gotoPage(page, searchUrl());
  await expect.poll(rows, { timeout: 15_000 }).toHaveLength(6);
  await page.getByRole("button", { name: "+ Add tag filter" }).click();
  await page.getByLabel("Tag", { exact: true }).fill("http.status_code");
  await expect.poll(() => page.locator("datalist#tag-values-0 option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).sort()), { timeout: 15_000 }).toEqual(["200", "500"]);
  await page.getByLabel("Value", { exact: true }).fill("500");
  await expect(page.getByTestId("effective-query").innerText()).resolves.toBe('{ (.http.status_code = 500 || .http.status_code = "500") }');
  await page.getByLabel("Value", { exact: true }).press("Enter");
  await expectRows("quick-1", "quick-0");
  await shot("numeric-tag");
  expect(problems.all()).toEqual([]);
});
