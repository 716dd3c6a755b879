/**
 * @module
 * The per-project link from a span to its logs: a URL template with placeholders that the trace
 * view fills for each span. Owners set it; members' browsers follow it, so only http(s) URLs are
 * accepted (a `javascript:` template would run in their session), placeholders may stand only in
 * the path, query and fragment (span data must not choose the host the link goes to), and every
 * value is URL-encoded when filled in. Pure; used by the settings form (worker) and the trace view
 * (browser), which also refuses a template stored before these rules.
 */

export const LOGS_PLACEHOLDERS = ["traceId", "spanId", "service", "startMs", "endMs"] as const;
export type LogsPlaceholder = (typeof LOGS_PLACEHOLDERS)[number];
export const MAX_TEMPLATE_LENGTH = 1000;

/**
 * The template's fixed origin: the text before its first `{` must hold the whole scheme and
 * authority, ended by the `/`, `?` or `#` that starts the rest. Undefined when it does not (a
 * placeholder in the host, port or user info, or no placeholder-free origin at all).
 */
function fixedOrigin(template: string): string | undefined {
  const brace = template.indexOf("{");
  const prefix = brace === -1 ? template : template.slice(0, brace);
  // The authority may not hold `\` either: URL parsers read it as `/` in http(s) URLs.
  const m = /^(https?):\/\/([^/?#\\{}]+)(?:[/?#]|$)/i.exec(prefix);
  if (!m || (brace !== -1 && m[0].length === `${m[1]}://${m[2]}`.length)) return undefined;
  try {
    return new URL(`${m[1]}://${m[2]}/`).origin;
  } catch {
    return undefined;
  }
}

/**
 * The template with every placeholder filled (values URL-encoded), or undefined if the template
 * is not a safe http(s) URL whose origin is fixed text, or the filled link leaves that origin.
 */
export function fillLogsTemplate(template: string, values: Record<LogsPlaceholder, string>): string | undefined {
  const origin = fixedOrigin(template);
  if (!origin) return undefined;
  const filled = template.replace(/\{(traceId|spanId|service|startMs|endMs)\}/g, (_, k: LogsPlaceholder) => encodeURIComponent(values[k]));
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    return undefined;
  }
  return (url.protocol === "https:" || url.protocol === "http:") && url.origin === origin ? url.href : undefined;
}

/** Why a template is refused, or undefined when it is acceptable (empty means "no logs link"). */
export function logsTemplateProblem(template: string): string | undefined {
  if (template === "") return undefined;
  if (template.length > MAX_TEMPLATE_LENGTH) return `The logs link is at most ${MAX_TEMPLATE_LENGTH} characters`;
  const unknown = [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!).filter((k) => !(LOGS_PLACEHOLDERS as readonly string[]).includes(k));
  if (unknown.length) return `Unknown placeholder {${unknown[0]}}; use ${LOGS_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`;
  if (!/^https?:\/\//i.test(template)) return "The logs link must be an http:// or https:// URL";
  if (!fixedOrigin(template)) return "Placeholders may only be used in the logs link's path or query: its scheme and host must be written out, as in https://logs.example.com/search?trace={traceId}";
  const sample = fillLogsTemplate(template, { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", service: "checkout", startMs: "1700000000000", endMs: "1700000000100" });
  if (!sample) return "The logs link must be an http:// or https:// URL";
  return undefined;
}

/** Logs of a span are looked for this far before its start and after its end, at least. */
export const LOGS_PAD_MS = 60_000;

/**
 * The time window a logs link asks for, in epoch milliseconds (strings, as the template takes them):
 * the span's (or trace's) times padded on each side by a minute or by its own duration, whichever
 * is longer, so logs written just before or after it, or stamped by a skewed clock, are in it.
 */
export function logsWindow(startUnixNano: string | bigint, endUnixNano: string | bigint): { startMs: string; endMs: string } {
  const start = BigInt(startUnixNano) / 1_000_000n;
  const end = BigInt(endUnixNano) / 1_000_000n;
  const dur = end > start ? end - start : 0n;
  const pad = dur > BigInt(LOGS_PAD_MS) ? dur : BigInt(LOGS_PAD_MS);
  const from = start - pad;
  return { startMs: String(from > 0n ? from : 0n), endMs: String((end > start ? end : start) + pad) };
}
