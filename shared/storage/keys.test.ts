import { describe, expect, it } from "vitest";
import { ingestBatchKey, tenantOfKey, tenantPrefix } from "./keys.ts";

describe("storage keys", () => {
  it("put the tenant first", () => {
    const key = ingestBatchKey("tn_abc", Date.UTC(2026, 10, 25, 17, 3), "b1");
    expect(key).toBe(`t/tn_abc/ingest/2026-11-25/17/${Date.UTC(2026, 10, 25, 17, 3)}-b1.etb`);
    expect(tenantOfKey(key)).toBe("tn_abc");
  });
  it("refuse a key without a proper tenant", () => {
    for (const bad of ["", "../x", "a/b", "tn abc", "x".repeat(65)]) {
      expect(() => tenantPrefix(bad)).toThrow(/invalid tenant id/);
      expect(() => ingestBatchKey(bad, 0, "b")).toThrow();
    }
  });
});
