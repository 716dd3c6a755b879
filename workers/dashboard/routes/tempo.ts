/**
 * @module
 * The Tempo-compatible query API (what Grafana's Tempo datasource calls), under /api. Every route
 * needs a key with the `read` scope and sees only that key's tenant. Built so far: echo and trace
 * by id (v1 `{batches}` and v2 `{trace}` shapes, OTLP JSON; v1 also as protobuf `tempopb.Trace`
 * when the Accept header prefers it, as Grafana's Tempo datasource asks).
 */
import { Hono } from "hono";
import { ApiError } from "../../../shared/http/errors.ts";
import { tempoTraceRange, traceIdParam } from "../../../shared/http/params.ts";
import { findTrace } from "../../../shared/storage/trace-reader.ts";
import { encodeTraceProto } from "../../../shared/otlp/encode-proto.ts";
import { readRoute, type DashboardApp, type RouteContext } from "../context.ts";

async function traceById(c: RouteContext) {
  const traceId = traceIdParam(c.req.param("traceId")!);
  const found = await findTrace(c.var.db, c.var.store, c.var.tenantId, traceId, tempoTraceRange(c.req.query()));
  // Another tenant's trace answers exactly like a missing one.
  if (!found) throw new ApiError(404, "trace_not_found", `trace ${traceId} not found`);
  return found.resourceSpans;
}

const PROTOBUF_TYPES = new Set(["application/protobuf", "application/x-protobuf"]);

/**
 * Whether the Accept header prefers protobuf over JSON: a protobuf type with a higher quality
 * than application/json, or the same quality and listed first. Anything else (no header,
 * wildcards only, JSON first) gets JSON.
 */
export function prefersProtobuf(accept: string | undefined): boolean {
  if (!accept) return false;
  // Best quality of each kind, and where it was first listed (q=0 means "not acceptable").
  let protoQ = 0;
  let protoAt = Infinity;
  let jsonQ = 0;
  let jsonAt = Infinity;
  const ranges = accept.split(",");
  for (let i = 0; i < ranges.length; i++) {
    const [type = "", ...params] = ranges[i]!.split(";");
    const mediaType = type.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const [k = "", v = ""] = p.split("=");
      if (k.trim().toLowerCase() === "q") q = Number(v.trim()) || 0;
    }
    if (PROTOBUF_TYPES.has(mediaType) && q > protoQ) {
      protoQ = q;
      protoAt = i;
    } else if (mediaType === "application/json" && q > jsonQ) {
      jsonQ = q;
      jsonAt = i;
    }
  }
  return protoQ > 0 && (protoQ > jsonQ || (protoQ === jsonQ && protoAt < jsonAt));
}

export const tempo = new Hono<DashboardApp>()
  .use("*", readRoute)
  .get("/echo", (c) => c.text("echo"))
  .get("/traces/:traceId", async (c) => {
    const resourceSpans = await traceById(c);
    c.header("vary", "accept");
    // tempopb.Trace { repeated ResourceSpans resource_spans = 1 }: the bytes of an OTLP export request.
    if (prefersProtobuf(c.req.header("accept"))) return c.body(encodeTraceProto(resourceSpans), 200, { "content-type": "application/protobuf" });
    return c.json({ batches: resourceSpans });
  })
  .get("/v2/traces/:traceId", async (c) => {
    const resourceSpans = await traceById(c);
    return c.json({ trace: { resourceSpans } });
  });
