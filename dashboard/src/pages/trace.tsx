/**
 * The trace page: `/app/t/<tenant>/traces/<id>` reads the trace from the query API;
 * `/app/t/<tenant>/trace-file` (no data-trace-id) views an OTLP JSON file the user opens, without
 * storing it. Performance marks for the benchmark: `trace-data` when the trace is parsed,
 * `trace-rendered` once the waterfall's first rows are painted.
 */
import "../ui.css";
import "../trace/trace.css";
import { useEffect, useState } from "preact/hooks";
import { ApiError, getJson, projectHref } from "../api.ts";
import { mount } from "../mount.tsx";
import { parseTraceJson, parseTraceText } from "../trace/data.ts";
import { buildModel, type TraceModel } from "../trace/model.ts";
import { OpenFileButton, TraceView } from "../trace/view.tsx";

type State = { kind: "loading" } | { kind: "none" } | { kind: "error"; message: string; notFound?: boolean } | { kind: "ready"; model: TraceModel; fileName?: string };

function readFile(f: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error ?? new Error("could not read the file"));
    r.readAsText(f);
  });
}

/** The trace from the query API, modelled, as the page's state (an error state if the read or the data failed). */
function loadTrace(traceId: string): Promise<State> {
  return getJson<unknown>(`/api/traces/${traceId}`)
    .then((body): State => {
      const model = buildModel(parseTraceJson(body));
      performance.mark("trace-data");
      return { kind: "ready", model };
    })
    .catch((e: unknown): State => ({ kind: "error", message: e instanceof Error ? e.message : String(e), notFound: e instanceof ApiError && e.status === 404 }));
}

function TracePage({ traceId, loading }: { traceId: string | undefined; loading: Promise<State> | undefined }) {
  const [state, setState] = useState<State>(traceId ? { kind: "loading" } : { kind: "none" });
  const [fileError, setFileError] = useState<string | undefined>();

  useEffect(() => {
    let live = true;
    void loading?.then((s) => live && setState(s));
    return () => void (live = false);
  }, [loading]);

  const openFile = async (f: File) => {
    setFileError(undefined);
    try {
      const model = buildModel(parseTraceText(await readFile(f)));
      if (!model.tree.ordered.length) throw new Error("the file holds no spans");
      performance.mark("trace-data");
      setState({ kind: "ready", model, fileName: f.name });
    } catch (e) {
      setFileError(`Could not open ${f.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  if (state.kind === "ready") return <TraceView model={state.model} fileName={state.fileName} onOpenFile={openFile} fileError={fileError} />;
  return (
    <div class="tv">
      {state.kind === "loading" && <p class="muted">Loading trace {traceId}…</p>}
      {state.kind === "error" && (
        <div class="card">
          <h1>{state.notFound ? "Trace not found" : "Could not load the trace"}</h1>
          <p>
            {state.notFound ? (
              <>
                No trace <code>{traceId}</code> in this project (it may be older than the retention, or not assembled yet).
              </>
            ) : (
              <span class="error-text">{state.message}</span>
            )}
          </p>
          <p>
            <a href={projectHref("/search")}>Search traces</a>
          </p>
        </div>
      )}
      {(state.kind === "none" || state.kind === "error") && (
        <div class="card">
          <h2>View a trace from a file</h2>
          <p class="muted">An OTLP JSON file ({"{resourceSpans}"}, Tempo's {"{batches}"} or {"{trace:{resourceSpans}}"}) is read in your browser and not stored.</p>
          <OpenFileButton onOpenFile={openFile} />
          {fileError && (
            <p class="notice error" role="alert">
              {fileError}
            </p>
          )}
        </div>
      )}
    </div>
  );
}

mount((root) => {
  const traceId = root.dataset.traceId;
  // Asked for before the first render: an effect runs only after the first paint (a frame, once
  // the styles are in), and the trace is what the page waits for.
  return <TracePage traceId={traceId} loading={traceId ? loadTrace(traceId) : undefined} />;
});
