/**
 * @module
 * The query of Jaeger's trace search (`GET /api/traces?service&operation&tags&minDuration&
 * maxDuration&start&end&lookback&limit`) as the parameters of Tempo's legacy tags search, so the
 * search reuses `tagsMatcher`. Pure, no I/O.
 *
 * - `service` (required) → tag `service.name`, `operation` → tag `name`, `tags` (a JSON object of
 *   strings; numbers and bools are taken by their string form) → the other tags. `service` and
 *   `operation` win over a `tags` entry with the same key.
 * - `minDuration`/`maxDuration`: Go durations (`300ms`, `1.2s`), checked by `tagsMatcher`.
 * - `start`/`end`: epoch microseconds; `end` defaults to now, `start` to `end` minus `lookback`
 *   (a Go duration; Jaeger UI also sends `custom`, meaning start/end rule) or one hour.
 * - `limit`: default 100 (Jaeger's query service default; Jaeger UI sends 20), 0 also means the
 *   default, at most `MAX_LIMIT`.
 *
 * Departure from Jaeger: conditions are trace-level as in Tempo's legacy search (a trace matches
 * when some span of the service exists, some span has the operation name, some span or resource
 * has each tag, and the trace's duration is within the bounds), where Jaeger wants one span
 * meeting them all, with the durations on that span.
 */
import type { TagsSearch } from "../search/tags-matcher.ts";
import { parseGoDuration, TagsQueryError } from "../search/tags-matcher.ts";

export const DEFAULT_LIMIT = 100;
/** Each result is fetched in full: keep the fan-out of reads bounded. */
export const MAX_LIMIT = 100;
const HOUR_MS = 3_600_000;

export interface JaegerSearch {
  tags: TagsSearch;
  startMs: number;
  endMs: number;
  limit: number;
}

/** Thrown for a bad parameter; the route answers 400 with the message. */
export class JaegerSearchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JaegerSearchError";
  }
}

/** A logfmt value, quoted when it needs to be (tagsMatcher's parser reads the escapes back). */
function logfmtValue(v: string): string {
  if (v !== "" && !/[\s"\\=]/.test(v)) return v;
  return `"${v.replace(/[\\"\n\t\r]/g, (ch) => (ch === "\n" ? "\\n" : ch === "\t" ? "\\t" : ch === "\r" ? "\\r" : `\\${ch}`))}"`;
}

function logfmtKey(k: string): string {
  if (!k || /[\s"=]/.test(k)) throw new JaegerSearchError(`tags: unsupported tag key ${JSON.stringify(k)}`);
  return k;
}

function parseTagsJson(raw: string | undefined): [string, string][] {
  if (raw === undefined || raw === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new JaegerSearchError("tags: expected a JSON object of strings, like {\"http.status_code\":\"500\"}");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new JaegerSearchError("tags: expected a JSON object of strings");
  return Object.entries(parsed).map(([k, v]) => {
    if (typeof v === "string") return [k, v];
    if (typeof v === "number" || typeof v === "boolean") return [k, String(v)];
    throw new JaegerSearchError(`tags: the value of "${k}" must be a string`);
  });
}

function parseMicros(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (!/^\d{1,17}$/.test(v)) throw new JaegerSearchError(`${name} must be epoch microseconds, got "${v}"`);
  return Number(v) / 1000;
}

export function parseJaegerSearch(query: Record<string, string | undefined>, nowMs: number): JaegerSearch {
  const service = query.service;
  if (!service) throw new JaegerSearchError("parameter 'service' is required");

  const pairs = new Map<string, string>(parseTagsJson(query.tags));
  pairs.delete("service.name");
  pairs.set("service.name", service);
  if (query.operation) {
    pairs.delete("name");
    pairs.set("name", query.operation);
  }
  const tags = [...pairs].map(([k, v]) => `${logfmtKey(k)}=${logfmtValue(v)}`).join(" ");

  const endUs = parseMicros("end", query.end);
  const startUs = parseMicros("start", query.start);
  const endMs = Math.ceil(endUs ?? nowMs);
  let lookbackMs = HOUR_MS;
  if (query.lookback && query.lookback !== "custom") {
    try {
      lookbackMs = Number(parseGoDuration(query.lookback, "lookback") / 1_000_000n);
    } catch (err) {
      throw new JaegerSearchError(err instanceof TagsQueryError ? err.message : String(err));
    }
  }
  const startMs = Math.floor(startUs ?? endMs - lookbackMs);
  if (startMs > endMs) throw new JaegerSearchError("start is after end");

  let limit = DEFAULT_LIMIT;
  if (query.limit !== undefined && query.limit !== "") {
    if (!/^\d{1,9}$/.test(query.limit)) throw new JaegerSearchError(`limit must be a non-negative integer, got "${query.limit}"`);
    const n = Number(query.limit);
    // 0 (no limit asked for) means the default.
    limit = n === 0 ? DEFAULT_LIMIT : Math.min(n, MAX_LIMIT);
  }

  return {
    tags: { tags, ...(query.minDuration ? { minDuration: query.minDuration } : {}), ...(query.maxDuration ? { maxDuration: query.maxDuration } : {}) },
    startMs,
    endMs,
    limit,
  };
}
