/**
 * @module
 * The ingest worker's routes: OTLP/HTTP traces and Zipkin v2 spans. Each reads as
 * authorise -> read body -> rate-limit -> prepare (pure) -> store -> answer.
 */
import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import { ApiError, grpcCodeForHttpStatus } from "../../shared/http/errors.ts";
import { errorHandler, jsonError } from "../../shared/http/error-handler.ts";
import { keyAuth } from "../../shared/http/middleware/key-auth.ts";
import { baseSecurityHeaders } from "../../shared/http/middleware/security-headers.ts";
import { readBody } from "../../shared/ingest/read-body.ts";
import { LeaseLimiter } from "../../shared/ingest/rate-limit.ts";
import { tenantObject, type TenantObjectNamespace } from "../../shared/tenant-object/api.ts";
import { partialSuccess, prepareBatch, type IngestSource } from "../../shared/ingest/prepare.ts";
import { encodeStatusProto, encodeTraceResponseProto } from "../../shared/otlp/encode-response.ts";
import type { IngestApp } from "./env.ts";
import { reportRejected, storeBatch } from "./store-batch.ts";

/** The global rate limit: leases of the tenant's bucket in its object, spent locally (shared/ingest/rate-limit.ts). */
const limiter = new LeaseLimiter();

export const app = new Hono<IngestApp>();

// First, so that every answer carries it, errors and preflights included.
app.use("*", baseSecurityHeaders);
// Browser exporters (OTLP JS in a page) send preflights; keys travel in headers, not cookies.
app.use(
  "*",
  cors({
    origin: "*",
    allowMethods: ["POST", "OPTIONS"],
    allowHeaders: ["content-type", "content-encoding", "authorization", "x-api-key"],
    // A browser Zipkin sender can then read what a partial success would have said.
    exposeHeaders: ["x-edgetrace-rejected-spans", "x-edgetrace-error-message", "retry-after"],
    maxAge: 86400,
  }),
);

app.post("/v1/traces", keyAuth({ scope: "ingest" }), async (c) => {
  const source = otlpSource(c.req.header("content-type"));
  const { prepared, receivedAtMs, batchId, tenantId } = await readAndPrepare(c, source);
  if (prepared.body !== undefined) await storeBatch(c.env, tenantId, batchId, receivedAtMs, { ...prepared, body: prepared.body });
  if (prepared.acceptedSpans === 0 && prepared.rejectedSpans > 0) {
    await reportRejected(c.env, tenantId, batchId, receivedAtMs, prepared.rejectedSpans);
    throw new ApiError(400, "invalid_spans", `All ${prepared.rejectedSpans} spans were rejected: ${prepared.errors.join("; ")}`);
  }
  const partial = partialSuccess(prepared);
  if (source === "otlp-proto") {
    return c.body(encodeTraceResponseProto(partial) as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/x-protobuf" });
  }
  return c.json(partial ? { partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } } : {}, 200);
});

app.post("/api/v2/spans", keyAuth({ scope: "ingest" }), async (c) => {
  const type = mediaType(c.req.header("content-type"));
  if (type !== "application/json" && type !== "") {
    throw new ApiError(415, "unsupported_media_type", `Content-Type "${type}" is not supported on the Zipkin endpoint; send Zipkin v2 JSON as application/json`);
  }
  const { prepared, receivedAtMs, batchId, tenantId } = await readAndPrepare(c, "zipkin-json");
  if (prepared.acceptedSpans === 0 && prepared.rejectedSpans > 0) {
    await reportRejected(c.env, tenantId, batchId, receivedAtMs, prepared.rejectedSpans);
    throw new ApiError(400, "invalid_spans", `All ${prepared.rejectedSpans} spans were rejected: ${prepared.errors.join("; ")}`);
  }
  if (prepared.body !== undefined) await storeBatch(c.env, tenantId, batchId, receivedAtMs, { ...prepared, body: prepared.body });
  // Zipkin has no partial-success body; what OTLP would say in one travels in headers.
  const partial = partialSuccess(prepared);
  const headers: Record<string, string> = {};
  if (partial && partial.rejectedSpans > 0) headers["x-edgetrace-rejected-spans"] = String(partial.rejectedSpans);
  if (partial) headers["x-edgetrace-error-message"] = headerText(partial.errorMessage);
  return c.body(null, 202, headers);
});

app.notFound((c) => c.json({ code: 5, error: "not_found", message: `No route for ${c.req.method} ${c.req.path}; OTLP is at POST /v1/traces, Zipkin at POST /api/v2/spans` }, 404));

app.onError(
  errorHandler("ingest", (c, err, headers) => {
    // OTLP says errors come back as google.rpc.Status in the request's encoding.
    if (c.req.path === "/v1/traces" && PROTOBUF_TYPES.has(mediaType(c.req.header("content-type")))) {
      return c.body(encodeStatusProto(grpcCodeForHttpStatus(err.status), err.message) as Uint8Array<ArrayBuffer>, err.status, { ...headers, "content-type": "application/x-protobuf" });
    }
    return jsonError(c, err, headers);
  }),
);

async function readAndPrepare(c: Context<IngestApp>, source: IngestSource) {
  const { tenantId, limits } = c.var.principal;
  const bytes = await readBody(c.req.raw, limits.maxRequestBytes);
  const receivedAtMs = Date.now();
  const tenant = tenantObject(c.env.TENANTS as unknown as TenantObjectNamespace, tenantId);
  const limited = await limiter.take(tenantId, bytes.byteLength, { ratePerSecond: limits.ingestBytesPerSecond, burst: limits.ingestBurstBytes }, (request) => tenant.takeLease(tenantId, request));
  if (!limited.ok) {
    throw new ApiError(429, "rate_limited", `Ingest rate limit of ${limits.ingestBytesPerSecond} bytes/s exceeded for this tenant`, limited.retryAfterSeconds);
  }
  const batchId = crypto.randomUUID();
  const prepared = prepareBatch(bytes, source, { tenantId, batchId, receivedAtMs, maxAttributeValueBytes: limits.maxAttributeValueBytes, retentionDays: limits.retentionDays });
  return { prepared, receivedAtMs, batchId, tenantId };
}

/** A message as a header value: printable ASCII only (the messages are, but a header must never throw), bounded. */
function headerText(s: string): string {
  const text = s.replace(/[^\x20-\x7e]/g, "?");
  return text.length > 2000 ? `${text.slice(0, 1997)}...` : text;
}

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

const PROTOBUF_TYPES = new Set(["application/x-protobuf", "application/protobuf"]);

function otlpSource(header: string | undefined): IngestSource {
  const type = mediaType(header);
  if (PROTOBUF_TYPES.has(type)) return "otlp-proto";
  if (type === "application/json") return "otlp-json";
  throw new ApiError(415, "unsupported_media_type", `Content-Type "${type}" is not supported; send OTLP as application/x-protobuf or application/json`);
}
