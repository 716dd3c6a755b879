/**
 * @module
 * The copy-paste setup a project shows: OpenTelemetry's standard exporter environment variables
 * (every official SDK reads them), the Zipkin URL, and a curl with a one-span OTLP/JSON body.
 */

export interface Snippet {
  id: string;
  label: string;
  value: string;
}

const KEY_PLACEHOLDER = "<your-api-key>";

function envVars(ingestUrl: string, key: string, serviceName: string, extra: string[] = []): string {
  return [
    `export OTEL_SERVICE_NAME=${serviceName}`,
    `export OTEL_EXPORTER_OTLP_ENDPOINT=${ingestUrl}`,
    `export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`,
    `export OTEL_EXPORTER_OTLP_HEADERS=x-api-key=${key}`,
    ...extra,
  ].join("\n");
}

/** A minimal OTLP/JSON request with one span that starts now (curl computes nothing: fixed ids). */
export function curlSnippet(ingestUrl: string, key = KEY_PLACEHOLDER, nowMs = Date.now()): string {
  const start = BigInt(nowMs) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "curl-test" } }] },
        scopeSpans: [{ spans: [{ traceId: "5b8efff798038103d269b633813fc60c", spanId: "eee19b7ec3c1b174", name: "hello edgetrace", kind: 2, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 25_000_000n) }] }],
      },
    ],
  };
  return [`curl -sS -X POST '${ingestUrl}/v1/traces' \\`, `  -H 'content-type: application/json' -H 'x-api-key: ${key}' \\`, `  -d '${JSON.stringify(body)}'`].join("\n");
}

export function sendSnippets(ingestUrl: string, key = KEY_PLACEHOLDER, nowMs = Date.now()): Snippet[] {
  return [
    { id: "snippet-env", label: "Environment (any OpenTelemetry SDK)", value: envVars(ingestUrl, key, "my-service") },
    { id: "snippet-node", label: "Node.js (auto-instrumentation)", value: envVars(ingestUrl, key, "my-node-service", ["npm install @opentelemetry/auto-instrumentations-node", "node --require @opentelemetry/auto-instrumentations-node/register app.js"]) },
    { id: "snippet-python", label: "Python", value: envVars(ingestUrl, key, "my-python-service", ["pip install opentelemetry-distro opentelemetry-exporter-otlp", "opentelemetry-bootstrap -a install", "opentelemetry-instrument python app.py"]) },
    { id: "snippet-go", label: "Go (otlptracehttp reads the same variables)", value: envVars(ingestUrl, key, "my-go-service", ["go get go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"]) },
    { id: "snippet-java", label: "Java agent", value: envVars(ingestUrl, key, "my-java-service", ["java -javaagent:opentelemetry-javaagent.jar -jar app.jar"]) },
    { id: "snippet-zipkin", label: "Zipkin exporters (POST with the x-api-key header)", value: `${ingestUrl}/api/v2/spans` },
    { id: "snippet-curl", label: "curl (one span as OTLP/JSON)", value: curlSnippet(ingestUrl, key, nowMs) },
  ];
}
