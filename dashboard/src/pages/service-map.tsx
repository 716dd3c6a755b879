/**
 * The service map: the project's services and the virtual nodes they call (databases, peers not
 * instrumented, the callers of root spans) from `/api/service-graph`, laid out by dagre and drawn
 * as SVG, over a time range kept in the URL. Selecting a node or an edge opens its panel (figures,
 * RED charts from TraceQL metrics, operations, links to the filtered search); a selected node is
 * kept in the URL as `node=`, so a link or a reload opens its panel again.
 */
import "../ui.css";
import "../service-map/service-map.css";
import { useEffect, useMemo, useState } from "preact/hooks";
import { getJson } from "../api.ts";
import { mount } from "../mount.tsx";
import { edgeKey, layoutGraph, shapeOf, type ServiceGraph } from "../service-map/graph.ts";
import { MapView, type Selection } from "../service-map/map-view.tsx";
import { RangePicker } from "../service-map/range-picker.tsx";
import { rangeFromUrl, windowOf } from "../service-map/range.ts";
import { SidePanel, type PanelSubject } from "../service-map/side-panel.tsx";

/** The node named by `node=` in the page's URL, selected. */
function selectionFromUrl(): Selection {
  const id = new URLSearchParams(location.search).get("node");
  return id ? { type: "node", id } : null;
}

/** Puts a selected node into the URL (replaceState: selecting is not a navigation); anything else takes it out. */
function selectionToUrl(s: Selection): void {
  const url = new URL(location.href);
  if (s?.type === "node") url.searchParams.set("node", s.id);
  else url.searchParams.delete("node");
  history.replaceState(null, "", url);
}

function ServiceMapPage() {
  const [range, setRange] = useState(rangeFromUrl);
  const [nonce, setNonce] = useState(0);
  // A new window object per range or refresh: it keys every fetch below.
  const w = useMemo(() => windowOf(range), [range, nonce]);
  const [graph, setGraph] = useState<ServiceGraph | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selection, setSelection] = useState<Selection>(selectionFromUrl);
  const select = (s: Selection) => {
    selectionToUrl(s);
    setSelection(s);
  };

  useEffect(() => {
    const ac = new AbortController();
    setError(null);
    getJson<ServiceGraph>("/api/service-graph", { start: w.start, end: w.end }, { signal: ac.signal }).then(setGraph, (err: unknown) => {
      if (!ac.signal.aborted) setError(err instanceof Error ? err.message : String(err));
    });
    return () => ac.abort();
  }, [w]);

  const layout = useMemo(() => (graph && graph.nodes.length ? layoutGraph(graph) : null), [graph]);

  let subject: PanelSubject | null = null;
  if (graph && selection?.type === "node") {
    const node = graph.nodes.find((n) => n.id === selection.id);
    if (node) subject = { type: "node", node, shape: shapeOf(node, graph.edges), incoming: graph.edges.filter((e) => e.target === node.id) };
  } else if (graph && selection?.type === "edge") {
    const edge = graph.edges.find((e) => edgeKey(e) === selection.key);
    const kind = (id: string) => graph.nodes.find((n) => n.id === id)?.kind ?? "virtual";
    if (edge) subject = { type: "edge", edge, sourceKind: kind(edge.source), targetKind: kind(edge.target) };
  }

  return (
    <>
      <h1>Service map</h1>
      <div class="toolbar">
        <RangePicker range={range} onChange={setRange} onRefresh={() => setNonce((n) => n + 1)} />
        <span class="sm-legend-shapes muted" aria-hidden="true">
          <span class="sm-sw sm-sw-service" /> service <span class="sm-sw sm-sw-database" /> database <span class="sm-sw sm-sw-peer" /> not instrumented
        </span>
      </div>
      {error && <p class="notice error">The service graph could not be loaded: {error}</p>}
      {!graph && !error && <p class="muted">Loading…</p>}
      {graph && !layout && <p class="muted">No requests between services in this range. Spans of calls (client and server spans) make the map.</p>}
      {layout && (
        <div class={`sm-layout${subject ? " sm-with-panel" : ""}`}>
          <MapView layout={layout} windowSeconds={w.end - w.start} selection={selection} onSelect={select} />
          {subject && <SidePanel subject={subject} window={w} range={range.id} onClose={() => select(null)} />}
        </div>
      )}
    </>
  );
}

mount(() => <ServiceMapPage />);
