/**
 * Helpers for the browser tests: Debian's Chromium driven by playwright-core (no browser download:
 * `playwright install` is never run), pages with a fixed viewport, screenshots saved to
 * test/artifacts/ (not committed), and a collector of what went wrong inside a page (console
 * errors, uncaught exceptions, Content-Security-Policy violations) for tests to assert none did.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";

/** Debian's `chromium` package installs its launcher here. */
export const DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium";

/** Every page opens at this size, so screenshots of one page compare across runs. */
export const VIEWPORT = { width: 1280, height: 800 } as const;

export const ARTIFACTS_DIR = fileURLToPath(new URL("../artifacts/", import.meta.url));

/** The Chromium executable: `CHROMIUM_PATH` if set, else Debian's. Throws, saying how to get one, if it is missing. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH;
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found at ${path}. The browser tests drive a system Chromium: on Debian or Ubuntu run ` +
        "`sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium` " +
        "(or set CHROMIUM_PATH to a Chromium or Chrome executable). `.ci/run` installs it.",
    );
  }
  return path;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // No sandbox: CI runs as root in a container. The rest keeps Chromium off the network except
    // for the pages a test opens.
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A page in a context of its own (no cookies or storage shared with other pages), at {@link VIEWPORT}. */
export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, locale: "en-US", timezoneId: "UTC" });
  return context.newPage();
}

/** Saves a full-page screenshot to test/artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`screenshot name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' only`);
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface PageProblems {
  /** `console.error` calls and the errors Chromium logs itself (failed loads, CSP refusals). */
  readonly consoleErrors: string[];
  /** Exceptions nothing caught, and unhandled promise rejections. */
  readonly pageErrors: string[];
  /** `securitypolicyviolation` events: what was blocked, by which directive, where. */
  readonly cspViolations: string[];
  /** URLs answered 503, which the page asks again (see {@link isRetried503}); not in `all()`. */
  readonly unavailable: string[];
  /** All of the above, each prefixed by its kind: `expect(problems.all()).toEqual([])`. */
  all(): string[];
}

/**
 * Chromium fetches `/favicon.ico` by itself for a page that names no icon (a JSON response, say),
 * and logs the 404 as a console error the page had no part in. A page that links an icon at
 * another path is not affected; one that links `/favicon.ico` and lacks it is, and would pass.
 */
function isImplicitFaviconMiss(text: string, url: string): boolean {
  return text.startsWith("Failed to load resource") && URL.canParse(url) && new URL(url).pathname === "/favicon.ico";
}

/**
 * Chromium logs every 503 a fetch gets as a console error. The pages' API client asks again after
 * a 503 (dashboard/src/api.ts; the local D1 is briefly locked when two processes write), so one is
 * not a fault of the page: a 503 that outlasts the retries shows in the page, where the test's
 * assertions on its content see it. Those are kept apart, in `unavailable`.
 */
function isRetried503(text: string): boolean {
  return text.startsWith("Failed to load resource: the server responded with a status of 503");
}

/**
 * Starts recording what goes wrong in `page` (and the pages it navigates to). Call it before the
 * first `goto`: events from before are not seen. A missing `/favicon.ico` is not counted unless
 * `countFavicon` is set (see {@link isImplicitFaviconMiss}).
 */
export async function collectProblems(page: Page, options: { countFavicon?: boolean } = {}): Promise<PageProblems> {
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];
  const unavailable: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const { url, lineNumber } = msg.location();
    if (!options.countFavicon && isImplicitFaviconMiss(msg.text(), url)) return;
    if (isRetried503(msg.text())) return void unavailable.push(url);
    consoleErrors.push(url ? `${msg.text()} (${url}:${lineNumber})` : msg.text());
  });
  page.on("pageerror", (err) => pageErrors.push(err.stack ?? String(err)));
  // The page reports CSP violations through a binding; bindings and init scripts are installed
  // over the DevTools protocol, so the page's own CSP cannot block them.
  await page.exposeFunction("__edgetraceReportCspViolation", (violation: string) => cspViolations.push(violation));
  await page.addInitScript(() => {
    const report = (globalThis as unknown as { __edgetraceReportCspViolation: (v: string) => void }).__edgetraceReportCspViolation;
    document.addEventListener("securitypolicyviolation", (e) => {
      report(`${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"} at ${e.sourceFile || e.documentURI}:${e.lineNumber}${e.disposition === "report" ? " (report-only)" : ""}`);
    });
  });
  return {
    consoleErrors,
    pageErrors,
    cspViolations,
    unavailable,
    all: () => [...consoleErrors.map((m) => `console error: ${m}`), ...pageErrors.map((m) => `page error: ${m}`), ...cspViolations.map((m) => `CSP violation: ${m}`)],
  };
}

/**
 * `page.goto` that loads the page again after a 503 (a local D1 lock on a loaded machine answers
 * 503 with Retry-After), as a person would reload: at most 4 tries, waiting what Retry-After says
 * (capped at 5 s). Any other status is returned at once for the test to judge.
 */
export async function gotoPage(page: Page, url: string, options?: Parameters<Page["goto"]>[1]) {
  for (let attempt = 1; ; attempt++) {
    const response = await page.goto(url, options);
    if (response?.status() !== 503 || attempt === 4) return response;
    const wait = Number(response.headers()["retry-after"] ?? "1");
    await new Promise((r) => setTimeout(r, Math.min(Number.isFinite(wait) ? wait : 1, 5) * 1000));
  }
}

/**
 * Clicks a form's submit button and waits for the post's answer. A post answered 503 (a local D1
 * lock) is submitted again from the page before, as a person would: at most 4 tries. The page a
 * post's redirect leads to loads itself again after a 503 (the dashboard's error page refreshes
 * after Retry-After), so callers then wait for what they expect to see, never check it at once.
 */
export async function submitForm(page: Page, button: Locator): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().method() === "POST" && r.frame() === page.mainFrame()),
      button.click(),
    ]);
    if (response.status() !== 503 || attempt === 4) return;
    await page.waitForLoadState();
    await page.goBack();
  }
}
