import { describe, expect, it } from "vitest";
import protobuf from "protobufjs";
import { ExportTraceServiceResponse } from "../../test/support/otlp-reference.ts";
import { encodeStatusProto, encodeTraceResponseProto } from "./encode-response.ts";

// google.rpc.Status as in googleapis' status.proto (details left out: never sent).
const Status = protobuf.Root.fromJSON({
  nested: {
    Status: {
      fields: {
        code: { type: "int32", id: 1 },
        message: { type: "string", id: 2 },
      },
    },
  },
}).lookupType("Status");

const TO_OBJECT = { longs: String, defaults: true };

function decodeResponse(bytes: Uint8Array): unknown {
  return ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(bytes), TO_OBJECT);
}

describe("encodeTraceResponseProto", () => {
  it("is the empty message for a full success", () => {
    const bytes = encodeTraceResponseProto();
    expect(bytes).toEqual(new Uint8Array(0));
    expect(decodeResponse(bytes)).toEqual({ partialSuccess: null });
  });

  it.each([
    [1, "1 span rejected: missing trace id"],
    [0, "accepted with a warning"],
    [512, ""],
    [0, ""],
    [2 ** 31, "big"],
    [Number.MAX_SAFE_INTEGER, "unicode: ü 中 🚀"],
  ])("encodes partial_success {rejected %d, message %j}", (rejectedSpans, errorMessage) => {
    const bytes = encodeTraceResponseProto({ rejectedSpans, errorMessage });
    expect(decodeResponse(bytes)).toEqual({
      partialSuccess: { rejectedSpans: String(rejectedSpans), errorMessage },
    });
  });

  it("keeps an empty partial_success present", () => {
    expect(encodeTraceResponseProto({ rejectedSpans: 0, errorMessage: "" })).toEqual(Uint8Array.of(0x0a, 0x00));
  });

  it("matches the reference encoder byte for byte", () => {
    const partial = { rejectedSpans: 300, errorMessage: "x".repeat(200) };
    const reference = ExportTraceServiceResponse.encode({
      partialSuccess: { rejectedSpans: partial.rejectedSpans, errorMessage: partial.errorMessage },
    }).finish();
    expect(encodeTraceResponseProto(partial)).toEqual(new Uint8Array(reference));
  });
});

describe("encodeStatusProto", () => {
  it.each([
    [3, "invalid body: truncated protobuf"],
    [0, ""],
    [8, "rate limited"],
    [16, "ü 🚀"],
    [-1, "negative codes are sign-extended"],
    [2147483647, "max"],
  ])("encodes code %d message %j", (code, message) => {
    const bytes = encodeStatusProto(code, message);
    expect(Status.toObject(Status.decode(bytes), TO_OBJECT)).toEqual({ code, message });
    expect(bytes).toEqual(new Uint8Array(Status.encode(Status.fromObject({ code, message })).finish()));
  });
});
