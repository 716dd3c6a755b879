/**
 * @module
 * The storage bindings of one Worker invocation as Cloudflare gives them, for the search-scale
 * benchmark: every R2 and D1 call waits `delayMs` (a round trip; local R2 and D1 answer in
 * microseconds, Cloudflare's in 10-50 ms, see bench/support/latency.ts), and at most `limit` of them
 * are open at once (Cloudflare allows six simultaneous open connections per invocation; a call over
 * that waits for one to close). An R2 read holds its slot until its body is read: it is read whole
 * inside the slot. Each call is counted: R2 reads and the bytes they returned, other R2 calls, D1
 * queries and batches, the most calls open at once. A call made after `deadline()` throws BenchDeadline, so a query that would run for minutes
 * ends early (the bench reports it as timed out).
 *
 * Structural types, so it needs no Workers types.
 */
import { aroundD1Calls, sleep } from "../support/latency.ts";

export interface GateCounts {
  r2Reads: number;
  r2Bytes: number;
  /** R2 calls other than get (head, list, put, delete). */
  r2Other: number;
  d1Queries: number;
  /** Most storage calls open at once. */
  maxInFlight: number;
  deadlineHit: boolean;
}

export function newGateCounts(): GateCounts {
  return { r2Reads: 0, r2Bytes: 0, r2Other: 0, d1Queries: 0, maxInFlight: 0, deadlineHit: false };
}

export class BenchDeadline extends Error {
  constructor() {
    super("search-scale bench: the query ran past its deadline");
    this.name = "BenchDeadline";
  }
}

export type StorageKind = "r2" | "d1";

/** A semaphore of `limit` slots; each call waits `delayMs` inside its slot, then runs. */
export class Gate {
  readonly counts: GateCounts;
  readonly #limit: number;
  readonly #delayMs: number;
  readonly #deadline: (kind: StorageKind) => number;
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number, delayMs: number, deadline: (kind: StorageKind) => number, counts = newGateCounts()) {
    this.#limit = limit;
    this.#delayMs = delayMs;
    this.#deadline = deadline;
    this.counts = counts;
  }

  async run<T>(kind: StorageKind, fn: () => Promise<T>): Promise<T> {
    this.#check(kind);
    if (this.#inFlight >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#inFlight++;
    this.counts.maxInFlight = Math.max(this.counts.maxInFlight, this.#inFlight);
    try {
      this.#check(kind);
      if (this.#delayMs > 0) await sleep(this.#delayMs);
      return await fn();
    } finally {
      // Hand the slot to the next waiter, or free it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#inFlight--;
    }
  }

  #check(kind: StorageKind) {
    if (Date.now() > this.#deadline(kind)) {
      this.counts.deadlineHit = true;
      throw new BenchDeadline();
    }
  }
}

interface R2BodyLike {
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** What an R2 get answers, with its body already read into `buf`. */
function readBody(o: R2BodyLike, buf: ArrayBuffer): unknown {
  const meta = o as unknown as Record<string, unknown>;
  const fields = ["key", "version", "size", "etag", "httpEtag", "checksums", "uploaded", "httpMetadata", "customMetadata", "range", "storageClass", "ssecKeyMd5"];
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f in meta) out[f] = meta[f];
  const writeHttpMetadata = meta.writeHttpMetadata as ((h: unknown) => void) | undefined;
  let used = false;
  const take = () => {
    used = true;
    return buf;
  };
  return Object.assign(out, {
    writeHttpMetadata: writeHttpMetadata ? (h: unknown) => writeHttpMetadata.call(o, h) : undefined,
    get body() {
      return new Response(take()).body;
    },
    get bodyUsed() {
      return used;
    },
    arrayBuffer: async () => take(),
    bytes: async () => new Uint8Array(take()),
    text: async () => new TextDecoder().decode(take()),
    json: async () => JSON.parse(new TextDecoder().decode(take())) as unknown,
    blob: async () => new Blob([take()]),
  });
}

/** The R2 bucket through the gate: `get` counted as a read with its bytes, the rest as other calls. */
export function gatedR2<B extends object>(bucket: B, gate: Gate): B {
  return new Proxy(bucket, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      if (prop === "get")
        return (...args: unknown[]) =>
          gate.run("r2", async () => {
            gate.counts.r2Reads++;
            const o = (await fn.apply(target, args)) as R2BodyLike | null;
            if (!o) return null;
            const buf = await o.arrayBuffer();
            gate.counts.r2Bytes += buf.byteLength;
            return readBody(o, buf);
          });
      if (["head", "list", "put", "delete", "createMultipartUpload"].includes(prop))
        return (...args: unknown[]) =>
          gate.run("r2", () => {
            gate.counts.r2Other++;
            return fn.apply(target, args);
          });
      return value;
    },
  });
}


/** The D1 database through the gate: each query or batch is one call (one round trip, as on Cloudflare). */
export function gatedD1<T extends object>(binding: T, gate: Gate): T {
  return aroundD1Calls(binding, (call) =>
    gate.run("d1", () => {
      gate.counts.d1Queries++;
      return call();
    }),
  );
}
