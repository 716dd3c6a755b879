import { describe, expect, it } from "vitest";
import { countSpans, DecodeError } from "./span.ts";

describe("span model", () => {
  it("counts spans across resources and scopes", () => {
    const scope = { name: "", version: "", attributes: [], droppedAttributesCount: 0 };
    const resource = { attributes: [], droppedAttributesCount: 0 };
    const span = {} as never;
    expect(
      countSpans({
        resourceSpans: [
          { resource, schemaUrl: "", scopeSpans: [{ scope, schemaUrl: "", spans: [span, span] }] },
          { resource, schemaUrl: "", scopeSpans: [{ scope, schemaUrl: "", spans: [span] }, { scope, schemaUrl: "", spans: [] }] },
        ],
      }),
    ).toBe(3);
  });
  it("says where a decode broke", () => {
    expect(new DecodeError("truncated varint", "byte 12").message).toBe("truncated varint (at byte 12)");
  });
});
