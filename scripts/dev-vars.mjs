// Reads and writes ADMIN_TOKEN in .dev.vars (dotenv format), shared by start.mjs and admin.mjs.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { ADMIN_TOKEN_ADVICE, adminTokenProblem } from "../shared/auth/admin-token-rules.mjs";

export const DEV_VARS = ".dev.vars";

export function readDevVar(name) {
  if (!existsSync(DEV_VARS)) return undefined;
  for (const line of readFileSync(DEV_VARS, "utf8").split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && m[1] === name) return m[2].replace(/^"(.*)"$/, "$1") || undefined;
  }
  return undefined;
}

/**
 * ADMIN_TOKEN from the environment, else .dev.vars, else a new one saved to .dev.vars. A token
 * that is too short or an example value (shared/auth/admin-token-rules.mjs) ends the process with
 * a message saying where it came from: the dashboard would refuse to serve the admin API with it.
 */
export function resolveAdminToken() {
  const found = process.env.ADMIN_TOKEN ? { token: process.env.ADMIN_TOKEN, source: "environment" } : readDevVar("ADMIN_TOKEN") ? { token: readDevVar("ADMIN_TOKEN"), source: DEV_VARS } : undefined;
  if (found) {
    const problem = adminTokenProblem(found.token);
    if (problem) {
      console.error(`edgetrace: refusing the ADMIN_TOKEN from ${found.source === "environment" ? "the environment" : DEV_VARS}: ${problem}.
Set a new one (${ADMIN_TOKEN_ADVICE}), or remove it and \`npm start\` generates one.`);
      process.exit(1);
    }
    return found;
  }
  let token;
  do token = randomBytes(24).toString("base64url");
  while (adminTokenProblem(token));
  const prior = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, "utf8") : "";
  writeFileSync(DEV_VARS, `${prior}${prior && !prior.endsWith("\n") ? "\n" : ""}ADMIN_TOKEN=${token}\n`, { mode: 0o600 });
  return { token, source: "generated" };
}
