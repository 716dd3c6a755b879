import { describe, expect, it } from "vitest";
import { boundsFromEnv, DEFAULT_BOUNDS, rateToLimits, settingsSchema } from "./settings-bounds.ts";

describe("tenant settings bounds", () => {
  it("accepts values within the operator's bounds and says which bound a value breaks", () => {
    const schema = settingsSchema(boundsFromEnv({ MAX_RETENTION_DAYS: "60" }));
    expect(schema.parse({ retentionDays: "45", ingestMegabytesPerSecond: "2.5" })).toEqual({ retentionDays: 45, ingestMegabytesPerSecond: 2.5, logsUrlTemplate: "" });
    expect(schema.safeParse({ retentionDays: "45", ingestMegabytesPerSecond: "2.5", logsUrlTemplate: "javascript:alert(1)" }).success).toBe(false);
    const tooLong = schema.safeParse({ retentionDays: "61", ingestMegabytesPerSecond: "1" });
    expect(tooLong.success).toBe(false);
    expect(tooLong.error!.issues[0]!.message).toMatch(/at most 60 days/);
    expect(schema.safeParse({ retentionDays: "1.5", ingestMegabytesPerSecond: "1" }).success).toBe(false);
    expect(settingsSchema(DEFAULT_BOUNDS).safeParse({ retentionDays: "7", ingestMegabytesPerSecond: "500" }).error!.issues[0]!.message).toMatch(/at most 50 MB\/s/);
  });

  it("ignores malformed operator values", () => {
    expect(boundsFromEnv({ MAX_RETENTION_DAYS: "lots" })).toEqual(DEFAULT_BOUNDS);
  });

  it("derives the burst from the rate", () => {
    expect(rateToLimits(15)).toEqual({ ingestBytesPerSecond: 15_000_000, ingestBurstBytes: 20_000_000 });
  });
});
