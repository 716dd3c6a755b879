/**
 * @module
 * The R2 state object of assemblers before the tenant object (`t/<tenant>/state/servicegraph.json`,
 * formats `edgetrace.assembler-state.v1` and the older plain edge store), read once per tenant by
 * its object on first start so that nothing held there is lost on the upgrade: pending halves, open
 * rows, the recent inline keys and their blocks. The object then deletes it. Pure: decoding only.
 */
import { EDGE_STORE_FORMAT, type EdgeStoreState } from "../servicegraph/edges.ts";
import { edgeRollup, type EdgeRow } from "../servicegraph/aggregate.ts";
import { operationRollup, type OperationRow } from "../metrics/red.ts";
import type { EncodedRow } from "../metrics/rows.ts";

const LEGACY_FORMAT = "edgetrace.assembler-state.v1";

export interface LegacyState {
  edges?: EdgeStoreState;
  openEdgeRows: EdgeRow[];
  openOperationRows: OperationRow[];
  /** Inline keys assembled in the 30 minutes before, with the block holding them. */
  recentBatches: { blockId: string; keys: string[] }[];
}

interface LegacyJson {
  format: typeof LEGACY_FORMAT;
  edges?: EdgeStoreState;
  openEdgeRows: EncodedRow<EdgeRow>[];
  openOperationRows: EncodedRow<OperationRow>[];
  recentBatches?: { blockId: string; keys: string[] }[];
}

export function decodeLegacyState(bytes: Uint8Array): LegacyState {
  const json = JSON.parse(new TextDecoder().decode(bytes)) as LegacyJson | EdgeStoreState;
  if (json.format === EDGE_STORE_FORMAT) return { edges: json, openEdgeRows: [], openOperationRows: [], recentBatches: [] };
  if (json.format !== LEGACY_FORMAT) throw new Error(`legacy assembler state: unknown format ${String((json as { format?: unknown }).format)}`);
  return {
    edges: json.edges,
    openEdgeRows: json.openEdgeRows.map((r) => edgeRollup.decode(r)),
    openOperationRows: json.openOperationRows.map((r) => operationRollup.decode(r)),
    recentBatches: (json.recentBatches ?? []).map((g) => ({ blockId: g.blockId, keys: g.keys })),
  };
}
