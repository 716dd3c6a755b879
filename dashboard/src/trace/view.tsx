/**
 * @module
 * The trace view: header, tabs (timeline, statistics, flame graph, JSON), the timeline's toolbar
 * (search within the trace, filters, next error, critical path, expand/collapse all), minimap,
 * waterfall and span detail. Selection is mirrored in the URL (`?span=<id>`) with
 * history.replaceState so a link to a span can be shared. Opened from a search, the URL's `q` (the
 * search's TraceQL) is asked again for this trace alone, and the spans it matched are marked.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { SpanNode } from "../../../shared/trace-view/span-tree.ts";
import { getJson, projectHref } from "../api.ts";
import { Stat } from "../stat.tsx";
import { formatDuration, formatTimestamp } from "../time-format.ts";
import { TimeZoneToggle, useTimeZone } from "../time-zone.tsx";
import { CopyButton } from "./copy.tsx";
import { logsHref, SpanDetail } from "./detail.tsx";
import { FlameGraph } from "./flame.tsx";
import { Minimap } from "./minimap.tsx";
import { errorSpans, filterRows, nextInOrder, searchSpans, visibleRows, type TraceModel } from "./model.ts";
import { StatsTable } from "./stats.tsx";
import { Waterfall, type TimeWindow } from "./waterfall.tsx";

type Tab = "timeline" | "stats" | "flame" | "json";
const TABS: { id: Tab; label: string }[] = [
  { id: "timeline", label: "Timeline" },
  { id: "stats", label: "Statistics" },
  { id: "flame", label: "Flame graph" },
  { id: "json", label: "JSON" },
];
type Filter = "all" | "errors" | "find" | "query";

/** Pretty JSON beyond this is cut in the tab (the download has all of it). */
const JSON_TAB_LIMIT = 4_000_000;

export interface TraceViewProps {
  model: TraceModel;
  /** Set when the trace came from a file the user opened (not stored). */
  fileName?: string;
  onOpenFile: (f: File) => void;
  fileError?: string;
}

function setSpanInUrl(spanId: string | undefined) {
  const url = new URL(location.href);
  if (spanId) url.searchParams.set("span", spanId);
  else url.searchParams.delete("span");
  history.replaceState(history.state, "", url);
}

const NAME_WIDTH_KEY = "edgetrace.traceNameWidth";
function readNameWidth(): number | undefined {
  try {
    const v = Number(localStorage.getItem(NAME_WIDTH_KEY));
    return v >= 80 && v <= 4000 ? v : undefined;
  } catch {
    return undefined;
  }
}
function writeNameWidth(px: number | undefined) {
  try {
    if (px) localStorage.setItem(NAME_WIDTH_KEY, String(px));
    else localStorage.removeItem(NAME_WIDTH_KEY);
  } catch {
    // Storage refused: the width lasts for this page.
  }
}

interface SearchSpans {
  query: string;
  state: "loading" | "ready" | "error";
  spanIds: Set<string>;
  message?: string;
}

/**
 * The spans of this trace the search's TraceQL matched: the query again through /api/search,
 * piped into `{ trace:id = … }` so only this trace's spansets come back, over the trace's own
 * time (a second either side), with every matched span of each spanset.
 */
function useQueryMatches(model: TraceModel, stored: boolean): SearchSpans | undefined {
  const query = useMemo(() => (stored ? (new URL(location.href).searchParams.get("q") ?? "").trim() : ""), [stored]);
  const [result, setResult] = useState<SearchSpans | undefined>(query ? { query, state: "loading", spanIds: new Set() } : undefined);
  useEffect(() => {
    if (!query || !/^[0-9a-f]{16,32}$/.test(model.traceId)) return;
    const startS = Number(model.tree.traceStartUnixNano / 1_000_000_000n) - 1;
    const endS = startS + Math.ceil(model.tree.durationUs / 1e6) + 2;
    getJson<{ traces?: { traceID: string; spanSets?: { spans?: { spanID: string }[] }[]; spanSet?: { spans?: { spanID: string }[] } }[] }>("/api/search", {
      q: `${query} | { trace:id = "${model.traceId}" }`,
      start: startS,
      end: endS,
      limit: 1,
      spss: 1000,
    })
      .then((body) => {
        const ids = new Set<string>();
        for (const t of body.traces ?? []) for (const set of t.spanSets ?? (t.spanSet ? [t.spanSet] : [])) for (const sp of set.spans ?? []) ids.add(sp.spanID.toLowerCase());
        setResult({ query, state: "ready", spanIds: ids });
      })
      .catch((e: unknown) => setResult({ query, state: "error", spanIds: new Set(), message: e instanceof Error ? e.message : String(e) }));
  }, [model, query]);
  return result;
}

export function downloadTrace(model: TraceModel) {
  // OTLP's own JSON shape (ExportTraceServiceRequest), which the file input and Tempo read back.
  const blob = new Blob([JSON.stringify({ resourceSpans: model.resourceSpans })], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `trace-${model.traceId || "file"}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function OpenFileButton({ onOpenFile }: { onOpenFile: (f: File) => void }) {
  return (
    <label class="tv-file">
      Open OTLP JSON file
      <input
        type="file"
        accept=".json,application/json"
        onChange={(e) => {
          const input = e.currentTarget as HTMLInputElement;
          const f = input.files?.[0];
          if (f) onOpenFile(f);
          input.value = "";
        }}
      />
    </label>
  );
}

export function TraceView({ model, fileName, onOpenFile, fileError }: TraceViewProps) {
  const [tab, setTab] = useState<Tab>("timeline");
  const [collapsed, setCollapsed] = useState<ReadonlySet<SpanNode>>(new Set());
  const initial = useMemo(() => {
    const id = new URL(location.href).searchParams.get("span");
    return id ? model.byId.get(id.toLowerCase()) : undefined;
  }, [model]);
  const [selected, setSelected] = useState<SpanNode | undefined>(initial);
  const [detailOpen, setDetailOpen] = useState(!!initial);
  const [revealToken, setRevealToken] = useState(initial ? 1 : 0);
  const [query, setQuery] = useState("");
  const [matchIndex, setMatchIndex] = useState(0);
  const [showCritical, setShowCritical] = useState(true);
  const [filter, setFilter] = useState<Filter>("all");
  const [nameWidth, setNameWidth] = useState<number | undefined>(readNameWidth);
  const zone = useTimeZone();
  const stored = !fileName;
  const search = useQueryMatches(model, stored);
  const full = { startUs: 0, endUs: Math.max(1, model.tree.durationUs) };
  const [win, setWin] = useState<TimeWindow>(full);
  const searchBox = useRef<HTMLInputElement>(null);

  const matchList = useMemo(() => searchSpans(model, query), [model, query]);
  const matches = useMemo(() => new Set(matchList), [matchList]);
  const errors = useMemo(() => errorSpans(model), [model]);
  const queryMatches = useMemo(() => new Set(search ? model.tree.ordered.filter((n) => search.spanIds.has(n.span.spanId)) : []), [model, search]);
  // A filter keeps its spans and their ancestors (faint, for context); collapsing still applies.
  const filtered = useMemo(() => {
    if (filter === "all" || (filter === "find" && !query.trim())) return undefined;
    const keep = filter === "errors" ? new Set(errors) : filter === "find" ? matches : queryMatches;
    return filterRows(model.tree.ordered, keep);
  }, [model, filter, query, errors, matches, queryMatches]);
  const rows = useMemo(() => visibleRows(filtered ? filtered.rows : model.tree.ordered, collapsed), [model, filtered, collapsed]);

  const select = (n: SpanNode | undefined) => {
    setSelected(n);
    setSpanInUrl(n?.span.spanId);
  };
  /** Selects a span anywhere in the tree: expands its ancestors, scrolls it into view. */
  const reveal = (n: SpanNode) => {
    let changed = false;
    const next = new Set(collapsed);
    for (let p = n.parent; p; p = p.parent) if (next.delete(p)) changed = true;
    if (changed) setCollapsed(next);
    select(n);
    setRevealToken((t) => t + 1);
  };
  const toggle = (n: SpanNode, expand?: boolean) => {
    const next = new Set(collapsed);
    const isCollapsed = next.has(n);
    if (expand ?? isCollapsed) next.delete(n);
    else next.add(n);
    // Collapsing hides the selected span if it is inside: select the collapsed one.
    if (!(expand ?? isCollapsed) && selected && selected !== n) for (let p = selected.parent; p; p = p.parent) if (p === n) select(n);
    setCollapsed(next);
  };
  const gotoError = (step: 1 | -1) => {
    const n = nextInOrder(model, errors, selected, step);
    if (!n) return;
    setTab("timeline");
    reveal(n);
    setDetailOpen(true);
  };
  const gotoMatch = (i: number) => {
    if (!matchList.length) return;
    const j = ((i % matchList.length) + matchList.length) % matchList.length;
    setMatchIndex(j);
    setTab("timeline");
    reveal(matchList[j]!);
  };

  useEffect(() => {
    // "/" jumps to the search box, as in Jaeger UI and GitHub.
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.key === "/" && !(t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT"))) {
        e.preventDefault();
        setTab("timeline");
        searchBox.current?.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const root = model.root;
  const jsonText = useMemo(() => (tab === "json" ? JSON.stringify({ resourceSpans: model.resourceSpans }, null, 2) : ""), [tab, model]);

  return (
    <div class="tv">
      <header class="tv-header">
        <h1>
          {root ? (
            <>
              <span class="tv-swatch big" style={{ background: model.colours.get(root.service) }} />
              <span class="tv-service">{root.service}</span> <span>{root.span.name}</span>
            </>
          ) : (
            "Empty trace"
          )}
        </h1>
        <dl class="tv-summary">
          <Stat label="Start" stat="start">
            {model.tree.ordered.length ? formatTimestamp(model.tree.traceStartUnixNano, zone) : "—"}
            <TimeZoneToggle />
          </Stat>
          <Stat label="Duration">{formatDuration(model.tree.durationUs)}</Stat>
          <Stat label="Spans" stat="spans">
            {model.tree.ordered.length}
          </Stat>
          <Stat label="Services" stat="services">
            {model.services.length}
          </Stat>
          <Stat label="Depth">{model.maxDepth + 1}</Stat>
          <Stat label="Errors" stat="errors" class={model.errors ? "error-text" : ""}>
            {model.errors}
          </Stat>
          <div class="tv-traceid">
            <dt>Trace ID</dt>
            <dd>
              <code>{model.traceId || "—"}</code>
              {model.traceId && <CopyButton text={model.traceId} label="Copy trace ID" />}
            </dd>
          </div>
        </dl>
        <div class="tv-actions">
          {/^[0-9a-f]{16,32}$/.test(model.traceId) && <a href={projectHref(`/compare?a=${model.traceId}`)}>Compare with another trace</a>}
          <TraceLogsLink model={model} />
          <button type="button" onClick={() => downloadTrace(model)}>
            Download JSON
          </button>
          <OpenFileButton onOpenFile={onOpenFile} />
        </div>
        {fileName && (
          <p class="notice tv-file-note">
            Viewing <strong>{fileName}</strong> from your computer; it is not stored.
          </p>
        )}
        {fileError && (
          <p class="notice error" role="alert">
            {fileError}
          </p>
        )}
        {search && (
          <p class={`notice tv-query-note${search.state === "error" ? " error" : ""}`} role="status">
            {search.state === "loading" && "Finding the spans the search's query matched…"}
            {search.state === "ready" && `The search's query matched ${queryMatches.size} ${queryMatches.size === 1 ? "span" : "spans"} of this trace (marked): `}
            {search.state === "error" && `Could not find the spans the search's query matched (${search.message}): `}
            <code>{search.query}</code>
          </p>
        )}
        <ul class="tv-legend" aria-label="Services">
          {model.services.map((s) => (
            <li key={s}>
              <span class="tv-swatch" style={{ background: model.colours.get(s) }} />
              {s}
            </li>
          ))}
        </ul>
      </header>

      <div class="tv-tabs" role="tablist" aria-label="Trace views">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tv-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`tv-panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            class={tab === t.id ? "active" : ""}
            onClick={() => setTab(t.id)}
            onKeyDown={(e) => {
              const i = TABS.findIndex((x) => x.id === tab);
              const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
              if (!d) return;
              const next = TABS[(i + d + TABS.length) % TABS.length]!;
              setTab(next.id);
              document.getElementById(`tv-tab-${next.id}`)?.focus();
            }}
          >
            {t.label}
          </button>
        ))}
      </div>

      <div class={`tv-body${detailOpen && selected ? " with-detail" : ""}`}>
        <section role="tabpanel" id={`tv-panel-${tab}`} aria-labelledby={`tv-tab-${tab}`} class="tv-panel">
          {tab === "timeline" && (
            <>
              <div class="tv-toolbar">
                <form
                  role="search"
                  class="tv-search"
                  onSubmit={(e) => {
                    e.preventDefault();
                    gotoMatch(matchIndex + (matches.has(selected!) ? 1 : 0));
                  }}
                >
                  <input
                    ref={searchBox}
                    type="search"
                    placeholder="Find in trace (/)"
                    aria-label="Find in trace"
                    value={query}
                    onInput={(e) => {
                      setQuery((e.currentTarget as HTMLInputElement).value);
                      setMatchIndex(0);
                    }}
                    onKeyDown={(e) => {
                      if (e.key === "Enter" && e.shiftKey) {
                        e.preventDefault();
                        gotoMatch(matchIndex - 1);
                      }
                    }}
                  />
                  <span class="tv-match-count" aria-live="polite">
                    {query.trim() ? (matchList.length ? `${Math.min(matchIndex + 1, matchList.length)} of ${matchList.length}` : "no matches") : ""}
                  </span>
                  <button type="button" aria-label="Previous match" disabled={!matchList.length} onClick={() => gotoMatch(matchIndex - 1)}>
                    ↑
                  </button>
                  <button type="button" aria-label="Next match" disabled={!matchList.length} onClick={() => gotoMatch(matches.has(selected!) ? matchIndex + 1 : matchIndex)}>
                    ↓
                  </button>
                </form>
                <label class="tv-inline">
                  Show{" "}
                  <select value={filter} aria-label="Show spans" onChange={(e) => setFilter((e.currentTarget as HTMLSelectElement).value as Filter)}>
                    <option value="all">All spans</option>
                    <option value="errors">Errors only ({errors.length})</option>
                    <option value="find" disabled={!query.trim()}>
                      Matching the find box ({matchList.length})
                    </option>
                    {search && <option value="query">Matched by the search's query ({queryMatches.size})</option>}
                  </select>
                </label>
                <button type="button" disabled={!errors.length} onClick={() => gotoError(1)} title="Select the next span with an error">
                  Next error
                </button>
                <label class="tv-inline">
                  <input type="checkbox" checked={showCritical} onChange={(e) => setShowCritical((e.currentTarget as HTMLInputElement).checked)} /> Critical path
                </label>
                <button type="button" onClick={() => setCollapsed(new Set())}>
                  Expand all
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setCollapsed(new Set(model.tree.ordered.filter((n) => n.children.length)));
                    if (selected) {
                      let top = selected;
                      while (top.parent) top = top.parent;
                      select(top);
                    }
                  }}
                >
                  Collapse all
                </button>
              </div>
              <Minimap model={model} window={win} onWindow={setWin} />
              <Waterfall
                model={model}
                rows={rows}
                collapsed={collapsed}
                selected={selected}
                matches={matches}
                queryMatches={queryMatches}
                context={filtered?.context}
                nameWidth={nameWidth}
                onNameWidth={(px) => {
                  setNameWidth(px);
                  writeNameWidth(px);
                }}
                showCritical={showCritical}
                window={win}
                revealToken={revealToken}
                onSelect={select}
                onOpen={(n) => {
                  select(n);
                  setDetailOpen(true);
                }}
                onToggle={toggle}
                onPainted={() => performance.mark("trace-rendered")}
              />
              <p class="muted tv-hint">
                Keys: ↑ ↓ move, ← → collapse and expand, Enter opens the span, / finds. {rows.length} of {model.tree.ordered.length} spans shown{filtered ? " (filtered; faint rows are ancestors shown for context)" : ""}.
              </p>
            </>
          )}
          {tab === "stats" && <StatsTable model={model} />}
          {tab === "flame" && (
            <FlameGraph
              model={model}
              selected={selected}
              onSelect={(n) => {
                select(n);
                setDetailOpen(true);
              }}
            />
          )}
          {tab === "json" && (
            <>
              {jsonText.length > JSON_TAB_LIMIT && <p class="notice">The first {Math.round(JSON_TAB_LIMIT / 1e6)} MB of {(jsonText.length / 1e6).toFixed(1)} MB are shown; Download JSON has all of it.</p>}
              <pre class="tv-json" tabIndex={0} aria-label="Trace as OTLP JSON">
                {jsonText.length > JSON_TAB_LIMIT ? jsonText.slice(0, JSON_TAB_LIMIT) : jsonText}
              </pre>
            </>
          )}
        </section>
        {detailOpen && selected && (
          <SpanDetail
            model={model}
            node={selected}
            onSelect={reveal}
            stored={stored}
            onClose={() => {
              setDetailOpen(false);
              document.querySelector<HTMLElement>(`.tv-row[data-span-id="${selected.span.spanId}"]`)?.focus();
            }}
          />
        )}
      </div>
    </div>
  );
}

/** The trace's logs (the project's logs link, when set) over the whole trace's time, padded. */
function TraceLogsLink({ model }: { model: TraceModel }) {
  const root = model.root;
  if (!root || !model.traceId) return null;
  const start = model.tree.traceStartUnixNano;
  const href = logsHref({ traceId: model.traceId, spanId: "", service: root.service, startUnixNano: start, endUnixNano: start + BigInt(Math.round(model.tree.durationUs)) * 1000n });
  if (!href) return null;
  return (
    <a href={href} target="_blank" rel="noopener noreferrer">
      Logs for this trace ↗
    </a>
  );
}
