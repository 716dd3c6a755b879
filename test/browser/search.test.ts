/**
 * The search page in Chromium against the local stack: traces over three services (exported with
 * the real OpenTelemetry JS SDK, with attributes, errors and a span named like markup) found by
 * service, operation, tag and TraceQL; a broken query shows the server's error under its position;
 * sorting, the URL round trip (reload, back), the scatter plot's and rows' links, comparison. Every
 * state is screenshotted to test/artifacts/search-*.png; no console error, page error, CSP
 * violation or dialog may happen on the search page.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { exportSpans, newAccount, signIn, waitForSpans, type Account } from "./seed.ts";
import { collectProblems, gotoPage, launchBrowser, newPage, screenshot, type PageProblems } from "./support.ts";

const XSS_NAME = "<img src=x onerror=alert(1)>";

let browser: Browser;
let page: Page;
let problems: PageProblems;
let account: Account;
const dialogs: string[] = [];
/** Trace ids by the name the test gives each trace. */
const ids: Record<string, string> = {};
/** When the traces' start times were counted back from. */
let seededAt = 0;

/**
 * Six traces over the last ten minutes (start, duration and spans differ in order, so each sort
 * gives another first row):
 * products-1/2/3 frontend -> checkout, customer.tier gold/silver/gold;
 * checkout-fail/ok frontend -> checkout -> payments "authorize" (payment.provider acme with an
 * error / zeta); xss: a payments root span named like markup, with an error.
 */
async function seed(tracerFor: (service: string) => Tracer): Promise<void> {
  // Half a minute before the last whole minute: every start is then 30 s from a minute boundary,
  // which a from/to (to the minute) can fall between.
  const now = Math.floor(Date.now() / 60_000) * 60_000 - 30_000;
  seededAt = now;
  const at = (minutesAgo: number, plusMs = 0) => new Date(now - minutesAgo * 60_000 + plusMs);
  const child = (tracer: Tracer, parent: Span, name: string, start: Date, ms: number, attrs: Record<string, string> = {}, kind = SpanKind.INTERNAL) => {
    const s = tracer.startSpan(name, { startTime: start, attributes: attrs, kind }, trace.setSpan(ROOT_CONTEXT, parent));
    return { span: s, end: () => s.end(new Date(start.getTime() + ms)) };
  };
  const frontend = tracerFor("frontend");
  const checkout = tracerFor("checkout");
  const payments = tracerFor("payments");

  const products = (key: string, minutesAgo: number, ms: number, tier: string, extra: boolean) => {
    const start = at(minutesAgo);
    const root = frontend.startSpan("GET /products", { startTime: start, kind: SpanKind.SERVER, attributes: { "http.route": "/products", "customer.tier": tier } }, ROOT_CONTEXT);
    ids[key] = root.spanContext().traceId;
    child(checkout, root, "list products", new Date(start.getTime() + 2), ms / 2, {}, SpanKind.SERVER).end();
    if (extra) child(checkout, root, "cache lookup", new Date(start.getTime() + 5), 3).end();
    root.end(new Date(start.getTime() + ms));
  };
  products("products-1", 10, 120, "gold", false);
  products("products-2", 8, 40, "silver", false);
  products("products-3", 6, 900, "gold", true);

  const pay = (key: string, minutesAgo: number, ms: number, provider: string, fail: boolean) => {
    const start = at(minutesAgo);
    const root = frontend.startSpan("POST /checkout", { startTime: start, kind: SpanKind.SERVER, attributes: { "http.route": "/checkout" } }, ROOT_CONTEXT);
    ids[key] = root.spanContext().traceId;
    const charge = child(checkout, root, "charge card", new Date(start.getTime() + 5), ms - 20, {}, SpanKind.SERVER);
    const auth = child(payments, charge.span, "authorize", new Date(start.getTime() + 10), ms - 40, { "payment.provider": provider }, SpanKind.SERVER);
    if (fail) auth.span.setStatus({ code: SpanStatusCode.ERROR, message: "card declined" });
    auth.end();
    charge.end();
    root.end(new Date(start.getTime() + ms));
  };
  pay("checkout-fail", 5, 1500, "acme", true);
  pay("checkout-ok", 3, 300, "zeta", false);

  const xss = payments.startSpan(XSS_NAME, { startTime: at(2), attributes: { note: XSS_NAME } }, ROOT_CONTEXT);
  ids.xss = xss.spanContext().traceId;
  xss.setStatus({ code: SpanStatusCode.ERROR, message: XSS_NAME });
  xss.end(new Date(at(2).getTime() + 60));
}
const SPANS = 2 + 2 + 3 + 3 + 3 + 1;

beforeAll(async () => {
  account = await newAccount(inject("dashboardUrl"));
  await exportSpans(inject("ingestUrl"), account.secret, seed);
  await waitForSpans(account, SPANS);
  browser = await launchBrowser();
  page = await newPage(browser);
  await signIn(page.context(), account);
  problems = await collectProblems(page);
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
});

afterAll(async () => {
  await browser?.close();
});

const shot = (name: string) => screenshot(page, `search-${name}`);
const searchUrl = () => `${account.dashboardUrl}/app/t/${account.tenantId}/search`;
const rows = () => page.locator("table.traces tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.traceId));
const idsOf = (...keys: string[]) => keys.map((k) => ids[k]);
const summary = () => page.locator("p.summary").innerText();
/** Waits for the search that is running to finish and show `keys`' traces (in that order). */
const expectRows = (...keys: string[]) => expect.poll(shownRows, { timeout: 15_000 }).toEqual(idsOf(...keys));
/** The rows' trace ids; with none, what the page said instead (so a failure shows why). */
async function shownRows(): Promise<string[]> {
  const said = await summary();
  if (said.startsWith("Searching")) return ["(searching)"];
  const found = await rows();
  if (found.length) return found as string[];
  const notices = await page.locator("section.found [role=alert], section.found .empty").allInnerTexts();
  return [`(no rows; summary "${said}"; ${notices.join(" | ") || "no notice"}; url ${page.url()})`];
}
const search = () => page.getByRole("button", { name: "Search", exact: true }).click();

/**
 * Chromium logs every 4xx answer to a fetch as a console error, which a page cannot prevent: a
 * broken query's 400 is the server's expected answer. Removes (and counts) exactly those.
 */
function expectedQueryRejections(): number {
  const rejected = /status of 400 \(Bad Request\) \(http:[^)]*\/api\/search\?q=/;
  const before = problems.consoleErrors.length;
  const kept = problems.consoleErrors.filter((m) => !rejected.test(m));
  problems.consoleErrors.splice(0, before, ...kept);
  return before - kept.length;
}

/** Runs `fn` (which visits another page) without counting that page's problems: only the search page's are this test's. */
async function elsewhere(fn: () => Promise<void>): Promise<void> {
  const lens = [problems.consoleErrors.length, problems.pageErrors.length, problems.cspViolations.length];
  await fn();
  problems.consoleErrors.splice(lens[0]!);
  problems.pageErrors.splice(lens[1]!);
  problems.cspViolations.splice(lens[2]!);
}

test("the last hour's traces, newest first, with markup in a span name shown as text", async () => {
  await gotoPage(page, searchUrl());
  await expectRows("xss", "checkout-ok", "checkout-fail", "products-3", "products-2", "products-1");
  await expect(summary()).resolves.toMatch(/^6 traces in the last hour/);
  await expect(page.locator("th[aria-sort]").getAttribute("aria-sort")).resolves.toBe("descending");

  // The span name is text in the table and in the plot's titles; no element was made of it.
  const xssRow = page.locator(`tr[data-trace-id="${ids.xss}"]`);
  await expect(xssRow.locator(".root-name").innerText()).resolves.toBe(XSS_NAME);
  await expect(page.locator("#app img").count()).resolves.toBe(0);
  await expect(page.locator(`a.dot[data-trace-id="${ids.xss}"] title`).textContent()).resolves.toContain(XSS_NAME);

  // Per-service counts and errors on a row.
  const fail = page.locator(`tr[data-trace-id="${ids["checkout-fail"]}"]`);
  await expect(fail.locator("td.services").innerText()).resolves.toMatch(/checkout 1[\s\S]*frontend 1[\s\S]*payments 1 · 1 err/);
  await expect(fail.locator("td").nth(5).innerText()).resolves.toBe("1");
  await expect(fail.locator("td time").getAttribute("datetime")).resolves.toMatch(/^\d{4}-/);
  await expect(fail.locator("td").nth(2).getAttribute("title")).resolves.toMatch(/\d{2}:\d{2}:\d{2}/);
  await expect(page.locator("figure.scatter a.dot").count()).resolves.toBe(6);
  await expect(page.locator("figure.scatter a.dot.err").count()).resolves.toBe(2);
  await shot("default");
  expect(dialogs).toEqual([]);
});

test("by service, then operation (loaded for the service); the URL keeps the search", async () => {
  await page.getByLabel("Service", { exact: true }).selectOption("payments");
  const op = page.getByLabel("Operation", { exact: true });
  await expect.poll(() => op.locator("option").allInnerTexts()).toEqual(["All operations", XSS_NAME, "authorize"]);
  await expect(page.getByTestId("effective-query").innerText()).resolves.toBe('{ resource.service.name = "payments" }');
  await search();
  await expectRows("xss", "checkout-ok", "checkout-fail");
  expect(new URL(page.url()).searchParams.get("service")).toBe("payments");
  await shot("service");

  await op.selectOption("authorize");
  await search();
  await expectRows("checkout-ok", "checkout-fail");
  expect(new URL(page.url()).searchParams.get("operation")).toBe("authorize");

  // The operations follow the service.
  await page.getByLabel("Service", { exact: true }).selectOption("checkout");
  await expect.poll(() => op.locator("option").allInnerTexts()).toEqual(["All operations", "cache lookup", "charge card", "list products"]);
  await page.getByLabel("Service", { exact: true }).selectOption("");
  await expect(op.isDisabled()).resolves.toBe(true);
});

test("by tag, with key and value suggestions; errors only; durations validated", async () => {
  await page.getByRole("button", { name: "+ Add tag filter" }).click();
  await expect.poll(() => page.locator("datalist#tag-keys option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(expect.arrayContaining(["payment.provider", "customer.tier", "http.route"]));
  await page.getByLabel("Tag", { exact: true }).fill("payment.provider");
  await expect.poll(() => page.locator("datalist#tag-values-0 option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).sort())).toEqual(["acme", "zeta"]);
  await page.getByLabel("Value", { exact: true }).fill("acme");
  await expect(page.getByTestId("effective-query").innerText()).resolves.toBe('{ .payment.provider = "acme" }');
  await page.getByLabel("Value", { exact: true }).press("Enter");
  await expectRows("checkout-fail");
  expect(new URL(page.url()).searchParams.getAll("tag")).toEqual(["payment.provider=acme"]);
  await shot("tag");

  await page.getByRole("button", { name: "Remove tag filter 1" }).click();
  await page.getByLabel("Only traces with errors").check();
  await expect(page.getByTestId("effective-query").innerText()).resolves.toBe("{ status = error }");
  await search();
  await expectRows("xss", "checkout-fail");

  await page.getByLabel("Only traces with errors").uncheck();
  await page.getByLabel("Min duration").fill("fast");
  await search();
  await expect(page.locator(".field-error").first().innerText()).resolves.toContain("like 100ms");
  await expect(page.getByLabel("Min duration").getAttribute("aria-invalid")).resolves.toBe("true");
  await shot("invalid-duration");
  await page.getByLabel("Min duration").fill("0.5s");
  await page.getByLabel("Max duration").fill("1.6s");
  await search();
  await expectRows("checkout-fail", "products-3");
  await expect(page.locator(".field-error").count()).resolves.toBe(0);
});

test("TraceQL: a query finds its traces; a broken one shows the error at its position", async () => {
  await page.getByLabel("TraceQL", { exact: true }).check();
  // The box starts from what the fields said.
  const box = page.getByLabel("TraceQL query");
  await expect(box.inputValue()).resolves.toBe("{ duration >= 0.5s && duration <= 1.6s }");
  await box.fill('{ .customer.tier = "gold" }');
  await box.press("Enter");
  await expectRows("products-3", "products-1");
  expect(new URL(page.url()).searchParams.get("q")).toBe('{ .customer.tier = "gold" }');
  await shot("traceql");

  const broken = '{ .customer.tier = "gold" &&\n  duration > }';
  await box.fill(broken);
  await box.press("Enter");
  const alert = page.locator(".query-error");
  await alert.waitFor();
  await expect(alert.innerText()).resolves.toContain("unexpected");
  await expect.poll(expectedQueryRejections).toBe(1);
  // The server said line 2, column 14 (the "}"); the caret sits under it, after "line 2: ".
  await expect(alert.innerText()).resolves.toContain("2:14");
  const pre = await alert.locator("pre.caret").innerText();
  const [shown, caret] = pre.split("\n");
  expect(shown).toBe("line 2:   duration > }");
  expect(caret!.indexOf("^")).toBe(shown!.indexOf("}"));
  await expect(box.getAttribute("aria-invalid")).resolves.toBe("true");
  // The cursor was put where the error is.
  await expect(box.evaluate((el) => (el as HTMLTextAreaElement).selectionStart)).resolves.toBe(broken.indexOf("}", broken.indexOf("duration")));
  await shot("traceql-error");

  await box.fill('{ resource.service.name = "checkout" }');
  await search();
  await expectRows("checkout-ok", "checkout-fail", "products-3", "products-2", "products-1");
  await expect(page.locator(".query-error").count()).resolves.toBe(0);
});

test("sorting by duration and span count (aria-sort); the sort is in the URL", async () => {
  const header = (name: string) => page.locator("th", { has: page.getByRole("button", { name: new RegExp(`^${name}`) }) });
  await header("Duration").getByRole("button").click();
  await expectRows("checkout-fail", "products-3", "checkout-ok", "products-1", "products-2");
  await expect(header("Duration").getAttribute("aria-sort")).resolves.toBe("descending");
  await expect(header("Started").getAttribute("aria-sort")).resolves.toBeNull();
  await header("Duration").getByRole("button").press("Enter");
  await expectRows("products-2", "products-1", "checkout-ok", "products-3", "checkout-fail");
  await expect(header("Duration").getAttribute("aria-sort")).resolves.toBe("ascending");
  expect(new URL(page.url()).searchParams.get("sort")).toBe("duration-asc");
  await shot("sorted-duration");

  await header("Spans").getByRole("button").click();
  // Three spans each, newest first; then two spans each.
  await expectRows("checkout-ok", "checkout-fail", "products-3", "products-2", "products-1");
  await header("Started").getByRole("button").click();
  await expectRows("checkout-ok", "checkout-fail", "products-3", "products-2", "products-1");
  await header("Started").getByRole("button").click();
  await expectRows("products-1", "products-2", "products-3", "checkout-fail", "checkout-ok");
});

test("reload and back restore the search and its results", async () => {
  const url = page.url();
  await page.reload();
  await expectRows("products-1", "products-2", "products-3", "checkout-fail", "checkout-ok");
  await expect(page.getByLabel("TraceQL query").inputValue()).resolves.toBe('{ resource.service.name = "checkout" }');
  expect(page.url()).toBe(url);

  // Back through the searches: the broken query, then gold customers, then the duration search.
  await page.goBack();
  await page.locator(".query-error").waitFor();
  await expect(page.getByLabel("TraceQL query").inputValue()).resolves.toContain("duration > }");
  await expect.poll(expectedQueryRejections).toBe(1);
  await page.goBack();
  await expectRows("products-3", "products-1");
  await page.goBack();
  await expectRows("checkout-fail", "products-3");
  await expect(page.getByLabel("Min duration").inputValue()).resolves.toBe("0.5s");
  await page.goForward();
  await expectRows("products-3", "products-1");
  await expect(page.getByLabel("TraceQL query").inputValue()).resolves.toBe('{ .customer.tier = "gold" }');

  // A shared link opens the same search in a fresh page.
  const other = await newPage(browser);
  await signIn(other.context(), account);
  await other.goto(`${searchUrl()}?tag=payment.provider%3Dacme&range=3h`);
  await expect.poll(() => other.locator("table.traces tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.traceId)), { timeout: 15_000 }).toEqual([ids["checkout-fail"]]);
  await expect(other.getByLabel("Time range").inputValue()).resolves.toBe("3h");
  await other.context().close();
});

test("two ticked rows make a comparison link; a dot and a row open the trace", async () => {
  await gotoPage(page, searchUrl());
  await expectRows("xss", "checkout-ok", "checkout-fail", "products-3", "products-2", "products-1");
  await page.getByRole("checkbox", { name: `Select trace ${ids["checkout-ok"]!.slice(0, 8)} to compare` }).check();
  await expect(page.getByText("Select one more trace to compare.").isVisible()).resolves.toBe(true);
  await page.getByRole("checkbox", { name: `Select trace ${ids["checkout-fail"]!.slice(0, 8)} to compare` }).check();
  const compare = page.getByRole("link", { name: "Compare the two selected traces" });
  await expect(compare.getAttribute("href")).resolves.toBe(`/app/t/${account.tenantId}/compare?a=${ids["checkout-ok"]}&b=${ids["checkout-fail"]}`);
  await shot("compare-selected");

  // Hovering a dot shows its title; clicking it opens the trace.
  const dot = page.locator(`a.dot[data-trace-id="${ids["products-3"]}"]`);
  await dot.hover();
  await shot("dot-hover");
  await elsewhere(async () => {
    await Promise.all([page.waitForURL(`**/app/t/${account.tenantId}/traces/${ids["products-3"]}`, { waitUntil: "commit" }), dot.click()]);
    await page.goBack();
  });
  await expectRows("xss", "checkout-ok", "checkout-fail", "products-3", "products-2", "products-1");

  // A click anywhere on a row (here its duration cell) opens its trace too.
  await elsewhere(async () => {
    await Promise.all([page.waitForURL(`**/app/t/${account.tenantId}/traces/${ids.xss}`, { waitUntil: "commit" }), page.locator(`tr[data-trace-id="${ids.xss}"] td.num`).first().click()]);
    await page.goBack();
  });
  await expectRows("xss", "checkout-ok", "checkout-fail", "products-3", "products-2", "products-1");

  // Nothing found: the empty state offers a wider range.
  await page.getByLabel("Min duration").fill("10s");
  await search();
  await page.getByText("No traces match").waitFor();
  await expect(page.getByRole("button", { name: "Search the last 7 days" }).isVisible()).resolves.toBe(true);
  await shot("empty");

  await page.getByRole("button", { name: /theme/i }).click();
  await gotoPage(page, searchUrl());
  await expectRows("xss", "checkout-ok", "checkout-fail", "products-3", "products-2", "products-1");
  await shot("dark");
  expect(dialogs).toEqual([]);
  expect(problems.all()).toEqual([]);
});

test("a custom from/to range is searched and kept in the URL as start/end", async () => {
  await gotoPage(page, searchUrl());
  await expectRows("xss", "checkout-ok", "checkout-fail", "products-3", "products-2", "products-1");
  await page.getByLabel("Time range").selectOption("custom");
  // From/to start as the window that was shown (the last hour), to the minute.
  const from = page.getByLabel("From", { exact: true });
  const to = page.getByLabel("To", { exact: true });
  await expect(from.inputValue()).resolves.toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
  // From the whole minute between products-3 (6 minutes before seeding, 900 ms long) and
  // checkout-fail (5 minutes before) to the future: the three newest traces. The page runs in UTC,
  // so ISO minutes are its local time.
  const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16);
  const start = seededAt - 6 * 60_000 + 30_000;
  await from.fill(minute(start));
  await to.fill(minute(Date.now() + 60_000));
  await search();
  await expectRows("xss", "checkout-ok", "checkout-fail");
  const params = new URL(page.url()).searchParams;
  expect(Number(params.get("start"))).toBe(start / 1000);
  expect(params.has("range")).toBe(false);
  await expect(summary()).resolves.toMatch(/^3 traces from .+ to /);
  await shot("custom-range");

  // To before from is refused before any request.
  await from.fill(minute(Date.now() + 120_000));
  await search();
  await expect(page.locator("#range-error").innerText()).resolves.toContain("to is before from");
  await page.reload();
  await expectRows("xss", "checkout-ok", "checkout-fail");
  await expect(page.getByLabel("Time range").inputValue()).resolves.toBe("custom");
  expect(problems.all()).toEqual([]);
});
