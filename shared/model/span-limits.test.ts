import { describe, expect, it } from "vitest";
import { acceptanceWindow, DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES, MAX_END_AFTER_RECEIVE_MS, spanLimits } from "./span-limits.ts";

describe("acceptanceWindow", () => {
  it("runs from the retention before the receive time to two hours after it, in the model's decimal nanoseconds", () => {
    const w = acceptanceWindow(1_700_000_000_123, 14);
    expect(w.earliestStartUnixNano).toBe(((1_700_000_000_123n - 14n * 86_400_000n) * 1_000_000n).toString());
    expect(w.latestEndUnixNano).toBe(((1_700_000_000_123n + 7_200_000n) * 1_000_000n).toString());
    expect(MAX_END_AFTER_RECEIVE_MS).toBe(2 * 3_600_000);
    expect(w.retentionDays).toBe(14);
  });

  it("never asks for a start before the epoch (a start of 0 means unset and is refused on its own)", () => {
    expect(acceptanceWindow(1000, 14).earliestStartUnixNano).toBe("1");
  });
});

describe("spanLimits", () => {
  it("takes the tenant's value bound and falls back to 64 KiB for a missing or unusable one", () => {
    expect(spanLimits({ maxAttributeValueBytes: 2048 }).maxAttributeValueBytes).toBe(2048);
    for (const bad of [undefined, 0, -1, 1.5, Number.NaN]) expect(spanLimits({ maxAttributeValueBytes: bad }).maxAttributeValueBytes).toBe(DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES);
    expect(DEFAULT_MAX_ATTRIBUTE_VALUE_BYTES).toBe(64 * 1024);
  });
});
