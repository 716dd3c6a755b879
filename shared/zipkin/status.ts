/**
 * @module
 * A span's status and the Zipkin tags that carry it, both ways. Zipkin has no status field: a
 * span failed when it has an `error` tag (Brave and zipkin-go write the error's message there);
 * OpenTelemetry's Zipkin mapping adds `otel.status_code` and puts the status description in
 * `error`. Pure, no I/O.
 *
 * - `statusFromTags`: what decode.ts reads. `otel.status_code` (OK/ERROR, any case, or
 *   STATUS_CODE_*) gives the code and `otel.status_description` the message; an `error` tag of
 *   any value but "false" means ERROR, its text the message when there is no description and it
 *   is not "true" (the collector's receiver takes no message from it).
 * - `tagsFromStatus`: what encode.ts writes for a status, the mapping's tags: `otel.status_code`
 *   OK or ERROR, and for ERROR `error` with the message, or "true" without one (the collector's
 *   exporter writes "true"; the specification asks for "").
 *
 * The two are inverse for the tags `tagsFromStatus` writes. Any other set of status tags (an
 * `error` tag alone, as Zipkin's own tracers send it; `otel.status_code` without `error`, as the
 * JS exporter sends an ERROR without a description; the collector exporter's `Error` spelling and
 * `otel.status_description`) cannot be rebuilt from the status: decode.ts keeps such tags as
 * they are, as span attributes, and encode.ts writes a span's own status tags back instead of
 * the status's whenever they say that span's status (`ownStatusTags`).
 */
import type { KeyValue, SpanStatus } from "../model/span.ts";

export const STATUS_TAG_KEYS = ["otel.status_code", "otel.status_description", "error"] as const;

export type StatusTagKey = (typeof STATUS_TAG_KEYS)[number];
export type StatusTags = Partial<Record<StatusTagKey, string>>;

const STATUS_TAG_SET: ReadonlySet<string> = new Set(STATUS_TAG_KEYS);

export function isStatusTag(key: string): key is StatusTagKey {
  return STATUS_TAG_SET.has(key);
}

function codeFromTag(value: string): number {
  switch (value.toUpperCase()) {
    case "OK":
    case "STATUS_CODE_OK":
      return 1;
    case "ERROR":
    case "STATUS_CODE_ERROR":
      return 2;
    default:
      return 0;
  }
}

/** The status a Zipkin span's status tags say. */
export function statusFromTags(tags: StatusTags): SpanStatus {
  const status = { code: 0, message: "" };
  const code = tags["otel.status_code"];
  if (code !== undefined) {
    status.code = codeFromTag(code);
    status.message = tags["otel.status_description"] ?? "";
  }
  const error = tags.error;
  if (error !== undefined && error !== "false") {
    status.code = 2;
    if (status.message === "" && error !== "true") status.message = error;
  }
  return status;
}

/** The tags OpenTelemetry's Zipkin mapping gives a status. */
export function tagsFromStatus(status: SpanStatus): StatusTags {
  if (status.code === 1) return { "otel.status_code": "OK" };
  if (status.code === 2) return { "otel.status_code": "ERROR", error: status.message || "true" };
  return {};
}

export function sameStatusTags(a: StatusTags, b: StatusTags): boolean {
  return STATUS_TAG_KEYS.every((key) => a[key] === b[key]);
}

/**
 * The status tags a span carries as string attributes (as decode.ts keeps them), when they say
 * its status; undefined when it has none or they say another status (the status's own tags win).
 */
export function ownStatusTags(attributes: readonly KeyValue[], status: SpanStatus): StatusTags | undefined {
  let own: StatusTags | undefined;
  for (const kv of attributes) {
    if (isStatusTag(kv.key) && "stringValue" in kv.value) (own ??= {})[kv.key] = kv.value.stringValue;
  }
  if (!own) return undefined;
  const said = statusFromTags(own);
  return said.code === status.code && said.message === status.message ? own : undefined;
}
