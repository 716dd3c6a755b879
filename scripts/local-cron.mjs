// `wrangler dev` never fires cron triggers. `npm start` runs them itself: this decides when a
// crontab expression is due and reads the assembler's crons from its wrangler.toml.
import { readFileSync } from "node:fs";

/** The five-field crons of a wrangler.toml's [triggers] section. */
export function cronsOf(tomlPath) {
  const toml = readFileSync(tomlPath, "utf8");
  const m = /^\s*crons\s*=\s*\[([^\]]*)\]/m.exec(toml);
  return m ? [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]) : [];
}

const RANGES = [
  [0, 59], // minute
  [0, 23], // hour
  [1, 31], // day of month
  [1, 12], // month
  [0, 6], // day of week (0 = Sunday; 7 is also accepted as Sunday)
];

function fieldMatches(field, value, [lo, hi], index) {
  return field.split(",").some((part) => {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad cron step: ${part}`);
    let from = lo;
    let to = hi;
    if (range !== "*") {
      const [a, b] = range.split("-").map(Number);
      if (!Number.isInteger(a) || (b !== undefined && !Number.isInteger(b))) throw new Error(`unsupported cron field: ${part}`);
      from = a;
      to = b ?? (stepText === undefined ? a : hi);
    }
    const v = index === 4 && value === 0 && from === 7 ? 7 : value;
    return v >= from && v <= to && (v - from) % step === 0;
  });
}

/** Whether a crontab expression (numbers, ranges, lists, steps, `*`) fires in the minute of `date` (UTC). */
export function cronIsDue(expr, date) {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`expected five cron fields: ${expr}`);
  const values = [date.getUTCMinutes(), date.getUTCHours(), date.getUTCDate(), date.getUTCMonth() + 1, date.getUTCDay()];
  const [min, hour, dom, month, dow] = fields.map((f, i) => fieldMatches(f, values[i], RANGES[i], i));
  // As in cron: when both day fields are restricted, either may match.
  const day = fields[2] !== "*" && fields[4] !== "*" ? dom || dow : dom && dow;
  return min && hour && month && day;
}
