/**
 * @module
 * The span detail panel: ids, times, status, attributes, resource, scope, events and links. Every
 * value is text (attacker-controlled); the only links are to this project's own trace pages, built
 * from ids that are checked to be hex.
 */
import type { ComponentChildren } from "preact";
import { fillLogsTemplate, logsWindow } from "../../../shared/tenancy/logs-link.ts";
import type { KeyValue } from "../../../shared/model/span.ts";
import type { SpanNode } from "../../../shared/trace-view/span-tree.ts";
import { projectHref } from "../api.ts";
import { CopyButton } from "./copy.tsx";
import { formatDuration, formatTimestamp } from "../time-format.ts";
import { useTimeZone } from "../time-zone.tsx";
import { anyValueText, kindName } from "./format.ts";
import type { TraceModel } from "./model.ts";
import { eventUs } from "./waterfall.tsx";

const STATUS = ["unset", "ok", "error"];
const isTraceId = (id: string) => /^[0-9a-f]{16,32}$/.test(id) && !/^0+$/.test(id);

function Attributes({ list, label }: { list: readonly KeyValue[]; label: string }) {
  if (!list.length) return <p class="muted tv-none">No {label.toLowerCase()}.</p>;
  return (
    <table class="tv-kv" aria-label={label}>
      <tbody>
        {[...list]
          .sort((a, b) => a.key.localeCompare(b.key))
          .map((a, i) => {
            const v = anyValueText(a.value);
            return (
              <tr key={i}>
                <th scope="row" class="mono">
                  {a.key}
                </th>
                <td class="mono">{v}</td>
                <td class="tv-kv-copy">
                  <CopyButton text={v} label={`Copy ${a.key}`} />
                </td>
              </tr>
            );
          })}
      </tbody>
    </table>
  );
}

/** A folding section of the panel, its summary the title and the number of entries in it. */
function CountedSection(props: { title: string; count: number; open?: boolean; children: ComponentChildren }) {
  return (
    <details open={props.open}>
      <summary>
        {`${props.title} `}
        <span class="badge">{props.count}</span>
      </summary>
      {props.children}
    </details>
  );
}

/** A section of a span's events or links: open when there are any, one list item each, or a line saying there are none. */
function ItemsSection<T>(props: { title: string; items: readonly T[]; list: "ol" | "ul"; class: string; renderItem: (item: T, i: number) => ComponentChildren }) {
  const { items, list: List } = props;
  return (
    <CountedSection title={props.title} count={items.length} open={items.length > 0}>
      {items.length ? (
        <List class={props.class}>
          {items.map((item, i) => (
            <li key={i}>{props.renderItem(item, i)}</li>
          ))}
        </List>
      ) : (
        <p class="muted tv-none">{`No ${props.title.toLowerCase()}.`}</p>
      )}
    </CountedSection>
  );
}

function Id({ label, value }: { label: string; value: string }) {
  return (
    <div class="tv-id">
      <dt>{label}</dt>
      <dd>
        <code>{value || "—"}</code>
        {value && <CopyButton text={value} label={`Copy ${label.toLowerCase()}`} />}
      </dd>
    </div>
  );
}

/**
 * The project's link from a span (or, with no span id, the whole trace) to its logs, when the
 * owner set a template (settings page), over the span's time padded by logsWindow. Filled by
 * fillLogsTemplate, which encodes every value and refuses anything but http(s).
 */
export function logsHref(v: { traceId: string; spanId: string; service: string; startUnixNano: string | bigint; endUnixNano: string | bigint }): string | undefined {
  const template = document.getElementById("app")?.dataset.logsUrlTemplate;
  if (!template) return undefined;
  return fillLogsTemplate(template, { traceId: v.traceId, spanId: v.spanId, service: v.service, ...logsWindow(v.startUnixNano, v.endUnixNano) });
}

function LogsLink({ node }: { node: SpanNode }) {
  const s = node.span;
  const href = logsHref({ traceId: s.traceId, spanId: s.spanId, service: node.service, startUnixNano: s.startTimeUnixNano, endUnixNano: s.endTimeUnixNano });
  if (!href) return null;
  return (
    <p class="tv-logs">
      <a href={href} target="_blank" rel="noopener noreferrer">
        Logs for this span ↗
      </a>
    </p>
  );
}

/** The address that opens this trace at this span, or undefined for a trace that is not stored (a file). */
export function spanLink(traceId: string, spanId: string): string | undefined {
  if (!isTraceId(traceId) || !/^[0-9a-f]{16}$/.test(spanId)) return undefined;
  return new URL(projectHref(`/traces/${traceId}?span=${spanId}`), location.origin).href;
}

export function SpanDetail({ model, node, onClose, onSelect, stored }: { model: TraceModel; node: SpanNode; onClose: () => void; onSelect: (n: SpanNode) => void; stored: boolean }) {
  const s = node.span;
  const zone = useTimeZone();
  const link = stored ? spanLink(s.traceId, s.spanId) : undefined;
  const origin = model.origins.get(s);
  const dur = node.endUs - node.startUs;
  const parent = node.parent;
  return (
    <aside class="tv-detail card" aria-label="Span detail">
      <div class="tv-detail-head">
        <h2>
          <span class="tv-swatch" style={{ background: model.colours.get(node.service) }} />
          <span class="tv-service">{node.service}</span> <span class="tv-detail-name">{s.name}</span>
        </h2>
        {link && <CopyButton text={link} label="Copy link to this span" caption="Copy link" />}
        <button type="button" class="tv-close" aria-label="Close span detail" onClick={onClose}>
          ×
        </button>
      </div>
      <dl class="tv-facts">
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(dur)}</dd>
        </div>
        <div>
          <dt>Start</dt>
          <dd>
            +{formatDuration(node.startUs)} <span class="muted">({formatTimestamp(s.startTimeUnixNano, zone)})</span>
          </dd>
        </div>
        <div>
          <dt>Kind</dt>
          <dd>{kindName(s.kind)}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd class={s.status.code === 2 ? "error-text" : ""}>
            {`${STATUS[s.status.code] ?? String(s.status.code)}${s.status.message ? `: ${s.status.message}` : ""}`}
          </dd>
        </div>
        {model.critical.has(node) && (
          <div>
            <dt>Critical path</dt>
            <dd>{formatDuration(model.critical.get(node)!.reduce((t, c) => t + c.endUs - c.startUs, 0))} of this span is on it</dd>
          </div>
        )}
      </dl>
      <dl class="tv-ids">
        <Id label="Span ID" value={s.spanId} />
        <Id label="Trace ID" value={s.traceId} />
        <Id label="Parent span ID" value={s.parentSpanId} />
      </dl>
      <LogsLink node={node} />
      {parent && (
        <p class="tv-parent">
          Parent:{" "}
          <button type="button" class="link" onClick={() => onSelect(parent)}>
            {parent.service}: {parent.span.name}
          </button>
        </p>
      )}
      <CountedSection title="Attributes" count={s.attributes.length} open>
        <Attributes list={s.attributes} label="Span attributes" />
      </CountedSection>
      <ItemsSection
        title="Events"
        items={s.events}
        list="ol"
        class="tv-events"
        renderItem={(e) => (
          <>
            <div>
              <span class="mono muted">+{formatDuration(Math.max(0, eventUs(model, e.timeUnixNano) - node.startUs))}</span> <strong>{e.name}</strong>
            </div>
            {e.attributes.length > 0 && <Attributes list={e.attributes} label={`Attributes of event ${e.name}`} />}
          </>
        )}
      />
      <ItemsSection
        title="Links"
        items={s.links}
        list="ul"
        class="tv-links"
        renderItem={(l, i) => (
          <>
            {isTraceId(l.traceId) ? (
              <a href={projectHref(`/traces/${l.traceId}${/^[0-9a-f]{16}$/.test(l.spanId) ? `?span=${l.spanId}` : ""}`)} class="mono">
                {l.traceId === s.traceId ? "this trace" : `trace ${l.traceId}`}, span {l.spanId}
              </a>
            ) : (
              <span class="mono">
                trace {l.traceId || "?"}, span {l.spanId || "?"}
              </span>
            )}
            {l.attributes.length > 0 && <Attributes list={l.attributes} label={`Attributes of link ${i + 1}`} />}
          </>
        )}
      />
      <CountedSection title="Resource" count={origin?.resource.attributes.length ?? 0}>
        <Attributes list={origin?.resource.attributes ?? []} label="Resource attributes" />
      </CountedSection>
      <details>
        <summary>Instrumentation scope</summary>
        <p class="mono">
          {origin?.scope.name || "(no name)"} {origin?.scope.version}
        </p>
        {origin && origin.scope.attributes.length > 0 && <Attributes list={origin.scope.attributes} label="Scope attributes" />}
      </details>
    </aside>
  );
}
