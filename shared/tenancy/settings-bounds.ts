/**
 * @module
 * What a tenant owner may set from the dashboard, within bounds the operator sets (worker vars
 * MAX_RETENTION_DAYS and MAX_INGEST_BYTES_PER_SECOND). Pure, with the zod schema of the form.
 */
import { z } from "zod";
import { logsTemplateProblem } from "./logs-link.ts";

export interface SettingsBounds {
  minRetentionDays: number;
  maxRetentionDays: number;
  minIngestBytesPerSecond: number;
  maxIngestBytesPerSecond: number;
}

export const DEFAULT_BOUNDS: SettingsBounds = { minRetentionDays: 1, maxRetentionDays: 30, minIngestBytesPerSecond: 100_000, maxIngestBytesPerSecond: 50_000_000 };

export function boundsFromEnv(env: { MAX_RETENTION_DAYS?: string; MAX_INGEST_BYTES_PER_SECOND?: string }): SettingsBounds {
  const num = (v: string | undefined, fallback: number) => (v && /^\d+$/.test(v) ? Number(v) : fallback);
  return { ...DEFAULT_BOUNDS, maxRetentionDays: num(env.MAX_RETENTION_DAYS, DEFAULT_BOUNDS.maxRetentionDays), maxIngestBytesPerSecond: num(env.MAX_INGEST_BYTES_PER_SECOND, DEFAULT_BOUNDS.maxIngestBytesPerSecond) };
}

/** The settings form (values arrive as strings); the burst follows the rate (Tempo's 4:3). */
export function settingsSchema(b: SettingsBounds) {
  return z.object({
    retentionDays: z.coerce.number().int().min(b.minRetentionDays, `Retention is at least ${b.minRetentionDays} day(s)`).max(b.maxRetentionDays, `Retention is at most ${b.maxRetentionDays} days on this installation`),
    ingestMegabytesPerSecond: z.coerce
      .number()
      .min(b.minIngestBytesPerSecond / 1e6, `The rate limit is at least ${b.minIngestBytesPerSecond / 1e6} MB/s`)
      .max(b.maxIngestBytesPerSecond / 1e6, `The rate limit is at most ${b.maxIngestBytesPerSecond / 1e6} MB/s on this installation`),
    /** Empty: no logs link. */
    logsUrlTemplate: z
      .string()
      .trim()
      .default("")
      .superRefine((t, ctx) => {
        const problem = logsTemplateProblem(t);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
  });
}

export function rateToLimits(megabytesPerSecond: number): { ingestBytesPerSecond: number; ingestBurstBytes: number } {
  const perSecond = Math.round(megabytesPerSecond * 1e6);
  return { ingestBytesPerSecond: perSecond, ingestBurstBytes: Math.round((perSecond * 4) / 3) };
}
