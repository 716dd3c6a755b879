import { describe, expect, it } from "vitest";
import { edgeMinutes, operationMinutes } from "../db/schema.ts";
import { edgeRollup, type EdgeRow } from "../servicegraph/aggregate.ts";
import { LatencyHistogram } from "./histogram.ts";
import { operationRollup, serviceRollup, ServiceNameType } from "./red.ts";
import { MINUTE_ROLLUPS, ROW_KINDS, type RowKind, type RowOf } from "./row-kinds.ts";
import { bucketInWindow, foldWindow, MinuteAccumulator, MinuteRowMap, minuteRollup, roundMs, type MinuteRollup, type MinuteRow } from "./rows.ts";

const T0 = 1_764_090_000; // a minute boundary

/** A key of each kind, and a second key that differs from it in one field. */
const KEYS: { [N in RowKind]: [Omit<RowOf<N>, "tenantId" | "minute" | "requests" | "failed" | "clientDurations" | "serverDurations" | "count" | "errors" | "durations">, Partial<RowOf<N>>] } = {
  edgeRows: [{ source: "web", target: "cart", connectionType: "" }, { connectionType: "messaging_system" }],
  operationRows: [{ service: "cart", operation: "GET /cart", kind: 2 }, { kind: 3 }],
  serviceRows: [{ service: "cart", serviceNameType: ServiceNameType.STRING, root: 1, status: 0 }, { status: 2 }],
};

/** A small deterministic generator (the same rows on every run). */
function rng(seed: number): () => number {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

/** A row of the kind with random counts and histograms, and the durations that went into each histogram. */
function randomRow<N extends RowKind>(kind: N, next: () => number, key: Partial<RowOf<N>> = {}): { row: RowOf<N>; observed: Record<string, number[]> } {
  const rollup = MINUTE_ROLLUPS[kind] as MinuteRollup;
  const row: Record<string, unknown> = { tenantId: "tn_a", minute: T0, ...KEYS[kind][0], ...key };
  const observed: Record<string, number[]> = {};
  for (const c of rollup.counts) row[c] = Math.floor(next() * 1000);
  for (const h of rollup.histograms) {
    const hist = new LatencyHistogram();
    observed[h] = Array.from({ length: Math.floor(next() * 20) }, () => (next() < 0.1 ? 0 : Math.round(next() * 5_000_000) / 1000));
    for (const ms of observed[h]) hist.observe(ms);
    row[h] = hist.encode();
  }
  return { row: row as unknown as RowOf<N>, observed };
}

/** The fields in the order a row holds them; encoded, the tenant id keeps its stored name `tenant`. */
const fieldOrder = (rollup: MinuteRollup, tenantField = "tenantId") => [tenantField, "minute", ...rollup.keys, ...rollup.counts, ...rollup.histograms];

describe.each(ROW_KINDS)("the %s rollup", (kind) => {
  const rollup = MINUTE_ROLLUPS[kind] as MinuteRollup<MinuteRow>;
  const rows = (seed: number, n: number, key?: Partial<MinuteRow>) => {
    const next = rng(seed);
    return Array.from({ length: n }, () => randomRow(kind, next, key as Partial<RowOf<typeof kind>>).row as MinuteRow);
  };

  it("merges commutatively and associatively, to the bytes", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const [a, b, c] = rows(seed, 3) as [MinuteRow, MinuteRow, MinuteRow];
      expect(rollup.merge(a, b)).toEqual(rollup.merge(b, a));
      expect(rollup.merge(rollup.merge(a, b), c)).toEqual(rollup.merge(a, rollup.merge(b, c)));
      expect(JSON.stringify(rollup.encode(rollup.merge(a, b)))).toBe(JSON.stringify(rollup.encode(rollup.merge(b, a))));
    }
  });

  it("merges exactly: counts add, and each histogram is the one of every duration", () => {
    const next = rng(7);
    const parts = [randomRow(kind, next), randomRow(kind, next), randomRow(kind, next)];
    const merged = parts.map((p) => p.row as MinuteRow).reduce((x, y) => rollup.merge(x, y)) as unknown as Record<string, unknown>;
    for (const c of rollup.counts) expect(merged[c]).toBe(parts.reduce((n, p) => n + (p.row as unknown as Record<string, number>)[c]!, 0));
    for (const h of rollup.histograms) {
      const all = new LatencyHistogram();
      for (const p of parts) for (const ms of p.observed[h]!) all.observe(ms);
      expect(merged[h]).toEqual(all.encode());
    }
  });

  it("upserts to the same rows whatever the order and grouping of its input", () => {
    const other = KEYS[kind][1] as Partial<MinuteRow>;
    const input = [...rows(3, 4), ...rows(4, 3, other), ...rows(5, 2, { minute: T0 + 60 })];
    const canonical = (r: MinuteRow[]) => r.map((x) => JSON.stringify(rollup.encode(x))).sort();
    const expected = canonical(rollup.upsert([], input));
    expect(expected).toHaveLength(3);
    const next = rng(11);
    for (let round = 0; round < 20; round++) {
      const shuffled = [...input].sort(() => next() - 0.5);
      const cut = Math.floor(next() * shuffled.length);
      // Stored rows merged first (as D1's), then the rest.
      const stored = rollup.upsert([], shuffled.slice(0, cut));
      expect(canonical(rollup.upsert(stored, shuffled.slice(cut)))).toEqual(expected);
    }
  });

  it("refuses to merge rows of different keys", () => {
    const [a] = rows(9, 1) as [MinuteRow];
    const others: Partial<MinuteRow>[] = [{ tenantId: "tn_b" }, { minute: T0 + 60 }, KEYS[kind][1] as Partial<MinuteRow>];
    for (const other of others) expect(() => rollup.merge(a, { ...a, ...other })).toThrow(/different keys/);
    expect(rollup.keyOf(a)).not.toBe(rollup.keyOf({ ...a, ...(KEYS[kind][1] as Partial<MinuteRow>) }));
  });

  it("encodes to JSON (histograms as base64, fields in their order) and decodes back", () => {
    for (const row of rows(13, 10)) {
      const encoded = rollup.encode(row) as Record<string, unknown>;
      expect(Object.keys(encoded)).toEqual(fieldOrder(rollup, "tenant"));
      for (const h of rollup.histograms) expect(typeof encoded[h]).toBe("string");
      expect(encoded.tenant).toBe(row.tenantId);
      for (const f of ["minute", ...rollup.keys, ...rollup.counts]) expect(encoded[f]).toBe((row as unknown as Record<string, unknown>)[f]);
      const back = rollup.decode(JSON.parse(JSON.stringify(encoded)) as never);
      expect(back).toEqual(row);
      expect(Object.keys(back)).toEqual(fieldOrder(rollup));
    }
  });

  it("accumulates rows with the fields in their order, one per minute and key", () => {
    const acc = new MinuteAccumulator(rollup as MinuteRollup<MinuteRow, never>, "tn_a");
    const key = { minute: T0, ...KEYS[kind][0] } as never;
    acc.row(key);
    acc.row(key);
    acc.row({ minute: T0 + 60, ...KEYS[kind][0] } as never);
    expect(acc.size).toBe(2);
    const [row] = acc.rows() as unknown as Record<string, unknown>[];
    expect(Object.keys(row!)).toEqual(fieldOrder(rollup));
    for (const c of rollup.counts) expect(row![c]).toBe(0);
    for (const h of rollup.histograms) expect(row![h]).toEqual(new LatencyHistogram().encode());
  });
});

describe("minute rollups", () => {
  it("pin the JSON form of each kind (the tenant object's snapshots, logs and pending flushes)", () => {
    const h = new LatencyHistogram();
    h.observe(12.5);
    h.observe(80);
    const durations = h.encode();
    const edge: EdgeRow = { tenantId: "tn_a", minute: T0, source: "web", target: "cart", connectionType: "", requests: 2, failed: 1, clientDurations: durations, serverDurations: new LatencyHistogram().encode() };
    expect(JSON.stringify(edgeRollup.encode(edge))).toBe(
      '{"tenant":"tn_a","minute":1764090000,"source":"web","target":"cart","connectionType":"","requests":2,"failed":1,"clientDurations":"AgDU0gUCPAEUARcBAgE=","serverDurations":"AgAAAA=="}',
    );
    const op = { tenantId: "tn_a", minute: T0, service: "cart", operation: "GET /", kind: 2, count: 2, errors: 0, durations };
    expect(JSON.stringify(operationRollup.encode(op))).toBe('{"tenant":"tn_a","minute":1764090000,"service":"cart","operation":"GET /","kind":2,"count":2,"errors":0,"durations":"AgDU0gUCPAEUARcBAgE="}');
    const service = { tenantId: "tn_a", minute: T0, service: "cart", serviceNameType: ServiceNameType.STRING, root: 1, status: 0, count: 2, errors: 0, durations };
    expect(JSON.stringify(serviceRollup.encode(service))).toBe('{"tenant":"tn_a","minute":1764090000,"service":"cart","serviceNameType":0,"root":1,"status":0,"count":2,"errors":0,"durations":"AgDU0gUCPAEUARcBAgE="}');
  });

  it("describe every field of the row, and a field in one role only", () => {
    expect(() => minuteRollup<EdgeRow>()({ name: "edge", keys: ["source", "target", "connectionType"], counts: ["requests", "failed"], histograms: ["clientDurations", "serverDurations"], table: edgeMinutes })).not.toThrow();
    // @ts-expect-error -- `failed` has no role
    minuteRollup<EdgeRow>()({ name: "edge", keys: ["source", "target", "connectionType"], counts: ["requests"], histograms: ["clientDurations", "serverDurations"], table: edgeMinutes });
    // @ts-expect-error -- the operation table does not take edge rows
    minuteRollup<EdgeRow>()({ name: "edge", keys: ["source", "target", "connectionType"], counts: ["requests", "failed"], histograms: ["clientDurations", "serverDurations"], table: operationMinutes });
    expect(() => minuteRollup<EdgeRow>()({ name: "edge", keys: ["source", "target", "connectionType"], counts: ["requests", "failed", "requests"], histograms: ["clientDurations", "serverDurations"], table: edgeMinutes })).toThrow(/two roles/);
  });

  it("hold rows by key: merged as added, taken out by a test, read by window", () => {
    const next = rng(21);
    const a = randomRow("operationRows", next).row;
    const b = randomRow("operationRows", next, { minute: T0 + 60 }).row;
    const map = new MinuteRowMap(operationRollup).add([a, b]).add([a]);
    expect(map.size).toBe(2);
    expect(map.rows()[0]).toEqual(operationRollup.merge(a, a));
    expect(map.rowsIn({ start: T0 + 60, end: T0 + 61 })).toEqual([b]);
    expect(map.take((r) => r.minute === T0)).toEqual([operationRollup.merge(a, a)]);
    expect(map.rows()).toEqual([b]);
  });

  it("fold the rows of a window per group, in first-seen order", () => {
    const row = (minute: number, service: string, count: number) => ({ tenantId: "tn_a", minute, service, count });
    const rows = [row(T0 - 60, "web", 100), row(T0, "web", 1), row(T0, "cart", 2), row(T0 + 60, "web", 3), row(T0 + 120, "web", 100)];
    const totals = foldWindow(
      rows,
      { start: T0 + 30, end: T0 + 120 },
      60,
      (r) => [r.service],
      (r) => ({ service: r.service, count: 0, minutes: [] as number[] }),
      (t, r) => {
        t.count += r.count;
        t.minutes.push(r.minute);
      },
    );
    expect(totals).toEqual([
      { service: "web", count: 4, minutes: [T0, T0 + 60] },
      { service: "cart", count: 2, minutes: [T0] },
    ]);
  });

  it("count a bucket in a window when they overlap", () => {
    const w = { start: 130, end: 250 };
    expect(bucketInWindow(60, 60, w)).toBe(false); // 60..120
    expect(bucketInWindow(120, 60, w)).toBe(true); // partly inside
    expect(bucketInWindow(240, 60, w)).toBe(true);
    expect(bucketInWindow(250, 60, w)).toBe(false); // end is exclusive
  });

  it("round quantiles to 4 significant digits, NaN to 0", () => {
    expect(roundMs(12.345678)).toBe(12.35);
    expect(roundMs(0.000123456)).toBe(0.0001235);
    expect(roundMs(Number.NaN)).toBe(0);
  });
});
