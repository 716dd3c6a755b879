/**
 * @module
 * The per-project link from a span to its logs: a URL template with placeholders that the trace
 * view fills for each span. Owners set it; members' browsers follow it, so only http(s) URLs are
 * accepted (a `javascript:` template would run in their session), and every value is
 * URL-encoded when filled in. Pure; used by the settings form (worker) and the trace view (browser).
 */

export const LOGS_PLACEHOLDERS = ["traceId", "spanId", "service", "startMs", "endMs"] as const;
export type LogsPlaceholder = (typeof LOGS_PLACEHOLDERS)[number];
export const MAX_TEMPLATE_LENGTH = 1000;

/** The template with every placeholder filled (values URL-encoded), or undefined if it is not a safe http(s) URL. */
export function fillLogsTemplate(template: string, values: Record<LogsPlaceholder, string>): string | undefined {
  const filled = template.replace(/\{(traceId|spanId|service|startMs|endMs)\}/g, (_, k: LogsPlaceholder) => encodeURIComponent(values[k]));
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    return undefined;
  }
  return url.protocol === "https:" || url.protocol === "http:" ? url.href : undefined;
}

/** Why a template is refused, or undefined when it is acceptable (empty means "no logs link"). */
export function logsTemplateProblem(template: string): string | undefined {
  if (template === "") return undefined;
  if (template.length > MAX_TEMPLATE_LENGTH) return `The logs link is at most ${MAX_TEMPLATE_LENGTH} characters`;
  const unknown = [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!).filter((k) => !(LOGS_PLACEHOLDERS as readonly string[]).includes(k));
  if (unknown.length) return `Unknown placeholder {${unknown[0]}}; use ${LOGS_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`;
  const sample = fillLogsTemplate(template, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", service: "checkout", startMs: "1700000000000", endMs: "1700000000100" });
  if (!sample) return "The logs link must be an http:// or https:// URL";
  return undefined;
}
