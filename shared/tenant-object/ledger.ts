/**
 * @module
 * The ledger of assembled ingest objects, as the tenant object stores it. An ingest key (built by
 * shared/storage/keys.ts, `.../<receivedAtMs>-<batchId>.etb`) is the unit of idempotency: once its
 * spans are in a catalogued block and its metrics are counted, the ledger holds it, and a message
 * that brings it again (a redelivery, at any time) is acked without work.
 *
 * Compact on purpose: the busiest tenant of the capacity model (100 k spans/s, ~500 requests/s)
 * writes 43 M keys a day. A key is stored as 16 bytes (the first 128 bits of its SHA-256; a
 * collision among 10^9 keys has odds of about 10^-21), grouped by the minute ingest received it, so
 * that one commit writes one row per minute its keys span (usually one) and a lookup reads only the
 * minutes of the keys it asks about. Pure: no I/O.
 */
import { toHex } from "../encoding/base64.ts";

/**
 * How long the ledger keeps a key: longer than Queues keeps any message (4 days, the retention the
 * deploy steps give the queues) plus a day for a message spilled to R2 and swept after that. A
 * message can only be delivered while its queue holds it, so no redelivery comes later than this.
 */
export const LEDGER_RETENTION_MS = 5 * 86_400_000;

/** Bytes of one key's id in the ledger. */
export const LEDGER_ID_BYTES = 16;

export interface LedgerEntry {
  key: string;
  /** The minute (epoch seconds, a multiple of 60) ingest received the object. */
  minute: number;
  /** 32 hex digits. */
  id: string;
}

/** The receive time in an ingest key (`.../<ms>-<batchId>...`), in ms. */
export function receivedAtOfKey(key: string): number {
  const last = key.slice(key.lastIndexOf("/") + 1);
  const m = /^(\d{1,16})-/.exec(last);
  if (!m) throw new Error(`not an ingest key: ${JSON.stringify(key)}`);
  return Number(m[1]);
}

export async function ledgerEntries(keys: Iterable<string>): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for (const key of keys) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
    out.push({ key, minute: Math.floor(receivedAtOfKey(key) / 60_000) * 60, id: toHex(digest.subarray(0, LEDGER_ID_BYTES)) });
  }
  return out;
}

/** Entries by minute, each minute's ids as one blob (what one ledger row stores). */
export function packByMinute(entries: readonly LedgerEntry[]): Map<number, Uint8Array> {
  const byMinute = new Map<number, string[]>();
  for (const e of entries) {
    let ids = byMinute.get(e.minute);
    if (!ids) byMinute.set(e.minute, (ids = []));
    ids.push(e.id);
  }
  const out = new Map<number, Uint8Array>();
  for (const [minute, ids] of byMinute) {
    const blob = new Uint8Array(ids.length * LEDGER_ID_BYTES);
    ids.forEach((id, i) => {
      for (let j = 0; j < LEDGER_ID_BYTES; j++) blob[i * LEDGER_ID_BYTES + j] = parseInt(id.slice(j * 2, j * 2 + 2), 16);
    });
    out.set(minute, blob);
  }
  return out;
}

/** The ids one ledger row's blob holds. */
export function unpackIds(blob: Uint8Array): string[] {
  if (blob.length % LEDGER_ID_BYTES !== 0) throw new Error("ledger row: blob is not a whole number of ids");
  const out: string[] = [];
  for (let i = 0; i < blob.length; i += LEDGER_ID_BYTES) out.push(toHex(blob.subarray(i, i + LEDGER_ID_BYTES)));
  return out;
}
