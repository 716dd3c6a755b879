/**
 * @module
 * How the trace pages write durations and timestamps, in one place: durations with three
 * significant digits and a space before the unit (`600 ms`, `1.23 s`), axis ticks on round values
 * (1, 2 or 5 times a power of ten, so `600 ms`, never `599ms`), and wall-clock times in the
 * browser's zone or in UTC (the user's choice: time-zone.tsx). Pure, so unit-tested in Node.
 */

/** `0 µs`, `789 µs`, `45.6 ms`, `600 ms`, `1.23 s`, `2 m 5 s`, from microseconds. */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us)) return "—";
  const neg = us < 0 ? "−" : "";
  const a = Math.abs(us);
  // Three significant digits; trailing zeros after the point go (1.50 → 1.5), never the integer's (110).
  const sig = (x: number) => (x >= 100 ? x.toFixed(0) : (x >= 10 ? x.toFixed(1) : x.toFixed(2)).replace(/\.?0+$/, ""));
  // Rounding can carry into the next unit (999.7 µs is 1 ms, not 1000 µs).
  if (a < 0.5) return "0 µs";
  if (a < 999.5) return `${neg}${sig(a)} µs`;
  if (a < 999_500) return `${neg}${sig(a / 1000)} ms`;
  if (a < 59_995_000) return `${neg}${sig(a / 1_000_000)} s`;
  const totalS = Math.round(a / 1_000_000);
  const m = Math.floor(totalS / 60);
  const s = totalS % 60;
  return `${neg}${m} m${s ? ` ${s} s` : ""}`;
}

/** The round step (1, 2 or 5 × 10^k) that cuts `range` into at most `maxTicks` parts. */
export function niceStep(range: number, maxTicks = 4): number {
  if (!(range > 0)) return 1;
  const raw = range / Math.max(1, maxTicks);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
  // Below a microsecond nothing is shown anyway.
  return Math.max(step, 1);
}

/**
 * The axis ticks of a window (microseconds from the trace start): every multiple of a round step
 * inside [startUs, endUs], with the step.
 */
export function axisTicks(startUs: number, endUs: number, maxTicks = 4): { step: number; ticks: number[] } {
  const step = niceStep(endUs - startUs, maxTicks);
  const ticks: number[] = [];
  // A tolerance of a billionth of a step keeps an end that is a multiple despite float error.
  const eps = step * 1e-9;
  // `+ 0` turns Math.ceil's -0 into 0.
  for (let i = Math.ceil((startUs - eps) / step) + 0; i * step <= endUs + eps; i++) ticks.push(i * step);
  // A window that holds a single multiple gets the next finer step (an axis needs two ticks).
  if (ticks.length < 2 && maxTicks < 64 && endUs - startUs > 2) return axisTicks(startUs, endUs, maxTicks * 2);
  return { step, ticks };
}

export type TimeZoneChoice = "local" | "utc";

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: TimeZoneChoice): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short", ...(zone === "utc" ? { timeZone: "UTC" } : {}) });
    formatters.set(zone, f);
  }
  return f;
}

/**
 * A Unix time in nanoseconds as `2026-12-03 15:09:17.123456 UTC` (or the local zone's name, as
 * `GMT+5:30`): the date, the time to the microsecond, the zone always written.
 */
export function formatTimestamp(unixNano: bigint | string, zone: TimeZoneChoice): string {
  let ns: bigint;
  try {
    ns = BigInt(unixNano);
  } catch {
    return String(unixNano);
  }
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(unixNano);
  const parts = Object.fromEntries(formatter(zone).formatToParts(d).map((p) => [p.type, p.value]));
  const micros = String(((ns / 1000n) % 1_000_000n + 1_000_000n) % 1_000_000n).padStart(6, "0");
  const zoneName = zone === "utc" ? "UTC" : (parts.timeZoneName ?? "");
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}.${micros} ${zoneName}`.trim();
}
