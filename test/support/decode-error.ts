import { DecodeError } from "../../shared/model/span.ts";

/** The DecodeError `decode` throws; any other error is thrown on, and none at all fails the test. */
export function decodeErrorOf(decode: () => unknown): DecodeError {
  try {
    decode();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error("expected a DecodeError");
}
