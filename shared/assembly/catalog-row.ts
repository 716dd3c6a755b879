import type { EncodedBlock } from "../block/encode-block.ts";
import type { NewBlock } from "../db/queries/blocks.ts";

/** The block catalog row for a block just encoded (by the assembler or by compaction). */
export function catalogRow(encoded: EncodedBlock, level: number, createdAtMs: number): NewBlock {
  return {
    id: encoded.meta.blockId,
    level,
    formatVersion: encoded.meta.formatVersion,
    startMs: nanosToMs(encoded.meta.minStartUnixNano),
    endMs: nanosToMs(encoded.meta.maxEndUnixNano, true),
    traceCount: encoded.meta.traceCount,
    spanCount: encoded.meta.spanCount,
    bytes: encoded.bytes.byteLength,
    services: encoded.meta.services,
    traceFilter: encoded.filter,
    attributeIndex: encoded.meta.attributeIndex,
    createdAt: new Date(createdAtMs),
  };
}

export function nanosToMs(nanos: string, roundUp = false): number {
  return Number((BigInt(nanos) + (roundUp ? 999_999n : 0n)) / 1_000_000n);
}
