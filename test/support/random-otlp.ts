/**
 * @module
 * Deterministic OTLP trace batches for tests and benchmarks, in the span model.
 *
 * `randomTraceBatch` explores the schema: every field, every AnyValue kind (nested arrays and
 * kvlists, bytes, empty values), edge numbers (negative and extreme int64, u64 times, -0, NaN,
 * infinities, unknown enum numbers) and unicode strings. Ids have arbitrary byte lengths, since
 * decoders pass through whatever arrived. `realisticTraceBatch` looks like an SDK export batch.
 * Both only produce values that survive a protobuf round trip (no lone surrogates).
 */
import { Buffer } from "node:buffer";
import type { AnyValue, InstrumentationScope, KeyValue, Resource, ResourceSpans, ScopeSpans, Span, SpanEvent, SpanLink, TraceBatch } from "../../shared/model/span.ts";

/** A small seeded PRNG (mulberry32): same seed, same batch, on every machine. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  uint32(): number {
    return this.int(0x100000000);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  hex(byteLength: number): string {
    return Buffer.from(this.bytes(byteLength)).toString("hex");
  }
}

export interface RandomOptions {
  /** Upper bounds (inclusive) on how many of each are generated. */
  maxResourceSpans?: number;
  maxScopeSpans?: number;
  maxSpans?: number;
  maxAttributes?: number;
  maxEvents?: number;
  maxLinks?: number;
  /** How deep AnyValue arrays/kvlists may nest (1 = no nesting). */
  maxDepth?: number;
}

const DEFAULTS: Required<RandomOptions> = {
  maxResourceSpans: 3,
  maxScopeSpans: 3,
  maxSpans: 4,
  maxAttributes: 5,
  maxEvents: 2,
  maxLinks: 2,
  maxDepth: 4,
};

// Pieces for strings: ASCII, 2-, 3- and 4-byte UTF-8, a NUL, and characters that need escaping in JSON.
const STRING_PIECES = [
  "a", "Z", "0", " ", "http.method", "service.name", "/", "\u0000", "\"", "\\", "\n", "\t",
  "é", "ß", "Ω", "ж", "中", "文", "€", "\u2028", "\uFEFF", "😀", "🚀", "\u{10FFFF}", "𝄞",
];

function randomString(rng: Rng, maxPieces = 8): string {
  if (rng.chance(0.15)) return "";
  if (rng.chance(0.3)) return rng.pick(["GET /api/users", "db.query", "http.status_code", "ok", "x"]);
  let s = "";
  const n = 1 + rng.int(maxPieces);
  for (let i = 0; i < n; i++) s += rng.pick(STRING_PIECES);
  // Now and then long enough to need a two-byte length prefix.
  if (rng.chance(0.05)) s = s.repeat(40);
  return s;
}

const INT64_EDGES = [
  "0", "1", "-1", "127", "128", "-128", "2147483647", "-2147483648", "4294967295", "4294967296",
  "9007199254740991", "9007199254740993", "-9007199254740993", "9223372036854775807", "-9223372036854775808",
];
const U64_EDGES = ["0", "1", "4294967295", "4294967296", "9007199254740993", "9223372036854775808", "18446744073709551615"];
const DOUBLE_EDGES = [0, -0, 1, -1, 0.5, 1e-310, Number.MAX_VALUE, -Number.MIN_VALUE, Infinity, -Infinity, NaN, Math.PI];
const UINT32_EDGES = [0, 1, 127, 128, 16383, 16384, 2147483647, 2147483648, 4294967295];

function randomInt64(rng: Rng): string {
  if (rng.chance(0.4)) return rng.pick(INT64_EDGES);
  // Random 64-bit two's complement value.
  const v = (BigInt(rng.uint32()) << 32n) | BigInt(rng.uint32());
  return BigInt.asIntN(64, rng.chance(0.5) ? v : v >> BigInt(rng.int(64))).toString();
}

function randomU64(rng: Rng): string {
  if (rng.chance(0.3)) return rng.pick(U64_EDGES);
  if (rng.chance(0.5)) {
    // A plausible nanosecond timestamp around 2026.
    return (1_780_000_000_000_000_000n + BigInt(rng.uint32()) * 1000n + BigInt(rng.int(1000))).toString();
  }
  return ((BigInt(rng.uint32()) << 32n) | BigInt(rng.uint32())).toString();
}

function randomUint32(rng: Rng): number {
  if (rng.chance(0.5)) return 0;
  return rng.chance(0.5) ? rng.pick(UINT32_EDGES) : rng.uint32();
}

function randomDouble(rng: Rng): number {
  if (rng.chance(0.4)) return rng.pick(DOUBLE_EDGES);
  const buf = new DataView(new ArrayBuffer(8));
  buf.setUint32(0, rng.uint32());
  buf.setUint32(4, rng.uint32());
  const d = buf.getFloat64(0);
  // Any NaN payload reads back as NaN; keep a finite random one most of the time.
  return Number.isNaN(d) ? rng.next() * 1e6 : d;
}

// Enum numbers: mostly known, sometimes unknown or negative (int32 on the wire).
function randomEnum(rng: Rng, known: number): number {
  if (rng.chance(0.85)) return rng.int(known);
  return rng.pick([known, 99, 2147483647, -1, -2147483648]);
}

function randomId(rng: Rng, usual: number): string {
  if (rng.chance(0.75)) return rng.hex(usual);
  return rng.hex(rng.pick([0, 1, 7, usual * 2, 3]));
}

function randomAnyValue(rng: Rng, depth: number, o: Required<RandomOptions>): AnyValue {
  const kinds = depth < o.maxDepth ? 9 : 7;
  switch (rng.int(kinds)) {
    case 0:
      return { stringValue: randomString(rng) };
    case 1:
      return { boolValue: rng.chance(0.5) };
    case 2:
      return { intValue: randomInt64(rng) };
    case 3:
      return { doubleValue: randomDouble(rng) };
    case 4:
      return { bytesValue: Buffer.from(rng.bytes(rng.int(3) === 0 ? 0 : rng.int(40))).toString("base64") };
    case 5:
      return {};
    case 6:
      return { stringValue: rng.pick(["", "a", "🚀"]) };
    case 7: {
      const n = rng.int(4);
      const values: AnyValue[] = [];
      for (let i = 0; i < n; i++) values.push(randomAnyValue(rng, depth + 1, o));
      return { arrayValue: { values } };
    }
    default:
      return { kvlistValue: { values: randomKeyValues(rng, depth + 1, o, 3) } };
  }
}

function randomKeyValues(rng: Rng, depth: number, o: Required<RandomOptions>, max = o.maxAttributes): KeyValue[] {
  const n = rng.int(max + 1);
  const out: KeyValue[] = [];
  for (let i = 0; i < n; i++) out.push({ key: randomString(rng, 4), value: randomAnyValue(rng, depth, o) });
  return out;
}

function times<T>(rng: Rng, max: number, make: () => T): T[] {
  const n = rng.int(max + 1);
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(make());
  return out;
}

function randomEvent(rng: Rng, o: Required<RandomOptions>): SpanEvent {
  return {
    timeUnixNano: randomU64(rng),
    name: randomString(rng),
    attributes: randomKeyValues(rng, 1, o),
    droppedAttributesCount: randomUint32(rng),
  };
}

function randomLink(rng: Rng, o: Required<RandomOptions>): SpanLink {
  return {
    traceId: randomId(rng, 16),
    spanId: randomId(rng, 8),
    traceState: rng.chance(0.5) ? "" : randomString(rng),
    attributes: randomKeyValues(rng, 1, o),
    droppedAttributesCount: randomUint32(rng),
    flags: randomUint32(rng),
  };
}

function randomSpan(rng: Rng, o: Required<RandomOptions>): Span {
  return {
    traceId: randomId(rng, 16),
    spanId: randomId(rng, 8),
    traceState: rng.chance(0.5) ? "" : rng.pick(["rojo=00f067aa0ba902b7", "congo=t61rcWkgMzE", randomString(rng)]),
    parentSpanId: rng.chance(0.3) ? "" : randomId(rng, 8),
    flags: rng.chance(0.3) ? rng.pick([0, 1, 0x101, 0x301]) : randomUint32(rng),
    name: randomString(rng),
    kind: randomEnum(rng, 6),
    startTimeUnixNano: randomU64(rng),
    endTimeUnixNano: randomU64(rng),
    attributes: randomKeyValues(rng, 1, o),
    droppedAttributesCount: randomUint32(rng),
    events: times(rng, o.maxEvents, () => randomEvent(rng, o)),
    droppedEventsCount: randomUint32(rng),
    links: times(rng, o.maxLinks, () => randomLink(rng, o)),
    droppedLinksCount: randomUint32(rng),
    status: rng.chance(0.4)
      ? { code: 0, message: "" }
      : { code: randomEnum(rng, 3), message: rng.chance(0.5) ? "" : randomString(rng) },
  };
}

function randomScope(rng: Rng, o: Required<RandomOptions>): InstrumentationScope {
  return {
    name: randomString(rng),
    version: rng.chance(0.5) ? "" : rng.pick(["1.0.0", "0.57.2", randomString(rng)]),
    attributes: randomKeyValues(rng, 1, o),
    droppedAttributesCount: randomUint32(rng),
  };
}

function randomResource(rng: Rng, o: Required<RandomOptions>): Resource {
  return { attributes: randomKeyValues(rng, 1, o), droppedAttributesCount: randomUint32(rng) };
}

const SCHEMA_URLS = ["", "https://opentelemetry.io/schemas/1.24.0", "https://example.com/schemas/ü"];

/** A random request covering the whole schema; the same seed always gives the same batch. */
export function randomTraceBatch(seed: number, opts: RandomOptions = {}): TraceBatch {
  const o = { ...DEFAULTS, ...opts };
  const rng = new Rng(seed);
  const resourceSpans: ResourceSpans[] = times(rng, o.maxResourceSpans, () => ({
    resource: rng.chance(0.2) ? { attributes: [], droppedAttributesCount: 0 } : randomResource(rng, o),
    scopeSpans: times(
      rng,
      o.maxScopeSpans,
      (): ScopeSpans => ({
        scope: rng.chance(0.2)
          ? { name: "", version: "", attributes: [], droppedAttributesCount: 0 }
          : randomScope(rng, o),
        spans: times(rng, o.maxSpans, () => randomSpan(rng, o)),
        schemaUrl: rng.pick(SCHEMA_URLS),
      }),
    ),
    schemaUrl: rng.pick(SCHEMA_URLS),
  }));
  return { resourceSpans };
}

// ---- realistic batches ---------------------------------------------------------------------------

function str(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}
function int(key: string, value: number): KeyValue {
  return { key, value: { intValue: String(value) } };
}

const ROUTES = ["/api/users/:id", "/api/orders", "/api/orders/:id/items", "/healthz", "/api/cart", "/api/search"];
const METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const TABLES = ["users", "orders", "order_items", "carts", "products"];

/**
 * A batch shaped like an OpenTelemetry JS SDK export from a Node service on Kubernetes: one
 * resource with the usual semantic-convention attributes, http server/client and postgres
 * scopes, traces of a server span with client and db children. 512 spans encode to about 110 KB,
 * the size of the body the protobufjs baseline was measured on. Spans start at `startUnixNano`
 * (default a fixed instant in 2026, for stable bytes); what is sent to ingest must start within
 * the tenant's retention before the receive time (shared/model/span-limits.ts).
 */
export function realisticTraceBatch(spans = 512, seed = 42, startUnixNano = 1_780_000_000_000_000_000n): TraceBatch {
  const rng = new Rng(seed);
  const resource: Resource = {
    attributes: [
      str("service.name", "checkout-api"),
      str("service.namespace", "shop"),
      str("service.version", "2.14.3"),
      str("service.instance.id", "3f6c1b9e-8a2d-4e5f-9c1a-7b3d2e4f6a8c"),
      str("deployment.environment.name", "production"),
      str("host.name", "checkout-api-7d9f8b6c5d-x2k4p"),
      str("host.arch", "amd64"),
      str("os.type", "linux"),
      int("process.pid", 1),
      str("process.runtime.name", "nodejs"),
      str("process.runtime.version", "22.11.0"),
      str("k8s.namespace.name", "shop-prod"),
      str("k8s.pod.name", "checkout-api-7d9f8b6c5d-x2k4p"),
      str("k8s.deployment.name", "checkout-api"),
      str("k8s.node.name", "gke-prod-pool-1-a1b2c3d4-9xyz"),
      str("cloud.provider", "gcp"),
      str("cloud.region", "europe-west1"),
      str("telemetry.sdk.name", "opentelemetry"),
      str("telemetry.sdk.language", "nodejs"),
      str("telemetry.sdk.version", "1.30.1"),
    ],
    droppedAttributesCount: 0,
  };
  const scope = (name: string, version: string): InstrumentationScope => ({
    name,
    version,
    attributes: [],
    droppedAttributesCount: 0,
  });
  const http: Span[] = [];
  const pg: Span[] = [];
  let t = startUnixNano;
  let traceId = "";
  let rootId = "";
  for (let i = 0; i < spans; i++) {
    // Every 4th span starts a new trace with a server span; the others are its children.
    const role = i % 4;
    if (role === 0) {
      traceId = rng.hex(16);
      rootId = "";
    }
    const spanId = rng.hex(8);
    const start = t + BigInt(rng.int(1_000_000));
    const end = start + BigInt(200_000 + rng.int(50_000_000));
    t += 3_000_000n;
    const route = rng.pick(ROUTES);
    const path = route.replace(/:id/g, () => String(1000 + rng.int(900000)));
    const failed = rng.chance(0.03);
    const base = {
      traceId,
      spanId,
      traceState: "",
      parentSpanId: rootId,
      flags: 0x101,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: end.toString(),
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
    };
    if (role === 0) {
      const method = rng.pick(METHODS);
      const status = failed ? 500 : rng.pick([200, 200, 200, 201, 204, 404]);
      http.push({
        ...base,
        name: `${method} ${route}`,
        kind: 2,
        attributes: [
          str("http.request.method", method),
          str("url.path", path),
          str("http.route", route),
          int("http.response.status_code", status),
          str("client.address", `10.4.${rng.int(256)}.${rng.int(256)}`),
        ],
        events: [],
        status: failed ? { code: 2, message: "Internal Server Error" } : { code: 0, message: "" },
      });
      rootId = spanId;
    } else if (role === 1) {
      http.push({
        ...base,
        name: "GET",
        kind: 3,
        attributes: [
          str("http.request.method", "GET"),
          str("url.full", `http://inventory:8080/v1/stock/${rng.int(100000)}`),
          int("http.response.status_code", failed ? 503 : 200),
        ],
        events: [],
        status: failed ? { code: 2, message: "" } : { code: 0, message: "" },
      });
    } else {
      const table = rng.pick(TABLES);
      pg.push({
        ...base,
        name: `SELECT shop.${table}`,
        kind: 3,
        attributes: [
          str("db.system.name", "postgresql"),
          str("db.collection.name", table),
          str("db.query.text", `SELECT * FROM ${table} WHERE id = $1`),
        ],
        events: failed
          ? [
              {
                timeUnixNano: end.toString(),
                name: "exception",
                attributes: [
                  str("exception.type", "DatabaseError"),
                  str("exception.message", "canceling statement due to statement timeout"),
                ],
                droppedAttributesCount: 0,
              },
            ]
          : [],
        status: failed ? { code: 2, message: "canceling statement due to statement timeout" } : { code: 0, message: "" },
      });
    }
  }
  return {
    resourceSpans: [
      {
        resource,
        scopeSpans: [
          { scope: scope("@opentelemetry/instrumentation-http", "0.57.2"), spans: http, schemaUrl: "" },
          { scope: scope("@opentelemetry/instrumentation-pg", "0.50.0"), spans: pg, schemaUrl: "" },
        ],
        schemaUrl: "https://opentelemetry.io/schemas/1.28.0",
      },
    ],
  };
}
