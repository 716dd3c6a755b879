/**
 * @module
 * Reads a request body, inflating gzip or deflate on the fly and counting the bytes *after*
 * inflation, so a small gzip bomb is cut off as soon as it passes the limit instead of after it
 * has filled memory.
 */
import { readStreamAtMost } from "../encoding/read-stream.ts";
import { ApiError } from "../http/errors.ts";

const ENCODINGS = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate", identity: null } as const;

export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const encodingHeader = (request.headers.get("content-encoding") ?? "identity").trim().toLowerCase() || "identity";
  if (!(encodingHeader in ENCODINGS)) {
    throw new ApiError(415, "unsupported_encoding", `Content-Encoding "${encodingHeader}" is not supported; use gzip, deflate or none`);
  }
  const format = ENCODINGS[encodingHeader as keyof typeof ENCODINGS];
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (format === null && declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array(0);

  let stream: ReadableStream<Uint8Array> = request.body;
  if (format) stream = stream.pipeThrough(new DecompressionStream(format) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);

  try {
    return await readStreamAtMost(stream, maxBytes, () => tooLarge(maxBytes));
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, "bad_encoding", `The body is not valid ${format ?? "data"}: ${(err as Error).message}`);
  }
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, "body_too_large", `The request body is larger than this tenant's limit of ${maxBytes} bytes (counted after decompression)`);
}
