/**
 * Data for the dashboard's browser tests, made the way users make it: an account, a project and a
 * key through the dashboard's own forms (over HTTP, not clicks: the onboarding test covers the
 * clicks), spans exported with the real OpenTelemetry JS SDK, then a wait until the assembler has
 * stored them. `signIn` puts the session cookie into a Chromium context.
 */
import { SpanKind, context, trace, type Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { BrowserContext } from "playwright-core";
import { retrying503 } from "../support/retry-503.ts";

export interface Account {
  dashboardUrl: string;
  cookie: { name: string; value: string };
  tenantId: string;
  /** An ingest+read key of the project. */
  secret: string;
}

async function form(url: string, fields: Record<string, string | string[]>, cookie?: string): Promise<Response> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  return retrying503(() => fetch(url, { method: "POST", body, redirect: "manual", headers: { origin: new URL(url).origin, "content-type": "application/x-www-form-urlencoded", ...(cookie ? { cookie } : {}) } }));
}

const get = (url: string, cookie: string) => retrying503(() => fetch(url, { headers: { cookie } }));

export async function newAccount(dashboardUrl: string, projectName = "shop"): Promise<Account> {
  const email = `browser-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const signup = await form(`${dashboardUrl}/signup`, { email, password: "a sturdy passphrase 42" });
  if (signup.status !== 303) throw new Error(`sign-up answered ${signup.status}`);
  const set = signup.headers.getSetCookie().find((c) => c.startsWith("et_session="));
  if (!set) throw new Error("sign-up set no session cookie");
  const value = set.split(";")[0]!.slice("et_session=".length);
  const cookie = `et_session=${value}`;
  const csrf = async (path: string) => /name="_csrf" value="([^"]+)"/.exec(await (await get(`${dashboardUrl}${path}`, cookie)).text())![1]!;
  const project = await form(`${dashboardUrl}/app/projects`, { _csrf: await csrf("/app"), name: projectName }, cookie);
  const tenantId = /\/app\/t\/(tn_[\w-]+)$/.exec(project.headers.get("location") ?? "")?.[1];
  if (!tenantId) throw new Error(`creating the project answered ${project.status}`);
  const keys = await form(`${dashboardUrl}/app/t/${tenantId}/keys`, { _csrf: await csrf(`/app/t/${tenantId}/keys`), name: "browser tests", scopes: ["ingest", "read"] }, cookie);
  const secret = /id="new-secret"[^>]*value="(et_[\w-]{43})"|value="(et_[\w-]{43})"/.exec(await keys.text());
  if (!secret) throw new Error(`creating the key answered ${keys.status}`);
  return { dashboardUrl, cookie: { name: "et_session", value }, tenantId, secret: (secret[1] ?? secret[2])! };
}

/** Logs a browser context in as the account. */
export async function signIn(context: BrowserContext, account: Account): Promise<void> {
  await context.addCookies([{ name: account.cookie.name, value: account.cookie.value, url: account.dashboardUrl }]);
}

/**
 * Exports what `produce` records, per service (one tracer provider per service, as separate
 * processes would), through the OTLP/protobuf exporter, and fails if any export failed.
 */
export async function exportSpans(ingestUrl: string, secret: string, produce: (tracerFor: (service: string) => Tracer) => void | Promise<void>): Promise<void> {
  const providers = new Map<string, BasicTracerProvider>();
  const failures: unknown[] = [];
  const tracerFor = (service: string) => {
    let p = providers.get(service);
    if (!p) {
      const exporter = new OTLPTraceExporter({ url: `${ingestUrl}/v1/traces`, headers: { "x-api-key": secret } });
      const inner = exporter.export.bind(exporter);
      exporter.export = (spans, done) => inner(spans, (r) => (r.error ? (failures.push(r.error), done(r)) : done(r)));
      p = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": service }), spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 512, scheduledDelayMillis: 200 })] });
      providers.set(service, p);
    }
    return p.getTracer("browser-tests");
  };
  await produce(tracerFor);
  for (const p of providers.values()) await p.forceFlush();
  for (const p of providers.values()) await p.shutdown();
  if (failures.length) throw new Error(`export failed: ${String(failures[0])}`);
}

/** Waits until the project has at least `spans` spans stored (the assembler has run). */
export async function waitForSpans(account: Account, spans: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    const res = await get(`${account.dashboardUrl}/app/t/${account.tenantId}/status`, `${account.cookie.name}=${account.cookie.value}`);
    if (!res.ok) throw new Error(`status answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    seen = ((await res.json()) as { spans: number }).spans;
    if (seen >= spans) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`only ${seen} of ${spans} spans stored after ${timeoutMs} ms`);
}

/** Posts one of the dashboard's forms as the account (with the CSRF token of the page it is on). */
export async function postForm(account: Account, path: string, fields: Record<string, string>, fromPath = path): Promise<number> {
  const cookie = `${account.cookie.name}=${account.cookie.value}`;
  const page = await (await get(`${account.dashboardUrl}${fromPath}`, cookie)).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!csrf) throw new Error(`no form on ${fromPath}`);
  return (await form(`${account.dashboardUrl}${path}`, { _csrf: csrf, ...fields }, cookie)).status;
}

/**
 * Messages produced in one trace and consumed in another, as a queue's consumer records them: a
 * SERVER root of `producer` with a PRODUCER child (`messaging.system` kafka), and for each a
 * CONSUMER root of `consumer` in a trace of its own with a span link to that PRODUCER span. Each
 * message `startMs + i * 5 s`; the consumer takes 30 ms, a second after the producer.
 */
export function recordLinkedMessages(tracerFor: (service: string) => Tracer, o: { producer: string; consumer: string; count: number; startMs: number }): void {
  const producer = tracerFor(o.producer);
  const consumer = tracerFor(o.consumer);
  for (let i = 0; i < o.count; i++) {
    const t0 = o.startMs + i * 5_000;
    const root = producer.startSpan("POST /invoices", { kind: SpanKind.SERVER, startTime: t0, root: true });
    const publish = producer.startSpan("invoice.created publish", { kind: SpanKind.PRODUCER, startTime: t0 + 3, attributes: { "messaging.system": "kafka", "messaging.destination.name": "invoice.created" } }, trace.setSpan(context.active(), root));
    publish.end(t0 + 6);
    root.end(t0 + 10);
    const process = consumer.startSpan("invoice.created process", { kind: SpanKind.CONSUMER, startTime: t0 + 1_000, root: true, links: [{ context: publish.spanContext() }], attributes: { "messaging.system": "kafka" } });
    process.end(t0 + 1_030);
  }
}

/**
 * Traces whose only request is their root, an INTERNAL span (what `startSpan` makes without a
 * kind, e.g. a browser page load): `count` of `service`, each `durationMs` long, `startMs + i * 5 s`.
 */
export function recordInternalRoots(tracerFor: (service: string) => Tracer, o: { service: string; count: number; startMs: number; durationMs: number }): void {
  const tracer = tracerFor(o.service);
  for (let i = 0; i < o.count; i++) {
    const t0 = o.startMs + i * 5_000;
    const root = tracer.startSpan("page load /cart", { startTime: t0, root: true });
    const render = tracer.startSpan("render cart", { startTime: t0 + 5 }, trace.setSpan(context.active(), root));
    render.end(t0 + o.durationMs - 5);
    root.end(t0 + o.durationMs);
  }
}
