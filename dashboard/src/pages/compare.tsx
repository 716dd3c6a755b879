/**
 * The compare page: two traces (ids from ?a=&b= or typed in) matched by structure
 * (shared/trace-view/compare-traces.ts): both trees side by side as two waterfalls on one time
 * scale with each span's duration in A and B, spans only in one of them, the spans that got
 * slower and those whose error status changed. Span text is text only; links go to this
 * project's trace pages, from ids checked to be hex.
 */
import "../ui.css";
import "../trace/trace.css";
import { useEffect, useMemo, useState } from "preact/hooks";
import { compareTraces, errorCounts, slowerSpans, statusChanges, structuralPaths } from "../../../shared/trace-view/compare-traces.ts";
import type { SpanNode } from "../../../shared/trace-view/span-tree.ts";
import { ApiError, getJson, projectHref } from "../api.ts";
import { mount } from "../mount.tsx";
import { Stat } from "../stat.tsx";
import { parseTraceJson } from "../trace/data.ts";
import { axisTicks, formatDuration } from "../time-format.ts";
import { buildModel, type TraceModel } from "../trace/model.ts";
import { serviceColor } from "../search/colors.ts";

const isTraceId = (s: string) => /^[0-9a-f]{16,32}$/.test(s);

async function load(id: string): Promise<TraceModel> {
  try {
    return buildModel(parseTraceJson(await getJson<unknown>(`/api/traces/${id}`)));
  } catch (e) {
    throw new Error(e instanceof ApiError && e.status === 404 ? `No trace ${id} in this project` : `Trace ${id}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

type State = { kind: "idle" } | { kind: "loading" } | { kind: "error"; message: string } | { kind: "ready"; a: TraceModel; b: TraceModel; ids: [string, string] };

interface Row {
  path: string;
  depth: number;
  a?: SpanNode;
  b?: SpanNode;
}

/** A's tree in display order with B's spans beside their matches, and B-only spans under their parent. */
function sideBySide(a: TraceModel, b: TraceModel): Row[] {
  const pa = structuralPaths(a.tree);
  const pb = structuralPaths(b.tree);
  const pathOfA = new Map([...pa].map(([p, n]) => [n, p]));
  const rows: Row[] = a.tree.ordered.map((n) => {
    const path = pathOfA.get(n)!;
    return { path, depth: n.depth, a: n, b: pb.get(path) };
  });
  for (const [path, n] of pb) {
    if (pa.has(path)) continue;
    const cut = path.lastIndexOf(" > ");
    const parent = cut < 0 ? "" : path.slice(0, cut);
    let at = parent ? rows.findIndex((r) => r.path === parent) : rows.length - 1;
    if (at < 0) at = rows.length - 1;
    else while (at + 1 < rows.length && rows[at + 1]!.path.startsWith(`${parent} > `)) at++;
    rows.splice(at + 1, 0, { path, depth: n.depth, b: n });
  }
  return rows;
}

function Delta({ us, base }: { us: number; base: number }) {
  if (!us) return <span class="muted">0</span>;
  const pct = base ? ` (${us > 0 ? "+" : ""}${Math.round((us / base) * 100)}%)` : "";
  return <span class={us > 0 ? "error-text" : "ok-text"}>{`${us > 0 ? "+" : "−"}${formatDuration(Math.abs(us))}${pct}`}</span>;
}

/** A span's bar in its trace's waterfall column: both columns share one scale (the longer trace). */
function Bar({ node, scaleUs }: { node?: SpanNode; scaleUs: number }) {
  if (!node) return <span class="cmp-track" />;
  const left = (node.startUs / scaleUs) * 100;
  const width = ((node.endUs - node.startUs) / scaleUs) * 100;
  const err = node.span.status.code === 2;
  return (
    <span class="cmp-track">
      <span class={`tv-bar cmp-bar${err ? " err" : ""}`} style={{ left: `${left}%`, width: `max(2px, ${width}%)`, background: serviceColor(node.service) }} title={formatDuration(node.endUs - node.startUs)} />
    </span>
  );
}

function Ticks({ scaleUs }: { scaleUs: number }) {
  const { ticks } = axisTicks(0, scaleUs, 3);
  return (
    <span class="cmp-ticks" aria-hidden="true">
      {ticks.map((t) => {
        const at = (t / scaleUs) * 100;
        return (
          <span key={t} class={`tv-tick${at > 80 ? " last" : at < 6 ? " first" : ""}`} style={{ left: `${at}%` }}>
            {t === 0 ? "0" : formatDuration(t)}
          </span>
        );
      })}
    </span>
  );
}

const isErr = (n?: SpanNode) => n?.span.status.code === 2;

function SpanLabel({ node, model, traceId }: { node: SpanNode; model: TraceModel; traceId: string }) {
  return (
    <a class="cmp-span" href={projectHref(`/traces/${traceId}?span=${node.span.spanId}`)}>
      <span class="tv-swatch" style={{ background: model.colours.get(node.service) }} />
      <span class="tv-service">{node.service}</span> <span>{node.span.name}</span>
    </a>
  );
}

function Comparison({ a, b, ids }: { a: TraceModel; b: TraceModel; ids: [string, string] }) {
  const cmp = useMemo(() => compareTraces(a.tree, b.tree), [a, b]);
  const slower = useMemo(() => slowerSpans(cmp), [cmp]);
  const rows = useMemo(() => sideBySide(a, b), [a, b]);
  const slowerSet = new Set(slower.map((m) => m.path));
  const changes = useMemo(() => statusChanges(cmp), [cmp]);
  const errs = useMemo(() => errorCounts(a.tree, b.tree), [a, b]);
  const scaleUs = Math.max(1, a.tree.durationUs, b.tree.durationUs);
  const dur = (n?: SpanNode) => (n ? n.endUs - n.startUs : 0);
  return (
    <>
      <dl class="tv-summary cmp-summary">
        {([["A", a, ids[0]], ["B", b, ids[1]]] as const).map(([label, m, id]) => (
          <Stat key={label} label={`Trace ${label}`}>
            <a href={projectHref(`/traces/${id}`)} class="mono">
              {id.slice(0, 16)}
            </a>
            {formatDuration(m.tree.durationUs)} · {m.tree.ordered.length} spans
          </Stat>
        ))}
        <Stat label="Duration change" stat="delta">
          <Delta us={b.tree.durationUs - a.tree.durationUs} base={a.tree.durationUs} />
        </Stat>
        <Stat label="Matched" stat="matched">
          {cmp.matched.length}
        </Stat>
        <Stat label="Only in B" stat="added">
          {cmp.added.length}
        </Stat>
        <Stat label="Only in A" stat="removed">
          {cmp.removed.length}
        </Stat>
        <Stat label="Slower in B" stat="slower">
          {slower.length}
        </Stat>
        <Stat label="Errors A → B" stat="errors" class={errs.b > errs.a ? "error-text" : ""}>
          {`${errs.a} → ${errs.b}`}
        </Stat>
        <Stat label="Error status changed" stat="status-changed">
          {changes.length}
        </Stat>
      </dl>

      <h2>Error status changed</h2>
      {changes.length ? (
        <table class="tv-table cmp-status">
          <thead>
            <tr>
              <th scope="col">Span</th>
              <th scope="col">A</th>
              <th scope="col">B</th>
            </tr>
          </thead>
          <tbody>
            {changes.map((c) => (
              <tr key={c.path} data-change={c.change}>
                <td>
                  <SpanLabel node={c.b} model={b} traceId={ids[1]} />
                </td>
                <StatusCell node={c.a} />
                <StatusCell node={c.b} />
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No matched span changed between error and not error.</p>
      )}

      <h2>Slower in B</h2>
      {slower.length ? (
        <table class="tv-table cmp-slower">
          <CompareHead />
          <tbody>
            {slower.slice(0, 50).map((m) => (
              <tr key={m.path}>
                <td>
                  <SpanLabel node={m.b} model={b} traceId={ids[1]} />
                </td>
                <td class="num">{formatDuration(dur(m.a))}</td>
                <td class="num">{formatDuration(dur(m.b))}</td>
                <td class="num">
                  <Delta us={m.deltaUs} base={dur(m.a)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No matched span got slower by 10% or more.</p>
      )}

      <h2>Side by side</h2>
      <p class="muted">Spans are matched by their place in the tree (service and operation names from the root, and the order among same-named siblings).</p>
      <table class="tv-table cmp-tree" aria-label="Both traces side by side">
        <CompareHead waterfall={scaleUs} />
        <tbody>
          {rows.slice(0, 2000).map((r) => {
            const kind = !r.a ? "added" : !r.b ? "removed" : slowerSet.has(r.path) ? "slower" : "";
            const node = (r.a ?? r.b)!;
            const status = r.a && r.b && isErr(r.a) !== isErr(r.b) ? (isErr(r.b) ? "new error" : "error gone") : undefined;
            return (
              <tr key={r.path} class={`cmp-${kind || "same"}`} data-kind={kind || "same"} data-status={status}>
                <td>
                  <span class="cmp-indent" style={{ paddingLeft: `${Math.min(r.depth, 30) * 14}px` }}>
                    <SpanLabel node={node} model={r.a ? a : b} traceId={r.a ? ids[0] : ids[1]} />
                    {kind === "added" && <span class="badge">only in B</span>}
                    {kind === "removed" && <span class="badge">only in A</span>}
                    {status && <span class={`badge cmp-status-badge${status === "new error" ? " bad" : ""}`}>{status === "new error" ? "error only in B" : "error only in A"}</span>}
                  </span>
                </td>
                <td class="cmp-wf cmp-wf-a">
                  <Bar node={r.a} scaleUs={scaleUs} />
                </td>
                <td class="cmp-wf cmp-wf-b">
                  <Bar node={r.b} scaleUs={scaleUs} />
                </td>
                <td class="num">{r.a ? formatDuration(dur(r.a)) : "—"}</td>
                <td class="num">{r.b ? formatDuration(dur(r.b)) : "—"}</td>
                <td class="num">{r.a && r.b ? <Delta us={dur(r.b) - dur(r.a)} base={dur(r.a)} /> : ""}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {rows.length > 2000 && <p class="muted">The first 2,000 of {rows.length} rows are shown.</p>}
    </>
  );
}

function ComparePage() {
  const params = new URL(location.href).searchParams;
  const [a, setA] = useState((params.get("a") ?? "").toLowerCase());
  const [b, setB] = useState((params.get("b") ?? "").toLowerCase());
  const [state, setState] = useState<State>({ kind: "idle" });

  const run = (x: string, y: string) => {
    if (!isTraceId(x) || !isTraceId(y)) {
      setState({ kind: "error", message: "Enter two trace ids (16 or 32 hex digits)." });
      return;
    }
    const url = new URL(location.href);
    url.searchParams.set("a", x);
    url.searchParams.set("b", y);
    history.replaceState(history.state, "", url);
    setState({ kind: "loading" });
    Promise.all([load(x), load(y)])
      .then(([ma, mb]) => setState({ kind: "ready", a: ma, b: mb, ids: [x, y] }))
      .catch((e: unknown) => setState({ kind: "error", message: e instanceof Error ? e.message : String(e) }));
  };

  useEffect(() => {
    if (isTraceId(a) && isTraceId(b)) run(a, b);
    // Only the ids the page was opened with run by themselves.
  }, []);

  return (
    <div class="tv">
      <h1>Compare traces</h1>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          run(a.trim().toLowerCase(), b.trim().toLowerCase());
        }}
      >
        <label>
          Trace A
          <input class="mono cmp-id" value={a} onInput={(e) => setA((e.currentTarget as HTMLInputElement).value)} placeholder="32 hex digits" spellcheck={false} />
        </label>
        <label>
          Trace B
          <input class="mono cmp-id" value={b} onInput={(e) => setB((e.currentTarget as HTMLInputElement).value)} placeholder="32 hex digits" spellcheck={false} />
        </label>
        <button type="submit" class="primary">
          Compare
        </button>
      </form>
      {state.kind === "loading" && <p class="muted">Loading both traces…</p>}
      {state.kind === "error" && (
        <p class="notice error" role="alert">
          {state.message}
        </p>
      )}
      {state.kind === "ready" && <Comparison a={state.a} b={state.b} ids={state.ids} />}
    </div>
  );
}

mount(() => <ComparePage />);

function StatusCell({ node }: { node: SpanNode }) {
  const err = isErr(node);
  return <td class={err ? "error-text" : "ok-text"}>{err ? `error${node.span.status.message ? `: ${node.span.status.message}` : ""}` : node.span.status.code === 1 ? "ok" : "unset"}</td>;
}

/** The header both comparison tables share; the side-by-side one also has the two waterfalls' columns. */
function CompareHead({ waterfall }: { waterfall?: number }) {
  return (
    <thead>
      <tr>
        <th scope="col">Span</th>
        {waterfall !== undefined && (
          <>
            <th scope="col" class="cmp-wf">
              Waterfall A
              <Ticks scaleUs={waterfall} />
            </th>
            <th scope="col" class="cmp-wf">
              Waterfall B
              <Ticks scaleUs={waterfall} />
            </th>
          </>
        )}
        <th scope="col" class="num">
          A
        </th>
        <th scope="col" class="num">
          B
        </th>
        <th scope="col" class="num">
          Change
        </th>
      </tr>
    </thead>
  );
}
