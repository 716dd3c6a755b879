/**
 * @module
 * Range reads of a catalogued block. A block the catalog lists can be gone from R2 when compaction
 * swapped it between the catalog read and ours; readers catch `BlockGone` and look again (its
 * traces are in the merged block).
 */
import type { RangeReader } from "../block/read-block.ts";
import { blockKey } from "./keys.ts";
import type { ObjectStore } from "./object-store.ts";

export class BlockGone extends Error {}

/** Reads of block `blockId`; `onRead` sees every read's size (for inspected-bytes figures). */
export function blockRangeReader(store: ObjectStore, tenantId: string, blockId: string, onRead?: (bytes: number) => void): RangeReader {
  const key = blockKey(tenantId, blockId);
  return async (offset, length) => {
    const bytes = await store.getRange(key, offset, length);
    if (!bytes) throw new BlockGone(`block ${key} is in the catalog but not in storage`);
    onRead?.(bytes.length);
    return bytes;
  };
}
