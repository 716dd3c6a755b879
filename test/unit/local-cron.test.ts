import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script of npm start, without types
import { cronIsDue, cronsOf } from "../../scripts/local-cron.mjs";

const at = (iso: string) => new Date(iso);

describe("cronIsDue", () => {
  it("matches steps, ranges, lists and stars in UTC", () => {
    expect(cronIsDue("*/5 * * * *", at("2026-12-03T10:05:00Z"))).toBe(true);
    expect(cronIsDue("*/5 * * * *", at("2026-12-03T10:06:00Z"))).toBe(false);
    expect(cronIsDue("0 3 * * *", at("2026-12-03T03:00:30Z"))).toBe(true);
    expect(cronIsDue("0 3 * * *", at("2026-12-03T04:00:00Z"))).toBe(false);
    expect(cronIsDue("15,45 8-17 * * 1-5", at("2026-12-03T09:45:00Z"))).toBe(true); // a Thursday
    expect(cronIsDue("15,45 8-17 * * 1-5", at("2026-12-05T09:45:00Z"))).toBe(false); // a Saturday
    expect(cronIsDue("0 0 * * 7", at("2026-12-06T00:00:00Z"))).toBe(true); // 7 is Sunday too
    expect(cronIsDue("10-40/10 * * * *", at("2026-12-03T10:30:00Z"))).toBe(true);
    expect(cronIsDue("10-40/10 * * * *", at("2026-12-03T10:50:00Z"))).toBe(false);
  });

  it("fires when either restricted day field matches, as cron does", () => {
    expect(cronIsDue("0 0 1 * 1", at("2026-12-07T00:00:00Z"))).toBe(true); // a Monday, not the 1st
    expect(cronIsDue("0 0 1 * 1", at("2026-12-08T00:00:00Z"))).toBe(false);
  });

  it("refuses what it cannot read", () => {
    expect(() => cronIsDue("* * * *", new Date())).toThrow(/five/);
    expect(() => cronIsDue("@hourly * * * *", new Date())).toThrow(/unsupported/);
  });
});

describe("cronsOf", () => {
  it("reads the assembler's crons", () => {
    expect(cronsOf("workers/assembler/wrangler.toml")).toEqual(["*/5 * * * *"]);
  });
});
