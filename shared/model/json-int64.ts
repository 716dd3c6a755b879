/**
 * @module
 * An int64 written to JSON as an exact number, as Go's encoding/json writes one (Jaeger's and the
 * collector's JSON). A JS number holds integers exactly only up to 2^53, and JSON.stringify cannot
 * write a bigint; a JsonInt64 writes its decimal digits as they are (`toJSON` returns a
 * `JSON.rawJSON`, which workerd and Node 22 have), so any JSON.stringify of the object around it,
 * `c.json` included, is exact. Reading code that compares by string form gets the digits from
 * `String()`.
 */

type RawJson = (text: string) => unknown;
const rawJSON = (JSON as unknown as { rawJSON?: RawJson }).rawJSON;

export class JsonInt64 {
  /** Canonical decimal digits (no leading zeros, "-" only when negative). */
  readonly digits: string;

  constructor(decimal: string) {
    this.digits = BigInt(decimal).toString();
  }

  toString(): string {
    return this.digits;
  }

  toJSON(): unknown {
    // Without rawJSON the runtime cannot write an exact number: the digits as a string beat a
    // rounded number (workerd and Node 22 have it; the workerd tests check the number).
    return rawJSON ? rawJSON(this.digits) : this.digits;
  }
}

/** An OTLP intValue as a JSON value: a plain number when exact as one, else a JsonInt64. */
export function jsonInt64(intValue: string): number | JsonInt64 {
  const n = Number(intValue);
  return Number.isSafeInteger(n) ? n : new JsonInt64(intValue);
}
