import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { adminTokenProblem, MIN_ADMIN_TOKEN_LENGTH } from "./admin-token-rules.mjs";

describe("admin token rules", () => {
  it("refuses short tokens", () => {
    expect(adminTokenProblem("")).toMatch(/too short/);
    expect(adminTokenProblem("s3cr3t")).toMatch(/too short \(6 characters; at least 32\)/);
    expect(adminTokenProblem("k3Jd9-QmZx_7wPvB2nR8tYc5LhF0sGa")).toMatch(/too short/);
    expect(adminTokenProblem("k3Jd9-QmZx_7wPvB2nR8tYc5LhF0sGaE")).toBeUndefined();
  });

  it("refuses example and placeholder values however they are written", () => {
    for (const t of ["change-me-to-a-long-random-string", "CHANGEME_CHANGEME_CHANGEME_CHANGEME", "replace-me-with-a-real-admin-token!!", "your-token-here-0123456789abcdefghijk", "an example token that is long enough to pass"]) {
      expect(adminTokenProblem(t), t).toMatch(/example or placeholder/);
    }
  });

  it("refuses tokens with too few distinct characters", () => {
    expect(adminTokenProblem("a".repeat(64))).toMatch(/distinct/);
    expect(adminTokenProblem("12341234123412341234123412341234")).toMatch(/distinct/);
  });

  it("accepts what `npm start` generates and never quotes the token", () => {
    for (let i = 0; i < 200; i++) expect(adminTokenProblem(randomBytes(24).toString("base64url"))).toBeUndefined();
    expect(adminTokenProblem(`e2e-${crypto.randomUUID()}`)).toBeUndefined();
    expect(adminTokenProblem("short-secret")).not.toContain("short-secret");
    expect(MIN_ADMIN_TOKEN_LENGTH).toBe(32);
  });
});
