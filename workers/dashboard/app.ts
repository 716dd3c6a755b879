import { Hono } from "hono";
import { ApiError } from "../../shared/http/errors.ts";
import { errorHandler, jsonError } from "../../shared/http/error-handler.ts";
import type { DashboardApp } from "./context.ts";
import { admin } from "./routes/admin.ts";
import { jaeger } from "./routes/jaeger.ts";
import { metrics } from "./routes/metrics.ts";
import { prometheus } from "./routes/prometheus.ts";
import { search } from "./routes/search.ts";
import { serviceGraph } from "./routes/service-graph.ts";
import { tempo } from "./routes/tempo.ts";
import { zipkin } from "./routes/zipkin.ts";
import { ui } from "./routes/ui.tsx";
import { LoginRequired } from "../../shared/http/middleware/session-auth.ts";
import { errorPage, isPagePath, loginHref } from "./page-errors.tsx";
import { securityHeaders } from "./security-headers.ts";

export const app = new Hono<DashboardApp>();

app.use("*", securityHeaders);
app.get("/healthz", (c) => c.json({ ok: true }));
app.route("/admin/v1", admin);
app.route("/api", serviceGraph);
app.route("/api", search);
app.route("/api", metrics);
app.route("/api", tempo);
app.route("/jaeger", jaeger);
app.route("/prometheus", prometheus);
app.route("/zipkin", zipkin);
app.route("/", ui);

app.notFound((c) => (isPagePath(c.req.path) ? errorPage(c, new ApiError(404, "not_found", "There is no such page.")) : c.json({ code: 5, error: "not_found", message: `No route for ${c.req.method} ${c.req.path}` }, 404)));

app.onError(
  errorHandler<DashboardApp>("dashboard", (c, err, headers) => {
    // Pages answer with pages: a login redirect (back to this page afterwards), or an error page a person can read.
    if (isPagePath(c.req.path)) {
      if (err instanceof LoginRequired && c.req.method === "GET") return c.redirect(loginHref(c), 302);
      return errorPage(c, err);
    }
    return jsonError(c, err, headers);
  }),
);
