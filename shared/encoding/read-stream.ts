/**
 * @module
 * Reads a byte stream into one array, giving up as soon as it passes a limit: a request body
 * after inflation (shared/ingest/read-body.ts) and a block section being inflated
 * (shared/block/compress.ts), where a small hostile input could otherwise fill memory.
 */

/**
 * All of `stream`'s bytes, or the error `overLimit()` makes once more than `limit` bytes have
 * arrived (the stream is then cancelled). A single chunk is returned as it is, not copied.
 */
export async function readStreamAtMost(stream: ReadableStream<Uint8Array>, limit: number, overLimit: () => Error): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw overLimit();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
