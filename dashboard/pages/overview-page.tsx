/** @jsxImportSource hono/jsx */
/**
 * A project's overview. Before the first span: how to send one, with a key made right here filled
 * into the snippets (shown once, in this response only). After it: where to go next (the latest
 * traces, search, the service map) and how to connect Grafana, with full URLs.
 */
import type { FC } from "hono/jsx";
import type { Role } from "../../shared/db/queries/accounts.ts";
import type { Tenant } from "../../shared/db/schema.ts";
import type { HitSummary } from "../../shared/trace-view/search-hit.ts";
import { Copyable, Csrf, Layout, Notice } from "./layout.tsx";
import { sendSnippets } from "./snippets.ts";

export interface ProjectStats {
  spans: number;
  traces: number;
  blocks: number;
  lastSpanAt?: Date;
}

/** One row of the latest traces (from the project's search): a hit's summary without its services. */
export type LatestTrace = Omit<HitSummary, "services"> & { traceId: string };

interface OverviewProps {
  email: string;
  csrf: string;
  tenant: Tenant;
  role: Role;
  stats: ProjectStats;
  ingestUrl: string;
  /** The dashboard's own origin: the Tempo, Jaeger and Zipkin URLs for Grafana and Zipkin Lens. */
  dashboardUrl: string;
  /** A key created on this page just now, for the snippets (never stored in the clear). */
  created?: { name: string; secret: string };
  /** Undefined when they could not be read (the rest of the page still shows). */
  latest?: LatestTrace[];
  error?: string;
}

const fmtTime = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
const fmtDuration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);

const FirstRun: FC<OverviewProps> = (p) => {
  const base = `/app/t/${p.tenant.id}`;
  return (
    <section class="first-run" data-first-run={`${base}/status`} data-first-run-next={base} aria-live="polite">
      <h2>Send your first trace</h2>
      {p.error && <Notice kind="error">{p.error}</Notice>}
      {p.created ? (
        <>
          <Notice kind="ok">
            Key “{p.created.name}” created and filled into the snippets below. Copy it now: it is shown only once (manage keys on the <a href={`${base}/keys`}>API keys</a> page).
          </Notice>
          <Copyable id="first-run-secret" label="API key" value={p.created.secret} />
        </>
      ) : p.role === "owner" ? (
        <form method="post" action={`${base}/first-run-key`} class="inline-form">
          <Csrf token={p.csrf} />
          <p>
            Create an API key with the <code>ingest</code> scope and it is filled into the snippets below (or make one on the <a href={`${base}/keys`}>API keys</a> page).
          </p>
          <button type="submit" class="primary">
            Create a key for these snippets
          </button>
        </form>
      ) : (
        <p>
          Ask an owner of this project for an API key with the <code>ingest</code> scope, then point your exporter at Edgetrace.
        </p>
      )}
      <p class="muted">This page updates by itself when the first span arrives.</p>
      <p class="waiting" data-first-run-status>
        Waiting for the first span…
      </p>
      {sendSnippets(p.ingestUrl, p.created?.secret).map((s) => (
        <Copyable id={s.id} label={s.label} value={s.value} multiline={s.value.includes("\n")} />
      ))}
    </section>
  );
};

const LeadsOn: FC<OverviewProps> = (p) => {
  const base = `/app/t/${p.tenant.id}`;
  return (
    <>
      <p class="summary-line" aria-label="Project summary">
        <span data-stat="spans">{p.stats.spans.toLocaleString("en-US")}</span> spans in {p.stats.traces.toLocaleString("en-US")} traces stored
        {p.stats.lastSpanAt ? <>, the latest span ended {fmtTime(p.stats.lastSpanAt.getTime())}</> : null}.
      </p>
      <section class="card latest-traces" aria-labelledby="latest-title">
        <h2 id="latest-title">Latest traces</h2>
        {p.latest === undefined ? (
          <p class="muted">The latest traces could not be read just now; reload the page, or open the search.</p>
        ) : p.latest.length === 0 ? (
          <p class="muted">No trace in the last day. Older ones are in the search.</p>
        ) : (
          <table class="latest">
            <thead>
              <tr>
                <th scope="col">Root span</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">Spans</th>
              </tr>
            </thead>
            <tbody>
              {p.latest.map((t) => (
                <tr data-trace-id={t.traceId} class={t.errors ? "has-errors" : undefined}>
                  <td>
                    <a href={`${base}/traces/${t.traceId}`}>
                      {t.rootService}: {t.rootName || "(root span not received)"}
                    </a>
                    {t.errors ? <span class="badge error">{t.errors === 1 ? "1 error" : `${t.errors} errors`}</span> : null}
                  </td>
                  <td>{fmtTime(t.startMs)}</td>
                  <td>{fmtDuration(t.durationMs)}</td>
                  <td>{t.spans}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p>
          <a href={`${base}/search`}>Search all traces →</a>
        </p>
      </section>
      <nav class="lead-on" aria-label="Explore">
        <a class="card" href={`${base}/search`}>
          <strong>Search</strong>
          <span class="muted">Find traces by service, operation, tags, duration or TraceQL.</span>
        </a>
        <a class="card" href={`${base}/service-map`}>
          <strong>Service map</strong>
          <span class="muted">Which services call which, with their rates, errors and latency.</span>
        </a>
        <a class="card" href={`${base}/services`}>
          <strong>Services</strong>
          <span class="muted">Each service's operations and their RED metrics.</span>
        </a>
      </nav>
      <section class="card" aria-labelledby="grafana-title">
        <h2 id="grafana-title">Query from Grafana or Zipkin</h2>
        <p>
          Use an API key with the <code>read</code> scope (as a bearer token or the <code>x-api-key</code> header).
        </p>
        <Copyable id="url-tempo" label="Grafana Tempo data source URL" value={p.dashboardUrl} />
        <Copyable id="url-prometheus" label="Grafana Prometheus data source URL (service graph, span metrics)" value={`${p.dashboardUrl}/prometheus`} />
        <Copyable id="url-jaeger" label="Grafana Jaeger data source URL" value={`${p.dashboardUrl}/jaeger`} />
        <Copyable id="url-zipkin" label="Zipkin API (Zipkin Lens, Grafana Zipkin data source)" value={`${p.dashboardUrl}/zipkin`} />
      </section>
    </>
  );
};

export const OverviewPage: FC<OverviewProps> = (p) => (
  <Layout title={p.tenant.name} email={p.email} csrf={p.csrf} project={{ id: p.tenant.id, name: p.tenant.name, role: p.role }} active="overview">
    <h1>{p.tenant.name}</h1>
    {p.stats.spans === 0 ? <FirstRun {...p} /> : <LeadsOn {...p} />}
  </Layout>
);
