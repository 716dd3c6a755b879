/**
 * @module
 * The Prometheus HTTP API's parameters and answers, without the Workers: what the dashboard's
 * /prometheus routes parse (zod at the boundary: times as epoch seconds with a fraction or RFC 3339,
 * steps and lookbacks as seconds or PromQL durations, `match[]` selectors) and the bodies they
 * write: `{status:"success", data}` and Prometheus' error `{status:"error", errorType, error}`.
 */
import { z } from "zod";
import { parseDuration, parsePromQL, PromQLError, type Expr, type Matcher } from "./parser.ts";
import { DEFAULT_LOOKBACK_SECONDS, lookbackOf, type EvalOptions } from "./eval.ts";

/** Prometheus' limit on the points of one series in a range query. */
export const MAX_POINTS = 11000;
/** The longest span of rows one request reads: a week of answers plus the ranges before it. */
export const MAX_READ_SECONDS = 8 * 24 * 3600;
/** Label and series lookups without `start`/`end` look at the last hour. */
export const DEFAULT_LOOKUP_SECONDS = 3600;

/** A request Prometheus would answer with `bad_data`: the message names the parameter or construct. */
export class BadData extends PromQLError {}

const timeFormat = z.string().transform((v, ctx) => {
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (/^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v))) return Date.parse(v) / 1000;
  ctx.addIssue({ code: "custom", message: `cannot parse "${v}" to a valid timestamp` });
  return z.NEVER;
});

const durationFormat = z.string().transform((v, ctx) => {
  const seconds = /^\d+(\.\d+)?$/.test(v) ? Number(v) : parseDuration(v);
  if (seconds === undefined || !(seconds > 0)) {
    ctx.addIssue({ code: "custom", message: `cannot parse "${v}" to a valid duration` });
    return z.NEVER;
  }
  return seconds;
});

/** The request's parameters: the URL's and, for a form POST, the body's (as Prometheus merges them). */
export type Params = Record<string, string[]>;

function one<T>(params: Params, name: string, format: z.ZodType<T, string>): T | undefined {
  const raw = params[name]?.[0];
  if (raw === undefined || raw === "") return undefined;
  const parsed = format.safeParse(raw);
  if (!parsed.success) throw new BadData(`invalid parameter "${name}": ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

function queryOf(params: Params): Expr {
  const q = params.query?.[0];
  if (!q || !q.trim()) throw new BadData('invalid parameter "query": the query is empty');
  try {
    return parsePromQL(q);
  } catch (err) {
    if (err instanceof PromQLError) throw new BadData(`invalid parameter "query": ${err.message}`);
    throw err;
  }
}

function evalOptions(params: Params): EvalOptions {
  return { lookbackSeconds: one(params, "lookback_delta", durationFormat) ?? DEFAULT_LOOKBACK_SECONDS };
}

/** The rows a query needs: from `readFrom` to `readTo` (epoch seconds), and which metric names. */
export interface Plan {
  expr: Expr;
  opts: EvalOptions;
  readFrom: number;
  readTo: number;
}

function plan(expr: Expr, opts: EvalOptions, start: number, end: number): Plan {
  const readFrom = start - lookbackOf(expr, opts);
  if (end - readFrom > MAX_READ_SECONDS) throw new BadData(`the query reads ${Math.ceil((end - readFrom) / 86400)} days of rows; at most 8 are served (range plus its selectors' ranges)`);
  return { expr, opts, readFrom, readTo: end };
}

/** /api/v1/query: `query`, `time` (default now), `lookback_delta`. */
export function instantParams(params: Params, nowSeconds: number): Plan & { time: number } {
  const expr = queryOf(params);
  const opts = evalOptions(params);
  const time = one(params, "time", timeFormat) ?? nowSeconds;
  return { ...plan(expr, opts, time, time), time };
}

/** /api/v1/query_range: `query`, `start`, `end`, `step` (all required), `lookback_delta`. */
export function rangeParams(params: Params): Plan & { start: number; end: number; step: number } {
  const start = one(params, "start", timeFormat);
  const end = one(params, "end", timeFormat);
  const step = one(params, "step", durationFormat);
  if (start === undefined) throw new BadData('invalid parameter "start": missing');
  if (end === undefined) throw new BadData('invalid parameter "end": missing');
  if (step === undefined) throw new BadData('invalid parameter "step": missing');
  if (end < start) throw new BadData('invalid parameter "end": end timestamp must not be before start time');
  if ((end - start) / step > MAX_POINTS) throw new BadData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
  const expr = queryOf(params);
  const opts = evalOptions(params);
  return { ...plan(expr, opts, start, end), start, end, step };
}

/** /api/v1/labels, /label/<name>/values and /series: `match[]` selectors and `start`/`end` (default the last hour). */
export function lookupParams(params: Params, nowSeconds: number, options: { matchRequired: boolean }): { selectors: Matcher[][]; start: number; end: number } {
  const raw = params["match[]"] ?? [];
  if (options.matchRequired && raw.length === 0) throw new BadData("no match[] parameter provided");
  const selectors = raw.map((m) => {
    let e: Expr;
    try {
      e = parsePromQL(m);
    } catch (err) {
      if (err instanceof PromQLError) throw new BadData(`invalid parameter "match[]": ${err.message}`);
      throw err;
    }
    if (e.type !== "selector" || e.rangeSeconds !== undefined) throw new BadData(`invalid parameter "match[]": ${JSON.stringify(m)} is not a series selector`);
    return e.matchers;
  });
  const end = one(params, "end", timeFormat) ?? nowSeconds;
  const start = one(params, "start", timeFormat) ?? end - DEFAULT_LOOKUP_SECONDS;
  if (end < start) throw new BadData('invalid parameter "end": end timestamp must not be before start time');
  if (end - start > MAX_READ_SECONDS) throw new BadData("start and end are at most 8 days apart");
  return { selectors, start, end };
}

/** Prometheus' errorType for an HTTP status. */
export function errorTypeOf(status: number): string {
  if (status === 400) return "bad_data";
  if (status === 422) return "execution";
  if (status === 503) return "unavailable";
  if (status === 401 || status === 403) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 429) return "too_many_requests";
  return "internal";
}

export function errorBody(status: number, message: string) {
  return { status: "error" as const, errorType: errorTypeOf(status), error: message };
}

export function success<T>(data: T) {
  return { status: "success" as const, data };
}

/** What /api/v1/status/buildinfo answers: a Prometheus 2.x, so Grafana picks its plain Prometheus dialect. */
export const BUILD_INFO = { version: "2.53.0", revision: "edgetrace", branch: "edgetrace", buildUser: "edgetrace", buildDate: "20240101-00:00:00", goVersion: "go1.22" };
