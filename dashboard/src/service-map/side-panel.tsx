/**
 * @module
 * The panel of a selected node or edge: its figures over the window (from the service graph), its
 * RED charts (TraceQL metrics), for a service its operations, and links to the filtered search.
 */
import { useEffect, useState } from "preact/hooks";
import { Stat } from "../stat.tsx";
import { errorFraction, formatMs, formatPercent, formatRate, kindName } from "./format.ts";
import type { GraphEdge, GraphNode, Shape } from "./graph.ts";
import { searchHref } from "./links.ts";
import { linkedConsumersOf, rootsOf, spansetFor } from "./metrics.ts";
import { fetchOperations, type OperationMetrics } from "./operations.ts";
import type { Window } from "./range.ts";
import { RedCharts } from "./red-charts.tsx";

export type PanelSubject = { type: "node"; node: GraphNode; shape: Shape; incoming: GraphEdge[] } | { type: "edge"; edge: GraphEdge; sourceKind: GraphNode["kind"]; targetKind: GraphNode["kind"] };

function Figures(props: { requests: number; failed: number; p50Ms: number; p90Ms: number; p99Ms: number; windowSeconds: number }) {
  return (
    <dl class="sm-figures">
      <Stat label="Rate">{formatRate(props.requests / props.windowSeconds)}</Stat>
      <Stat label="Errors">
        {formatPercent(errorFraction(props.requests, props.failed))} <span class="muted">({props.failed} of {props.requests})</span>
      </Stat>
      <Stat label="p50 / p90 / p99">{`${formatMs(props.p50Ms)} / ${formatMs(props.p90Ms)} / ${formatMs(props.p99Ms)}`}</Stat>
    </dl>
  );
}

function Operations(props: { service: string; window: Window; range: string }) {
  const [ops, setOps] = useState<OperationMetrics[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ac = new AbortController();
    setOps(null);
    setError(null);
    fetchOperations(props.service, props.window, ac.signal).then(setOps, (err: unknown) => {
      if (!ac.signal.aborted) setError(err instanceof Error ? err.message : String(err));
    });
    return () => ac.abort();
  }, [props.service, props.window]);
  if (error) return <p class="error-text">Operations could not be loaded: {error}</p>;
  if (!ops) return <p class="muted">Loading operations…</p>;
  if (!ops.length) return <p class="muted">No operations in this range.</p>;
  const top = [...ops].sort((a, b) => b.requests - a.requests).slice(0, 8);
  return (
    <table class="sm-ops">
      <caption>Operations{ops.length > top.length ? ` (busiest ${top.length} of ${ops.length})` : ""}</caption>
      <thead>
        <tr>
          <th scope="col">Operation</th>
          <th scope="col">Rate</th>
          <th scope="col">Errors</th>
          <th scope="col">p99</th>
        </tr>
      </thead>
      <tbody>
        {top.map((o) => (
          <tr key={`${o.operation}\u0000${o.kind}`}>
            <td>
              <a href={searchHref({ service: props.service, operation: o.operation, range: props.range })}>{o.operation}</a> <span class="badge">{kindName(o.kind)}</span>
            </td>
            <td>{formatRate(o.rate)}</td>
            <td>{formatPercent(errorFraction(o.requests, o.errors))}</td>
            <td>{formatMs(o.p99Ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A link to the search page, narrowed to `service` over the panel's range. */
function SearchLink(props: { service: string; range: string }) {
  return (
    <a class="sm-search" href={searchHref({ service: props.service, range: props.range })}>
      Search traces of {props.service}
    </a>
  );
}

/** A list of links to the search page, one for each of `services`. */
function SearchLinks(props: { services: string[]; range: string }) {
  return (
    <ul class="sm-links">
      {props.services.map((s) => (
        <li key={s}>
          <SearchLink service={s} range={props.range} />
        </li>
      ))}
    </ul>
  );
}

const SHAPE_WORD: Record<Shape, string> = { service: "service", database: "database", user: "virtual: callers of root spans", peer: "virtual: not instrumented" };

export function SidePanel(props: { subject: PanelSubject; window: Window; range: string; onClose: () => void }) {
  const { subject, window: w, range } = props;
  const seconds = w.end - w.start;
  let title: string;
  let body;
  if (subject.type === "node") {
    const n = subject.node;
    title = n.id;
    const spanset = spansetFor({ node: n.id, kind: n.kind });
    const errSpanset = spansetFor({ node: n.id, kind: n.kind }, "status = error");
    const callers = [...new Set(subject.incoming.map((e) => e.source).filter((s) => s !== "user"))];
    // A service with no server or consumer spans (its roots are INTERNAL spans): its roots.
    const roots = n.kind === "service" ? { spanset: rootsOf(n.id), errorSpanset: rootsOf(n.id, "status = error") } : undefined;
    body = (
      <>
        <p class="muted">
          <span class="badge">{SHAPE_WORD[subject.shape]}</span>{" "}
          {subject.shape === "service" ? "Requests it served (its server and consumer spans, or else its root spans)." : subject.shape === "user" ? "Stands for whatever called the root spans; it has no spans of its own." : "Seen only through its callers' client spans."}
        </p>
        <Figures {...n} windowSeconds={seconds} />
        {spanset && errSpanset && <RedCharts spanset={spanset} errorSpanset={errSpanset} fallback={roots} window={w} />}
        {n.kind === "service" ? (
          <>
            <p>
              <SearchLink service={n.id} range={range} />
            </p>
            <Operations service={n.id} window={w} range={range} />
          </>
        ) : (
          callers.length > 0 && <SearchLinks services={callers} range={range} />
        )}
      </>
    );
  } else {
    const e = subject.edge;
    title = `${e.source} → ${e.target}`;
    const target = { source: e.source, target: e.target, virtualTarget: subject.targetKind === "virtual", fromUser: e.source === "user" && subject.sourceKind === "virtual" };
    const spanset = spansetFor(target) as string;
    const errSpanset = spansetFor(target, "status = error") as string;
    // Messages consumed in traces of their own (a span link to the producer): the consumer's linked roots.
    const linked = e.connectionType === "messaging_system" && !target.virtualTarget ? { spanset: linkedConsumersOf(e.target), errorSpanset: linkedConsumersOf(e.target, "status = error") } : undefined;
    const side = target.fromUser
      ? `${e.target}'s root spans`
      : target.virtualTarget
        ? `${e.source}'s client spans to it`
        : `${e.target}'s server spans called by ${e.source}${linked ? ", or its consumer spans linked to messages" : ""}`;
    const services = [e.source, e.target].filter((s, i) => (i === 0 ? subject.sourceKind : subject.targetKind) === "service");
    body = (
      <>
        <p class="muted">
          {e.connectionType ? <span class="badge">{e.connectionType.replace("_", " ")}</span> : null} Latency and charts from {side}.
        </p>
        <Figures {...e} windowSeconds={seconds} />
        <RedCharts spanset={spanset} errorSpanset={errSpanset} fallback={linked} window={w} />
        <SearchLinks services={services} range={range} />
      </>
    );
  }
  return (
    <aside class="sm-panel" aria-label={`Details of ${title}`}>
      <div class="sm-panel-head">
        <h2>{title}</h2>
        <button type="button" class="sm-close" onClick={props.onClose} aria-label="Close details">
          ×
        </button>
      </div>
      {body}
    </aside>
  );
}
