/**
 * @module
 * The query parameters of Jaeger's api_v3 over HTTP (jaeger-idl query_service.openapi.yaml), read
 * as Jaeger's own HTTP gateway reads them. Pure, no I/O; a bad parameter is a `ParamError`
 * (shared/http/params.ts) whose message names it (the route answers 400).
 *
 * Each parameter has its canonical proto3 JSON name (`query.serviceName`, what the OpenAPI lists)
 * and the snake_case alias older clients send (`query.service_name`); the canonical one wins.
 *
 * FindTraces (`GET /api/v3/traces`):
 * - `query.serviceName` (required), `query.operationName`;
 * - `query.attributes`: a URL-encoded JSON object of strings (`{"http.status_code":"500"}`), as
 *   the OpenAPI says; grpc-gateway's map form `query.attributes[http.status_code]=500` is read
 *   too. All on one span, as search-params.ts describes for v1;
 * - `query.startTimeMin` (inclusive) and `query.startTimeMax` (exclusive), RFC 3339 with up to
 *   nanoseconds, both required, min before max;
 * - `query.durationMin`/`query.durationMax`: protobuf Duration strings (`1.5s`) or Go durations
 *   (`300ms`), which Jaeger's gateway accepts; on the matching span's duration;
 * - `query.searchDepth` (alias `query.search_depth`, `query.num_traces`): how many traces, 0 or
 *   absent meaning the default; at most `MAX_LIMIT`, larger values are clamped;
 * - `query.rawTraces`: a Go bool; accepted and without effect, as traces are always answered as
 *   stored (no clock-skew adjustment is ever made);
 * - `query.filter` (the experimental structured filter) is refused, as Jaeger refuses it with its
 *   feature gate off: ignoring it would answer more traces than were asked for.
 *
 * GetDependencies (`GET /api/v3/dependencies`): `startTime` and `endTime` (aliases `start_time`,
 * `end_time`), RFC 3339, both required, end after start.
 */
import { goDurationParam, QUERY_STYLE } from "../http/params.ts";
import { DEFAULT_LIMIT, MAX_LIMIT, searchError, type JaegerSearch } from "./search-params.ts";

type Query = Record<string, string | undefined>;

/** The value and the name it came under: the canonical name first, then the alias(es). */
function param(q: Query, ...names: string[]): [string | undefined, string] {
  for (const name of names) {
    const v = q[name];
    if (v !== undefined && v !== "") return [v, name];
  }
  return [undefined, names[0]!];
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 time (Go's RFC3339Nano layout: fraction optional, `Z` or a numeric offset) as
 * epoch milliseconds, with the fraction below a millisecond kept as a fraction.
 */
export function parseRfc3339(value: string, name: string): number {
  const m = RFC3339.exec(value);
  const bad = () => searchError(`malformed parameter ${name}: "${value}" is not an RFC 3339 time (like 2024-05-01T12:00:00Z)`);
  if (!m) throw bad();
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) throw bad();
  let offsetMinutes = 0;
  if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) throw bad();
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const fractionMs = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  // Date.UTC maps years 0-99 to 1900-1999: set the year afterwards.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  return date.getTime() - offsetMinutes * 60_000 + fractionMs;
}

/** Go's strconv.ParseBool. */
function parseBool(value: string, name: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw searchError(`malformed parameter ${name}: "${value}" is not a bool (true or false)`);
}

function parseAttributes(q: Query): [string, string][] {
  const out = new Map<string, string>();
  const [raw, name] = param(q, "query.attributes");
  if (raw !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw searchError(`malformed parameter ${name}: expected a JSON object of strings, like {"http.status_code":"500"}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw searchError(`malformed parameter ${name}: expected a JSON object of strings`);
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== "string") throw searchError(`malformed parameter ${name}: the value of "${k}" must be a string`);
      out.set(k, v);
    }
  }
  // grpc-gateway's encoding of a map field: one parameter per entry.
  for (const [k, v] of Object.entries(q)) {
    const m = /^query\.attributes\[(.+)\]$/.exec(k);
    if (m && v !== undefined) out.set(m[1]!, v);
  }
  return [...out];
}

export interface V3Search extends JaegerSearch {
  rawTraces: boolean;
}

export function parseV3FindTraces(q: Query): V3Search {
  if (param(q, "query.filter")[0] !== undefined) throw searchError("query.filter is not supported: use query.serviceName, query.operationName, query.attributes and the durations");
  const [service, serviceParam] = param(q, "query.serviceName", "query.service_name");
  if (service === undefined) throw searchError(`${serviceParam} is required`);
  const [operation] = param(q, "query.operationName", "query.operation_name");

  const [minRaw, minName] = param(q, "query.startTimeMin", "query.start_time_min");
  const [maxRaw, maxName] = param(q, "query.startTimeMax", "query.start_time_max");
  if (minRaw === undefined || maxRaw === undefined) throw searchError(`${minName} and ${maxName} are required`);
  const startMin = parseRfc3339(minRaw, minName);
  const startMax = parseRfc3339(maxRaw, maxName);
  if (startMax <= startMin) throw searchError(`${maxName} must be after ${minName}`);

  const [dMinRaw, dMinName] = param(q, "query.durationMin", "query.duration_min");
  const [dMaxRaw, dMaxName] = param(q, "query.durationMax", "query.duration_max");
  const minDurationNanos = goDurationParam(QUERY_STYLE, dMinName, dMinRaw);
  const maxDurationNanos = goDurationParam(QUERY_STYLE, dMaxName, dMaxRaw);
  if (minDurationNanos !== undefined && maxDurationNanos !== undefined && minDurationNanos > maxDurationNanos) throw searchError(`${dMinName} must not be greater than ${dMaxName}`);

  let limit = DEFAULT_LIMIT;
  const [depth, depthName] = param(q, "query.searchDepth", "query.search_depth", "query.num_traces");
  if (depth !== undefined) {
    if (!/^\d{1,10}$/.test(depth) || Number(depth) > 0xffffffff) throw searchError(`malformed parameter ${depthName}: "${depth}" is not a non-negative integer`);
    const n = Number(depth);
    limit = n === 0 ? DEFAULT_LIMIT : Math.min(n, MAX_LIMIT);
  }

  const [raw, rawName] = param(q, "query.rawTraces", "query.raw_traces");
  return {
    query: {
      service,
      ...(operation !== undefined ? { operation } : {}),
      tags: parseAttributes(q),
      ...(minDurationNanos !== undefined ? { minDurationNanos } : {}),
      ...(maxDurationNanos !== undefined ? { maxDurationNanos } : {}),
    },
    startMs: Math.floor(startMin),
    // Exclusive, but the search's end is inclusive to the millisecond: the last whole ms before it.
    endMs: Math.ceil(startMax) - 1,
    limit,
    rawTraces: raw !== undefined && parseBool(raw, rawName),
  };
}

/** GetDependencies' window in epoch ms; longer than `maxWindowMs` is refused. */
export function parseV3Dependencies(q: Query, maxWindowMs: number): { startMs: number; endMs: number } {
  const [startRaw, startName] = param(q, "startTime", "start_time");
  const [endRaw, endName] = param(q, "endTime", "end_time");
  if (startRaw === undefined) throw searchError(`${startName} is required`);
  if (endRaw === undefined) throw searchError(`${endName} is required`);
  const startMs = parseRfc3339(startRaw, startName);
  const endMs = parseRfc3339(endRaw, endName);
  if (endMs <= startMs) throw searchError(`${endName} must be after ${startName}`);
  if (endMs - startMs > maxWindowMs) throw searchError(`${startName} to ${endName} may span at most ${maxWindowMs / 3_600_000} hours`);
  return { startMs, endMs };
}
