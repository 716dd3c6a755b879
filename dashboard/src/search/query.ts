/**
 * @module
 * The search page's query: the form's state, its round trip through the page URL (so a search is a
 * link, and back/forward restore it), Go-style durations, the time window, and the TraceQL the
 * structured form stands for. Pure (no DOM), so the rules live in one place.
 */

import { RANGES } from "../time-ranges.ts";

export { RANGES };
export type RangeId = (typeof RANGES)[number]["id"] | "custom";

/** The server's bounds for `limit` and the window (workers/dashboard/routes/search.ts). */
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 20;
export const MAX_WINDOW_SECONDS = 7 * 86400;

export type SortKey = "start" | "duration" | "spans" | "errors";
export interface Sort {
  key: SortKey;
  desc: boolean;
}
export const DEFAULT_SORT: Sort = { key: "start", desc: true };

/** The server's ranking (the search's `order`): which `limit` traces of the whole window come back. */
export type SearchOrder = "start" | "duration" | "errors";

/**
 * What the server ranks by for a sort: the longest or most failing traces of the whole window when
 * sorted that way down, else the newest (any other sort reorders those on the page).
 */
export function searchOrder(sort: Sort): SearchOrder {
  return sort.desc && (sort.key === "duration" || sort.key === "errors") ? sort.key : "start";
}

export interface TagFilter {
  key: string;
  value: string;
}

export interface SearchQuery {
  /** `builder`: the structured fields make the TraceQL; `traceql`: `traceql` is sent as typed. */
  mode: "builder" | "traceql";
  range: RangeId;
  /** Custom window, epoch seconds (only with range "custom"). */
  start?: number;
  end?: number;
  service: string;
  operation: string;
  tags: TagFilter[];
  minDuration: string;
  maxDuration: string;
  errorsOnly: boolean;
  limit: number;
  traceql: string;
  sort: Sort;
}

export function defaultQuery(): SearchQuery {
  return { mode: "builder", range: "1h", service: "", operation: "", tags: [], minDuration: "", maxDuration: "", errorsOnly: false, limit: DEFAULT_LIMIT, traceql: "", sort: DEFAULT_SORT };
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
const DURATION = /^\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)/;

/** A Go duration (`100ms`, `1.5s`, `1h30m`) in milliseconds, or undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  let rest = text.trim();
  if (!rest) return undefined;
  let ms = 0;
  while (rest) {
    const m = DURATION.exec(rest);
    if (!m) return undefined;
    const unit = /[a-zµ]+$/.exec(m[0])![0];
    ms += Number(m[0].slice(0, -unit.length)) * UNITS[unit]!;
    rest = rest.slice(m[0].length);
  }
  return ms;
}

export interface Problem {
  field: "minDuration" | "maxDuration" | "limit" | "range" | "traceql" | "tags";
  message: string;
}

/** What is wrong with the form, field by field (empty when it can be searched). */
export function validate(q: SearchQuery): Problem[] {
  const problems: Problem[] = [];
  const min = q.minDuration.trim() ? parseDuration(q.minDuration) : 0;
  const max = q.maxDuration.trim() ? parseDuration(q.maxDuration) : Infinity;
  if (q.mode === "builder") {
    if (min === undefined) problems.push({ field: "minDuration", message: "Min duration: a number with a unit, like 100ms, 1.5s or 2m" });
    if (max === undefined) problems.push({ field: "maxDuration", message: "Max duration: a number with a unit, like 100ms, 1.5s or 2m" });
    if (min !== undefined && max !== undefined && min > max) problems.push({ field: "maxDuration", message: "Max duration is less than min duration" });
    if (q.tags.some((t) => !t.key.trim() && t.value.trim())) problems.push({ field: "tags", message: "A tag filter has a value but no key" });
  } else if (!q.traceql.trim()) {
    problems.push({ field: "traceql", message: "Type a TraceQL query, like { status = error }" });
  }
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_LIMIT) problems.push({ field: "limit", message: `Limit: a whole number from 1 to ${MAX_LIMIT}` });
  if (q.range === "custom") {
    if (q.start === undefined || q.end === undefined) problems.push({ field: "range", message: "Custom range: give both from and to" });
    else if (q.end < q.start) problems.push({ field: "range", message: "Custom range: to is before from" });
    else if (q.end - q.start > MAX_WINDOW_SECONDS) problems.push({ field: "range", message: "Custom range: at most 7 days" });
  }
  return problems;
}

/** The window to search, epoch seconds; presets end now. */
export function windowOf(q: SearchQuery, nowMs = Date.now()): { start: number; end: number } {
  if (q.range === "custom" && q.start !== undefined && q.end !== undefined) return { start: q.start, end: q.end };
  const preset = RANGES.find((r) => r.id === q.range) ?? RANGES[1];
  const end = Math.floor(nowMs / 1000);
  return { start: end - preset.seconds, end };
}

/** A TraceQL string literal. */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r")}"`;
}

/** `.key`, quoted (`."a b"`) when the name has characters that would end an unquoted one. */
export function attribute(key: string): string {
  return /^[\w.\-/:@]+$/.test(key) ? `.${key}` : `.${quote(key)}`;
}

/**
 * A tag filter as TraceQL. A value that reads as a number or a boolean matches both that value and
 * the string (`(.http.status_code = 500 || .http.status_code = "500")`): the same tag is an int
 * from one SDK and a string from another (Zipkin tags are all strings). Only when the tag is known
 * to hold strings alone is it the string; anything else is a string.
 */
function tagCondition(attr: string, value: string, types: ReadonlySet<string> | undefined): string {
  const bare = value === "true" || value === "false" || /^-?\d+(\.\d+)?$/.test(value);
  const stringsOnly = types !== undefined && types.size > 0 && [...types].every((t) => t === "string");
  if (!bare || stringsOnly) return `${attr} = ${quote(value)}`;
  return `(${attr} = ${value} || ${attr} = ${quote(value)})`;
}

/**
 * The TraceQL the structured form stands for: one span matching service, operation, tags and
 * duration (as Jaeger's search matches them), and, for "errors only", an error span anywhere in
 * the trace. `tagTypes` maps a tag key to the value types seen for it.
 */
export function buildTraceQL(q: SearchQuery, tagTypes: ReadonlyMap<string, ReadonlySet<string>> = new Map()): string {
  const conds: string[] = [];
  if (q.service) conds.push(`resource.service.name = ${quote(q.service)}`);
  if (q.operation) conds.push(`name = ${quote(q.operation)}`);
  for (const t of q.tags) {
    const key = t.key.trim();
    if (key) conds.push(tagCondition(attribute(key), t.value, tagTypes.get(key)));
  }
  if (q.minDuration.trim()) conds.push(`duration >= ${q.minDuration.trim()}`);
  if (q.maxDuration.trim()) conds.push(`duration <= ${q.maxDuration.trim()}`);
  const main = `{ ${conds.join(" && ")}${conds.length ? " " : ""}}`;
  if (!q.errorsOnly) return main;
  return conds.length ? `${main} && { status = error }` : "{ status = error }";
}

/** The TraceQL that will be sent. */
export function effectiveTraceQL(q: SearchQuery, tagTypes?: ReadonlyMap<string, ReadonlySet<string>>): string {
  return q.mode === "traceql" ? q.traceql : buildTraceQL(q, tagTypes);
}

/** The page URL's query string for a search (only what differs from the defaults). */
export function toParams(q: SearchQuery): URLSearchParams {
  const p = new URLSearchParams();
  if (q.mode === "traceql") p.set("q", q.traceql);
  else {
    if (q.service) p.set("service", q.service);
    if (q.operation) p.set("operation", q.operation);
    for (const t of q.tags) if (t.key.trim()) p.append("tag", `${t.key.trim()}=${t.value}`);
    if (q.minDuration.trim()) p.set("minDuration", q.minDuration.trim());
    if (q.maxDuration.trim()) p.set("maxDuration", q.maxDuration.trim());
    if (q.errorsOnly) p.set("errors", "1");
  }
  if (q.range === "custom" && q.start !== undefined && q.end !== undefined) {
    p.set("start", String(q.start));
    p.set("end", String(q.end));
  } else if (q.range !== "1h") p.set("range", q.range);
  if (q.limit !== DEFAULT_LIMIT) p.set("limit", String(q.limit));
  if (q.sort.key !== DEFAULT_SORT.key || q.sort.desc !== DEFAULT_SORT.desc) p.set("sort", `${q.sort.key}-${q.sort.desc ? "desc" : "asc"}`);
  return p;
}

/** A search from the page URL; anything unreadable falls back to its default. */
export function fromParams(p: URLSearchParams): SearchQuery {
  const q = defaultQuery();
  const traceql = p.get("q");
  if (traceql !== null) {
    q.mode = "traceql";
    q.traceql = traceql;
  }
  q.service = p.get("service") ?? "";
  q.operation = p.get("operation") ?? "";
  q.tags = p.getAll("tag").map((t) => {
    const i = t.indexOf("=");
    return i < 0 ? { key: t, value: "" } : { key: t.slice(0, i), value: t.slice(i + 1) };
  });
  q.minDuration = p.get("minDuration") ?? "";
  q.maxDuration = p.get("maxDuration") ?? "";
  q.errorsOnly = p.get("errors") === "1";
  const start = Number(p.get("start"));
  const end = Number(p.get("end"));
  if (p.has("start") && p.has("end") && Number.isInteger(start) && Number.isInteger(end)) {
    q.range = "custom";
    q.start = start;
    q.end = end;
  } else {
    const range = p.get("range");
    if (RANGES.some((r) => r.id === range)) q.range = range as RangeId;
  }
  const limit = Number(p.get("limit"));
  if (p.has("limit") && Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT) q.limit = limit;
  const sort = /^(start|duration|spans|errors)-(asc|desc)$/.exec(p.get("sort") ?? "");
  if (sort) q.sort = { key: sort[1] as SortKey, desc: sort[2] === "desc" };
  return q;
}

/**
 * One suggestion per value text: a tag seen as the int 500 and as the string "500" is one entry,
 * labelled with its types when it is not only a string (the search matches both: query.ts).
 */
export function suggestions(values: readonly { type: string; value: string }[]): { value: string; label?: string }[] {
  const types = new Map<string, string[]>();
  for (const v of values) {
    const seen = types.get(v.value) ?? types.set(v.value, []).get(v.value)!;
    if (!seen.includes(v.type)) seen.push(v.type);
  }
  return [...types].map(([value, ts]) => (ts.length === 1 && ts[0] === "string" ? { value } : { value, label: `${value} (${ts.join(" or ")})` }));
}
