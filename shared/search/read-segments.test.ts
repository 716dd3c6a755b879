import { describe, expect, it } from "vitest";
import { multiServiceWorkload } from "../../test/support/multi-service-workload.ts";
import { encodeBlock } from "../block/encode-block.ts";
import { candidateRows, newCounters, readSegments, segmentRuns } from "./block-scanner.ts";
import { openBlock } from "./segments.ts";

describe("segmentRuns", () => {
  it("merges segments that lie back to back or close, keeps far ones apart, in offset order", () => {
    expect(segmentRuns([])).toEqual([]);
    expect(
      segmentRuns([
        { offset: 300, length: 100 },
        { offset: 0, length: 100 },
        { offset: 100, length: 200 },
      ]),
    ).toEqual([{ offset: 0, length: 400 }]);
    expect(
      segmentRuns([
        { offset: 0, length: 10 },
        { offset: 10 + 64 * 1024, length: 5 },
        { offset: 10 + 64 * 1024 + 5 + 64 * 1024 + 1, length: 7 },
      ]),
    ).toEqual([
      { offset: 0, length: 10 + 64 * 1024 + 5 },
      { offset: 10 + 64 * 1024 + 5 + 64 * 1024 + 1, length: 7 },
    ]);
  });
});

describe("readSegments", () => {
  it("without a stop, fetches a block's segments in one read and hands over the same traces as segment by segment", async () => {
    const { traces } = multiServiceWorkload({ traces: 300, seed: 11, startMs: 1_700_000_000_000 });
    const block = await encodeBlock(traces, { tenantId: "t", blockId: "b", createdAtMs: 1_700_000_600_000 });
    let reads = 0;
    const read = async (offset: number, length: number) => {
      reads++;
      return block.bytes.subarray(offset, offset + length);
    };
    const open = async () => candidateRows(read, block.bytes.length, { startNs: 0n, endNs: 2n ** 63n, tailBytes: 1024 }, newCounters());
    const walk = async (stop?: (latest: bigint) => boolean) => {
      const c = await open();
      reads = 0;
      const got: string[] = [];
      await readSegments(c, c.rows, (row, trace) => void got.push(`${row.traceId}:${trace.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId))).join(",")}`), newCounters(), stop);
      return { got, reads, segments: new Set(c.rows.map((r) => r.segmentOffset)).size };
    };
    const one = await walk();
    const each = await walk(() => false);
    expect(one.segments).toBeGreaterThan(2);
    expect(one.got).toHaveLength(300);
    expect(one.got).toEqual(each.got);
    // Besides the segments, the dictionary's read (when it is not in the tail read at open).
    const dictionary = each.reads - each.segments;
    expect(dictionary).toBeLessThanOrEqual(1);
    expect(one.reads).toBe(1 + dictionary);
  });
});

describe("openBlock's range", () => {
  it("reads only the part of a range that lies before the tail it already read", async () => {
    const bytes = (await encodeBlock(multiServiceWorkload({ traces: 50, seed: 3, startMs: 1_700_000_000_000 }).traces, { tenantId: "t", blockId: "b", createdAtMs: 1_700_000_600_000 })).bytes;
    const reads: [number, number][] = [];
    const block = await openBlock(async (offset, length) => (reads.push([offset, length]), bytes.subarray(offset, offset + length)), bytes.length, 1024);
    const tailOffset = bytes.length - 1024;
    reads.length = 0;
    expect(await block.range({ offset: 10, length: bytes.length - 10 })).toEqual(bytes.subarray(10));
    expect(reads).toEqual([[10, tailOffset - 10]]);
    reads.length = 0;
    expect(await block.range({ offset: tailOffset + 5, length: 100 })).toEqual(bytes.subarray(tailOffset + 5, tailOffset + 105));
    expect(await block.range({ offset: 3, length: 7 })).toEqual(bytes.subarray(3, 10));
    expect(reads).toEqual([[3, 7]]);
  });
});
