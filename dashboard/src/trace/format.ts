/**
 * @module
 * Text for attribute values and span kinds (durations and times: ../time-format.ts).
 */
import type { AnyValue } from "../../../shared/model/span.ts";

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
