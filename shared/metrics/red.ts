/**
 * @module
 * RED metrics (rate, errors, duration) per service, operation (span name) and span kind per minute,
 * as rows ready for D1.
 *
 * One row per (tenant, minute, service, operation, kind) that saw spans. D1 bills per row written,
 * so spans are accumulated over as many spans as the caller has (a queue batch, or several) before
 * rows come out, and only request-shaped kinds are counted by default: SERVER, CLIENT, PRODUCER and
 * CONSUMER. INTERNAL spans are function-level, often with many names, and would multiply the rows;
 * pass `kinds` to include them. Spans whose resource has no `service.name` are skipped. As with
 * edge rows, write a minute's rows once it is over rather than after every batch (see
 * servicegraph/aggregate.ts for the figures).
 *
 * A span counts in the minute of its start time. An error is status code 2 (ERROR).
 *
 * Beside them, one **service row** per (tenant, minute, service) counts every span of the service
 * whatever its kind (INTERNAL and UNSPECIFIED included), with its errors and durations, and the
 * spans of resources without a string `service.name` too, each under what TraceQL reads there
 * (`ServiceRow.serviceNameType`). About as many rows as services a minute, a few percent of the
 * operation rows, and they answer `{ } | rate() by(resource.service.name)` and its kin exactly
 * (shared/traceql/metrics-from-rollups.ts). Stored in their own table (`service_minutes`), so no
 * reader of operation rows sees them.
 */
import { SpanKind, StatusCode, type AnyValue, type Resource, type ResourceSpans, type Span } from "../model/span.ts";
import { operationMinutes, serviceMinutes } from "../db/schema.ts";
import { LatencyHistogram } from "./histogram.ts";
import { foldWindow, MinuteAccumulator, minuteRollup, roundMs, type TimeWindow } from "./rows.ts";
import { bucketStart, durationMs, serviceName, unixSeconds } from "./span-fields.ts";

export interface OperationRow {
  tenantId: string;
  /** Start of the time bucket in unix seconds, a multiple of the step (60 unless configured). */
  minute: number;
  service: string;
  /** The span name. */
  operation: string;
  /** OTLP span kind number. */
  kind: number;
  count: number;
  errors: number;
  /** Span durations in ms, an encoded LatencyHistogram (see histogram.ts). */
  durations: Uint8Array;
}

export interface RedOptions {
  /** Width of a row's time bucket in seconds. Default 60. */
  stepSeconds?: number;
  /** Span kinds that get rows. Default SERVER, CLIENT, PRODUCER, CONSUMER. */
  kinds?: readonly number[];
}

export const DEFAULT_RED_KINDS: readonly number[] = [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER];

/**
 * How a service row's `service` reads: what the resource's first `service.name` attribute is, the
 * attribute TraceQL's `resource.service.name` reads (shared/traceql/eval.ts) and `by()` labels.
 */
export const ServiceNameType = {
  /** A string (the empty string included): `service` is it. */
  STRING: 0,
  /** No `service.name`: `service` is "". TraceQL compares nothing equal to it, and `by()` gives no label. */
  ABSENT: 1,
  /** Another type (int, double, bool, array, kvlist, bytes): `service` is the OTLP AnyValue as JSON (`serviceNameValue`). */
  OTHER: 2,
} as const;
export type ServiceNameType = (typeof ServiceNameType)[keyof typeof ServiceNameType];

/** Every span of one service in one minute, whatever its kind. */
export interface ServiceRow {
  tenantId: string;
  /** Start of the minute in unix seconds. */
  minute: number;
  /** The service name, or "" / the value's JSON, as `serviceNameType` says. */
  service: string;
  serviceNameType: ServiceNameType;
  /**
   * 1: the spans have no parent span id (TraceQL's roots: `nestedSetParent < 0`), 0: they have one.
   * With `status`, a row's spans are alike in all a Drilldown query asks of them.
   */
  root: number;
  /** The spans' status code as sent (0 unset, 1 ok, 2 error). */
  status: number;
  count: number;
  /** Spans with status ERROR: `count` in a row of status 2, else 0. */
  errors: number;
  /** Span durations in ms, an encoded LatencyHistogram. */
  durations: Uint8Array;
}

/**
 * Service rows as this version keys them (by `root` and `status` too); undefined when any row is of
 * the version before (migration 0010 dropped those from D1): such spans count as not in the rows.
 */
export function currentServiceRows<R extends Partial<Pick<ServiceRow, "root" | "status">>>(rows: readonly R[] | undefined): R[] | undefined {
  return rows?.every((r) => typeof r.root === "number" && typeof r.status === "number") ? [...rows] : undefined;
}

/** The service identity of a resource's spans: its first `service.name` attribute, as TraceQL reads it. */
export function serviceOfResource(resource: Resource): { service: string; serviceNameType: ServiceNameType } {
  for (const kv of resource.attributes) {
    if (kv.key !== "service.name") continue;
    if ("stringValue" in kv.value) return { service: kv.value.stringValue, serviceNameType: ServiceNameType.STRING };
    // Non-finite doubles have no JSON number: as strings, and back in serviceNameValue.
    return { service: JSON.stringify(kv.value, (k, v: unknown) => (k === "doubleValue" && typeof v === "number" && !Number.isFinite(v) ? String(v) : v)), serviceNameType: ServiceNameType.OTHER };
  }
  return { service: "", serviceNameType: ServiceNameType.ABSENT };
}

/** The `service.name` value a service row stands for; undefined when the resource has none. */
export function serviceNameValue(row: Pick<ServiceRow, "service" | "serviceNameType">): AnyValue | undefined {
  switch (row.serviceNameType) {
    case ServiceNameType.STRING:
      return { stringValue: row.service };
    case ServiceNameType.ABSENT:
      return undefined;
    default:
      return JSON.parse(row.service, (k, v: unknown) => (k === "doubleValue" && typeof v === "string" ? Number(v) : v)) as AnyValue;
  }
}

/** Operation rows as a minute rollup (rows.ts): the `operation_minutes` table. */
export const operationRollup = minuteRollup<OperationRow>()({
  name: "operation",
  keys: ["service", "operation", "kind"],
  counts: ["count", "errors"],
  histograms: ["durations"],
  table: operationMinutes,
});

/** Service rows as a minute rollup (rows.ts): the `service_minutes` table. */
export const serviceRollup = minuteRollup<ServiceRow>()({
  name: "service",
  keys: ["service", "serviceNameType", "root", "status"],
  counts: ["count", "errors"],
  histograms: ["durations"],
  table: serviceMinutes,
});

/**
 * Collects spans into per-minute operation rows (`rows()`) and service rows (`serviceRows()`, every
 * span of every resource, per minute whatever the step); histograms stay decoded until read.
 */
export class RedAccumulator {
  readonly tenantId: string;
  readonly #step: number;
  readonly #kinds: ReadonlySet<number>;
  readonly #operations: MinuteAccumulator<OperationRow, (typeof operationRollup.keys)[number]>;
  readonly #services: MinuteAccumulator<ServiceRow, (typeof serviceRollup.keys)[number]>;

  constructor(tenantId: string, options: RedOptions = {}) {
    this.tenantId = tenantId;
    this.#step = options.stepSeconds ?? 60;
    this.#kinds = new Set(options.kinds ?? DEFAULT_RED_KINDS);
    this.#operations = new MinuteAccumulator(operationRollup, tenantId);
    this.#services = new MinuteAccumulator(serviceRollup, tenantId);
  }

  /** Adds every span of a batch or trace group (anything with `resourceSpans`). */
  addSpans(group: { resourceSpans: readonly ResourceSpans[] }): void {
    for (const rs of group.resourceSpans) {
      const service = serviceName(rs.resource);
      const identity = serviceOfResource(rs.resource);
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const spanClass = { root: span.parentSpanId === "" ? 1 : 0, status: span.status.code };
          countSpan(this.#services.row({ minute: bucketStart(unixSeconds(span.startTimeUnixNano), 60), ...identity, ...spanClass }), span);
          if (service !== undefined) this.addSpan(span, service);
        }
      }
    }
  }

  addSpan(span: Span, service: string): void {
    if (!this.#kinds.has(span.kind)) return;
    countSpan(this.#operations.row({ minute: bucketStart(unixSeconds(span.startTimeUnixNano), this.#step), service, operation: span.name, kind: span.kind }), span);
  }

  /** Number of rows `rows()` would return. */
  get size(): number {
    return this.#operations.size;
  }

  rows(): OperationRow[] {
    return this.#operations.rows();
  }

  /** One row per minute and service of every span added through `addSpans`. */
  serviceRows(): ServiceRow[] {
    return this.#services.rows();
  }
}

/** A span in an operation or service row: one more, an error when its status says so, its duration. */
function countSpan(row: { count: number; errors: number; durations: LatencyHistogram }, span: Span): void {
  row.count++;
  if (span.status.code === StatusCode.ERROR) row.errors++;
  row.durations.observe(durationMs(span.startTimeUnixNano, span.endTimeUnixNano));
}

/** RED of one operation over a window, for `/api/services/{service}/operations/metrics`. */
export interface OperationMetrics {
  service: string;
  operation: string;
  kind: number;
  requests: number;
  errors: number;
  /** requests per second over the window. */
  rate: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

/**
 * Folds rows into one entry per (service, operation, kind) for the window (epoch seconds; a row
 * counts when its bucket overlaps the window). Sorted by service, operation, kind.
 */
export function summarizeOperations(rows: Iterable<OperationRow>, window: TimeWindow, stepSeconds = 60): OperationMetrics[] {
  const byOp = foldWindow(
    rows,
    window,
    stepSeconds,
    (row) => [row.service, row.operation, row.kind],
    (row) => ({ service: row.service, operation: row.operation, kind: row.kind, requests: 0, errors: 0, h: new LatencyHistogram() }),
    (op, row) => {
      op.requests += row.count;
      op.errors += row.errors;
      op.h.merge(LatencyHistogram.decode(row.durations));
    },
  );
  const seconds = Math.max(1, window.end - window.start);
  return byOp
    .sort((a, b) => compare(a.service, b.service) || compare(a.operation, b.operation) || a.kind - b.kind)
    .map((op) => ({
      service: op.service,
      operation: op.operation,
      kind: op.kind,
      requests: op.requests,
      errors: op.errors,
      rate: op.requests / seconds,
      p50Ms: roundMs(op.h.quantile(0.5)),
      p90Ms: roundMs(op.h.quantile(0.9)),
      p99Ms: roundMs(op.h.quantile(0.99)),
    }));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
