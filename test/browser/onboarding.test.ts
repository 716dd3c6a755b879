/**
 * Issue 5's walk-through in a real browser against `npm start`: sign up, create a project, create a
 * key, make another on the first-run page (filled into its snippets), export traces with the real
 * OpenTelemetry JS SDK using it, watch the first-run page turn into data by itself and lead on to
 * the latest traces (issue 15), revoke the first key and see ingest refuse it with 401. Every page is
 * screenshotted to test/artifacts/ (look at them) and must load without console errors, page
 * errors or CSP violations.
 */
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { ExportResult } from "@opentelemetry/core";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { collectProblems, gotoPage, launchBrowser, newPage, screenshot, submitForm, type PageProblems } from "./support.ts";

const dashboardUrl = inject("dashboardUrl");
const ingestUrl = inject("ingestUrl");

let browser: Browser;
let page: Page;
let problems: PageProblems;

beforeAll(async () => {
  browser = await launchBrowser();
  page = await newPage(browser);
  problems = await collectProblems(page);
});

afterAll(async () => {
  await browser?.close();
});

/** Exports through the real OTLP/protobuf exporter and reports how the export ended. */
class ResultExporter implements SpanExporter {
  results: ExportResult[] = [];
  readonly inner: SpanExporter;
  constructor(inner: SpanExporter) {
    this.inner = inner;
  }
  export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
    this.inner.export(spans, (r) => {
      this.results.push(r);
      done(r);
    });
  }
  shutdown() {
    return this.inner.shutdown();
  }
}

async function exportTraces(secret: string, traces: number): Promise<ExportResult[]> {
  const exporter = new ResultExporter(new OTLPTraceExporter({ url: `${ingestUrl}/v1/traces`, headers: { "x-api-key": secret } }));
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "checkout" }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer("onboarding-test");
  for (let i = 0; i < traces; i++) {
    tracer.startActiveSpan(`POST /orders`, { kind: SpanKind.SERVER, attributes: { "http.request.method": "POST" } }, (root) => {
      const db = tracer.startSpan("SELECT orders", { kind: SpanKind.CLIENT, attributes: { "db.system": "postgresql" } });
      db.end();
      if (i % 3 === 0) root.setStatus({ code: SpanStatusCode.ERROR, message: "card declined" });
      root.end();
    });
  }
  // A refused export rejects the flush too; the results say how each export ended.
  await provider.forceFlush().catch(() => undefined);
  await provider.shutdown().catch(() => undefined);
  return exporter.results;
}

const shot = (name: string) => screenshot(page, `onboarding-${name}`);

test("sign up, create a project and a key, send traces, see them arrive, revoke the key", async () => {
  const email = `onboarding-${Date.now()}@example.com`;
  await gotoPage(page, `${dashboardUrl}/signup`);
  await expect.poll(() => page.title()).toContain("Sign up");
  await shot("signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a sturdy passphrase 42");
  await submitForm(page, page.getByRole("button", { name: "Sign up" }));
  await page.waitForURL(`${dashboardUrl}/app`);
  await shot("projects-empty");

  await page.getByLabel("New project name").fill("Checkout <prod>");
  await submitForm(page, page.getByRole("button", { name: "Create project" }));
  await page.waitForURL(/\/app\/t\/tn_[\w-]+$/);
  const projectUrl = page.url();
  // Waited for, not checked at once: a read answered 503 (a local D1 lock) loads itself again.
  await page.getByRole("heading", { name: "Send your first trace" }).waitFor();
  await expect(page.getByRole("heading", { level: 1 }).innerText()).resolves.toBe("Checkout <prod>");
  await shot("first-run");

  await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Name").fill("checkout service");
  await page.getByLabel("read (query APIs, Grafana)").check();
  await submitForm(page, page.getByRole("button", { name: "Create key" }));
  const secret = await page.locator("#new-secret").inputValue();
  expect(secret).toMatch(/^et_[\w-]{43}$/);
  await expect(page.locator("#created-snippet-env").inputValue()).resolves.toContain(`OTEL_EXPORTER_OTLP_HEADERS=x-api-key=${secret}`);
  await shot("key-created");

  // First run: a key made on the overview is filled into every snippet there (instead of a placeholder).
  await gotoPage(page, projectUrl);
  await expect(page.locator("#snippet-env").inputValue()).resolves.toContain("x-api-key=<your-api-key>");
  await submitForm(page, page.getByRole("button", { name: "Create a key for these snippets" }));
  const firstKey = await page.locator("#first-run-secret").inputValue();
  expect(firstKey).toMatch(/^et_[\w-]{43}$/);
  for (const id of ["snippet-env", "snippet-node", "snippet-python", "snippet-go", "snippet-java"]) {
    await expect(page.locator(`#${id}`).inputValue(), id).resolves.toContain(`OTEL_EXPORTER_OTLP_HEADERS=x-api-key=${firstKey}`);
  }
  await expect(page.locator("#snippet-curl").inputValue()).resolves.toContain(`x-api-key: ${firstKey}`);
  await expect(page.locator("main").innerText()).resolves.not.toContain("<your-api-key>");
  await shot("first-run-with-key");

  // That page, left open, turns into data once the assembler has stored the spans sent with its key.
  const results = await exportTraces(firstKey, 12);
  expect(results.map((r) => r.code)).toEqual(Array(results.length).fill(ExportResultCode.SUCCESS));
  await page.locator('[data-stat="spans"]').waitFor({ timeout: 90_000 });
  await expect(page.locator('[data-stat="spans"]').innerText()).resolves.toBe("24");
  expect(page.url()).toBe(projectUrl);
  // It leads on: the latest traces (each opening its trace), search and the service map, and Grafana's full URL.
  const latest = page.getByRole("region", { name: "Latest traces" }).locator("tbody tr");
  await expect(latest.count()).resolves.toBe(8);
  for (const row of await latest.allInnerTexts()) expect(row).toMatch(/^checkout: /);
  await expect(page.getByRole("navigation", { name: "Explore" }).getByRole("link").allInnerTexts()).resolves.toEqual([expect.stringContaining("Search"), expect.stringContaining("Service map"), expect.stringContaining("Services")]);
  await expect(page.locator("#url-tempo").inputValue()).resolves.toBe(dashboardUrl);
  await shot("overview-with-data");
  await Promise.all([page.waitForURL(/\/traces\/[0-9a-f]{32}$/), latest.first().getByRole("link").click()]);
  // One span: without a registered context manager each span the exporter sends is a trace of its own.
  await expect.poll(() => page.locator('[role="treegrid"] [role="row"]').count(), { timeout: 20_000 }).toBe(1);

  await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "Settings" }).click();
  await expect(page.locator("figure.usage figcaption").innerText()).resolves.toContain("24 spans");
  await shot("settings");

  await page.getByRole("navigation", { name: "Project" }).getByRole("link", { name: "API keys" }).click();
  const keyRow = () => page.locator("tbody tr", { hasText: "checkout service" });
  await expect(keyRow().innerText()).resolves.toContain("active");
  await submitForm(page, page.getByRole("button", { name: "Revoke key checkout service" }));
  await expect(keyRow().innerText()).resolves.toContain("revoked");
  await shot("key-revoked");

  // Ingest caches a key for up to 30 s per isolate; within that the revoked key stops working.
  const body = JSON.stringify({ resourceSpans: [] });
  await expect
    .poll(async () => (await fetch(`${ingestUrl}/v1/traces`, { method: "POST", headers: { "content-type": "application/json", "x-api-key": secret }, body })).status, { timeout: 45_000, interval: 2_000 })
    .toBe(401);
  const refused = await exportTraces(secret, 1);
  expect(refused[0]!.code).toBe(ExportResultCode.FAILED);

  await page.getByRole("button", { name: /theme/i }).click();
  await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toMatch(/dark|light/);
  await shot("keys-other-theme");

  await page.getByRole("link", { name: email }).click();
  await shot("account");
  expect(problems.all()).toEqual([]);
});
