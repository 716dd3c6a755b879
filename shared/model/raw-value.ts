import { jsonInt64 } from "./json-int64.ts";
import type { AnyValue } from "./span.ts";

/**
 * The plain JSON value of an AnyValue (pdata's AsRaw): what Jaeger and Zipkin show for arrays,
 * kvlists and event attributes. An int64 beyond 2^53 is a JsonInt64, which JSON.stringify writes
 * as the exact number (as Go does); a non-finite double stays a string, so the result is exact
 * and valid JSON.
 */
export function rawValue(v: AnyValue): unknown {
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  if ("intValue" in v) return jsonInt64(v.intValue);
  if ("doubleValue" in v) return Number.isFinite(v.doubleValue) ? v.doubleValue : String(v.doubleValue);
  if ("bytesValue" in v) return v.bytesValue;
  if ("arrayValue" in v) return v.arrayValue.values.map(rawValue);
  if ("kvlistValue" in v) return Object.fromEntries(v.kvlistValue.values.map((kv) => [kv.key, rawValue(kv.value)]));
  return null;
}
