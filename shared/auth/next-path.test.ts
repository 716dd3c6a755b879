import { describe, expect, it } from "vitest";
import { safeNextPath } from "./next-path.ts";

describe("safeNextPath", () => {
  it("keeps paths under /app with their query", () => {
    expect(safeNextPath("/app")).toBe("/app");
    expect(safeNextPath("/app/t/tn_abc/traces/0af7651916cd43dd8448eb211c80319c?span=b7ad6b7169203331")).toBe("/app/t/tn_abc/traces/0af7651916cd43dd8448eb211c80319c?span=b7ad6b7169203331");
    expect(safeNextPath("/app/t/tn_abc/search?q=%7B%7D&range=1h")).toBe("/app/t/tn_abc/search?q=%7B%7D&range=1h");
  });

  it("refuses anything that could leave the site or the dashboard", () => {
    for (const bad of [
      "//evil.example",
      "//evil.example/app",
      "https://evil.example/app",
      "http://localhost/app",
      "/\\evil.example",
      "/app\\..\\..\\evil",
      "/\\/evil.example/app",
      "/app/\t/evil",
      "/app\n//evil.example",
      "/app/../login",
      "/app/%2e%2e/login",
      "/app@evil.example",
      "/apple",
      "/login",
      "javascript:alert(1)",
      "app/t/x",
      "",
      "/app/" + "x".repeat(3000),
    ]) {
      expect(safeNextPath(bad), JSON.stringify(bad)).toBeUndefined();
    }
    expect(safeNextPath(undefined)).toBeUndefined();
    expect(safeNextPath(null)).toBeUndefined();
  });
});
