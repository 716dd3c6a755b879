/**
 * Issue 15's navigation for the on-call engineer, in Chromium against `npm start`, over traces
 * exported with the real OpenTelemetry JS SDK: the header's trace-id box (a 32-digit id, and a
 * 16-digit one padded to 32 as Tempo does), the overview leading on to the latest traces once
 * spans are stored, the search results' matched spans opening the trace at that span, a trace id
 * pasted into the TraceQL box, a logged-out span link that comes back after signing up and
 * logging in, and what a user who is not a member of the project is told. Screenshots go to
 * test/artifacts/navigation-*.png.
 */
import { SpanKind, SpanStatusCode, context as otelContext, trace, ROOT_CONTEXT } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, RandomIdGenerator, SimpleSpanProcessor, type IdGenerator } from "@opentelemetry/sdk-trace-base";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { newAccount, postForm, signIn, waitForSpans, type Account } from "./seed.ts";
import { collectProblems, gotoPage, launchBrowser, newPage, screenshot, submitForm, type PageProblems } from "./support.ts";

const dashboardUrl = inject("dashboardUrl");
const ingestUrl = inject("ingestUrl");

let browser: Browser;
let account: Account;
const seeded = { checkout: "", chargeSpan: "", legacy16: "" };

/** Trace ids of one export: the next one given, or random; span ids random. */
class ChosenTraceIds implements IdGenerator {
  next: string | undefined;
  readonly random = new RandomIdGenerator();
  generateTraceId() {
    const id = this.next ?? this.random.generateTraceId();
    this.next = undefined;
    return id;
  }
  generateSpanId() {
    return this.random.generateSpanId();
  }
}

/** checkout → payments (an error) → postgres; and a legacy service's trace whose id has 64 bits (16 digits, zero-padded). */
async function seed(): Promise<void> {
  const ids = new ChosenTraceIds();
  const providers = ["checkout", "payments", "legacy-api"].map(
    (service) => [service, new BasicTracerProvider({ idGenerator: ids, resource: resourceFromAttributes({ "service.name": service }), spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${ingestUrl}/v1/traces`, headers: { "x-api-key": account.secret } }))] })] as const,
  );
  const tracer = (service: string) => providers.find(([s]) => s === service)![1].getTracer("navigation-test");
  const t0 = Date.now() - 120_000;
  const root = tracer("checkout").startSpan("POST /orders", { kind: SpanKind.SERVER, startTime: t0 }, ROOT_CONTEXT);
  seeded.checkout = root.spanContext().traceId;
  const charge = tracer("payments").startSpan("charge card", { kind: SpanKind.SERVER, startTime: t0 + 10, attributes: { "payment.provider": "acme" } }, trace.setSpan(otelContext.active(), root));
  seeded.chargeSpan = charge.spanContext().spanId;
  const db = tracer("payments").startSpan("SELECT payments", { kind: SpanKind.CLIENT, startTime: t0 + 20, attributes: { "db.system": "postgresql" } }, trace.setSpan(otelContext.active(), charge));
  db.end(t0 + 60);
  charge.setStatus({ code: SpanStatusCode.ERROR, message: "card declined" });
  charge.end(t0 + 80);
  root.end(t0 + 100);

  const short = [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, "0")).join("");
  seeded.legacy16 = short;
  ids.next = `${"0".repeat(16)}${short}`;
  tracer("legacy-api").startSpan("GET /health", { kind: SpanKind.SERVER, startTime: t0 + 1000 }, ROOT_CONTEXT).end(t0 + 1005);

  for (const [, p] of providers) await p.forceFlush();
  for (const [, p] of providers) await p.shutdown();
}

beforeAll(async () => {
  account = await newAccount(dashboardUrl, "nav shop");
  await seed();
  await waitForSpans(account, 4);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

async function signedInPage(): Promise<{ page: Page; problems: PageProblems }> {
  const page = await newPage(browser);
  await signIn(page.context(), account);
  return { page, problems: await collectProblems(page) };
}

const project = () => `${dashboardUrl}/app/t/${account.tenantId}`;
const traceUrl = (id: string) => `${project()}/traces/${id}`;
const waterfallRows = (page: Page) => page.locator('[role="treegrid"] [role="row"]');
const spanDetail = (page: Page) => page.getByRole("complementary", { name: "Span detail" });

/** Chromium logs a page answered 4xx as a console error; these are the answers a test expects. */
const withoutExpected = (problems: PageProblems, statuses: number[]) => problems.all().filter((p) => !statuses.some((s) => p.includes(`status of ${s}`)));

test("the overview leads on to the latest traces; the header's box opens a 32- or 16-digit trace id", async () => {
  const { page, problems } = await signedInPage();
  await gotoPage(page, project());
  const latest = page.getByRole("region", { name: "Latest traces" });
  await expect(latest.locator(`tr[data-trace-id="${seeded.checkout}"]`).innerText()).resolves.toContain("checkout: POST /orders");
  await expect(page.locator("#url-tempo").inputValue()).resolves.toBe(dashboardUrl);
  await expect(page.getByRole("navigation", { name: "Explore" }).getByRole("link", { name: /Service map/ }).getAttribute("href")).resolves.toBe(`/app/t/${account.tenantId}/service-map`);
  await screenshot(page, "navigation-overview");

  // A 16-digit id, as a Jaeger or Zipkin 64-bit id is written: padded to 32.
  const box = page.getByRole("search", { name: "Open a trace by ID" }).getByLabel("Trace ID");
  await box.fill(seeded.legacy16);
  await Promise.all([page.waitForURL(traceUrl(`${"0".repeat(16)}${seeded.legacy16}`)), box.press("Enter")]);
  await expect.poll(() => waterfallRows(page).allInnerTexts(), { timeout: 20_000 }).toEqual([expect.stringContaining("GET /health")]);
  await screenshot(page, "navigation-trace-by-16-digit-id");

  // From the trace view's header, a 32-digit id in capitals.
  const again = page.getByRole("search", { name: "Open a trace by ID" }).getByLabel("Trace ID");
  await again.fill(seeded.checkout.toUpperCase());
  await Promise.all([page.waitForURL(traceUrl(seeded.checkout)), again.press("Enter")]);
  await expect.poll(() => waterfallRows(page).count(), { timeout: 20_000 }).toBe(3);

  // Not an id: the page says what is wrong.
  const bad = page.getByRole("search", { name: "Open a trace by ID" }).getByLabel("Trace ID");
  await bad.fill("checkout");
  await Promise.all([page.waitForURL(/find-trace/), bad.press("Enter")]);
  await expect(page.getByRole("alert").innerText()).resolves.toContain("only hex digits");
  expect(withoutExpected(problems, [400])).toEqual([]);
});

test("search results show the spans each trace matched, each opening the trace at that span; an id in the TraceQL box opens it", async () => {
  const { page, problems } = await signedInPage();
  await gotoPage(page, `${project()}/search`);
  await page.getByLabel("TraceQL", { exact: true }).check();
  const box = page.getByLabel("TraceQL query");
  await box.fill('{ span.payment.provider = "acme" }');
  await box.press("Enter");
  const row = page.locator(`table.traces tbody tr[data-trace-id="${seeded.checkout}"]`);
  const matched = row.locator(".matched-spans a.matched-span");
  await expect.poll(() => matched.allInnerTexts(), { timeout: 20_000 }).toEqual([expect.stringContaining("charge card")]);
  await expect(row.locator(".matched-spans").innerText()).resolves.toContain("1 span matched");
  await screenshot(page, "navigation-matched-spans");
  // The link keeps the search's query (the trace view marks what it matched) and adds the span.
  const opensSpan = (u: URL) => `${u.origin}${u.pathname}` === traceUrl(seeded.checkout) && u.searchParams.get("span") === seeded.chargeSpan && u.searchParams.get("q") === '{ span.payment.provider = "acme" }';
  await Promise.all([page.waitForURL(opensSpan), matched.click()]);
  await expect.poll(() => spanDetail(page).locator(".tv-detail-name").innerText(), { timeout: 20_000 }).toBe("charge card");

  // A trace id typed into the TraceQL box opens the trace instead of searching.
  await gotoPage(page, `${project()}/search`);
  await page.getByLabel("TraceQL", { exact: true }).check();
  await page.getByLabel("TraceQL query").fill(` ${seeded.checkout} `);
  await Promise.all([page.waitForURL(traceUrl(seeded.checkout)), page.getByLabel("TraceQL query").press("Enter")]);

  // Pasted over the box's whole text, it opens at once (a 16-digit one padded).
  await gotoPage(page, `${project()}/search`);
  await page.getByLabel("TraceQL", { exact: true }).check();
  await page.getByLabel("TraceQL query").selectText();
  await Promise.all([
    page.waitForURL(traceUrl(`${"0".repeat(16)}${seeded.legacy16}`)),
    page.getByLabel("TraceQL query").evaluate((el, id) => {
      const data = new DataTransfer();
      data.setData("text/plain", id);
      el.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
    }, seeded.legacy16),
  ]);
  await expect.poll(() => waterfallRows(page).allInnerTexts(), { timeout: 20_000 }).toEqual([expect.stringContaining("GET /health")]);
  expect(problems.all()).toEqual([]);
});

test("a span link opened logged out comes back after signing up and logging in; a non-member is told how to get access", async () => {
  const page = await newPage(browser);
  const problems = await collectProblems(page);
  const link = `${traceUrl(seeded.checkout)}?span=${seeded.chargeSpan}`;
  await gotoPage(page, link);
  await expect.poll(() => new URL(page.url()).pathname).toBe("/login");
  expect(new URL(page.url()).searchParams.get("next")).toBe(new URL(link).pathname + new URL(link).search);
  await screenshot(page, "navigation-login-for-link");

  // A new account, made from the login page: it is no member of the project yet.
  const email = `navigation-${Date.now()}@example.com`;
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a sturdy passphrase 42");
  await submitForm(page, page.getByRole("button", { name: "Sign up" }));
  await page.waitForURL(link);
  // Waited for, not checked at once: a read answered 503 (a local D1 lock) loads itself again.
  await page.getByRole("heading", { level: 1, name: "No access to this project" }).waitFor();
  const says = await page.locator("main").innerText();
  expect(says).toContain(`You are signed in as ${email}`);
  expect(says).toContain("Settings → Members");
  expect(says).not.toContain("nav shop");
  await screenshot(page, "navigation-not-a-member");

  // The owner adds them; they log in again through the page's link and land on the span.
  expect(await postForm(account, `/app/t/${account.tenantId}/members`, { email, role: "member" }, `/app/t/${account.tenantId}/settings`)).toBe(303);
  await page.getByRole("link", { name: "Log in with another account" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a sturdy passphrase 42");
  await submitForm(page, page.getByRole("button", { name: "Log in" }));
  await page.waitForURL(link);
  await expect.poll(() => spanDetail(page).locator(".tv-detail-name").innerText(), { timeout: 20_000 }).toBe("charge card");
  await expect(page.locator(`[data-span-id="${seeded.chargeSpan}"]`).first().getAttribute("aria-selected")).resolves.toBe("true");
  await screenshot(page, "navigation-span-after-login");

  // A login link crafted to leave the site goes to the projects instead.
  await page.context().clearCookies();
  await gotoPage(page, `${dashboardUrl}/login?next=${encodeURIComponent("//evil.example/app")}`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a sturdy passphrase 42");
  await submitForm(page, page.getByRole("button", { name: "Log in" }));
  await page.waitForURL(`${dashboardUrl}/app`);
  expect(withoutExpected(problems, [404])).toEqual([]);
});
