/**
 * @module
 * Text for durations, times and attribute values.
 */
import type { AnyValue } from "../../../shared/model/span.ts";

/** 1.23s, 45.6ms, 789μs: three significant digits, as Jaeger UI shows them. */
export function formatDuration(us: number): string {
  // Trailing zeros after the point go (1.50 → 1.5), never those of the integer part (110).
  const sig = (x: number) => (x >= 100 ? x.toFixed(0) : (x >= 10 ? x.toFixed(1) : x.toFixed(2)).replace(/\.?0+$/, ""));
  if (us < 1) return "0μs";
  if (us < 1000) return `${sig(us)}μs`;
  if (us < 1_000_000) return `${sig(us / 1000)}ms`;
  if (us < 60_000_000) return `${sig(us / 1_000_000)}s`;
  const m = Math.floor(us / 60_000_000);
  return `${m}m ${Math.round((us - m * 60_000_000) / 1_000_000)}s`;
}

/** A Unix time in nanoseconds as an ISO date with microseconds, UTC. */
export function formatTime(unixNano: bigint | string): string {
  const ns = BigInt(unixNano);
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(unixNano);
  const micros = String(Number((ns / 1000n) % 1000n)).padStart(3, "0");
  return d.toISOString().replace("Z", `${micros}Z`);
}

export function anyValueText(v: AnyValue): string {
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return String(v.boolValue);
  if ("intValue" in v) return v.intValue;
  if ("doubleValue" in v) return String(v.doubleValue);
  if ("bytesValue" in v) return `base64:${v.bytesValue}`;
  if ("arrayValue" in v) return `[${v.arrayValue.values.map(anyValueText).join(", ")}]`;
  if ("kvlistValue" in v) return `{${v.kvlistValue.values.map((kv) => `${kv.key}: ${anyValueText(kv.value)}`).join(", ")}}`;
  return "";
}

export const KIND_NAMES = ["unspecified", "internal", "server", "client", "producer", "consumer"];
export const kindName = (k: number) => KIND_NAMES[k] ?? `kind ${k}`;
