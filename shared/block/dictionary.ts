/**
 * @module
 * The block dictionary: strings, resources, scopes and span shapes used by two or more segments
 * of a block, stored once. Without it every segment would repeat its services' resources (20-odd attributes of
 * service, host, k8s and SDK facts, ~1 KB) and every attribute key and route name, which per-segment
 * deflate cannot share across segments. Strings are ordered by number of uses, so the most common
 * get one-byte references. A trace read fetches the dictionary together with the summary table
 * (they are adjacent); a search reads only the summary table.
 */
import { Col, ColumnsReader, ColumnsWriter } from "./columns.ts";
import { unpackSection } from "./compress.ts";
import type { ShapeEntry } from "./span-shape.ts";
import { readEntries, writeEntries, type DictionaryEntries } from "./trace-segment.ts";
import { StringRefs, StringTable, type ResourceEntry, type ScopeEntry } from "./value-codec.ts";

export interface BlockDictionary extends DictionaryEntries {
  strings: string[];
  resources: ResourceEntry[];
  scopes: ScopeEntry[];
  shapes: ShapeEntry[];
}

export function encodeDictionaryRaw(d: BlockDictionary): { bytes: Uint8Array; tailLength: number } {
  const c = new ColumnsWriter();
  const index = new Map<string, number>();
  d.strings.forEach((s, i) => index.set(s, i));
  const refs = new StringRefs(index);
  const head = c.cols[Col.HEAD]!;
  head.uvarint(d.resources.length);
  head.uvarint(d.scopes.length);
  head.uvarint(d.shapes.length);
  writeEntries(c, refs, d.resources, d.scopes, d.shapes);
  // The shared table, then any string an entry used that is not in it (normally none).
  const strings = c.cols[Col.STRINGS]!;
  strings.uvarint(d.strings.length);
  for (const s of d.strings) strings.string(s);
  refs.writeTable(strings);
  return c.finish();
}

/** Decodes the dictionary section (the bytes at the footer's `dictionary` range). */
export async function decodeDictionary(section: Uint8Array): Promise<BlockDictionary> {
  const c = new ColumnsReader(await unpackSection(section));
  const sr = c.cols[Col.STRINGS]!;
  const n = sr.uvarint();
  const shared: string[] = [];
  for (let i = 0; i < n; i++) shared.push(sr.string());
  const strings = StringTable.readLocal(sr, shared);
  const head = c.cols[Col.HEAD]!;
  const nr = head.uvarint();
  const ns = head.uvarint();
  const nShapes = head.uvarint();
  const { resources, scopes, shapes } = readEntries(c, strings, nr, ns, nShapes);
  c.assertConsumed();
  strings.assertConsumed();
  return { strings: shared, resources, scopes, shapes };
}
