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
 *
 * A bad parameter is a `ParamError` (shared/http/params.ts, which reads the times, durations and
 * the limit) whose message names it; the route answers 400 with it.
 */
import { badParam, epochMicros, goDurationParam, nonNegativeInteger, param, ParamError, QUERY_STYLE } from "../http/params.ts";
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

/** A bad Jaeger search parameter (v1 and api_v3). */
export function searchError(message: string): ParamError {
  return new ParamError(message, QUERY_STYLE.code);
}


function parseTagsJson(raw: string | undefined): [string, string][] {
  if (raw === undefined || raw === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw searchError("tags: expected a JSON object of strings, like {\"http.status_code\":\"500\"}");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw searchError("tags: expected a JSON object of strings");
  return Object.entries(parsed).map(([k, v]) => {
    if (typeof v === "string") return [k, v];
    if (typeof v === "number" || typeof v === "boolean") return [k, String(v)];
    throw searchError(`tags: the value of "${k}" must be a string`);
  });
}

export function parseJaegerSearch(query: Record<string, string | undefined>, nowMs: number): JaegerSearch {
  const service = query.service;
  if (!service) throw searchError("parameter 'service' is required");

  const tags = new Map<string, string>(parseTagsJson(query.tags));
  tags.delete("service.name");
  const minDurationNanos = goDurationParam(QUERY_STYLE, "minDuration", query.minDuration);
  const maxDurationNanos = goDurationParam(QUERY_STYLE, "maxDuration", query.maxDuration);
  if (minDurationNanos !== undefined && maxDurationNanos !== undefined && minDurationNanos > maxDurationNanos) throw badParam(QUERY_STYLE, "minDuration", "must not be greater than maxDuration");

  // Microseconds, read as milliseconds with the fraction kept.
  const end = param(QUERY_STYLE, "end", query.end, epochMicros);
  const start = param(QUERY_STYLE, "start", query.start, epochMicros);
  const endMs = Math.ceil(end ?? nowMs);
  let lookbackMs = HOUR_MS;
  if (query.lookback && query.lookback !== "custom") {
    lookbackMs = Number(goDurationParam(QUERY_STYLE, "lookback", query.lookback)! / 1_000_000n);
  }
  const startMs = Math.floor(start ?? endMs - lookbackMs);
  if (startMs > endMs) throw badParam(QUERY_STYLE, "start", "is after end");

  const n = param(QUERY_STYLE, "limit", query.limit, nonNegativeInteger(9));
  // 0 (no limit asked for) means the default.
  const limit = n === undefined || n === 0 ? DEFAULT_LIMIT : Math.min(n, MAX_LIMIT);

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
