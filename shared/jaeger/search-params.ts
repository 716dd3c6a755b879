/**
 * @module
 * The query of Jaeger's trace search (`GET /api/traces?service&operation&tags&minDuration&
 * maxDuration&start&end&lookback&limit`) as a `JaegerSpanQuery` (span-query.ts), matched on one
 * span as Jaeger's storages do. Pure, no I/O.
 *
 * - `service` (required), `operation`, `tags` (a JSON object of strings; numbers and bools are
 *   taken by their string form): one span of the service with that operation and every tag (on
 *   the span, its process or its logs). A `service.name` entry in `tags` is dropped: `service`
 *   says it.
 * - `minDuration`/`maxDuration`: Go durations (`300ms`, `1.2s`), on that span's duration.
 * - `start`/`end`: epoch microseconds; `end` defaults to now, `start` to `end` minus `lookback`
 *   (a Go duration; Jaeger UI also sends `custom`, meaning start/end rule) or one hour.
 * - `limit`: default 100 (Jaeger's query service default; Jaeger UI sends 20), 0 also means the
 *   default, at most `MAX_LIMIT`.
 */
import { parseGoDuration, TagsQueryError } from "../search/tags-matcher.ts";
import type { JaegerSpanQuery } from "./span-query.ts";

export const DEFAULT_LIMIT = 100;
/** Each result is fetched in full: keep the fan-out of reads bounded. */
export const MAX_LIMIT = 100;
const HOUR_MS = 3_600_000;

export interface JaegerSearch {
  query: JaegerSpanQuery;
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

/** A Go duration in nanoseconds, refused as a JaegerSearchError naming the parameter. */
export function durationParam(name: string, v: string | undefined): bigint | undefined {
  if (v === undefined || v === "") return undefined;
  try {
    return parseGoDuration(v, name);
  } catch (err) {
    throw new JaegerSearchError(err instanceof TagsQueryError ? err.message : String(err));
  }
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

  const tags = new Map<string, string>(parseTagsJson(query.tags));
  tags.delete("service.name");
  const minDurationNanos = durationParam("minDuration", query.minDuration);
  const maxDurationNanos = durationParam("maxDuration", query.maxDuration);
  if (minDurationNanos !== undefined && maxDurationNanos !== undefined && minDurationNanos > maxDurationNanos) throw new JaegerSearchError("minDuration must not be greater than maxDuration");

  const endUs = parseMicros("end", query.end);
  const startUs = parseMicros("start", query.start);
  const endMs = Math.ceil(endUs ?? nowMs);
  let lookbackMs = HOUR_MS;
  if (query.lookback && query.lookback !== "custom") {
    lookbackMs = Number(durationParam("lookback", query.lookback)! / 1_000_000n);
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
    query: {
      service,
      ...(query.operation ? { operation: query.operation } : {}),
      tags: [...tags],
      ...(minDurationNanos !== undefined ? { minDurationNanos } : {}),
      ...(maxDurationNanos !== undefined ? { maxDurationNanos } : {}),
    },
    startMs,
    endMs,
    limit,
  };
}
