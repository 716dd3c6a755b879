/**
 * A minimal browser for workerd tests of the dashboard's pages: a cookie jar, same-origin form
 * posts carrying the CSRF token read off a page, and redirects left to the test.
 */
import { exports } from "cloudflare:workers";

export const PASSWORD = "a sturdy passphrase 42";

/** The CSRF token of a dashboard page's forms. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error("no CSRF token on the page");
  return m[1]!;
}

export class PageSession {
  cookies = new Map<string, string>();
  readonly origin: string;
  constructor(origin = "http://localhost") {
    this.origin = origin;
  }

  async request(method: string, path: string, body?: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    const h = new Headers(headers);
    if (this.cookies.size) h.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    let payload: string | undefined;
    if (body) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(body)) for (const x of Array.isArray(v) ? v : [v]) params.append(k, x);
      payload = params.toString();
      h.set("content-type", "application/x-www-form-urlencoded");
      if (!h.has("origin")) h.set("origin", this.origin);
    }
    const res = await exports.default.fetch(`${this.origin}${path}`, { method, headers: h, body: payload, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair!.indexOf("=");
      const value = pair!.slice(eq + 1);
      if (value === "" || /max-age=0/i.test(c)) this.cookies.delete(pair!.slice(0, eq));
      else this.cookies.set(pair!.slice(0, eq), value);
    }
    return { status: res.status, location: res.headers.get("location"), headers: res.headers, text: await res.text(), setCookie: res.headers.getSetCookie() };
  }

  get(path: string) {
    return this.request("GET", path);
  }

  /** A form post carrying the CSRF token of the page it came from. */
  async post(path: string, body: Record<string, string | string[]> = {}, from = "/app") {
    return this.request("POST", path, { _csrf: csrfOf((await this.get(from)).text), ...body });
  }

  /** Signs up a new account (a fresh email); the session cookie stays in the jar. */
  async signUp(): Promise<string> {
    const email = `nav-${crypto.randomUUID().slice(0, 12)}@example.com`;
    const res = await this.request("POST", "/signup", { email, password: PASSWORD });
    if (res.status !== 303) throw new Error(`sign-up answered ${res.status}`);
    return email;
  }

  /** Creates a project owned by this account and returns its id. */
  async newProject(name: string): Promise<string> {
    const res = await this.post("/app/projects", { name });
    const id = /^\/app\/t\/(tn_[A-Za-z0-9_-]+)$/.exec(res.location ?? "")?.[1];
    if (!id) throw new Error(`creating a project answered ${res.status}`);
    return id;
  }
}
