import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ingestBatchKey } from "../storage/keys.ts";
import { LEDGER_ID_BYTES, ledgerEntries, packByMinute, receivedAtOfKey, unpackIds } from "./ledger.ts";

const T0 = 1_764_090_000; // 2025-11-25T17:00:00Z, a minute boundary
const key = (ms: number, batchId = "b1") => ingestBatchKey("tn_a", ms, batchId);
/** The ledger id computed independently of the module: the first 16 bytes of SHA-256, in hex. */
const sha128 = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32);

describe("receivedAtOfKey", () => {
  it("reads the receive time out of keys built by ingestBatchKey", () => {
    expect(key(T0 * 1000 + 12_345)).toBe("t/tn_a/ingest/2025-11-25/17/1764090012345-b1.etb");
    expect(receivedAtOfKey(key(T0 * 1000 + 12_345))).toBe(1_764_090_012_345);
    // A batch id of digits does not confuse it: only the number before the first "-" counts.
    expect(receivedAtOfKey(key(5, "123-456"))).toBe(5);
  });

  it.each([
    ["a block key", "t/tn_a/blocks/l0-0123abcd"],
    ["no number before the dash", "t/tn_a/ingest/2025-11-25/17/abc-b1.etb"],
    ["no dash after the number", "t/tn_a/ingest/2025-11-25/17/1764090012345.etb"],
    ["more than 16 digits", "t/tn_a/ingest/2025-11-25/17/12345678901234567-b1.etb"],
    ["a trailing slash", "t/tn_a/ingest/2025-11-25/17/"],
    ["the empty string", ""],
  ])("throws on %s", (_, bad) => {
    expect(() => receivedAtOfKey(bad)).toThrow(/not an ingest key/);
  });
});

describe("ledgerEntries", () => {
  it("gives each key the minute it was received (epoch seconds) and a 32-hex id of its SHA-256", async () => {
    const keys = [key(T0 * 1000), key(T0 * 1000 + 59_999), key(T0 * 1000 + 60_000), key(T0 * 1000 - 1)];
    const entries = await ledgerEntries(keys);
    expect(entries).toEqual([
      { key: keys[0], minute: T0, id: sha128(keys[0]!) },
      { key: keys[1], minute: T0, id: sha128(keys[1]!) },
      { key: keys[2], minute: T0 + 60, id: sha128(keys[2]!) },
      { key: keys[3], minute: T0 - 60, id: sha128(keys[3]!) },
    ]);
    for (const e of entries) {
      expect(e.id).toMatch(/^[0-9a-f]{32}$/);
      expect(e.minute % 60).toBe(0);
    }
  });

  it("is stable across calls and distinct for distinct keys", async () => {
    const keys = Array.from({ length: 200 }, (_, i) => key(T0 * 1000 + i, `b${i % 7}`));
    const a = await ledgerEntries(keys);
    const b = await ledgerEntries([...keys].reverse());
    expect(b.reverse()).toEqual(a);
    expect(new Set(a.map((e) => e.id)).size).toBe(keys.length);
    // Same time, different batch: different ids.
    const [x, y] = await ledgerEntries([key(T0 * 1000, "aa"), key(T0 * 1000, "ab")]);
    expect(x!.id).not.toBe(y!.id);
  });

  it("rejects a key that is not an ingest key", async () => {
    await expect(ledgerEntries([key(T0 * 1000), "t/tn_a/blocks/l0-x"])).rejects.toThrow(/not an ingest key/);
  });
});

describe("packByMinute / unpackIds", () => {
  it("packs each minute's ids into one blob of 16 bytes per id, and unpacks them in order", async () => {
    const keys = [key(T0 * 1000 + 1), key(T0 * 1000 + 120_000), key(T0 * 1000 + 2), key(T0 * 1000 + 3), key(T0 * 1000 + 120_001)];
    const entries = await ledgerEntries(keys);
    const packed = packByMinute(entries);
    expect([...packed.keys()]).toEqual([T0, T0 + 120]);
    expect(packed.get(T0)!.length).toBe(3 * LEDGER_ID_BYTES);
    expect(packed.get(T0 + 120)!.length).toBe(2 * LEDGER_ID_BYTES);
    expect(unpackIds(packed.get(T0)!)).toEqual([sha128(keys[0]!), sha128(keys[2]!), sha128(keys[3]!)]);
    expect(unpackIds(packed.get(T0 + 120)!)).toEqual([sha128(keys[1]!), sha128(keys[4]!)]);
    // The blob is the raw bytes of the ids.
    expect(Buffer.from(packed.get(T0 + 120)!.subarray(0, 16)).toString("hex")).toBe(sha128(keys[1]!));
  });

  it("packs nothing into no rows, and an empty blob into no ids", () => {
    expect(packByMinute([]).size).toBe(0);
    expect(unpackIds(new Uint8Array(0))).toEqual([]);
  });

  it("refuses a blob that is not a whole number of ids", () => {
    expect(() => unpackIds(new Uint8Array(LEDGER_ID_BYTES + 1))).toThrow(/whole number of ids/);
    expect(() => unpackIds(new Uint8Array(LEDGER_ID_BYTES - 1))).toThrow(/whole number of ids/);
  });
});
