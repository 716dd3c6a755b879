/**
 * @module
 * A seeded multi-service workload for the block, search and assembler tests and the benchmarks: a
 * shop of 12 services in four SDK languages on Kubernetes, traces of 10-200 spans that cross
 * services over HTTP, gRPC and Kafka and touch Postgres, Redis and Elasticsearch, with the
 * semantic-convention attributes those instrumentations set, exceptions with stack traces on
 * errors, and nanosecond timestamps nested the way real spans nest.
 *
 * Spans are exported the way SDKs export them: every service instance batches its own spans (up to
 * 512 per request, one resource per request), so a trace's spans arrive in many requests from many
 * services. `requests` is what ingest receives (its protobuf size is the baseline), `traces` is the
 * same spans grouped by trace, which is what the assembler hands to the block encoder.
 */
import { groupByTrace } from "../../shared/ingest/group-by-trace.ts";
import type { InstrumentationScope, KeyValue, Resource, ScopeSpans, Span, SpanEvent, SpanLink, TraceBatch } from "../../shared/model/span.ts";
import type { TraceInput } from "../../shared/block/encode-block.ts";
import { Rng } from "./random-otlp.ts";
import { bool, dbl, int, str } from "./spans.ts";

export interface WorkloadOptions {
  traces: number;
  seed?: number;
  minSpans?: number;
  maxSpans?: number;
  /** BatchSpanProcessor's maxExportBatchSize. */
  spansPerRequest?: number;
  /** Unix ms of the first trace. */
  startMs?: number;
}

export interface Workload {
  requests: TraceBatch[];
  traces: TraceInput[];
  spanCount: number;
}

type Lang = "nodejs" | "go" | "java" | "python";

interface ServiceDef {
  name: string;
  lang: Lang;
  version: string;
  instances: number;
}

const SERVICES: ServiceDef[] = [
  { name: "frontend", lang: "nodejs", version: "3.8.1", instances: 3 },
  { name: "api-gateway", lang: "go", version: "1.22.0", instances: 3 },
  { name: "checkout", lang: "java", version: "5.2.0", instances: 2 },
  { name: "cart", lang: "go", version: "2.4.7", instances: 2 },
  { name: "payment", lang: "java", version: "4.0.3", instances: 2 },
  { name: "inventory", lang: "python", version: "1.9.12", instances: 2 },
  { name: "shipping", lang: "go", version: "0.9.4", instances: 1 },
  { name: "user", lang: "nodejs", version: "2.1.0", instances: 2 },
  { name: "recommendation", lang: "python", version: "0.14.2", instances: 2 },
  { name: "search", lang: "java", version: "7.3.1", instances: 2 },
  { name: "notification", lang: "nodejs", version: "1.0.8", instances: 1 },
  { name: "pricing", lang: "go", version: "3.3.3", instances: 2 },
];

const SDK_VERSION: Record<Lang, string> = { nodejs: "1.30.1", go: "1.34.0", java: "1.46.0", python: "1.29.0" };
const RUNTIME: Record<Lang, [string, string]> = {
  nodejs: ["nodejs", "22.11.0"],
  go: ["go", "go1.23.4"],
  java: ["OpenJDK Runtime Environment", "21.0.5+11-LTS"],
  python: ["cpython", "3.12.8"],
};

/** Instrumentation scope names per language and kind of work. */
const SCOPES: Record<Lang, Record<"http" | "rpc" | "db" | "redis" | "kafka" | "app", [string, string]>> = {
  nodejs: {
    http: ["@opentelemetry/instrumentation-http", "0.57.2"],
    rpc: ["@opentelemetry/instrumentation-grpc", "0.57.2"],
    db: ["@opentelemetry/instrumentation-pg", "0.50.0"],
    redis: ["@opentelemetry/instrumentation-ioredis", "0.47.0"],
    kafka: ["@opentelemetry/instrumentation-kafkajs", "0.7.0"],
    app: ["shop-app", ""],
  },
  go: {
    http: ["go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.58.0"],
    rpc: ["go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc", "0.58.0"],
    db: ["github.com/XSAM/otelsql", "0.36.0"],
    redis: ["github.com/redis/go-redis/extra/redisotel", "9.7.0"],
    kafka: ["github.com/IBM/sarama/otelsarama", "0.31.0"],
    app: ["shop/internal", ""],
  },
  java: {
    http: ["io.opentelemetry.tomcat-10.0", "2.10.0-alpha"],
    rpc: ["io.opentelemetry.grpc-1.6", "2.10.0-alpha"],
    db: ["io.opentelemetry.jdbc", "2.10.0-alpha"],
    redis: ["io.opentelemetry.lettuce-5.1", "2.10.0-alpha"],
    kafka: ["io.opentelemetry.kafka-clients-0.11", "2.10.0-alpha"],
    app: ["io.opentelemetry.opentelemetry-instrumentation-annotations-1.16", "2.10.0"],
  },
  python: {
    http: ["opentelemetry.instrumentation.flask", "0.50b0"],
    rpc: ["opentelemetry.instrumentation.grpc", "0.50b0"],
    db: ["opentelemetry.instrumentation.psycopg", "0.50b0"],
    redis: ["opentelemetry.instrumentation.redis", "0.50b0"],
    kafka: ["opentelemetry.instrumentation.confluent_kafka", "0.50b0"],
    app: ["shop.app", ""],
  },
};

const STACK: Record<Lang, (type: string, where: string) => string> = {
  java: (type, where) =>
    `${type}: ${where}\n\tat com.shop.${where}.Service.handle(Service.java:142)\n\tat com.shop.${where}.Controller.post(Controller.java:88)\n` +
    "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n" +
    "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)\n" +
    "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)\n\t... 48 more",
  nodejs: (type, where) =>
    `${type}: ${where}\n    at ${where}Handler (/app/dist/handlers/${where}.js:57:13)\n    at process.processTicksAndRejections (node:internal/process/task_queues:105:5)\n    at async /app/dist/server.js:211:7`,
  go: (type, where) => `${type}: ${where}\ngoroutine 1723 [running]:\nshop/internal/${where}.(*Server).Handle(...)\n\t/src/internal/${where}/server.go:118 +0x1c4`,
  python: (type, where) =>
    `Traceback (most recent call last):\n  File "/app/${where}/views.py", line 64, in handle\n    result = service.run(request)\n  File "/app/${where}/service.py", line 31, in run\n    raise ${type}("${where}")\n${type}: ${where}`,
};

const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "okhttp/4.12.0",
];

interface Instance {
  service: ServiceDef;
  resource: Resource;
  scopes: Map<string, InstrumentationScope>;
  /** Spans waiting for export, per scope name. */
  pending: Map<string, Span[]>;
  pendingCount: number;
}

function uuid(rng: Rng): string {
  const h = rng.hex(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

function makeInstances(rng: Rng): Map<string, Instance[]> {
  const out = new Map<string, Instance[]>();
  for (const svc of SERVICES) {
    const list: Instance[] = [];
    for (let i = 0; i < svc.instances; i++) {
      const pod = `${svc.name}-${rng.hex(5).slice(0, 10)}-${rng.hex(3).slice(0, 5)}`;
      const [runtimeName, runtimeVersion] = RUNTIME[svc.lang];
      const zone = rng.pick(["b", "c", "d"]);
      const resource: Resource = {
        attributes: [
          str("service.name", svc.name),
          str("service.namespace", "shop"),
          str("service.version", svc.version),
          str("service.instance.id", uuid(rng)),
          str("deployment.environment.name", "production"),
          str("host.name", pod),
          str("host.arch", "amd64"),
          str("os.type", "linux"),
          int("process.pid", 1 + rng.int(40)),
          str("process.runtime.name", runtimeName),
          str("process.runtime.version", runtimeVersion),
          str("container.id", rng.hex(32)),
          str("k8s.cluster.name", "prod-eu-1"),
          str("k8s.namespace.name", "shop"),
          str("k8s.deployment.name", svc.name),
          str("k8s.pod.name", pod),
          str("k8s.pod.uid", uuid(rng)),
          str("k8s.node.name", `gke-prod-eu-1-pool-${rng.int(3)}-${rng.hex(4)}`),
          str("cloud.provider", "gcp"),
          str("cloud.platform", "gcp_kubernetes_engine"),
          str("cloud.region", "europe-west1"),
          str("cloud.availability_zone", `europe-west1-${zone}`),
          str("telemetry.sdk.name", "opentelemetry"),
          str("telemetry.sdk.language", svc.lang),
          str("telemetry.sdk.version", SDK_VERSION[svc.lang]),
        ],
        droppedAttributesCount: 0,
      };
      list.push({ service: svc, resource, scopes: new Map(), pending: new Map(), pendingCount: 0 });
    }
    out.set(svc.name, list);
  }
  return out;
}

interface Ctx {
  rng: Rng;
  traceId: string;
  budget: number;
  userId: string;
  orderId: string;
  spans: { instance: Instance; scope: string; span: Span }[];
  failed: boolean;
}

interface SpanOpts {
  instance: Instance;
  scope: keyof (typeof SCOPES)["go"];
  parent: Span | undefined;
  remoteParent: boolean;
  name: string;
  kind: number;
  start: bigint;
  durationNs: bigint;
  attributes: KeyValue[];
  error?: { type: string; message: string } | undefined;
  events?: SpanEvent[];
  links?: SpanLink[];
}

function addSpan(ctx: Ctx, o: SpanOpts): Span {
  ctx.budget--;
  const [scopeName, scopeVersion] = SCOPES[o.instance.service.lang][o.scope];
  if (!o.instance.scopes.has(scopeName)) o.instance.scopes.set(scopeName, { name: scopeName, version: scopeVersion, attributes: [], droppedAttributesCount: 0 });
  const events = o.events ?? [];
  const end = o.start + o.durationNs;
  if (o.error) {
    events.push({
      timeUnixNano: (end - BigInt(ctx.rng.int(50_000))).toString(),
      name: "exception",
      attributes: [
        str("exception.type", o.error.type),
        str("exception.message", o.error.message),
        str("exception.stacktrace", STACK[o.instance.service.lang](o.error.type, o.instance.service.name)),
      ],
      droppedAttributesCount: 0,
    });
  }
  const span: Span = {
    traceId: ctx.traceId,
    spanId: ctx.rng.hex(8),
    traceState: "",
    parentSpanId: o.parent?.spanId ?? "",
    // W3C sampled, plus the OTLP "has is_remote" bit and, for spans continuing a remote context, is_remote.
    flags: o.remoteParent ? 0x301 : 0x101,
    name: o.name,
    kind: o.kind,
    startTimeUnixNano: o.start.toString(),
    endTimeUnixNano: end.toString(),
    attributes: o.attributes,
    droppedAttributesCount: 0,
    events,
    droppedEventsCount: 0,
    links: o.links ?? [],
    droppedLinksCount: 0,
    status: o.error ? { code: 2, message: o.error.message } : { code: 0, message: "" },
  };
  ctx.spans.push({ instance: o.instance, scope: scopeName, span });
  return span;
}

/** Log-normal-ish duration in ns around `medianUs` microseconds. */
function duration(rng: Rng, medianUs: number): bigint {
  const z = (rng.next() + rng.next() + rng.next() - 1.5) * 2;
  return BigInt(Math.max(1000, Math.round(medianUs * 1000 * Math.exp(z * 0.8))));
}

const DB_TABLES = ["orders", "order_items", "products", "stock", "users", "addresses", "payments", "shipments"];
const ROUTES: [string, string, string][] = [
  ["GET", "/api/products/:id", "search"],
  ["GET", "/api/cart", "cart"],
  ["POST", "/api/cart/items", "cart"],
  ["POST", "/api/checkout", "checkout"],
  ["GET", "/api/recommendations", "recommendation"],
  ["GET", "/api/search", "search"],
  ["GET", "/api/users/me", "user"],
  ["GET", "/api/orders/:id", "checkout"],
];
const RPC: Record<string, [string, string[]]> = {
  cart: ["shop.cart.v1.CartService", ["GetCart", "AddItem", "EmptyCart"]],
  checkout: ["shop.checkout.v1.CheckoutService", ["PlaceOrder", "GetOrder"]],
  payment: ["shop.payment.v1.PaymentService", ["Charge", "Refund"]],
  inventory: ["shop.inventory.v1.InventoryService", ["Reserve", "CheckStock"]],
  shipping: ["shop.shipping.v1.ShippingService", ["GetQuote", "ShipOrder"]],
  user: ["shop.user.v1.UserService", ["GetUser", "GetAddresses"]],
  recommendation: ["shop.recommendation.v1.RecommendationService", ["ListRecommendations"]],
  search: ["shop.search.v1.SearchService", ["Search", "GetProduct"]],
  pricing: ["shop.pricing.v1.PricingService", ["Quote", "ConvertCurrency"]],
  notification: ["shop.notification.v1.NotificationService", ["SendOrderConfirmation"]],
};
/** Who calls whom, and how many database/cache calls a service makes per unit of work. */
const CALLS: Record<string, string[]> = {
  checkout: ["cart", "pricing", "inventory", "payment", "shipping", "user"],
  cart: ["pricing"],
  recommendation: ["search"],
  search: [],
  user: [],
  inventory: [],
  payment: [],
  shipping: ["pricing"],
  pricing: [],
  notification: [],
};

/** One unit of work in `service` (a server span and what it does), returns its end time. */
function serve(ctx: Ctx, instances: Map<string, Instance[]>, service: string, caller: { span: Span; instance: Instance } | undefined, start: bigint, items: number): bigint {
  const { rng } = ctx;
  const instance = rng.pick(instances.get(service)!);
  const [rpcService, methods] = RPC[service]!;
  const method = rng.pick(methods);
  const peer = `10.8.${rng.int(256)}.${rng.int(256)}`;
  let client: Span | undefined;
  let t = start;
  if (caller) {
    // The client span in the caller, then the server span in the callee, a network hop later.
    client = addSpan(ctx, {
      instance: caller.instance,
      scope: "rpc",
      parent: caller.span,
      remoteParent: false,
      name: `${rpcService}/${method}`,
      kind: 3,
      start,
      durationNs: 0n,
      attributes: [
        str("rpc.system", "grpc"),
        str("rpc.service", rpcService),
        str("rpc.method", method),
        str("server.address", `${service}.shop.svc.cluster.local`),
        int("server.port", 50051),
        str("network.peer.address", peer),
        int("rpc.grpc.status_code", 0),
      ],
    });
    t += BigInt(150_000 + rng.int(400_000));
  }
  const server = addSpan(ctx, {
    instance,
    scope: "rpc",
    parent: client,
    remoteParent: client !== undefined,
    name: `${rpcService}/${method}`,
    kind: 2,
    start: t,
    durationNs: 0n,
    attributes: [
      str("rpc.system", "grpc"),
      str("rpc.service", rpcService),
      str("rpc.method", method),
      str("network.peer.address", `10.8.${rng.int(256)}.${rng.int(256)}`),
      int("rpc.grpc.status_code", 0),
    ],
  });
  t += BigInt(20_000 + rng.int(200_000));
  const here = { span: server, instance };

  // Cache lookups and queries, some per item (the N+1 pattern real services have).
  const lookups = service === "inventory" || service === "pricing" ? items : 1 + rng.int(3);
  for (let i = 0; i < lookups && ctx.budget > 0; i++) {
    if (rng.chance(0.5)) {
      const key = rng.chance(0.5) ? `session:${ctx.userId}` : `product:${10000 + rng.int(5000)}`;
      const op = rng.pick(["GET", "HGETALL", "MGET"]);
      const d = duration(rng, 300);
      addSpan(ctx, {
        instance,
        scope: "redis",
        parent: server,
        remoteParent: false,
        name: op,
        kind: 3,
        start: t,
        durationNs: d,
        attributes: [
          str("db.system.name", "redis"),
          str("db.operation.name", op),
          str("db.query.text", `${op} ${key}`),
          str("server.address", "redis-master.shop.svc.cluster.local"),
          int("server.port", 6379),
          str("db.namespace", "0"),
        ],
      });
      t += d + BigInt(rng.int(30_000));
    } else {
      const table = rng.pick(DB_TABLES);
      const op = rng.chance(0.8) ? "SELECT" : rng.pick(["UPDATE", "INSERT"]);
      const text =
        op === "SELECT"
          ? `SELECT id, status, updated_at, payload FROM ${table} WHERE id = $1 AND tenant_id = $2`
          : op === "UPDATE"
            ? `UPDATE ${table} SET status = $1, updated_at = now() WHERE id = $2`
            : `INSERT INTO ${table} (id, status, payload) VALUES ($1, $2, $3)`;
      const d = duration(rng, 1500);
      const slow = rng.chance(0.004);
      addSpan(ctx, {
        instance,
        scope: "db",
        parent: server,
        remoteParent: false,
        name: `${op} shop.${table}`,
        kind: 3,
        start: t,
        durationNs: d,
        attributes: [
          str("db.system.name", "postgresql"),
          str("db.namespace", "shop"),
          str("db.collection.name", table),
          str("db.operation.name", op),
          str("db.query.text", text),
          str("server.address", "postgres-primary.shop.svc.cluster.local"),
          int("server.port", 5432),
        ],
        error: slow ? { type: "org.postgresql.util.PSQLException", message: "ERROR: canceling statement due to statement timeout" } : undefined,
      });
      if (slow) ctx.failed = true;
      t += d + BigInt(rng.int(50_000));
    }
  }

  // Some in-process work with application attributes.
  if (ctx.budget > 0 && rng.chance(0.7)) {
    const d = duration(rng, 800);
    addSpan(ctx, {
      instance,
      scope: "app",
      parent: server,
      remoteParent: false,
      name: rng.pick(["validate", "compute", "serialize response", "apply rules"]),
      kind: 1,
      start: t,
      durationNs: d,
      attributes: [str("app.user.id", ctx.userId), int("app.items.count", items), str("app.currency", rng.pick(["EUR", "EUR", "USD", "GBP"]))],
    });
    t += d;
  }

  // Downstream calls, each one level deeper.
  for (const callee of CALLS[service] ?? []) {
    if (ctx.budget < 3) break;
    if (service !== "checkout" && !rng.chance(0.6)) continue;
    t = serve(ctx, instances, callee, here, t + BigInt(rng.int(20_000)), items) + BigInt(rng.int(20_000));
  }

  if (service === "payment" && ctx.budget > 0) {
    const d = duration(rng, 180_000);
    addSpan(ctx, {
      instance,
      scope: "http",
      parent: server,
      remoteParent: false,
      name: "POST",
      kind: 3,
      start: t,
      durationNs: d,
      attributes: [
        str("http.request.method", "POST"),
        str("url.full", "https://api.stripe.com/v1/payment_intents"),
        str("server.address", "api.stripe.com"),
        int("server.port", 443),
        int("http.response.status_code", 200),
        str("network.protocol.version", "1.1"),
      ],
    });
    t += d;
  }

  if (service === "checkout" && ctx.budget > 1) {
    // Order events to Kafka; the notification service consumes them, linked to the producer.
    const producer = addSpan(ctx, {
      instance,
      scope: "kafka",
      parent: server,
      remoteParent: false,
      name: "publish order-events",
      kind: 4,
      start: t,
      durationNs: duration(rng, 900),
      attributes: [
        str("messaging.system", "kafka"),
        str("messaging.destination.name", "order-events"),
        str("messaging.operation.type", "send"),
        str("messaging.kafka.message.key", ctx.orderId),
        int("messaging.kafka.destination.partition", rng.int(12)),
      ],
    });
    const notif = rng.pick(instances.get("notification")!);
    addSpan(ctx, {
      instance: notif,
      scope: "kafka",
      parent: producer,
      remoteParent: true,
      name: "process order-events",
      kind: 5,
      start: t + BigInt(2_000_000 + rng.int(30_000_000)),
      durationNs: duration(rng, 4000),
      attributes: [
        str("messaging.system", "kafka"),
        str("messaging.destination.name", "order-events"),
        str("messaging.operation.type", "process"),
        str("messaging.consumer.group.name", "notification"),
        str("messaging.kafka.message.key", ctx.orderId),
        int("messaging.kafka.offset", 1_200_000 + rng.int(500_000)),
      ],
      links: [{ traceId: ctx.traceId, spanId: producer.spanId, traceState: "", attributes: [], droppedAttributesCount: 0, flags: 0x301 }],
    });
    t += 1_000_000n;
  }

  t += BigInt(10_000 + rng.int(100_000));
  server.endTimeUnixNano = t.toString();
  if (client) {
    const end = t + BigInt(100_000 + rng.int(300_000));
    client.endTimeUnixNano = end.toString();
    return end;
  }
  return t;
}

function generateTrace(ctx: Ctx, instances: Map<string, Instance[]>, start: bigint, items: number): void {
  const { rng } = ctx;
  const [method, route, backend] = rng.pick(ROUTES);
  const path = route.replace(":id", String(100000 + rng.int(900000)));
  const fe = rng.pick(instances.get("frontend")!);
  const gw = rng.pick(instances.get("api-gateway")!);
  const root = addSpan(ctx, {
    instance: fe,
    scope: "http",
    parent: undefined,
    remoteParent: false,
    name: `${method} ${route}`,
    kind: 2,
    start,
    durationNs: 0n,
    attributes: [
      str("http.request.method", method),
      str("url.path", path),
      str("url.scheme", "https"),
      str("http.route", route),
      str("server.address", "shop.example.com"),
      str("network.protocol.version", "2"),
      str("user_agent.original", rng.pick(USER_AGENTS)),
      str("client.address", `${rng.int(224)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`),
      int("http.response.status_code", 200),
    ],
  });
  let t = start + BigInt(200_000 + rng.int(800_000));
  const feClient = addSpan(ctx, {
    instance: fe,
    scope: "http",
    parent: root,
    remoteParent: false,
    name: method,
    kind: 3,
    start: t,
    durationNs: 0n,
    attributes: [
      str("http.request.method", method),
      str("url.full", `http://api-gateway.shop.svc.cluster.local:8080${path}`),
      str("server.address", "api-gateway.shop.svc.cluster.local"),
      int("server.port", 8080),
      str("network.protocol.version", "1.1"),
      int("http.response.status_code", 200),
    ],
  });
  t += BigInt(300_000 + rng.int(500_000));
  const gwServer = addSpan(ctx, {
    instance: gw,
    scope: "http",
    parent: feClient,
    remoteParent: true,
    name: `${method} ${route}`,
    kind: 2,
    start: t,
    durationNs: 0n,
    attributes: [
      str("http.request.method", method),
      str("url.path", path),
      str("url.scheme", "http"),
      str("http.route", route),
      str("server.address", "api-gateway.shop.svc.cluster.local"),
      int("server.port", 8080),
      str("network.peer.address", `10.8.${rng.int(256)}.${rng.int(256)}`),
      str("network.protocol.version", "1.1"),
      int("http.response.status_code", 200),
      bool("app.authenticated", rng.chance(0.7)),
    ],
  });
  t += BigInt(50_000 + rng.int(300_000));
  // A page asks the backend once per item list; checkout fans out most.
  const calls = backend === "checkout" ? 1 : 1 + rng.int(3);
  for (let i = 0; i < calls && ctx.budget > 2; i++) {
    t = serve(ctx, instances, backend, { span: gwServer, instance: gw }, t, items) + BigInt(rng.int(100_000));
  }
  if (rng.chance(0.3) && ctx.budget > 2) t = serve(ctx, instances, "recommendation", { span: gwServer, instance: gw }, t, items);
  const status = ctx.failed ? 500 : 200;
  const close = (s: Span, at: bigint) => {
    s.endTimeUnixNano = at.toString();
    const code = s.attributes.find((a) => a.key === "http.response.status_code");
    if (code) code.value = { intValue: String(status) };
    if (ctx.failed) s.status = { code: 2, message: "" };
  };
  t += BigInt(40_000 + rng.int(200_000));
  close(gwServer, t);
  t += BigInt(100_000 + rng.int(300_000));
  close(feClient, t);
  t += BigInt(50_000 + rng.int(200_000));
  close(root, t);
  // Cart totals are doubles in real apps; one on the root makes doubles common too.
  root.attributes.push(dbl("app.cart.total", Math.round(rng.next() * 50000) / 100));
}

/** Deterministic for a given seed. */
export function multiServiceWorkload(opts: WorkloadOptions): Workload {
  const rng = new Rng(opts.seed ?? 7);
  const minSpans = opts.minSpans ?? 10;
  const maxSpans = opts.maxSpans ?? 200;
  const perRequest = opts.spansPerRequest ?? 512;
  const instances = makeInstances(rng);
  const requests: TraceBatch[] = [];
  const flush = (inst: Instance) => {
    const scopeSpans: ScopeSpans[] = [];
    for (const [name, spans] of inst.pending) if (spans.length) scopeSpans.push({ scope: inst.scopes.get(name)!, spans, schemaUrl: "" });
    requests.push({ resourceSpans: [{ resource: inst.resource, scopeSpans, schemaUrl: "https://opentelemetry.io/schemas/1.28.0" }] });
    inst.pending = new Map();
    inst.pendingCount = 0;
  };
  let t = BigInt(opts.startMs ?? 1_780_000_000_000) * 1_000_000n;
  let spanCount = 0;
  for (let i = 0; i < opts.traces; i++) {
    // Trace sizes spread log-uniformly over [minSpans, maxSpans]; `items` drives the fan-out.
    const target = Math.round(minSpans * (maxSpans / minSpans) ** rng.next());
    let ctx: Ctx;
    do {
      ctx = { rng, traceId: rng.hex(16), budget: target, userId: `u-${100000 + rng.int(200000)}`, orderId: `ord-${rng.hex(6)}`, spans: [], failed: false };
      generateTrace(ctx, instances, t, Math.max(1, Math.round(target / 6)));
    } while (ctx.spans.length < minSpans || ctx.spans.length > maxSpans);
    // ~30 traces a second across the cluster.
    t += BigInt(Math.round(33_000_000 * -Math.log(1 - rng.next())));
    spanCount += ctx.spans.length;
    // Spans reach their instance's exporter in end order.
    ctx.spans.sort((a, b) => (BigInt(a.span.endTimeUnixNano) < BigInt(b.span.endTimeUnixNano) ? -1 : 1));
    for (const { instance, scope, span } of ctx.spans) {
      let list = instance.pending.get(scope);
      if (!list) instance.pending.set(scope, (list = []));
      list.push(span);
      if (++instance.pendingCount >= perRequest) flush(instance);
    }
  }
  for (const list of instances.values()) for (const inst of list) if (inst.pendingCount) flush(inst);
  const traces = groupByTrace({ resourceSpans: requests.flatMap((r) => r.resourceSpans) }).map((g) => ({ traceId: g.traceId, resourceSpans: g.resourceSpans }));
  return { requests, traces, spanCount };
}
