import { describe, expect, it } from "vitest";
import { emptyResource, emptyScope, type KeyValue, type Span, type TraceBatch } from "./span.ts";
import { spanProblem, truncateUtf8, validateBatch } from "./validate.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const SPAN = "b7ad6b7169203331";
const PARENT = "00f067aa0ba902b7";

function span(overrides: Partial<Span> = {}): Span {
  return {
    traceId: TRACE,
    spanId: SPAN,
    traceState: "",
    parentSpanId: PARENT,
    flags: 0,
    name: "GET /",
    kind: 2,
    startTimeUnixNano: "1700000000000000000",
    endTimeUnixNano: "1700000000100000000",
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0, message: "" },
    ...overrides,
  };
}

function batchOf(...scopes: Span[][][]): TraceBatch {
  return {
    resourceSpans: scopes.map((scopeList) => ({
      resource: emptyResource(),
      schemaUrl: "",
      scopeSpans: scopeList.map((spans) => ({ scope: emptyScope(), spans, schemaUrl: "" })),
    })),
  };
}

function link(traceId: string, spanId: string) {
  return { traceId, spanId, traceState: "", attributes: [], droppedAttributesCount: 0, flags: 0 };
}

describe("spanProblem", () => {
  it.each<[string, Partial<Span>, string | undefined]>([
    ["a good span", {}, undefined],
    ["a root span", { parentSpanId: "" }, undefined],
    ["an all-zero parent (a root, as some clients write it)", { parentSpanId: "0000000000000000" }, undefined],
    ["zero duration", { endTimeUnixNano: "1700000000000000000" }, undefined],
    ["a 64-bit trace id", { traceId: "8448eb211c80319c" }, "traceId must be 16 bytes, got 8"],
    ["an empty trace id", { traceId: "" }, "traceId must be 16 bytes, got 0"],
    ["an all-zero trace id", { traceId: "0".repeat(32) }, "traceId must not be all zeros"],
    ["an upper-case trace id", { traceId: TRACE.toUpperCase() }, "traceId must be lowercase hex"],
    ["an odd-length span id", { spanId: "abc" }, "spanId must be 8 bytes, got 3 hex digits"],
    ["a 16-byte span id", { spanId: TRACE }, "spanId must be 8 bytes, got 16"],
    ["an all-zero span id", { spanId: "0000000000000000" }, "spanId must not be all zeros"],
    ["a short parent id", { parentSpanId: "00f067aa" }, "parentSpanId must be empty or 8 bytes, got 4"],
    ["no start time", { startTimeUnixNano: "0", endTimeUnixNano: "5" }, "startTimeUnixNano must be set"],
    ["end before start", { endTimeUnixNano: "1699999999999999999" }, "endTimeUnixNano is before startTimeUnixNano"],
    ["end before start, shorter number", { startTimeUnixNano: "10", endTimeUnixNano: "9" }, "endTimeUnixNano is before startTimeUnixNano"],
    ["no end time", { endTimeUnixNano: "0" }, "endTimeUnixNano is before startTimeUnixNano"],
    ["a link with an empty trace id", { links: [link(TRACE, SPAN), link("", SPAN)] }, "links[1].traceId must be 16 bytes, got 0"],
    ["a link with a zero span id", { links: [link(TRACE, "0000000000000000")] }, "links[0].spanId must not be all zeros"],
  ])("%s", (_name, overrides, expected) => {
    expect(spanProblem(span(overrides))).toBe(expected);
  });
});

describe("validateBatch", () => {
  it("keeps a valid batch as it is", () => {
    const batch = batchOf([[span(), span({ spanId: "1111111111111111" })]]);
    const result = validateBatch(batch);
    expect(result).toEqual({ batch, acceptedSpans: 2, rejectedSpans: 0, errors: [], truncatedAttributes: 0 });
  });

  it("removes invalid spans, drops emptied scopes and resources, and says where", () => {
    const good = span();
    const batch = batchOf(
      [[span({ traceId: "8448eb211c80319c" })], [good, span({ startTimeUnixNano: "0" })]],
      [[span({ spanId: "" })]],
      [[], [span({ traceId: "0".repeat(32) }), good]],
    );
    const result = validateBatch(batch);
    expect(result.acceptedSpans).toBe(2);
    expect(result.rejectedSpans).toBe(4);
    expect(result.batch).toEqual(batchOf([[good]], [[good]]));
    expect(result.errors).toEqual([
      "span 0 of resourceSpans[0].scopeSpans[0]: traceId must be 16 bytes, got 8",
      "span 1 of resourceSpans[0].scopeSpans[1]: startTimeUnixNano must be set",
      "span 0 of resourceSpans[1].scopeSpans[0]: spanId must be 8 bytes, got 0",
      "span 0 of resourceSpans[2].scopeSpans[1]: traceId must not be all zeros",
    ]);
  });

  it("keeps one message per reason, at most five", () => {
    const bad = [
      ...Array.from({ length: 100 }, () => span({ traceId: "" })),
      span({ spanId: "" }),
      span({ parentSpanId: "ab" }),
      span({ startTimeUnixNano: "0" }),
      span({ endTimeUnixNano: "1" }),
      span({ links: [link("", "")] }),
      span({ traceId: "0".repeat(32) }),
    ];
    const result = validateBatch(batchOf([bad]));
    expect(result.rejectedSpans).toBe(106);
    expect(result.acceptedSpans).toBe(0);
    expect(result.batch).toEqual({ resourceSpans: [] });
    expect(result.errors).toHaveLength(5);
    expect(result.errors[0]).toBe("span 0 of resourceSpans[0].scopeSpans[0]: traceId must be 16 bytes, got 0");
    expect(result.errors[1]).toBe("span 100 of resourceSpans[0].scopeSpans[0]: spanId must be 8 bytes, got 0");
    expect(validateBatch(batchOf([bad]), { maxErrorMessages: 1 }).errors).toHaveLength(1);
  });

  it("turns an all-zero parent into a root", () => {
    const result = validateBatch(batchOf([[span({ parentSpanId: "0000000000000000" })]]));
    expect(result.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.parentSpanId).toBe("");
  });

  it("truncates oversize attribute strings everywhere and counts them, without touching the input", () => {
    const long = "x".repeat(20);
    const attrs = (): KeyValue[] => [
      { key: "short", value: { stringValue: "ok" } },
      { key: "long", value: { stringValue: long } },
      { key: "n", value: { intValue: "1" } },
    ];
    const input: TraceBatch = {
      resourceSpans: [
        {
          resource: { attributes: attrs(), droppedAttributesCount: 0 },
          schemaUrl: "",
          scopeSpans: [
            {
              scope: { ...emptyScope(), attributes: attrs() },
              schemaUrl: "",
              spans: [
                span({
                  attributes: [
                    ...attrs(),
                    { key: "arr", value: { arrayValue: { values: [{ stringValue: long }, { boolValue: true }] } } },
                    { key: "kv", value: { kvlistValue: { values: [{ key: "deep", value: { stringValue: long } }] } } },
                  ],
                  events: [{ timeUnixNano: "1700000000000000001", name: "e", attributes: attrs(), droppedAttributesCount: 0 }],
                  links: [{ ...link(TRACE, SPAN), attributes: attrs() }],
                }),
              ],
            },
          ],
        },
      ],
    };
    const before = structuredClone(input);
    const result = validateBatch(input, { maxAttributeValueBytes: 8 });
    expect(input).toEqual(before);
    expect(result.truncatedAttributes).toBe(7);
    const out = result.batch.resourceSpans[0]!;
    const s = out.scopeSpans[0]!.spans[0]!;
    const cut = { key: "long", value: { stringValue: "xxxxxxxx" } };
    expect(out.resource.attributes[1]).toEqual(cut);
    expect(out.scopeSpans[0]!.scope.attributes[1]).toEqual(cut);
    expect(s.attributes[1]).toEqual(cut);
    expect(s.attributes[0]).toEqual({ key: "short", value: { stringValue: "ok" } });
    expect(s.attributes[3]).toEqual({ key: "arr", value: { arrayValue: { values: [{ stringValue: "xxxxxxxx" }, { boolValue: true }] } } });
    expect(s.attributes[4]).toEqual({ key: "kv", value: { kvlistValue: { values: [{ key: "deep", value: { stringValue: "xxxxxxxx" } }] } } });
    expect(s.events[0]!.attributes[1]).toEqual(cut);
    expect(s.links[0]!.attributes[1]).toEqual(cut);
  });

  it("uses 64 KiB as the default attribute limit", () => {
    const at = (n: number) => batchOf([[span({ attributes: [{ key: "body", value: { stringValue: "a".repeat(n) } }] })]]);
    expect(validateBatch(at(64 * 1024)).truncatedAttributes).toBe(0);
    const over = validateBatch(at(64 * 1024 + 1));
    expect(over.truncatedAttributes).toBe(1);
    const value = over.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes[0]!.value;
    expect(value).toEqual({ stringValue: "a".repeat(64 * 1024) });
  });
});

describe("truncateUtf8", () => {
  it("counts UTF-8 bytes and never splits a character", () => {
    expect(truncateUtf8("héllo", 2)).toBe("h"); // é is 2 bytes
    expect(truncateUtf8("héllo", 3)).toBe("hé");
    expect(truncateUtf8("中文", 5)).toBe("中"); // 3 bytes each
    expect(truncateUtf8("a😀b", 4)).toBe("a"); // the emoji is 4 bytes, 2 UTF-16 units
    expect(truncateUtf8("a😀b", 5)).toBe("a😀");
    expect(truncateUtf8("abc", 10)).toBe("abc");
    expect(new TextEncoder().encode(truncateUtf8("ж".repeat(100), 51)).length).toBe(50);
  });

  it("is used only when the value is really over the limit in bytes", () => {
    // 4 characters, 12 bytes: over a 10-byte limit though shorter than 10 characters.
    const result = validateBatch(batchOf([[span({ attributes: [{ key: "k", value: { stringValue: "中文中文" } }] })]]), {
      maxAttributeValueBytes: 10,
    });
    expect(result.truncatedAttributes).toBe(1);
    expect(result.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes[0]!.value).toEqual({ stringValue: "中文中" });
  });
});
