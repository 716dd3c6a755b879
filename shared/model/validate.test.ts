import { describe, expect, it } from "vitest";
import { emptyResource, emptyScope, type KeyValue, type Span, type TraceBatch } from "./span.ts";
import { acceptanceWindow, MAX_ATTRIBUTE_KEY_BYTES, MAX_ATTRIBUTES, MAX_EVENT_LINK_ATTRIBUTES, MAX_EVENTS, MAX_LINKS, MAX_NAME_BYTES, MAX_VALUE_ELEMENTS } from "./span-limits.ts";
import { limitNotice, spanProblem, truncateUtf8, validateBatch } from "./validate.ts";
import { modelSpan, TRACE_ID } from "../../test/support/spans.ts";

const TRACE = TRACE_ID;
const SPAN = "b7ad6b7169203331";
const PARENT = "00f067aa0ba902b7";

const span = (overrides: Partial<Span> = {}): Span => modelSpan(SPAN, { parentSpanId: PARENT, ...overrides });

function batchOf(...scopes: Span[][][]): TraceBatch {
  return {
    resourceSpans: scopes.map((scopeList) => ({
      resource: emptyResource(),
      schemaUrl: "",
      scopeSpans: scopeList.map((spans) => ({ scope: emptyScope(), spans, schemaUrl: "" })),
    })),
  };
}

/** A batch of one span whose resource and scope carry `attrs()` too (`resourceDropped`: the resource's dropped count). */
function withAttributesAround(attrs: () => KeyValue[], s: Span, resourceDropped = 0): TraceBatch {
  return {
    resourceSpans: [
      {
        resource: { attributes: attrs(), droppedAttributesCount: resourceDropped },
        schemaUrl: "",
        scopeSpans: [{ scope: { ...emptyScope(), attributes: attrs() }, schemaUrl: "", spans: [s] }],
      },
    ],
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
    expect(result).toMatchObject({ acceptedSpans: 2, rejectedSpans: 0, errors: [], truncatedAttributes: 0, notices: [] });
    expect(result.batch).toEqual(batch);
    expect(Object.values(result.limited).every((n) => n === 0)).toBe(true);
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
    const input = withAttributesAround(
      attrs,
      span({
        attributes: [
          ...attrs(),
          { key: "arr", value: { arrayValue: { values: [{ stringValue: long }, { boolValue: true }] } } },
          { key: "kv", value: { kvlistValue: { values: [{ key: "deep", value: { stringValue: long } }] } } },
        ],
        events: [{ timeUnixNano: "1700000000000000001", name: "e", attributes: attrs(), droppedAttributesCount: 0 }],
        links: [{ ...link(TRACE, SPAN), attributes: attrs() }],
      }),
    );
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

describe("the acceptance window around the receive time", () => {
  // Received at 1700000000 s; the span() times sit right there.
  const receivedAtMs = 1_700_000_000_000;
  const window = acceptanceWindow(receivedAtMs, 14);
  const ns = (ms: number) => (BigInt(ms) * 1_000_000n).toString();
  const DAY = 86_400_000;

  it.each<[string, Partial<Span>, string | undefined]>([
    ["a span of now", {}, undefined],
    ["a start exactly 14 days back", { startTimeUnixNano: ns(receivedAtMs - 14 * DAY) }, undefined],
    ["a start 1 ns more than 14 days back", { startTimeUnixNano: (BigInt(ns(receivedAtMs - 14 * DAY)) - 1n).toString() }, "startTimeUnixNano is more than 14 days (the tenant's retention) before the request was received"],
    ["a start in 1970", { startTimeUnixNano: "1", endTimeUnixNano: "2" }, "startTimeUnixNano is more than 14 days (the tenant's retention) before the request was received"],
    ["an end exactly 2 hours ahead", { endTimeUnixNano: ns(receivedAtMs + 2 * 3_600_000) }, undefined],
    ["an end 1 ns more than 2 hours ahead", { endTimeUnixNano: (BigInt(ns(receivedAtMs + 2 * 3_600_000)) + 1n).toString() }, "endTimeUnixNano is more than 2 hours after the request was received"],
    ["an end at the largest uint64", { endTimeUnixNano: "18446744073709551615" }, "endTimeUnixNano is more than 2 hours after the request was received"],
    ["start and end at the largest uint64", { startTimeUnixNano: "18446744073709551615", endTimeUnixNano: "18446744073709551615" }, "endTimeUnixNano is more than 2 hours after the request was received"],
    ["end before start still says so first", { startTimeUnixNano: "18446744073709551615" }, "endTimeUnixNano is before startTimeUnixNano"],
  ])("%s", (_name, overrides, expected) => {
    expect(spanProblem(span(overrides), window)).toBe(expected);
  });

  it("follows the tenant's retention and is not checked without a window", () => {
    const old = span({ startTimeUnixNano: ns(receivedAtMs - 20 * DAY) });
    expect(spanProblem(old, acceptanceWindow(receivedAtMs, 30))).toBeUndefined();
    expect(spanProblem(old, acceptanceWindow(receivedAtMs, 7))).toMatch(/more than 7 days/);
    expect(spanProblem(old)).toBeUndefined();
  });

  it("rejects and counts spans outside it, keeping the rest", () => {
    const far = span({ spanId: "1111111111111111", endTimeUnixNano: "18446744073709551615" });
    const result = validateBatch(batchOf([[span(), far]]), { window });
    expect(result.acceptedSpans).toBe(1);
    expect(result.rejectedSpans).toBe(1);
    expect(result.errors).toEqual(["span 1 of resourceSpans[0].scopeSpans[0]: endTimeUnixNano is more than 2 hours after the request was received"]);
  });
});

describe("size and count bounds", () => {
  const kv = (key: string, stringValue: string): KeyValue => ({ key, value: { stringValue } });
  const first = (r: ReturnType<typeof validateBatch>) => r.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;

  it("cuts names, trace states, scope strings and schema URLs to the name bound, on a character boundary", () => {
    const long = "é".repeat(10); // 20 bytes
    const input: TraceBatch = {
      resourceSpans: [
        {
          resource: emptyResource(),
          schemaUrl: long,
          scopeSpans: [
            {
              scope: { ...emptyScope(), name: long, version: long },
              schemaUrl: long,
              spans: [
                span({
                  name: long,
                  traceState: long,
                  events: [{ timeUnixNano: "1700000000000000001", name: long, attributes: [], droppedAttributesCount: 0 }],
                  links: [{ ...link(TRACE, SPAN), traceState: long }],
                }),
              ],
            },
          ],
        },
      ],
    };
    const before = structuredClone(input);
    const result = validateBatch(input, { maxNameBytes: 7 });
    expect(input).toEqual(before);
    const cut = "ééé"; // 6 bytes: the fourth é would make 8
    const rs = result.batch.resourceSpans[0]!;
    const s = first(result);
    expect([rs.schemaUrl, rs.scopeSpans[0]!.schemaUrl, rs.scopeSpans[0]!.scope.name, rs.scopeSpans[0]!.scope.version]).toEqual([cut, cut, cut, cut]);
    expect([s.name, s.traceState, s.events[0]!.name, s.links[0]!.traceState]).toEqual([cut, cut, cut, cut]);
    expect(result.limited.namesCut).toBe(8);
    expect(result.acceptedSpans).toBe(1);
    expect(result.rejectedSpans).toBe(0);
    expect(result.notices).toEqual(["spans kept within this tenant's limits: truncated 8 names (span, event or scope name, scope version, schema URL, trace state) to 7 bytes"]);
  });

  it("cuts a status message to the tenant's value bound", () => {
    const result = validateBatch(batchOf([[span({ status: { code: 2, message: "x".repeat(100) } })]]), { maxAttributeValueBytes: 10 });
    expect(first(result).status).toEqual({ code: 2, message: "x".repeat(10) });
    expect(result.limited.statusMessagesCut).toBe(1);
    expect(result.notices[0]).toMatch(/truncated 1 status message to 10 bytes/);
  });

  it("cuts bytes values to whole base64 groups under the value bound", () => {
    const bytes = btoa("abcdefghijklmnopqrstuvwxyz"); // 26 bytes
    const result = validateBatch(batchOf([[span({ attributes: [{ key: "b", value: { bytesValue: bytes } }, { key: "ok", value: { bytesValue: btoa("abcdefghij") } }] })]]), { maxAttributeValueBytes: 10 });
    const [b, ok] = first(result).attributes;
    expect(atob((b!.value as { bytesValue: string }).bytesValue)).toBe("abcdefghi");
    expect(ok!.value).toEqual({ bytesValue: btoa("abcdefghij") });
    expect(result.truncatedAttributes).toBe(1);
  });

  it("drops attributes whose key is too long, anywhere, and counts them as dropped", () => {
    const longKey = "k".repeat(MAX_ATTRIBUTE_KEY_BYTES + 1);
    const attrs = () => [kv("a", "1"), kv(longKey, "2"), kv("c", "3")];
    const input = withAttributesAround(
      attrs,
      span({ attributes: [...attrs(), { key: "kv", value: { kvlistValue: { values: attrs() } } }], events: [{ timeUnixNano: "1", name: "e", attributes: attrs(), droppedAttributesCount: 0 }] }),
      2,
    );
    const result = validateBatch(input);
    const rs = result.batch.resourceSpans[0]!;
    const s = first(result);
    expect(rs.resource).toEqual({ attributes: [kv("a", "1"), kv("c", "3")], droppedAttributesCount: 3 });
    expect(rs.scopeSpans[0]!.scope.attributes.map((a) => a.key)).toEqual(["a", "c"]);
    expect(s.attributes.map((a) => a.key)).toEqual(["a", "c", "kv"]);
    expect(s.droppedAttributesCount).toBe(1);
    expect(s.attributes[2]!.value).toEqual({ kvlistValue: { values: [kv("a", "1"), kv("c", "3")] } });
    expect(s.events[0]!).toMatchObject({ attributes: [kv("a", "1"), kv("c", "3")], droppedAttributesCount: 1 });
    expect(result.limited.keysDropped).toBe(5);
    expect(result.notices[0]).toBe(`spans kept within this tenant's limits: dropped 5 attributes with a key over ${MAX_ATTRIBUTE_KEY_BYTES} bytes`);
    // A key at the bound is kept.
    expect(first(validateBatch(batchOf([[span({ attributes: [kv("k".repeat(MAX_ATTRIBUTE_KEY_BYTES), "v")] })]]))).attributes).toHaveLength(1);
  });

  it("keeps the first attributes, events, links and value entries up to their bounds and counts the rest as dropped", () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => kv(`k${i}`, "v"));
    const event = (i: number) => ({ timeUnixNano: "1700000000000000001", name: `e${i}`, attributes: many(MAX_EVENT_LINK_ATTRIBUTES + 1), droppedAttributesCount: 0 });
    const input = batchOf([
      [
        span({
          attributes: [...many(MAX_ATTRIBUTES + 3), { key: "arr", value: { arrayValue: { values: Array.from({ length: MAX_VALUE_ELEMENTS + 2 }, () => ({ boolValue: true })) } } }],
          droppedAttributesCount: 1,
          events: Array.from({ length: MAX_EVENTS + 4 }, (_, i) => event(i)),
          droppedEventsCount: 2,
          links: Array.from({ length: MAX_LINKS + 5 }, () => link(TRACE, SPAN)),
        }),
      ],
    ]);
    const result = validateBatch(input);
    const s = first(result);
    expect(s.attributes).toHaveLength(MAX_ATTRIBUTES);
    expect(s.attributes.at(-1)!.key).toBe(`k${MAX_ATTRIBUTES - 1}`);
    expect(s.droppedAttributesCount).toBe(1 + 4); // 3 more k's and the array that came after them
    expect(s.events).toHaveLength(MAX_EVENTS);
    expect(s.events[0]!.attributes).toHaveLength(MAX_EVENT_LINK_ATTRIBUTES);
    expect(s.events[0]!.droppedAttributesCount).toBe(1);
    expect(s.droppedEventsCount).toBe(2 + 4);
    expect(s.links).toHaveLength(MAX_LINKS);
    expect(s.droppedLinksCount).toBe(5);
    expect(result.limited).toMatchObject({ attributesDropped: 4 + MAX_EVENTS, eventsDropped: 4, linksDropped: 5, elementsDropped: 0 });

    const arr = validateBatch(batchOf([[span({ attributes: [{ key: "arr", value: { arrayValue: { values: Array.from({ length: MAX_VALUE_ELEMENTS + 2 }, () => ({ boolValue: true })) } } }] })]]));
    expect((first(arr).attributes[0]!.value as { arrayValue: { values: unknown[] } }).arrayValue.values).toHaveLength(MAX_VALUE_ELEMENTS);
    expect(arr.limited.elementsDropped).toBe(2);
    expect(arr.notices[0]).toBe(`spans kept within this tenant's limits: dropped 2 array or kvlist entries over ${MAX_VALUE_ELEMENTS} per value`);
  });

  it("leaves spans within every bound as they are (same objects)", () => {
    const s = span({ name: "n".repeat(MAX_NAME_BYTES), attributes: [kv("a", "b")], events: [{ timeUnixNano: "1", name: "e", attributes: [], droppedAttributesCount: 0 }], links: [link(TRACE, SPAN)] });
    const input = batchOf([[s]]);
    const result = validateBatch(input);
    expect(first(result)).toBe(s);
    expect(result.notices).toEqual([]);
  });

  it("says what was cut in one sentence, and nothing when nothing was", () => {
    const limits = { maxAttributeValueBytes: 100, maxNameBytes: 10, maxAttributeKeyBytes: 5, maxAttributes: 2, maxEvents: 3, maxLinks: 4, maxEventLinkAttributes: 1, maxValueElements: 6 };
    expect(limitNotice({ valuesCut: 0, statusMessagesCut: 0, namesCut: 0, keysDropped: 0, attributesDropped: 0, eventsDropped: 0, linksDropped: 0, elementsDropped: 0 }, limits)).toBeUndefined();
    expect(limitNotice({ valuesCut: 2, statusMessagesCut: 1, namesCut: 1, keysDropped: 1, attributesDropped: 3, eventsDropped: 1, linksDropped: 2, elementsDropped: 1 }, limits)).toBe(
      "spans kept within this tenant's limits: truncated 2 attribute values to 100 bytes, 1 status message to 100 bytes, 1 name (span, event or scope name, scope version, schema URL, trace state) to 10 bytes; " +
        "dropped 1 attribute with a key over 5 bytes, 3 attributes over 2 per span, resource or scope or 1 per event or link, 1 event over 3 per span, 2 links over 4 per span, 1 array or kvlist entry over 6 per value",
    );
  });
});
