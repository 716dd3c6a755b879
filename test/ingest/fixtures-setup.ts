/**
 * Runs in Node before the ingest suite: encodes OTLP protobuf request bodies with the reference
 * encoder (protobufjs code generated from the official schema), which cannot load inside workerd,
 * and hands them to the tests as base64.
 */
import type { TestProject } from "vitest/node";
import { referenceEncode, referenceDecode } from "../support/otlp-reference.ts";
import { realisticTraceBatch } from "../support/random-otlp.ts";

import "./provided-context.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

export function setup(project: TestProject) {
  // Spans of ten minutes ago: ingest refuses spans older than the tenant's retention.
  const recent = BigInt(Date.now() - 600_000) * 1_000_000n;
  const valid = realisticTraceBatch(64, 7, recent);
  const validBytes = referenceEncode(valid);

  // The same request with one span given an 8-byte trace id and another ending before it starts.
  const partial = structuredClone(valid);
  const spans = partial.resourceSpans[0]!.scopeSpans[0]!.spans;
  spans[0]!.traceId = spans[0]!.traceId.slice(0, 16);
  spans[1]!.endTimeUnixNano = (BigInt(spans[1]!.startTimeUnixNano) - 1n).toString();

  const allBad = structuredClone(valid);
  for (const rs of allBad.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) s.spanId = "abcd";

  // A string attribute nested 40 levels deep in arrays: more than the decoder's depth guard.
  const deep = structuredClone(realisticTraceBatch(1, 3, recent));
  let value: object = { stringValue: "bottom" };
  for (let i = 0; i < 40; i++) value = { arrayValue: { values: [value] } };
  deep.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.push({ key: "deep", value: value as never });

  project.provide("otlpFixtures", {
    valid: b64(validBytes),
    partial: b64(referenceEncode(partial)),
    allBad: b64(referenceEncode(allBad)),
    truncated: b64(validBytes.subarray(0, Math.floor(validBytes.length / 2))),
    // Field 1 (resource_spans) must be length-delimited; this sends it as a varint.
    wrongWireType: b64(new Uint8Array([0x08, 0x01])),
    deep: b64(referenceEncode(deep)),
  });
  project.provide("otlpFixtureBatches", { valid: referenceDecode(validBytes) });
}
