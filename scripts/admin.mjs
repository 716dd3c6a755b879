// `npm run admin -- <command>`: the admin API from a terminal, against the local stack by default.
// Reads ADMIN_TOKEN from the environment or .dev.vars; EDGETRACE_URL picks another deployment.
import { readDevVar } from "./dev-vars.mjs";
import { ADMIN_TOKEN_ADVICE, adminTokenProblem } from "../shared/auth/admin-token-rules.mjs";

const base = (process.env.EDGETRACE_URL ?? "http://localhost:8787").replace(/\/$/, "");
const token = process.env.ADMIN_TOKEN ?? readDevVar("ADMIN_TOKEN");
const [command, ...args] = process.argv.slice(2);

const usage = `usage: npm run admin -- <command>
  quickstart <project-name>                     create a tenant and an ingest+read key, print the exporter settings
  tenants                                       list tenants
  create-tenant <name>                          create a tenant
  create-key <tenantId> <name> [scopes]         scopes: comma-separated ingest,read,admin (default ingest,read)
  keys <tenantId>                               list a tenant's keys (never the secrets)
  revoke-key <tenantId> <keyId>                 revoke a key
environment: EDGETRACE_URL (default http://localhost:8787), ADMIN_TOKEN (default: from .dev.vars)`;

async function api(method, path, body) {
  const res = await fetch(`${base}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const retry = res.headers.get("retry-after");
    console.error(`error ${res.status}: ${json?.message ?? text}${retry ? ` (retry after ${retry} s)` : ""}`);
    process.exit(1);
  }
  return json;
}

if (!token) {
  console.error("No ADMIN_TOKEN: set it in the environment or run `npm start` once to create .dev.vars");
  process.exit(1);
}
if (adminTokenProblem(token)) {
  console.error(`The ADMIN_TOKEN in use is refused by the dashboard: ${adminTokenProblem(token)}; ${ADMIN_TOKEN_ADVICE}`);
  process.exit(1);
}

const print = (v) => console.log(JSON.stringify(v, null, 2));
switch (command) {
  case "quickstart": {
    const tenant = await api("POST", "/tenants", { name: args[0] ?? "my-project" });
    const key = await api("POST", `/tenants/${tenant.id}/keys`, { name: "default", scopes: ["ingest", "read"] });
    const ingest = process.env.EDGETRACE_INGEST_URL ?? base.replace(/:8787$/, ":4318");
    console.log(`tenant ${tenant.id} (${tenant.name}), key ${key.id}
secret (shown once): ${key.secret}

export OTEL_EXPORTER_OTLP_ENDPOINT=${ingest}
export OTEL_EXPORTER_OTLP_HEADERS=x-api-key=${key.secret}
# Zipkin exporters: ${ingest}/api/v2/spans with header x-api-key: ${key.secret}`);
    break;
  }
  case "tenants": print(await api("GET", "/tenants")); break;
  case "create-tenant": print(await api("POST", "/tenants", { name: args[0] })); break;
  case "create-key": print(await api("POST", `/tenants/${args[0]}/keys`, { name: args[1], scopes: (args[2] ?? "ingest,read").split(",") })); break;
  case "keys": print(await api("GET", `/tenants/${args[0]}/keys`)); break;
  case "revoke-key": await api("DELETE", `/tenants/${args[0]}/keys/${args[1]}`); console.log("revoked"); break;
  default: console.log(usage); process.exit(command ? 1 : 0);
}
