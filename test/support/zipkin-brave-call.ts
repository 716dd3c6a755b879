/** The trace of Zipkin's example: a frontend → backend call as Brave reports it. */
export const BRAVE_TRACE = "5982fe77008310cc80f1da5e10147517";

/**
 * The frontend's two spans of that call, in Zipkin v2 JSON: its server span for `get /` and its
 * client call to the backend (which failed: an `error` tag). `tags` are added to each span's own.
 */
export function braveFrontendSpans(tags: Record<string, string> = {}) {
  return [
    {
      traceId: BRAVE_TRACE,
      id: "bd7a977555f6b982",
      name: "get /",
      kind: "SERVER",
      timestamp: 1502787600000000,
      duration: 150000,
      localEndpoint: { serviceName: "frontend", ipv4: "172.17.0.13", port: 8080 },
      remoteEndpoint: { ipv6: "::1", port: 63720 },
      tags: { "http.method": "GET", "http.path": "/", ...tags },
      annotations: [{ timestamp: 1502787600000100, value: "wr" }],
    },
    {
      traceId: BRAVE_TRACE,
      parentId: "bd7a977555f6b982",
      id: "be2d01e33cc78d97",
      name: "get /api",
      kind: "CLIENT",
      timestamp: 1502787600010000,
      duration: 100000,
      localEndpoint: { serviceName: "frontend", ipv4: "172.17.0.13" },
      remoteEndpoint: { serviceName: "backend", ipv4: "172.17.0.9", port: 9000 },
      tags: { "http.path": "/api", error: "connection reset", ...tags },
    },
  ];
}

/** The backend's server half of that call, as Brave reports it: it shares the client's span id. */
export const BRAVE_BACKEND_HALF = {
  traceId: BRAVE_TRACE,
  parentId: "bd7a977555f6b982",
  id: "be2d01e33cc78d97",
  name: "get /api",
  kind: "SERVER",
  shared: true,
} as const;
