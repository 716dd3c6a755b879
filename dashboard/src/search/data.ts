/**
 * @module
 * The query APIs the search page reads: Tempo search, Jaeger's service and operation lists, and
 * Tempo's v2 tag names and values (for the tag filters' suggestions).
 */
import { getJson } from "../api.ts";
import type { SpanSetHit } from "./matched-spans.tsx";
import { attribute, quote, type SearchOrder } from "./query.ts";

export interface TraceHit {
  traceID: string;
  rootServiceName: string;
  rootTraceName: string;
  startTimeUnixNano: string;
  durationMs?: number;
  serviceStats?: Record<string, { spanCount: number; errorCount?: number }>;
  /** The spans the query matched, per span set (Tempo's shape). */
  spanSets?: SpanSetHit[];
}

export interface SearchResponse {
  traces: TraceHit[];
  metrics?: { inspectedTraces?: number; inspectedBytes?: string; inspectedBlocks?: number };
}

/** Where the server found a TraceQL error (1-based line and column), from a 400's body. */
export interface TraceQLPosition {
  line: number;
  column: number;
  offset: number;
}

export function traceqlPosition(body: unknown): TraceQLPosition | undefined {
  if (typeof body !== "object" || !body || !("position" in body)) return undefined;
  const p = (body as { position: unknown }).position;
  if (typeof p !== "object" || !p) return undefined;
  const { line, column, offset } = p as Record<string, unknown>;
  return typeof line === "number" && typeof column === "number" ? { line, column, offset: typeof offset === "number" ? offset : -1 } : undefined;
}

/** `order`: the newest traces of the window (`start`, left out as Tempo's default), or its longest / most failing. */
export function searchTraces(params: { q: string; start: number; end: number; limit: number; order: SearchOrder }, signal?: AbortSignal): Promise<SearchResponse> {
  const { order, ...rest } = params;
  return getJson<SearchResponse>("/api/search", order === "start" ? rest : params, { signal });
}

export async function services(): Promise<string[]> {
  return (await getJson<{ data: string[] | null }>("/jaeger/api/services")).data ?? [];
}

/**
 * Span names of a service: Jaeger's list (from the RED metrics, which leave out INTERNAL spans)
 * merged with the span names the tag-values endpoint finds for the service in the window.
 */
export async function operations(service: string, window: { start: number; end: number }, signal?: AbortSignal): Promise<string[]> {
  const [jaeger, names] = await Promise.allSettled([
    getJson<{ data: string[] | null }>(`/jaeger/api/services/${encodeURIComponent(service)}/operations`, {}, { signal }),
    getJson<{ tagValues: { value: unknown }[] }>("/api/v2/search/tag/name/values", { q: `{ resource.service.name = ${quote(service)} }`, ...window }, { signal }),
  ]);
  if (jaeger.status === "rejected" && names.status === "rejected") throw jaeger.reason;
  const all = new Set<string>();
  if (jaeger.status === "fulfilled") for (const n of jaeger.value.data ?? []) all.add(n);
  if (names.status === "fulfilled") for (const v of names.value.tagValues) all.add(String(v.value));
  return [...all].sort();
}

/** Span and resource attribute names seen in the window, deduplicated and sorted. */
export async function tagNames(window: { start: number; end: number }): Promise<string[]> {
  const res = await getJson<{ scopes: { name: string; tags: string[] }[] }>("/api/v2/search/tags", { ...window });
  const names = new Set<string>();
  for (const s of res.scopes) if (s.name === "span" || s.name === "resource") for (const t of s.tags) names.add(t);
  return [...names].sort();
}

export interface TagValue {
  type: string;
  value: string;
}

/** Values seen for `.key` (span or resource attribute) in the window. */
export async function tagValues(key: string, window: { start: number; end: number }, signal?: AbortSignal): Promise<TagValue[]> {
  const tag = attribute(key);
  const res = await getJson<{ tagValues: { type: string; value: unknown }[] }>(`/api/v2/search/tag/${encodeURIComponent(tag)}/values`, { ...window }, { signal });
  return res.tagValues.map((v) => ({ type: v.type, value: String(v.value) }));
}

/** Matching spans per (time step, power-of-two duration bucket) over a window. */
export interface DurationHistogram {
  startMs: number;
  endMs: number;
  stepMs: number;
  cells: { timestampMs: number; upperSeconds: number; count: number }[];
}

/** Columns the heatmap asks for (the server's step is whole seconds). */
const HEATMAP_COLUMNS = 60;

/**
 * The span durations of every span `q` matches in the window, from TraceQL metrics'
 * `histogram_over_time(duration)` (series per `__bucket`, the bucket's upper bound in seconds).
 */
export async function durationHistogram(q: string, window: { start: number; end: number }, signal?: AbortSignal): Promise<DurationHistogram> {
  const step = Math.max(1, Math.ceil((window.end - window.start) / HEATMAP_COLUMNS));
  type Value = { doubleValue?: number | string; intValue?: number | string; stringValue?: string };
  const res = await getJson<{ series?: { labels?: { key: string; value: Value }[]; samples?: { timestampMs: string | number; value: number }[] }[] }>(
    "/api/metrics/query_range",
    { q: `${q} | histogram_over_time(duration)`, start: window.start, end: window.end, step: `${step}s` },
    { signal },
  );
  const cells: DurationHistogram["cells"] = [];
  for (const s of res.series ?? []) {
    const bucket = s.labels?.find((l) => l.key === "__bucket")?.value;
    const upperSeconds = Number(bucket?.doubleValue ?? bucket?.intValue ?? bucket?.stringValue);
    if (!(upperSeconds > 0)) continue;
    for (const p of s.samples ?? []) if (p.value > 0) cells.push({ timestampMs: Number(p.timestampMs), upperSeconds, count: p.value });
  }
  return { startMs: window.start * 1000, endMs: window.end * 1000, stepMs: step * 1000, cells };
}
