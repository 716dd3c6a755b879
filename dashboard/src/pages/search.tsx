/**
 * The search page: a form (structured fields or TraceQL) whose whole query lives in the page URL,
 * a scatter plot of duration over time and a sortable table of the traces found. Searching pushes
 * a history entry, so back/forward restore (and re-run) earlier searches and a link shares one.
 */
import "../ui.css";
import "../search/search.css";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, projectHref } from "../api.ts";
import { mount } from "../mount.tsx";
import { durationHistogram, searchTraces, services as loadServices, type DurationHistogram, tagNames as loadTagNames, tagValues, traceqlPosition, type TagValue, type TraceHit } from "../search/data.ts";
import { SearchForm, type ServerError } from "../search/form.tsx";
import { plural } from "../search/format.ts";
import { defaultQuery, effectiveTraceQL, fromParams, RANGES, searchOrder, toParams, validate, windowOf, type Problem, type SearchQuery, type SearchOrder, type Sort } from "../search/query.ts";
import { Results, type Row } from "../search/results.tsx";
import { matchedOf } from "../search/matched-spans.tsx";
import { summarizeHit } from "../../../shared/trace-view/search-hit.ts";
import { traceIdFromInput } from "../../../shared/trace-view/trace-id-input.ts";
import { Heatmap } from "../search/heatmap.tsx";
import { Scatter } from "../search/scatter.tsx";

type Outcome =
  | { status: "idle" }
  | { status: "loading"; previous?: Found }
  | { status: "done"; found: Found }
  | { status: "failed"; message: string; traceql?: ServerError };

interface Found {
  rows: Row[];
  query: SearchQuery;
  traceql: string;
  window: { start: number; end: number };
  limit: number;
  /** What the server ranked the whole window by. */
  order: SearchOrder;
  inspected?: { traces?: number; bytes?: number };
}

const ORDER_WORDS: Record<SearchOrder, string> = { start: "newest", duration: "slowest", errors: "most failing" };

/** What the results cover: how many, which of the window's matches (the server's ranking), and the window. */
function describeFound(f: Found): string {
  const n = f.rows.length;
  const window = describeWindow(f.query, f.window);
  if (n < f.limit) return `${plural(n, "trace")} ${window}: all that match`;
  const which = `The ${f.limit.toLocaleString()} ${ORDER_WORDS[f.order]} matching traces ${window}`;
  const onPage = f.query.sort.desc && searchOrder(f.query.sort) === f.query.sort.key ? "" : ", sorted on this page";
  return `${which}${onPage} (raise the limit for more)`;
}

/** A found trace as a row; its link carries the query (unless it matches every span) so the trace view marks the spans it matched. */
function toRow(t: TraceHit, traceql: string): Row {
  return {
    traceID: t.traceID,
    ...summarizeHit(t),
    href: projectHref(`/traces/${encodeURIComponent(t.traceID)}${/^\{\s*\}$/.test(traceql.trim()) ? "" : `?q=${encodeURIComponent(traceql)}`}`),
    matched: matchedOf(t.spanSets),
  };
}

function describeWindow(q: SearchQuery, w: { start: number; end: number }): string {
  const preset = RANGES.find((r) => r.id === q.range);
  const at = (sec: number) => new Date(sec * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  return preset ? `in the ${preset.label.toLowerCase()}` : `from ${at(w.start)} to ${at(w.end)}`;
}

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function SearchPage() {
  const [draft, setDraft] = useState<SearchQuery>(() => fromParams(new URLSearchParams(location.search)));
  const [outcome, setOutcome] = useState<Outcome>({ status: "idle" });
  const [problems, setProblems] = useState<Problem[]>([]);
  const [services, setServices] = useState<string[] | undefined>(undefined);
  const [tagNames, setTagNames] = useState<string[]>([]);
  const [tagValueCache, setTagValueCache] = useState<Map<string, TagValue[]>>(new Map());
  const [selected, setSelected] = useState<string[]>([]);
  const [histogram, setHistogram] = useState<DurationHistogram | undefined>(undefined);
  const [now, setNow] = useState(Date.now());
  const inflight = useRef<AbortController | undefined>(undefined);
  // The cache as of now, for searches started from event handlers and popstate.
  const cacheRef = useRef(tagValueCache);
  cacheRef.current = tagValueCache;

  const typesOf = (cache: ReadonlyMap<string, TagValue[]>) => new Map([...cache].map(([k, vs]) => [k, new Set(vs.map((v) => v.type))]));
  const effective = useMemo(() => effectiveTraceQL(draft, typesOf(tagValueCache)), [draft, tagValueCache]);

  const rememberValues = (key: string, values: TagValue[]) =>
    setTagValueCache((c) => {
      const next = new Map(c);
      next.set(key, values);
      return next;
    });

  /** Runs a search; `history` says whether the URL gets a new entry, replaces the current one, or is left (popstate). */
  async function run(q: SearchQuery, history: "push" | "replace" | "none") {
    // A trace id searched for in the TraceQL box opens that trace (only when asked: no trap on back).
    const traceId = history === "push" && q.mode === "traceql" ? traceIdFromInput(q.traceql) : undefined;
    if (traceId) return location.assign(projectHref(`/traces/${traceId}`));
    const found = validate(q);
    setProblems(found);
    if (found.length) return;
    const params = toParams(q).toString();
    const url = `${location.pathname}${params ? `?${params}` : ""}`;
    if (history === "push" && url !== `${location.pathname}${location.search}`) window.history.pushState(null, "", url);
    else if (history === "replace") window.history.replaceState(null, "", url);

    inflight.current?.abort();
    const ctl = new AbortController();
    inflight.current = ctl;
    setOutcome((o) => ({ status: "loading", previous: o.status === "done" ? o.found : o.status === "loading" ? o.previous : undefined }));
    setSelected([]);
    const w = windowOf(q);
    // A tag value is written as a number or boolean only if the tag holds that type, so learn the
    // types of tags typed (or linked) before their suggestions arrived.
    const cache = new Map(cacheRef.current);
    if (q.mode === "builder") {
      await Promise.all(
        q.tags
          .map((t) => t.key.trim())
          .filter((k) => k && !cache.has(k))
          .map((k) =>
            tagValues(k, w, ctl.signal).then(
              (vs) => {
                cache.set(k, vs);
                rememberValues(k, vs);
              },
              () => undefined,
            ),
          ),
      );
    }
    const traceql = effectiveTraceQL(q, typesOf(cache));
    const order = searchOrder(q.sort);
    setHistogram(undefined);
    try {
      const res = await searchTraces({ q: traceql, start: w.start, end: w.end, limit: q.limit, order }, ctl.signal);
      if (ctl.signal.aborted) return;
      const bytes = Number(res.metrics?.inspectedBytes);
      setNow(Date.now());
      setOutcome({ status: "done", found: { rows: res.traces.map((t) => toRow(t, traceql)), query: q, traceql, window: w, limit: q.limit, order, inspected: { traces: res.metrics?.inspectedTraces, bytes: Number.isFinite(bytes) ? bytes : undefined } } });
      // The heatmap covers every matching span of the window: asked for once the rows are shown,
      // drawn when it arrives; a query metrics cannot run (a pipeline of its own, say) has none.
      durationHistogram(traceql, w, ctl.signal).then(
        (h) => !ctl.signal.aborted && setHistogram(h),
        () => undefined,
      );
    } catch (err) {
      if (ctl.signal.aborted) return;
      if (err instanceof ApiError && err.status === 400) {
        const position = traceqlPosition(err.body);
        if (position || (typeof err.body === "object" && err.body && (err.body as { error?: unknown }).error === "invalid_traceql")) {
          setOutcome({ status: "failed", message: err.message, traceql: { message: err.message, position, query: traceql } });
          return;
        }
      }
      const message = err instanceof ApiError ? (err.status === 401 || err.status === 403 ? "Your session has ended: log in again." : err.message) : "The search could not reach the server. Check your connection and try again.";
      setOutcome({ status: "failed", message });
    }
  }

  useEffect(() => {
    void run(draft, "replace");
    loadServices().then(setServices, () => setServices([]));
    const onPop = () => {
      const q = fromParams(new URLSearchParams(location.search));
      setDraft(q);
      void run(q, "none");
    };
    window.addEventListener("popstate", onPop);
    const tick = setInterval(() => setNow(Date.now()), 30_000);
    return () => {
      window.removeEventListener("popstate", onPop);
      clearInterval(tick);
    };
  }, []);

  // Tag names for the key suggestions, for the window being searched.
  const windowKey = `${draft.range}:${draft.start}:${draft.end}`;
  useEffect(() => {
    const timer = setTimeout(() => loadTagNames(windowOf(draft)).then(setTagNames, () => undefined), 300);
    return () => clearTimeout(timer);
  }, [windowKey]);

  const onSort = (sort: Sort) => {
    setDraft((d) => ({ ...d, sort }));
    if (outcome.status === "done") {
      const query = { ...outcome.found.query, sort };
      // The slowest or most failing of the whole window is another search, not the page reordered.
      if (searchOrder(sort) !== outcome.found.order) {
        void run(query, "replace");
        return;
      }
      setOutcome({ status: "done", found: { ...outcome.found, query } });
      // Sorting is not a new search: the URL follows without a new history entry.
      const params = toParams(query).toString();
      window.history.replaceState(null, "", `${location.pathname}${params ? `?${params}` : ""}`);
    }
  };

  const found = outcome.status === "done" ? outcome.found : outcome.status === "loading" ? outcome.previous : undefined;
  const busy = outcome.status === "loading";
  const widest = RANGES[RANGES.length - 1]!;

  return (
    <div class="search-page">
      <div class="page-head">
        <h1>Search</h1>
        {!(draft.mode === "builder" && JSON.stringify(draft) === JSON.stringify({ ...defaultQuery(), sort: draft.sort })) && (
          <a href={location.pathname} class="reset" onClick={(e) => {
            e.preventDefault();
            const q = { ...defaultQuery(), sort: draft.sort };
            setDraft(q);
            void run(q, "push");
          }}>
            Reset the search
          </a>
        )}
      </div>
      <SearchForm
        draft={draft}
        onChange={setDraft}
        onSubmit={() => void run(draft, "push")}
        services={services}
        tagNames={tagNames}
        tagValueCache={tagValueCache}
        onTagValues={rememberValues}
        effectiveQuery={effective}
        problems={problems}
        serverError={outcome.status === "failed" ? outcome.traceql : undefined}
        busy={busy}
      />

      <section class="found" aria-labelledby="found-heading" aria-busy={busy}>
        <h2 id="found-heading" class="sr-only">
          Results
        </h2>
        <p class="summary" role="status">
          {busy
            ? "Searching…"
            : outcome.status === "done"
              ? describeFound(outcome.found)
              : ""}
          {!busy && outcome.status === "done" && outcome.found.inspected?.traces !== undefined && (
            <span class="muted">
              {" "}
              · looked at {plural(outcome.found.inspected.traces, "trace")}
              {outcome.found.order !== "start" ? " (the whole window)" : ""}
              {outcome.found.inspected.bytes !== undefined ? `, read ${formatBytes(outcome.found.inspected.bytes)}` : ""}
            </span>
          )}
        </p>

        {outcome.status === "failed" && !outcome.traceql && (
          <div class="notice error" role="alert">
            <p>{outcome.message}</p>
            <button type="button" onClick={() => void run(draft, "none")}>
              Try again
            </button>
          </div>
        )}

        {outcome.status === "done" && outcome.found.rows.length === 0 && (
          <div class="empty card">
            <p>
              <strong>No traces match</strong> <code class="mono">{outcome.found.traceql}</code> {describeWindow(outcome.found.query, outcome.found.window)}.
            </p>
            <p class="muted">Spans show up in search a few seconds after they are sent. Widen the time range, or remove a filter.</p>
            {outcome.found.query.range !== widest.id && (
              <button
                type="button"
                onClick={() => {
                  const q: SearchQuery = { ...draft, range: widest.id, start: undefined, end: undefined };
                  setDraft(q);
                  void run(q, "push");
                }}
              >
                Search the {widest.label.toLowerCase()}
              </button>
            )}
          </div>
        )}

        {found && found.rows.length > 0 && (
          <div class={busy ? "stale" : undefined}>
            {histogram && !busy && <Heatmap histogram={histogram} />}
            <Scatter dots={found.rows.map((r) => ({ traceID: r.traceID, label: `${r.rootService}: ${r.rootName}`, startMs: r.startMs, durationMs: r.durationMs, spans: r.spans, errors: r.errors, href: r.href }))} />
            <Results rows={found.rows} sort={found.query.sort} onSort={onSort} selected={selected} onSelect={setSelected} compareHref={(a, b) => projectHref(`/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`)} nowMs={now} showMatched={!/^\{\s*\}$/.test(found.traceql.trim())} />
          </div>
        )}
        {outcome.status === "idle" && <p class="muted">Loading…</p>}
      </section>
    </div>
  );
}

mount(() => <SearchPage />);
