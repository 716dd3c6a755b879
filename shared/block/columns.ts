/**
 * @module
 * A section made of parallel byte streams ("columns"), one per kind of field: all span ids
 * together, all start deltas together, all attribute keys together... Values of one kind look
 * alike, so deflate finds far more repeats and shorter Huffman codes than in a row-by-row layout.
 * Serialised as `[column count][byte length of each][column bytes, in order]`.
 *
 * Two refinements, both measured (bench/block-size.ts):
 * - Time columns (start deltas, durations) are "byte-planed": all values at one fixed width, most
 *   significant bytes of every value first, then the next bytes... The high planes are nearly
 *   constant and shrink to almost nothing, where LEB128 varints spread the same information over
 *   continuation bits that deflate's Huffman coder cannot separate from the payload bits.
 * - The id column comes last, so a section can leave it out of compression: random ids do not
 *   compress, and keeping them out lets the Huffman codes fit the structured columns.
 */
import { ByteReader, ByteWriter } from "./bytes.ts";

/** Column ids shared by the dictionary, the segments and the summary table. */
export const Col = {
  /** Structure: table sizes, per-trace layout, resource/scope/shape scalars. */
  HEAD: 0,
  /** The section's own string table. */
  STRINGS: 1,
  /** Per span: index of its (resource, scope) container within the trace. */
  CONTAINER: 2,
  ID_LEN: 3,
  PARENT: 4,
  /** Link trace states. */
  TRACE_STATE: 5,
  /** Event names. */
  NAME: 6,
  /** Per span: reference to its shape (span-shape.ts). */
  SHAPE: 7,
  /** Byte-planed. */
  START: 8,
  /** Byte-planed. */
  DURATION: 9,
  /** Attribute, event and link counts, dropped counts, nested value lengths. */
  COUNTS: 10,
  /** Status messages. */
  STATUS: 11,
  ATTR_KEY: 12,
  VAL_TAG: 13,
  VAL_STR: 14,
  VAL_NUM: 15,
  VAL_BYTES: 16,
  EVENT_TIME: 17,
  LINK: 18,
  /** Raw id bytes; last, so it can be stored uncompressed. */
  ID: 19,
} as const;
const COLUMN_COUNT = 20;
const PLANED: readonly number[] = [Col.START, Col.DURATION];

/** Unsigned values written as byte planes (see the module comment). */
export class PlanedWriter {
  readonly #values: bigint[] = [];

  add(v: bigint): void {
    if (v < 0n) throw new RangeError(`planed column value must be unsigned: ${v}`);
    this.#values.push(v);
  }

  /** Zigzag first, for values of either sign. */
  addSigned(v: bigint): void {
    this.add(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }

  writeTo(w: ByteWriter): void {
    const values = this.#values;
    let max = 0n;
    for (const v of values) if (v > max) max = v;
    let width = 0;
    while (max > 0n) {
      width++;
      max >>= 8n;
    }
    w.uvarint(values.length);
    w.byte(width);
    if (width <= 6) {
      const nums = values.map(Number);
      for (let p = width - 1; p >= 0; p--) {
        const div = 2 ** (8 * p);
        for (const n of nums) w.byte(Math.floor(n / div) % 256);
      }
    } else {
      for (let p = width - 1; p >= 0; p--) {
        const shift = BigInt(8 * p);
        for (const v of values) w.byte(Number((v >> shift) & 0xffn));
      }
    }
  }
}

export class PlanedReader {
  /** Values up to 6 bytes wide are exact as doubles: kept so, made bigints only as they are read. */
  readonly #small: Float64Array | undefined;
  readonly #big: bigint[] | undefined;
  readonly #count: number;
  #next = 0;

  constructor(r: ByteReader) {
    const n = r.uvarint();
    const width = r.byte();
    if (width > 9) throw new RangeError(`planed column width ${width}`);
    // A count with no bytes behind it (width 0) is bounded too, so a damaged section cannot ask for
    // a huge array.
    if (width === 0 && n > 1 << 24) throw new RangeError(`planed column of ${n} zero values`);
    const planes = r.bytes(n * width);
    this.#count = n;
    if (width <= 6) {
      const nums = new Float64Array(n);
      for (let p = 0; p < width; p++) for (let i = 0; i < n; i++) nums[i] = nums[i]! * 256 + planes[p * n + i]!;
      this.#small = nums;
    } else {
      const values: bigint[] = [];
      for (let i = 0; i < n; i++) {
        let v = 0n;
        for (let p = 0; p < width; p++) v = (v << 8n) | BigInt(planes[p * n + i]!);
        values.push(v);
      }
      this.#big = values;
    }
    if (r.remaining !== 0) throw new RangeError("planed column has trailing bytes");
  }

  next(): bigint {
    if (this.#next >= this.#count) throw new RangeError("planed column exhausted");
    const i = this.#next++;
    return this.#small ? BigInt(this.#small[i]!) : this.#big![i]!;
  }

  nextSigned(): bigint {
    const z = this.next();
    return (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n);
  }

  get remaining(): number {
    return this.#count - this.#next;
  }
}

/**
 * What ColumnsWriter (B = ByteWriter, P = PlanedWriter) and ColumnsReader (ByteReader,
 * PlanedReader) have alike: a section's columns can be named once for its encoder and decoder.
 */
export interface Columns<B, P> {
  readonly cols: readonly B[];
  planed(col: number): P;
}

export class ColumnsWriter {
  readonly cols: ByteWriter[] = [];
  readonly #planed = new Map<number, PlanedWriter>();

  constructor() {
    for (let i = 0; i < COLUMN_COUNT; i++) this.cols.push(new ByteWriter(64));
    for (const i of PLANED) this.#planed.set(i, new PlanedWriter());
  }

  planed(col: number): PlanedWriter {
    const p = this.#planed.get(col);
    if (!p) throw new Error(`column ${col} is not planed`);
    return p;
  }

  /** The serialised section; `tailLength` is the size of the id column at its end. */
  finish(): { bytes: Uint8Array; tailLength: number } {
    for (const [i, p] of this.#planed) p.writeTo(this.cols[i]!);
    const head = new ByteWriter(64);
    head.uvarint(COLUMN_COUNT);
    let total = 0;
    for (const c of this.cols) {
      head.uvarint(c.length);
      total += c.length;
    }
    const out = new Uint8Array(head.length + total);
    out.set(head.view(), 0);
    let o = head.length;
    for (const c of this.cols) {
      out.set(c.view(), o);
      o += c.length;
    }
    return { bytes: out, tailLength: this.cols[Col.ID]!.length };
  }
}

export class ColumnsReader {
  readonly cols: ByteReader[] = [];
  readonly #planed = new Map<number, PlanedReader>();

  constructor(bytes: Uint8Array) {
    const r = new ByteReader(bytes);
    const count = r.uvarint();
    if (count !== COLUMN_COUNT) throw new Error(`section has ${count} columns, expected ${COLUMN_COUNT}`);
    const lengths: number[] = [];
    for (let i = 0; i < count; i++) lengths.push(r.uvarint());
    let o = r.pos;
    for (const len of lengths) {
      if (o + len > bytes.length) throw new RangeError("section columns run past its end");
      this.cols.push(new ByteReader(bytes, o, o + len));
      o += len;
    }
    if (o !== bytes.length) throw new RangeError("section has bytes after its columns");
    for (const i of PLANED) this.#planed.set(i, new PlanedReader(this.cols[i]!));
  }

  planed(col: number): PlanedReader {
    const p = this.#planed.get(col);
    if (!p) throw new Error(`column ${col} is not planed`);
    return p;
  }

  /** Throws unless every column was read to its end (catches encoder/decoder drift). */
  assertConsumed(): void {
    this.cols.forEach((c, i) => {
      if (c.remaining !== 0) throw new Error(`column ${i} has ${c.remaining} unread bytes`);
    });
    for (const [i, p] of this.#planed) if (p.remaining !== 0) throw new Error(`column ${i} has ${p.remaining} unread values`);
  }
}
