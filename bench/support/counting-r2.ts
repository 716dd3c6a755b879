/**
 * @module
 * Counts R2 operations the way R2 bills them, at the binding: wrap `env.SPANS` once and every
 * caller (the ingest store step, `r2Store`, trace reads) is counted, including each page of a
 * paginated list and each call of a batched delete.
 *
 * Classes per https://developers.cloudflare.com/r2/pricing/ : Class A is ListObjects, PutObject,
 * CopyObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload (and bucket-level
 * configuration calls, which a binding cannot make); Class B is HeadObject and GetObject (a range
 * read is one GetObject); DeleteObject and AbortMultipartUpload are free.
 *
 * Bench code: the cost and assembly-scale bench workers wrap their bucket with it
 * (bench/cost/worker.mts, bench/assembly-scale/worker.mts, bench/support/bench-tenant-object.mts).
 */

export type R2OpClass = "A" | "B" | "free";

/** Binding method -> billing class. Methods not listed here are passed through uncounted. */
export const R2_OP_CLASS: Readonly<Record<string, R2OpClass>> = {
  put: "A",
  list: "A",
  createMultipartUpload: "A",
  uploadPart: "A",
  complete: "A",
  get: "B",
  head: "B",
  delete: "free",
  abort: "free",
};

export interface R2OpCounts {
  classA: number;
  classB: number;
  /** Calls that cost nothing (deletes, aborted uploads). */
  free: number;
  /** Per binding method, e.g. `{ put: 12, get: 40 }`. */
  byMethod: Record<string, number>;
  /** Bytes handed to put/uploadPart when their size is known (strings are counted as UTF-8). */
  bytesPut: number;
}

export function newR2OpCounts(): R2OpCounts {
  return { classA: 0, classB: 0, free: 0, byMethod: {}, bytesPut: 0 };
}

export function recordR2Op(counts: R2OpCounts, method: string, n = 1): void {
  const cls = R2_OP_CLASS[method];
  if (!cls) return;
  if (cls === "A") counts.classA += n;
  else if (cls === "B") counts.classB += n;
  else counts.free += n;
  counts.byMethod[method] = (counts.byMethod[method] ?? 0) + n;
}

const encoder = new TextEncoder();

function knownSize(body: unknown): number {
  if (typeof body === "string") return encoder.encode(body).byteLength;
  if (body instanceof ArrayBuffer) return body.byteLength;
  if (ArrayBuffer.isView(body)) return body.byteLength;
  return 0; // streams and blobs: size unknown here
}

/**
 * A bucket that counts every billable call into `counts` and otherwise behaves as `bucket`.
 * Methods are called on the real binding (not on the proxy), so native bindings keep working.
 * Multipart uploads returned by createMultipartUpload/resumeMultipartUpload are counted too.
 */
export function countingR2Bucket<B extends object>(bucket: B, counts: R2OpCounts): B {
  return counting(bucket, counts, "put", (method, result) =>
    method === "createMultipartUpload" || method === "resumeMultipartUpload" ? Promise.resolve(result).then((upload) => counting(upload as object, counts, "uploadPart")) : result,
  );
}

/** `target` with every method call recorded (and the bytes handed to `sizedMethod`); `wrap` sees each result. */
function counting<T extends object>(target: T, counts: R2OpCounts, sizedMethod: string, wrap: (method: string, result: unknown) => unknown = (_, result) => result): T {
  return new Proxy(target, {
    get(t, prop) {
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      const fn = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        recordR2Op(counts, prop);
        if (prop === sizedMethod) counts.bytesPut += knownSize(args[1]);
        return wrap(prop, fn.apply(t, args));
      };
    },
  });
}
