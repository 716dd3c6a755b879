/**
 * @module
 * The search form: time range (presets or a custom from/to), then either the structured fields
 * (service, operation, tag filters with suggestions, durations, errors only) whose TraceQL is shown
 * as it is built, or a TraceQL box. Every control is labelled; the form submits with Enter.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, projectHref } from "../api.ts";
import { traceIdFromInput } from "../../../shared/trace-view/trace-id-input.ts";
import { operations, tagValues, type TagValue, type TraceQLPosition } from "./data.ts";
import { fromLocalInput, toLocalInput } from "./format.ts";
import { QueryError } from "./query-error.tsx";
import { RANGES, suggestions, windowOf, type Problem, type RangeId, type SearchQuery, type TagFilter, MAX_LIMIT } from "./query.ts";

export interface ServerError {
  message: string;
  position?: TraceQLPosition;
  /** The TraceQL that was sent. */
  query: string;
}

interface Props {
  draft: SearchQuery;
  onChange: (q: SearchQuery) => void;
  onSubmit: () => void;
  services: string[] | undefined;
  tagNames: string[];
  /** Values seen per tag key, shared with the page (their types decide how a value is written). */
  tagValueCache: ReadonlyMap<string, TagValue[]>;
  onTagValues: (key: string, values: TagValue[]) => void;
  effectiveQuery: string;
  problems: Problem[];
  serverError?: ServerError;
  busy: boolean;
}

function problemFor(problems: Problem[], field: Problem["field"]): string | undefined {
  return problems.find((p) => p.field === field)?.message;
}

function FieldError({ id, message }: { id: string; message?: string }) {
  return message ? (
    <span id={id} class="field-error">
      {message}
    </span>
  ) : null;
}

/** Operations of the chosen service, reloaded when it changes. */
function useOperations(service: string, q: SearchQuery): { list: string[]; loading: boolean; failed: boolean } {
  const [state, setState] = useState<{ list: string[]; loading: boolean; failed: boolean }>({ list: [], loading: false, failed: false });
  useEffect(() => {
    if (!service) {
      setState({ list: [], loading: false, failed: false });
      return;
    }
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true, failed: false }));
    operations(service, windowOf(q), ctl.signal).then(
      (list) => setState({ list, loading: false, failed: false }),
      (err: unknown) => {
        if (!ctl.signal.aborted) setState({ list: [], loading: false, failed: err instanceof ApiError || err instanceof Error });
      },
    );
    return () => ctl.abort();
    // A preset's window moves with the clock: reloaded when the range changes, not on every render.
  }, [service, `${q.range}:${q.start}:${q.end}`]);
  return state;
}

function TagRow(props: { index: number; tag: TagFilter; window: { start: number; end: number }; known: boolean; cached?: TagValue[]; onTagValues: Props["onTagValues"]; onChange: (t: TagFilter) => void; onRemove: () => void }) {
  const { tag, index } = props;
  const key = tag.key.trim();
  // Suggest values for a key the tags endpoint named, once typing pauses.
  useEffect(() => {
    if (!key || !props.known || props.cached) return;
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      tagValues(key, props.window, ctl.signal).then(
        (values) => props.onTagValues(key, values),
        () => undefined, // suggestions are a convenience: the filter works without them
      );
    }, 250);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [key, props.known, props.cached === undefined]);
  const listId = `tag-values-${index}`;
  return (
    <div class="tag-row" role="group" aria-label={`Tag filter ${index + 1}`}>
      <div class="field">
        <label for={`tag-key-${index}`}>Tag</label>
        <input id={`tag-key-${index}`} class="mono" list="tag-keys" value={tag.key} placeholder="http.route" autoComplete="off" spellcheck={false} onInput={(e) => props.onChange({ ...tag, key: e.currentTarget.value })} />
      </div>
      <span class="eq" aria-hidden="true">
        =
      </span>
      <div class="field">
        <label for={`tag-value-${index}`}>Value</label>
        <input id={`tag-value-${index}`} class="mono" list={listId} value={tag.value} placeholder="/orders" autoComplete="off" spellcheck={false} onInput={(e) => props.onChange({ ...tag, value: e.currentTarget.value })} />
      </div>
      <datalist id={listId}>
        {suggestions(props.cached ?? []).map((v) => (
          <option key={v.value} value={v.value} label={v.label} />
        ))}
      </datalist>
      <button type="button" class="remove" aria-label={`Remove tag filter ${index + 1}`} onClick={props.onRemove}>
        ✕
      </button>
    </div>
  );
}

export function SearchForm(props: Props) {
  const { draft, problems } = props;
  const set = (patch: Partial<SearchQuery>) => props.onChange({ ...draft, ...patch });
  const win = windowOf(draft);
  const ops = useOperations(draft.service, draft);
  const tagNameSet = new Set(props.tagNames);
  const customDefaults = () => {
    const w = windowOf(draft);
    return { start: draft.start ?? w.start, end: draft.end ?? w.end };
  };
  const minErr = problemFor(problems, "minDuration");
  const maxErr = problemFor(problems, "maxDuration");
  const limitErr = problemFor(problems, "limit");
  const rangeErr = problemFor(problems, "range");
  const qlErr = problemFor(problems, "traceql");
  const tagsErr = problemFor(problems, "tags");
  const serverErr = props.serverError;

  // After the server rejects typed TraceQL, put the cursor where it pointed.
  useEffect(() => {
    if (!serverErr?.position || draft.mode !== "traceql") return;
    const box = document.getElementById("traceql") as HTMLTextAreaElement | null;
    if (!box || box.value !== serverErr.query || serverErr.position.offset < 0) return;
    box.focus();
    box.setSelectionRange(serverErr.position.offset, serverErr.position.offset);
  }, [serverErr]);

  return (
    <form
      class="search-form card"
      aria-label="Search traces"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      <div class="row">
        <div class="field">
          <label for="range">Time range</label>
          <select
            id="range"
            value={draft.range}
            onChange={(e) => {
              const range = e.currentTarget.value as RangeId;
              set(range === "custom" ? { range, ...customDefaults() } : { range, start: undefined, end: undefined });
            }}
          >
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
            <option value="custom">Custom…</option>
          </select>
        </div>
        {draft.range === "custom" && (
          <>
            <div class="field">
              <label for="from">From</label>
              <input id="from" type="datetime-local" value={draft.start !== undefined ? toLocalInput(draft.start) : ""} aria-invalid={rangeErr ? true : undefined} aria-describedby={rangeErr ? "range-error" : undefined} onChange={(e) => set({ start: fromLocalInput(e.currentTarget.value) })} />
            </div>
            <div class="field">
              <label for="to">To</label>
              <input id="to" type="datetime-local" value={draft.end !== undefined ? toLocalInput(draft.end) : ""} aria-invalid={rangeErr ? true : undefined} aria-describedby={rangeErr ? "range-error" : undefined} onChange={(e) => set({ end: fromLocalInput(e.currentTarget.value) })} />
            </div>
          </>
        )}
        <div class="field narrow-field">
          <label for="limit">Limit</label>
          <input id="limit" type="number" min={1} max={MAX_LIMIT} step={1} value={Number.isNaN(draft.limit) ? "" : draft.limit} aria-invalid={limitErr ? true : undefined} aria-describedby={limitErr ? "limit-error" : undefined} onInput={(e) => set({ limit: e.currentTarget.value === "" ? NaN : Number(e.currentTarget.value) })} />
        </div>
        <fieldset class="mode">
          <legend>Query with</legend>
          <label>
            <input type="radio" name="mode" value="builder" checked={draft.mode === "builder"} onChange={() => set({ mode: "builder" })} /> Fields
          </label>
          <label>
            <input
              type="radio"
              name="mode"
              value="traceql"
              checked={draft.mode === "traceql"}
              // Start from what the fields say, so switching never loses the search.
              onChange={() => set({ mode: "traceql", traceql: draft.traceql.trim() ? draft.traceql : props.effectiveQuery })}
            />{" "}
            TraceQL
          </label>
        </fieldset>
      </div>
      <FieldError id="range-error" message={rangeErr} />
      <FieldError id="limit-error" message={limitErr} />

      {draft.mode === "builder" ? (
        <>
          <div class="row">
            <div class="field">
              <label for="service">Service</label>
              <select id="service" value={draft.service} onChange={(e) => set({ service: e.currentTarget.value, operation: "" })} disabled={props.services === undefined}>
                <option value="">{props.services === undefined ? "Loading services…" : "All services"}</option>
                {(props.services ?? []).map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
                {/* A service from a shared link that the list no longer has stays selectable. */}
                {draft.service && props.services && !props.services.includes(draft.service) && <option value={draft.service}>{draft.service}</option>}
              </select>
            </div>
            <div class="field">
              <label for="operation">Operation</label>
              <select id="operation" value={draft.operation} onChange={(e) => set({ operation: e.currentTarget.value })} disabled={!draft.service || ops.loading} aria-describedby={ops.failed ? "ops-error" : undefined}>
                <option value="">{!draft.service ? "Pick a service first" : ops.loading ? "Loading operations…" : "All operations"}</option>
                {ops.list.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
                {draft.operation && !ops.loading && !ops.list.includes(draft.operation) && <option value={draft.operation}>{draft.operation}</option>}
              </select>
            </div>
            <div class="field narrow-field">
              <label for="min-duration">Min duration</label>
              <input id="min-duration" class="mono" value={draft.minDuration} placeholder="100ms" spellcheck={false} aria-invalid={minErr ? true : undefined} aria-describedby={minErr ? "min-error" : "duration-hint"} onInput={(e) => set({ minDuration: e.currentTarget.value })} />
            </div>
            <div class="field narrow-field">
              <label for="max-duration">Max duration</label>
              <input id="max-duration" class="mono" value={draft.maxDuration} placeholder="1.5s" spellcheck={false} aria-invalid={maxErr ? true : undefined} aria-describedby={maxErr ? "max-error" : "duration-hint"} onInput={(e) => set({ maxDuration: e.currentTarget.value })} />
            </div>
            <label class="check">
              <input type="checkbox" checked={draft.errorsOnly} onChange={(e) => set({ errorsOnly: e.currentTarget.checked })} /> Only traces with errors
            </label>
          </div>
          {ops.failed && (
            <span id="ops-error" class="field-error">
              Could not load the operations of {draft.service}.
            </span>
          )}
          <span id="duration-hint" class="sr-only">
            A number with a unit: ns, us, ms, s, m or h, like 100ms or 1.5s
          </span>
          <FieldError id="min-error" message={minErr} />
          <FieldError id="max-error" message={maxErr} />

          <div class="tags">
            <datalist id="tag-keys">
              {props.tagNames.map((t) => (
                <option key={t} value={t} />
              ))}
            </datalist>
            {draft.tags.map((t, i) => (
              <TagRow
                key={i}
                index={i}
                tag={t}
                window={win}
                known={tagNameSet.has(t.key.trim())}
                cached={props.tagValueCache.get(t.key.trim())}
                onTagValues={props.onTagValues}
                onChange={(nt) => set({ tags: draft.tags.map((x, j) => (j === i ? nt : x)) })}
                onRemove={() => set({ tags: draft.tags.filter((_, j) => j !== i) })}
              />
            ))}
            <button type="button" class="add-tag" onClick={() => set({ tags: [...draft.tags, { key: "", value: "" }] })}>
              + Add tag filter
            </button>
            <FieldError id="tags-error" message={tagsErr} />
          </div>

          <div class="effective">
            <span class="label" id="effective-label">
              Query
            </span>
            <output class="mono" aria-labelledby="effective-label" data-testid="effective-query">
              {props.effectiveQuery}
            </output>
            <button type="button" class="link" onClick={() => set({ mode: "traceql", traceql: props.effectiveQuery })}>
              Edit as TraceQL
            </button>
          </div>
        </>
      ) : (
        <div class="traceql">
          <label for="traceql">TraceQL query</label>
          <textarea
            id="traceql"
            class="mono"
            rows={Math.min(8, Math.max(2, draft.traceql.split("\n").length))}
            value={draft.traceql}
            spellcheck={false}
            placeholder='{ resource.service.name = "checkout" && status = error }'
            aria-invalid={qlErr || (serverErr && serverErr.query === draft.traceql) ? true : undefined}
            aria-describedby={serverErr ? "traceql-error" : qlErr ? "traceql-problem" : "traceql-hint"}
            onInput={(e) => set({ traceql: e.currentTarget.value })}
            onPaste={(e) => {
              // A trace id pasted over the whole box (or into an empty one) opens that trace.
              const box = e.currentTarget;
              const id = traceIdFromInput(e.clipboardData?.getData("text") ?? "");
              const replacesAll = box.value.trim() === "" || (box.selectionStart === 0 && box.selectionEnd === box.value.length);
              if (!id || !replacesAll) return;
              e.preventDefault();
              location.assign(projectHref(`/traces/${id}`));
            }}
            onKeyDown={(e) => {
              // Enter searches (as in the other fields); Shift+Enter adds a line.
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                props.onSubmit();
              }
            }}
          />
          <span id="traceql-hint" class="hint muted">
            Enter searches, Shift+Enter adds a line.
          </span>
          <FieldError id="traceql-problem" message={qlErr} />
        </div>
      )}

      {serverErr && <QueryError id="traceql-error" query={serverErr.query} message={serverErr.message} position={serverErr.position} />}

      <div class="submit-row">
        <button type="submit" class="primary">
          {props.busy ? "Searching…" : "Search"}
        </button>
      </div>
    </form>
  );
}
