// Builds the dashboard's client pages (dashboard/src/pages/*.tsx, Preact) into
// dashboard/public/static/ui/, which Workers Static Assets serve. One ES module per page, shared
// code split into chunks so pages share Preact; CSS imported by a page becomes <page>.css.
// Prints each page's gzipped load; with --json writes the figures to stdout as JSON.
// Run by `npm start`, `npm test`, the deploy dry-run and `npm run build:ui`.
import { build } from "esbuild";
import { readdirSync, rmSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pagesDir = join(root, "dashboard/src/pages");
const outdir = join(root, "dashboard/public/static/ui");
const entryPoints = Object.fromEntries(
  readdirSync(pagesDir)
    .filter((f) => f.endsWith(".tsx"))
    .map((f) => [f.replace(/\.tsx$/, ""), join(pagesDir, f)]),
);

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints,
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: false,
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  metafile: true,
  logLevel: "warning",
  legalComments: "none",
});

// What a page loads: its entry, the chunks it imports (transitively), and its CSS.
const outputs = result.metafile.outputs;
const rel = (p) => p.replace(/\\/g, "/");
const byPath = new Map(Object.entries(outputs).map(([p, o]) => [rel(p), o]));
const gz = (p) => gzipSync(readFileSync(join(root, p))).length;
const sizes = {};
for (const [path, out] of byPath) {
  if (!out.entryPoint) continue;
  const seen = new Set();
  const visit = (p) => {
    if (seen.has(p)) return;
    seen.add(p);
    for (const imp of byPath.get(p)?.imports ?? []) if (imp.kind === "import-statement") visit(rel(imp.path));
  };
  visit(path);
  const css = byPath.get(path)?.cssBundle;
  if (css) seen.add(rel(css));
  const name = path.split("/").pop().replace(/\.js$/, "");
  sizes[name] = { files: seen.size, gzip_bytes: [...seen].reduce((n, p) => n + gz(p), 0) };
}
if (process.argv.includes("--json")) console.log(JSON.stringify(sizes));
else for (const [name, s] of Object.entries(sizes)) console.error(`ui: ${name} loads ${(s.gzip_bytes / 1024).toFixed(1)} KB gzipped in ${s.files} files`);
