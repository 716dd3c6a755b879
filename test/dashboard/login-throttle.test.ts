// The login throttle under concurrency (issue 12): attempts are counted before the password is
// checked, so a burst cannot get more than the limit checked however it is timed.
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ACCOUNT_POLICY, ADDRESS_POLICY } from "../../shared/auth/login-throttle.ts";

const PASSWORD = "a sturdy passphrase 42";
const freshEmail = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`;
/** An address no other test uses: a fresh /64 in the documentation prefix. */
const freshAddress = () => {
  const [a, b] = crypto.getRandomValues(new Uint16Array(2));
  return `2001:db8:${a!.toString(16)}:${b!.toString(16)}::1`;
};

async function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(`http://localhost${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost", ...headers },
    body: new URLSearchParams(form).toString(),
    redirect: "manual",
  });
  await res.body?.cancel();
  return { status: res.status, retryAfter: res.headers.get("retry-after") };
}

async function signUp(): Promise<string> {
  const email = freshEmail("victim");
  expect((await post("/signup", { email, password: PASSWORD })).status).toBe(303);
  return email;
}

describe("login throttle under concurrency", () => {
  it("checks at most the account's limit of 60 simultaneous logins; the right password sent last is refused", async () => {
    const email = await signUp();
    const headers = { "cf-connecting-ip": freshAddress() };
    const attempts = [...Array.from({ length: 59 }, (_, i) => `wrong guess ${i}`), PASSWORD].map((password) => post("/login", { email, password }, headers));
    const results = await Promise.all(attempts);
    const checked = results.filter((r) => r.status !== 429);
    expect(checked.length).toBeLessThanOrEqual(ACCOUNT_POLICY.maxFailures);
    expect(checked.every((r) => r.status === 401 || r.status === 303)).toBe(true);
    expect(results.filter((r) => r.status === 429).every((r) => Number(r.retryAfter) > 0)).toBe(true);
    // The right password was one of 60 at once, sent last: it was not checked.
    expect(results.at(-1)!.status).toBe(429);
    expect((await post("/login", { email, password: PASSWORD }, headers)).status).toBe(429);
  });

  it("without a client address, throttles by account only: one account's lock does not lock the others", async () => {
    // No CF-Connecting-IP (an in-runtime call): more failures than the address limit, across accounts.
    const victims = await Promise.all(Array.from({ length: 3 }, () => signUp()));
    for (let i = 0; i < ADDRESS_POLICY.maxFailures + 5; i++) {
      const status = (await post("/login", { email: freshEmail("sprayed"), password: "wrong" })).status;
      expect(status).toBe(401);
    }
    await Promise.all(Array.from({ length: ACCOUNT_POLICY.maxFailures + 3 }, () => post("/login", { email: victims[0]!, password: "wrong" })));
    expect((await post("/login", { email: victims[0]!, password: PASSWORD })).status).toBe(429);
    for (const v of victims.slice(1)) expect((await post("/login", { email: v, password: PASSWORD })).status).toBe(303);
  });

  it("counts a burst across accounts against the address, and a success does not use up the address's room", async () => {
    const address = freshAddress();
    const headers = { "cf-connecting-ip": address };
    const email = await signUp();
    for (let i = 0; i < ADDRESS_POLICY.maxFailures + 5; i++) expect((await post("/login", { email, password: PASSWORD }, headers)).status).toBe(303);
    const burst = await Promise.all(Array.from({ length: ADDRESS_POLICY.maxFailures + 20 }, () => post("/login", { email: freshEmail("spray"), password: "spray 1" }, headers)));
    expect(burst.filter((r) => r.status !== 429).length).toBeLessThanOrEqual(ADDRESS_POLICY.maxFailures);
    expect((await post("/login", { email, password: PASSWORD }, headers)).status).toBe(429);
    expect((await post("/login", { email, password: PASSWORD }, { "cf-connecting-ip": freshAddress() })).status).toBe(303);
  });
});
