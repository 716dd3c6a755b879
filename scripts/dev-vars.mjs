// Reads and writes ADMIN_TOKEN in .dev.vars (dotenv format), shared by start.mjs and admin.mjs.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

export const DEV_VARS = ".dev.vars";

export function readDevVar(name) {
  if (!existsSync(DEV_VARS)) return undefined;
  for (const line of readFileSync(DEV_VARS, "utf8").split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && m[1] === name) return m[2].replace(/^"(.*)"$/, "$1") || undefined;
  }
  return undefined;
}

/** ADMIN_TOKEN from the environment, else .dev.vars, else a new one saved to .dev.vars. */
export function resolveAdminToken() {
  if (process.env.ADMIN_TOKEN) return { token: process.env.ADMIN_TOKEN, source: "environment" };
  const fromFile = readDevVar("ADMIN_TOKEN");
  if (fromFile) return { token: fromFile, source: DEV_VARS };
  const token = randomBytes(24).toString("base64url");
  const prior = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8") : "";
  writeFileSync(DEV_VARS, `${prior}${prior && !prior.endsWith("\n") ? "\n" : ""}ADMIN_TOKEN=${token}\n`, { mode: 0o600 });
  return { token, source: "generated" };
}
