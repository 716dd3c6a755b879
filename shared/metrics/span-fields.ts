/**
 * @module
 * The few span facts metrics need, read straight from the span model: a resource's service name,
 * string attributes, durations and time buckets from the decimal-nanosecond times.
 */
import type { AnyValue, KeyValue, Resource } from "../model/span.ts";

/** An attribute as a string (numbers and booleans stringified, as Tempo does); undefined if absent or empty. */
export function stringAttribute(attributes: readonly KeyValue[], key: string): string | undefined {
  for (const kv of attributes) {
    if (kv.key !== key) continue;
    const s = scalarString(kv.value);
    return s === "" ? undefined : s;
  }
  return undefined;
}

function scalarString(v: AnyValue): string | undefined {
  if ("stringValue" in v) return v.stringValue;
  if ("intValue" in v) return v.intValue;
  if ("boolValue" in v) return String(v.boolValue);
  if ("doubleValue" in v) return String(v.doubleValue);
  return undefined;
}

/** The resource's `service.name`, or undefined: such spans belong to no node (Tempo skips them too). */
export function serviceName(resource: Resource): string | undefined {
  return stringAttribute(resource.attributes, "service.name");
}

/** True for a span without a parent (empty, or the all-zero id some SDKs send). */
export function isRootSpan(parentSpanId: string): boolean {
  return parentSpanId === "" || /^0+$/.test(parentSpanId);
}

// Times are up to 20 decimal digits, past a double's exact range; splitting off the nanoseconds
// keeps durations exact without a BigInt per span.
function seconds(nanos: string): number {
  return nanos.length > 9 ? Number(nanos.slice(0, -9)) : 0;
}
function subNanos(nanos: string): number {
  return Number(nanos.length > 9 ? nanos.slice(-9) : nanos);
}

/** end - start in ms, exact to the nanosecond; 0 when the end is before the start (clock skew). */
export function durationMs(startUnixNano: string, endUnixNano: string): number {
  const ns = (seconds(endUnixNano) - seconds(startUnixNano)) * 1e9 + (subNanos(endUnixNano) - subNanos(startUnixNano));
  return ns > 0 ? ns / 1e6 : 0;
}

/** Whole unix seconds of a decimal-nanosecond time. */
export function unixSeconds(unixNano: string): number {
  return seconds(unixNano);
}

/** Start of the `stepSeconds` bucket holding `unixSec`, in unix seconds. */
export function bucketStart(unixSec: number, stepSeconds: number): number {
  return Math.floor(unixSec / stepSeconds) * stepSeconds;
}
