// scripts/dev-vars.mjs's token resolution, as `npm start` runs it: in a scratch directory, in a child Node.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const DEV_VARS_MODULE = fileURLToPath(new URL("../../scripts/dev-vars.mjs", import.meta.url));
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function resolveIn(files: Record<string, string>, adminToken?: string) {
  const cwd = mkdtempSync(join(tmpdir(), "edgetrace-dev-vars-"));
  dirs.push(cwd);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(cwd, name), text);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ADMIN_TOKEN;
  if (adminToken !== undefined) env.ADMIN_TOKEN = adminToken;
  const script = `import { resolveAdminToken } from ${JSON.stringify(DEV_VARS_MODULE)}; console.log(JSON.stringify(resolveAdminToken()));`;
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd, env, encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, cwd };
}

describe("ADMIN_TOKEN at start", () => {
  it("refuses a short token from the environment, saying where it came from, without printing it", () => {
    const run = resolveIn({}, "hunter2");
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/refusing the ADMIN_TOKEN from the environment: it is too short/);
    expect(run.stderr).toMatch(/openssl rand/);
    expect(run.stderr).not.toContain("hunter2");
  });

  it("refuses the example token copied from .dev.vars.example", () => {
    const example = readFileSync(fileURLToPath(new URL("../../.dev.vars.example", import.meta.url)), "utf8");
    const run = resolveIn({ ".dev.vars": example });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/refusing the ADMIN_TOKEN from \.dev\.vars: it is an example or placeholder value/);
  });

  it("takes a strong token as it is, and generates and saves a strong one when there is none", () => {
    const strong = "k3Jd9-QmZx_7wPvB2nR8tYc5LhF0sGaE";
    expect(JSON.parse(resolveIn({}, strong).stdout)).toEqual({ token: strong, source: "environment" });
    const generated = resolveIn({});
    expect(generated.status).toBe(0);
    const { token, source } = JSON.parse(generated.stdout) as { token: string; source: string };
    expect(source).toBe("generated");
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(generated.cwd, ".dev.vars"), "utf8")).toBe(`ADMIN_TOKEN=${token}\n`);
  });
});
