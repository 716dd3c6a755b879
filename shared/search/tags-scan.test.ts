import { describe, expect, it } from "vitest";
import { encodeBlock } from "../block/encode-block.ts";
import { multiServiceWorkload } from "../../test/support/multi-service-workload.ts";
import type { KeyValue, ResourceSpans } from "../model/span.ts";
import { blockKey } from "../storage/keys.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { parseTagIdentifier, TagNameCollector, TagValueCollector } from "./tag-catalog.ts";
import { compileTagFilter } from "./tags-query.ts";
import { scanTags, type TagScanBlock } from "./tags-scan.ts";

const TENANT = "tenant-a";
const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });

function trace(traceId: string, service: string, startMs: number, attrs: KeyValue[], resource: KeyValue[] = []): { traceId: string; resourceSpans: ResourceSpans[] } {
  return {
    traceId,
    resourceSpans: [{
      resource: { attributes: [str("service.name", service), ...resource], droppedAttributesCount: 0 },
      schemaUrl: "",
      scopeSpans: [{
        scope: { name: "t", version: "", attributes: [], droppedAttributesCount: 0 },
        schemaUrl: "",
        spans: [{
          traceId, spanId: `${traceId.slice(0, 15)}1`, parentSpanId: "", name: `op-${service}`, traceState: "", flags: 1, kind: 2,
          startTimeUnixNano: `${startMs}000000`, endTimeUnixNano: `${startMs + 5}000000`, attributes: attrs, droppedAttributesCount: 0,
          events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: "" },
        }],
      }],
    }],
  };
}

/** An in-memory store that records the keys read. */
function memoryStore() {
  const objects = new Map<string, Uint8Array>();
  const reads: string[] = [];
  const store = {
    getRange: async (key: string, offset: number, length: number) => {
      reads.push(key);
      return objects.get(key)?.subarray(offset, offset + length);
    },
  } as unknown as ObjectStore;
  return { objects, reads, store };
}

async function setup(blocks: { id: string; traces: ReturnType<typeof trace>[] }[]) {
  const mem = memoryStore();
  const catalog: TagScanBlock[] = [];
  for (const b of blocks) {
    const enc = await encodeBlock(b.traces, { tenantId: TENANT, blockId: b.id, createdAtMs: 0 });
    mem.objects.set(blockKey(TENANT, b.id), enc.bytes);
    catalog.push({ id: b.id, bytes: enc.bytes.length, endMs: Number(BigInt(enc.meta.maxEndUnixNano) / 1_000_000n), services: enc.meta.services });
  }
  return { ...mem, catalog, list: async () => catalog };
}

const RANGE = { startMs: 0, endMs: 10_000_000 };

describe("scanTags", () => {
  it("collects names and values over every block in range", async () => {
    const s = await setup([
      { id: "b1", traces: [trace("a".repeat(32), "web", 1000, [str("http.method", "GET")], [str("region", "eu")])] },
      { id: "b2", traces: [trace("b".repeat(32), "cart", 2000, [str("http.method", "POST"), str("cart.id", "c1")])] },
    ]);
    const names = new TagNameCollector(["span", "resource"]);
    const m = await scanTags(s.list, s.store, TENANT, names, undefined, RANGE);
    expect(names.names("span")).toEqual(["cart.id", "http.method"]);
    expect(names.names("resource")).toEqual(["region", "service.name"]);
    expect(m).toMatchObject({ totalJobs: 2, completedJobs: 2, inspectedBlocks: 2, inspectedTraces: 2, truncated: false });
    expect(m.inspectedBytes).toBe(s.catalog.reduce((n, b) => n + b.bytes, 0)); // small blocks: one tail read each
    // Newest block first.
    expect(s.reads[0]).toBe(blockKey(TENANT, "b2"));

    const values = new TagValueCollector(parseTagIdentifier("span.http.method")!);
    await scanTags(s.list, s.store, TENANT, values, undefined, RANGE);
    expect(values.values()).toEqual([{ type: "string", value: "GET" }, { type: "string", value: "POST" }]);
  });

  it("narrows rows to the time range", async () => {
    const s = await setup([{ id: "b1", traces: [trace("a".repeat(32), "web", 1000, [str("old", "1")]), trace("b".repeat(32), "web", 5000, [str("new", "1")])] }]);
    const names = new TagNameCollector(["span"]);
    await scanTags(s.list, s.store, TENANT, names, undefined, { startMs: 4000, endMs: 6000 });
    expect(names.names("span")).toEqual(["new"]);
  });

  it("narrows to the spans matching q, and skips blocks without a required service unread", async () => {
    const s = await setup([
      { id: "b1", traces: [trace("a".repeat(32), "web", 1000, [str("http.method", "GET")])] },
      { id: "b2", traces: [trace("b".repeat(32), "cart", 2000, [str("http.method", "POST")])] },
    ]);
    const values = new TagValueCollector(parseTagIdentifier("span.http.method")!);
    await scanTags(s.list, s.store, TENANT, values, compileTagFilter(`{ resource.service.name = "web" }`), RANGE);
    expect(values.values()).toEqual([{ type: "string", value: "GET" }]);
    expect(s.reads).toEqual([blockKey(TENANT, "b1")]);

    const post = new TagValueCollector(parseTagIdentifier("resource.service.name")!);
    await scanTags(s.list, s.store, TENANT, post, compileTagFilter(`{ span.http.method = "POST" && resource.service.name = }`), RANGE);
    expect(post.values()).toEqual([{ type: "string", value: "cart" }]);
  });

  it("stops at the read budget and says so", async () => {
    const s = await setup([
      { id: "b1", traces: [trace("a".repeat(32), "web", 1000, [str("one", "1")])] },
      { id: "b2", traces: [trace("b".repeat(32), "web", 2000, [str("two", "1")])] },
    ]);
    const names = new TagNameCollector(["span"]);
    const m = await scanTags(s.list, s.store, TENANT, names, undefined, { ...RANGE, maxBytesRead: 1 });
    expect(names.names("span")).toEqual(["two"]);
    expect(m).toMatchObject({ completedJobs: 1, totalJobs: 2, truncated: true });
  });

  it("stops once the collector is full", async () => {
    const s = await setup([
      { id: "b1", traces: [trace("a".repeat(32), "web", 1000, [str("id", "x1")])] },
      { id: "b2", traces: [trace("b".repeat(32), "web", 2000, [str("id", "x2")])] },
    ]);
    const values = new TagValueCollector(parseTagIdentifier("span.id")!, { maxValues: 1 });
    // One block at a time, the older block is never read.
    const m = await scanTags(s.list, s.store, TENANT, values, undefined, { ...RANGE, concurrency: 1 });
    expect(values.values()).toEqual([{ type: "string", value: "x2" }]);
    expect(m.truncated).toBe(true);
    expect(s.reads).toHaveLength(1);
    // Read at once, the older block's values still do not enter: blocks are fed newest first.
    const parallel = new TagValueCollector(parseTagIdentifier("span.id")!, { maxValues: 1 });
    expect((await scanTags(s.list, s.store, TENANT, parallel, undefined, RANGE)).truncated).toBe(true);
    expect(parallel.values()).toEqual([{ type: "string", value: "x2" }]);
  });

  it("reads root names from the summary table alone", async () => {
    const s = await setup([{ id: "b1", traces: [trace("a".repeat(32), "web", 1000, [])] }]);
    const values = new TagValueCollector(parseTagIdentifier("rootServiceName")!);
    await scanTags(s.list, s.store, TENANT, values, undefined, { ...RANGE, tailBytes: 64 });
    expect(values.values()).toEqual([{ type: "string", value: "web" }]);
    expect(s.reads).toHaveLength(2); // footer, summary table: no dictionary, no segment
  });

  it("skips a block compacted away and finds the merged block on a second catalog read", async () => {
    const s = await setup([{ id: "merged", traces: [trace("a".repeat(32), "web", 1000, [str("k", "v")])] }]);
    let calls = 0;
    const gone: TagScanBlock = { id: "gone", bytes: 100, endMs: 9999, services: ["web"] };
    const list = async () => (++calls === 1 ? [gone] : [gone, ...s.catalog]);
    const names = new TagNameCollector(["span"]);
    const m = await scanTags(list, s.store, TENANT, names, undefined, RANGE);
    expect(names.names("span")).toEqual(["k"]);
    expect(calls).toBe(2);
    expect(m.truncated).toBe(false);
  });

  it("reads a realistic block within budget", async () => {
    const w = multiServiceWorkload({ traces: 300, seed: 3 });
    const mem = memoryStore();
    const enc = await encodeBlock(w.traces, { tenantId: TENANT, blockId: "w", createdAtMs: 0 });
    mem.objects.set(blockKey(TENANT, "w"), enc.bytes);
    const list = async (): Promise<TagScanBlock[]> => [{ id: "w", bytes: enc.bytes.length, endMs: Number(BigInt(enc.meta.maxEndUnixNano) / 1_000_000n), services: enc.meta.services }];
    const names = new TagNameCollector(["span", "resource"]);
    const m = await scanTags(list, mem.store, TENANT, names, undefined, { startMs: 0, endMs: 4_000_000_000_000 });
    expect(names.names("resource")).toContain("service.name");
    expect(names.names("span").length).toBeGreaterThan(5);
    expect(enc.bytes.length).toBeLessThan(1024 * 1024);
    expect(m.inspectedBytes).toBe(enc.bytes.length); // read whole, once
    expect(mem.reads).toHaveLength(1);
    expect(m.truncated).toBe(false);
  });
});
