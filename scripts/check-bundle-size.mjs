// Fails when a worker bundle from `npm run deploy:dry-run` exceeds the Workers size limit
// (3 MiB gzipped on the Free plan; 10 MiB on paid plans). Prints each bundle's size.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const LIMIT = 3 * 1024 * 1024;
let failed = false;
for (const worker of readdirSync("dist")) {
  const dir = join("dist", worker);
  let raw = 0;
  let gz = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (!statSync(p).isFile() || f.endsWith(".map")) continue;
    const buf = readFileSync(p);
    raw += buf.length;
    gz += gzipSync(buf).length;
  }
  if (!existsSync(join(dir, "index.js"))) {
    console.error(`${worker}: no index.js in ${dir}; did the dry-run write elsewhere?`);
    failed = true;
    continue;
  }
  console.log(`${worker}: ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped`);
  if (gz > LIMIT) {
    console.error(`${worker} is over the 3 MiB gzipped Workers limit`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
