/**
 * @module
 * Cloudflare's list prices, as the benchmarks price what they count (bench/cost.ts,
 * bench/assembly-scale.ts, bench/capacity.ts): one copy.
 */

/**
 * List prices (USD), as the stored copies of these pages state them on 2026-11-25:
 * - Workers Standard: https://developers.cloudflare.com/workers/platform/pricing/
 * - R2 Standard storage: https://developers.cloudflare.com/r2/pricing/ (delete is free; ListObjects
 *   is Class A, HeadObject/GetObject Class B)
 * - D1: https://developers.cloudflare.com/d1/platform/pricing/
 * - Queues: https://developers.cloudflare.com/queues/platform/pricing/
 * Marginal prices only: the Workers Paid plan's $5/month and its included usage are left out.
 */
export const PRICES = {
  as_of: "2026-11-25",
  workers_per_million_requests: 0.3,
  workers_per_million_cpu_ms: 0.02,
  r2_class_a_per_million: 4.5,
  r2_class_b_per_million: 0.36,
  r2_per_gb_month: 0.015,
  d1_per_million_rows_read: 0.001,
  d1_per_million_rows_written: 1.0,
  d1_per_gb_month: 0.75,
  queues_per_million_ops: 0.4,
  /** Durable Objects (SQLite storage): https://developers.cloudflare.com/durable-objects/platform/pricing/ */
  do_per_million_requests: 0.15,
  do_per_million_gb_s: 12.5,
  do_per_million_rows_read: 0.001,
  do_per_million_rows_written: 1.0,
  do_per_gb_month: 0.2,
  /**
   * Grafana Cloud Traces, Pro: $0.50 per GB ingested, 30 days retention included (grafana.com/pricing
   * as transcribed 2026-05-25 in api-evangelist/grafana-com plans/grafana-com-plans-pricing.yml).
   * Grafana's own invoice page (grafana.com/docs/grafana-cloud/cost-management-and-billing/
   * understand-your-invoice/logs-invoice/) now bills $0.05 per GB processed + $0.40 per GB written,
   * i.e. $0.45 per GB when nothing is dropped; both are printed.
   */
  grafana_traces_per_gb: 0.5,
  grafana_traces_per_gb_processed_plus_written: 0.45,
} as const;
