import { describe, expect, it } from "vitest";
import { bucketStart, durationMs, isRootSpan, serviceName, stringAttribute, unixSeconds } from "./span-fields.ts";

describe("span fields", () => {
  it("computes durations exactly from 19-digit nanosecond strings", () => {
    // Past 2^53 a double would lose the last digits; the split keeps them.
    expect(durationMs("1764090000123456789", "1764090000123456790")).toBe(0.000001);
    expect(durationMs("1764090000999999999", "1764090001000000001")).toBe(0.000002);
    expect(durationMs("1764090000000000000", "1764090012500000000")).toBe(12_500);
    expect(durationMs("500", "1500")).toBe(0.001);
    expect(durationMs("1764090001000000000", "1764090000000000000")).toBe(0);
  });

  it("reads whole seconds and buckets them", () => {
    expect(unixSeconds("1764090059999999999")).toBe(1764090059);
    expect(unixSeconds("999")).toBe(0);
    expect(bucketStart(1764090059, 60)).toBe(1764090000);
    expect(bucketStart(1764090060, 60)).toBe(1764090060);
  });

  it("reads string attributes and stringifies scalars", () => {
    const a = [
      { key: "s", value: { stringValue: "x" } },
      { key: "i", value: { intValue: "42" } },
      { key: "b", value: { boolValue: true } },
      { key: "d", value: { doubleValue: 1.5 } },
      { key: "empty", value: { stringValue: "" } },
      { key: "arr", value: { arrayValue: { values: [] } } },
    ];
    expect(stringAttribute(a, "s")).toBe("x");
    expect(stringAttribute(a, "i")).toBe("42");
    expect(stringAttribute(a, "b")).toBe("true");
    expect(stringAttribute(a, "d")).toBe("1.5");
    expect(stringAttribute(a, "empty")).toBeUndefined();
    expect(stringAttribute(a, "arr")).toBeUndefined();
    expect(stringAttribute(a, "missing")).toBeUndefined();
    expect(serviceName({ attributes: [{ key: "service.name", value: { stringValue: "cart" } }], droppedAttributesCount: 0 })).toBe("cart");
  });

  it("knows a root by an empty or all-zero parent", () => {
    expect(isRootSpan("")).toBe(true);
    expect(isRootSpan("0000000000000000")).toBe(true);
    expect(isRootSpan("00f067aa0ba902b7")).toBe(false);
  });
});
