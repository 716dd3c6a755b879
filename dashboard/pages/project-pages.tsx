/** @jsxImportSource hono/jsx */
/** Projects (tenants), a project's keys, settings and members (its overview: overview-page.tsx). */
import type { FC } from "hono/jsx";
import type { Role } from "../../shared/db/queries/accounts.ts";
import type { PublicKey } from "../../shared/db/queries/keys.ts";
import type { Tenant } from "../../shared/db/schema.ts";
import type { SettingsBounds } from "../../shared/tenancy/settings-bounds.ts";
import { Copyable, Csrf, Layout, Notice, type Frame } from "./layout.tsx";
import { sendSnippets } from "./snippets.ts";
import { UsageChart, type UsageDay } from "./usage-chart.tsx";

type Base = { email: string; csrf: string };
type InProject = Base & { tenant: Tenant; role: Role };

const frame = (p: InProject, title: string, active: Frame["active"]): Frame => ({ title, email: p.email, csrf: p.csrf, project: { id: p.tenant.id, name: p.tenant.name, role: p.role }, active });

const fmtTime = (d: Date | null | undefined) => (d ? d.toISOString().replace("T", " ").slice(0, 19) + " UTC" : "never");

export const ProjectsPage: FC<Base & { projects: { tenant: Tenant; role: Role }[]; error?: string }> = (p) => (
  <Layout title="Projects" email={p.email} csrf={p.csrf} active="projects">
    <h1>Projects</h1>
    {p.error && <Notice kind="error">{p.error}</Notice>}
    {p.projects.length ? (
      <ul class="cards" aria-label="Your projects">
        {p.projects.map(({ tenant, role }) => (
          <li class="card">
            <a href={`/app/t/${tenant.id}`}>
              <strong>{tenant.name}</strong>
            </a>
            <span class="badge">{role}</span>
            <small class="muted">{tenant.id}</small>
          </li>
        ))}
      </ul>
    ) : (
      <p class="muted">You have no project yet. A project holds your traces and API keys.</p>
    )}
    <form method="post" action="/app/projects" class="card inline-form">
      <Csrf token={p.csrf} />
      <label for="project-name">New project name</label>
      <input id="project-name" name="name" required maxlength={80} placeholder="production" />
      <button type="submit" class="primary">
        Create project
      </button>
    </form>
  </Layout>
);

export const KeysPage: FC<InProject & { keys: PublicKey[]; ingestUrl: string; created?: { key: PublicKey; secret: string; rotatedFrom?: string }; error?: string }> = (p) => {
  const owner = p.role === "owner";
  return (
    <Layout {...frame(p, `API keys · ${p.tenant.name}`, "keys")}>
      <h1>API keys</h1>
      {p.error && <Notice kind="error">{p.error}</Notice>}
      {p.created && (
        <section class="card created" aria-labelledby="created-title">
          <h2 id="created-title">Key “{p.created.key.name}” created</h2>
          <Notice kind="ok">
            Copy the secret now: it is shown only once.
            {p.created.rotatedFrom ? " The key it replaces keeps working until you revoke it." : ""}
          </Notice>
          <Copyable id="new-secret" label="Secret" value={p.created.secret} />
          {sendSnippets(p.ingestUrl, p.created.secret)
            .filter((s) => s.id === "snippet-env" || s.id === "snippet-zipkin" || s.id === "snippet-curl")
            .map((s) => (
              <Copyable id={`created-${s.id}`} label={s.label} value={s.value} multiline={s.value.includes("\n")} />
            ))}
        </section>
      )}
      {owner ? (
        <form method="post" action={`/app/t/${p.tenant.id}/keys`} class="card stack" aria-labelledby="new-key-title">
          <h2 id="new-key-title">New key</h2>
          <Csrf token={p.csrf} />
          <label for="key-name">Name</label>
          <input id="key-name" name="name" required maxlength={80} placeholder="checkout-service production" />
          <fieldset>
            <legend>Scopes</legend>
            <label>
              <input type="checkbox" name="scopes" value="ingest" checked /> ingest (send spans)
            </label>
            <label>
              <input type="checkbox" name="scopes" value="read" /> read (query APIs, Grafana)
            </label>
          </fieldset>
          <button type="submit" class="primary">
            Create key
          </button>
        </form>
      ) : (
        <p class="muted">Only an owner of this project can create, rotate or revoke keys.</p>
      )}
      <table class="keys">
        <caption>Keys of {p.tenant.name}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Scopes</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
            {owner && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {p.keys.map((k) => (
            <tr data-key-id={k.id}>
              <td class="key-name">{k.name}</td>
              <td data-label="Key">
                <code>{k.prefix}…</code>
              </td>
              <td data-label="Scopes">{k.scopes.join(", ")}</td>
              <td data-label="Created">{fmtTime(k.createdAt)}</td>
              <td data-label="Last used">{fmtTime(k.lastUsedAt)}</td>
              <td data-label="Status">{k.revokedAt ? `revoked ${fmtTime(k.revokedAt)}` : "active"}</td>
              {owner && (
                <td>
                  {!k.revokedAt && (
                    <div class="actions">
                      <form method="post" action={`/app/t/${p.tenant.id}/keys/${k.id}/rotate`} class="inline">
                        <Csrf token={p.csrf} />
                        <button type="submit" aria-label={`Rotate key ${k.name}`}>
                          Rotate
                        </button>
                      </form>
                      <form method="post" action={`/app/t/${p.tenant.id}/keys/${k.id}/revoke`} class="inline">
                        <Csrf token={p.csrf} />
                        <button type="submit" class="danger" aria-label={`Revoke key ${k.name}`}>
                          Revoke
                        </button>
                      </form>
                    </div>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {!p.keys.length && <p class="muted">No keys yet.</p>}
    </Layout>
  );
};

export const SettingsPage: FC<
  InProject & { members: { userId: string; email: string; role: Role }[]; bounds: SettingsBounds; usage: UsageDay[]; error?: string; notice?: string; selfId: string }
> = (p) => {
  const owner = p.role === "owner";
  const t = p.tenant;
  return (
    <Layout {...frame(p, `Settings · ${t.name}`, "settings")}>
      <h1>Settings</h1>
      {p.error && <Notice kind="error">{p.error}</Notice>}
      {p.notice && <Notice kind="ok">{p.notice}</Notice>}
      <section class="card">
        <h2>Usage, last 30 days</h2>
        <UsageChart days={p.usage} />
      </section>
      <form method="post" action={`/app/t/${t.id}/settings`} class="card stack">
        <h2>Limits and links</h2>
        <Csrf token={p.csrf} />
        <label for="retention">Retention (days)</label>
        <input id="retention" name="retentionDays" type="number" min={p.bounds.minRetentionDays} max={p.bounds.maxRetentionDays} value={String(t.retentionDays)} disabled={!owner} required />
        <label for="rate">Ingest rate limit (MB/s, decompressed)</label>
        <input
          id="rate"
          name="ingestMegabytesPerSecond"
          type="number"
          step="0.1"
          min={p.bounds.minIngestBytesPerSecond / 1e6}
          max={p.bounds.maxIngestBytesPerSecond / 1e6}
          value={String(t.ingestBytesPerSecond / 1e6)}
          disabled={!owner}
          required
        />
        <label for="logs-url">Logs link (optional)</label>
        <input
          id="logs-url"
          name="logsUrlTemplate"
          type="url"
          maxlength={1000}
          value={t.logsUrlTemplate ?? ""}
          disabled={!owner}
          placeholder="https://logs.example.com/search?q=trace_id:{traceId}&from={startMs}&to={endMs}"
          aria-describedby="logs-url-help"
        />
        <small id="logs-url-help" class="muted">
          The trace view links each span here. Placeholders, in the path or query only: {"{traceId}"}, {"{spanId}"}, {"{service}"}, {"{startMs}"}, {"{endMs}"}.
        </small>
        {owner && (
          <button type="submit" class="primary">
            Save settings
          </button>
        )}
      </form>
      <section class="card">
        <h2>Members</h2>
        <ul class="members">
          {p.members.map((m) => (
            <li>
              {m.email} <span class="badge">{m.role}</span>
              {owner && m.userId !== p.selfId && (
                <form method="post" action={`/app/t/${t.id}/members/${m.userId}/remove`} class="inline">
                  <Csrf token={p.csrf} />
                  <button type="submit" class="danger" aria-label={`Remove ${m.email}`}>
                    Remove
                  </button>
                </form>
              )}
            </li>
          ))}
        </ul>
        {owner && (
          <form method="post" action={`/app/t/${t.id}/members`} class="inline-form">
            <Csrf token={p.csrf} />
            <label for="member-email">Add a member by email</label>
            <input id="member-email" name="email" type="email" required />
            <label for="member-role">Role</label>
            <select id="member-role" name="role">
              <option value="member">member</option>
              <option value="owner">owner</option>
            </select>
            <button type="submit">Add</button>
          </form>
        )}
      </section>
      {owner && (
        <>
          <form method="post" action={`/app/t/${t.id}/rename`} class="card inline-form">
            <Csrf token={p.csrf} />
            <label for="rename">Project name</label>
            <input id="rename" name="name" required maxlength={80} value={t.name} />
            <button type="submit">Rename</button>
          </form>
          <form method="post" action={`/app/t/${t.id}/delete`} class="card danger-zone stack">
            <h2>Delete this project</h2>
            <p>This deletes its API keys, its index rows and every stored span. It cannot be undone.</p>
            <Csrf token={p.csrf} />
            <label for="confirm">
              Type the project name <strong>{t.name}</strong> to confirm
            </label>
            <input id="confirm" name="confirm" required autocomplete="off" />
            <button type="submit" class="danger">
              Delete project
            </button>
          </form>
        </>
      )}
    </Layout>
  );
};

