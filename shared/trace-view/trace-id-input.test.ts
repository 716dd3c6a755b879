import { describe, expect, it } from "vitest";
import { traceIdFromInput, traceIdProblem } from "./trace-id-input.ts";

describe("traceIdFromInput", () => {
  it("takes 32 or 16 hex digits, pads 16 to 32 as Tempo does, ignores case and surrounding space", () => {
    expect(traceIdFromInput("0AF7651916CD43DD8448EB211C80319C")).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(traceIdFromInput("  8448eb211c80319c\n")).toBe("00000000000000008448eb211c80319c");
    expect(traceIdProblem("8448eb211c80319c")).toBeUndefined();
  });

  it("refuses other lengths, non-hex and the zero id, saying why", () => {
    for (const bad of ["", "abc", "8448eb211c80319", "0af7651916cd43dd8448eb211c80319c0", "{ .a = 1 }", "g448eb211c80319c", "0".repeat(32), "8448eb21 1c80319c"]) {
      expect(traceIdFromInput(bad), bad).toBeUndefined();
      expect(traceIdProblem(bad), bad).toBeTruthy();
    }
    expect(traceIdProblem("abc")).toContain("3 digits");
    expect(traceIdProblem("zzz")).toContain("hex digits");
  });
});
