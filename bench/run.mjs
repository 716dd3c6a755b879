// `npm run bench`: runs every benchmark in bench/, each printing one JSON object of figures, and
// writes them to bench/results.json (nested by the dotted keys) and BENCHMARKS.md with the machine,
// the date and the command. Run one with `npm run bench -- decode`.
import { spawnSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { readFileSync, writeFileSync, existsSync } from "node:fs";

const BENCHES = {
  decode: { file: "bench/decode.ts", title: "OTLP protobuf decode (512 realistic spans per request)" },
  ingest: { file: "bench/ingest.ts", title: "Ingest end to end through the local stack (wrangler dev)" },
  cost: { file: "bench/cost.ts", title: "Cost per million spans at Cloudflare list prices (real workers in Miniflare, counted at the bindings)" },
  "assembly-scale": { file: "bench/assembly-scale.ts", title: "Assembly at scale: 10 tenants' backlog through 1 to 16 concurrent consumers, 20 ms per storage call (real assembler and tenant objects in Miniflare)" },
  "block-size": { file: "bench/block-size.ts", title: "Block format: bytes in R2 per span against the OTLP protobuf that came in" },
  "trace-by-id": { file: "bench/trace-by-id.ts", title: "Trace by id with a week of blocks present (real findTrace in Miniflare, local D1 and R2)" },
  dashboard: { file: "bench/dashboard.ts", title: "Dashboard trace view in Chromium (first render from navigation start, page weight)" },
  "search-scale": { file: "bench/search-scale.ts", title: "Query at scale: search, Jaeger search, TraceQL metrics and trace by id over 24 h / 1 M and 7 days / 7 M spans through the dashboard routes, 20 ms per R2 and D1 call, six open at once per invocation, before and after" },
  traceql: { file: "bench/traceql.ts", title: "TraceQL at scale: needle, structural, rate and histogram over 24 h / 1 M spans through the dashboard routes, 20 ms per R2, D1 and tenant object call, six open at once per invocation" },
  // Last: computed from the figures of cost and assembly-scale (bench/results.json).
  capacity: { file: "bench/capacity.ts", title: "Capacity model: 1 M spans/s from 10,000 tenants (computed from the measured figures above)" },
};

const only = process.argv.slice(2);
const results = existsSync("bench/results.json") ? JSON.parse(readFileSync("bench/results.json", "utf8")) : {};
const runs = {};
for (const [name, b] of Object.entries(BENCHES)) {
  if (only.length && !only.includes(name)) continue;
  console.error(`--- ${name}: node ${b.file}`);
  const r = spawnSync("node", [b.file], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  if (r.status !== 0) {
    console.error(`${name} failed (${r.status})`);
    process.exit(1);
  }
  const figures = JSON.parse(r.stdout.trim().split("\n").pop());
  runs[name] = figures;
  for (const [k, v] of Object.entries(figures)) {
    const [group, ...rest] = k.split(".");
    results[group] ??= {};
    results[group][rest.join(".")] = v;
  }
  // Written after each benchmark: a later one may use an earlier one's figures (assembly-scale
  // prices the whole pipeline with the cost bench's ingest and cron shares).
  writeFileSync("bench/results.json", JSON.stringify(results, null, 2) + "\n");
}

const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memory_gib: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString().slice(0, 10),
  command: `npm run bench${only.length ? " -- " + only.join(" ") : ""}`,
};
results.machine = machine;
writeFileSync("bench/results.json", JSON.stringify(results, null, 2) + "\n");

// BENCHMARKS.md keeps a section per benchmark; a run replaces the sections it ran.
const md = existsSync("BENCHMARKS.md") ? readFileSync("BENCHMARKS.md", "utf8") : "";
const sections = new Map();
for (const m of md.matchAll(/<!-- bench:([\w-]+) -->\n([\s\S]*?)<!-- \/bench:\1 -->/g)) sections.set(m[1], m[2]);
for (const [name, figures] of Object.entries(runs)) {
  // A `|` in a value (a TraceQL pipeline) would end the table cell.
  const rows = Object.entries(figures).map(([k, v]) => `| \`${k}\` | ${String(typeof v === "object" ? JSON.stringify(v) : v).replaceAll("|", "\\|")} |`).join("\n");
  sections.set(name, `## ${BENCHES[name].title}\n\nMeasured ${machine.date} on ${machine.cores} cores (${machine.cpu}), ${machine.memory_gib} GiB, Node ${machine.node}, with \`${machine.command}\`.\n\n| figure | value |\n|---|---|\n${rows}\n\n`);
}
const intro = md.split("<!-- bench:")[0].trim() || "# Benchmarks\n\nFigures written by `npm run bench` (also in `bench/results.json`). This machine is noisy: each\nbenchmark compares side by side in one run and quotes ratios.";
let out = intro + "\n\n";
for (const [name, body] of sections) out += `<!-- bench:${name} -->\n${body}<!-- /bench:${name} -->\n\n`;
writeFileSync("BENCHMARKS.md", out.trimEnd() + "\n");
console.error("wrote bench/results.json and BENCHMARKS.md");
