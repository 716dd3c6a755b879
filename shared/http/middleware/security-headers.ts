import type { MiddlewareHandler } from "hono";

/**
 * One year. No includeSubDomains: the operator's other hosts under the same domain are not ours
 * to pin to https. Browsers ignore the header on plain http (RFC 6797 §8.1), and it is only sent
 * on https anyway, so local http stacks are never pinned.
 */
export const STRICT_TRANSPORT_SECURITY = "max-age=31536000";

/**
 * The headers every response of every worker carries, errors included: `nosniff`, so a browser
 * never runs a response as another type than it says (a JSON error echoing input is not a
 * script); HSTS when the request came over https. Register it first so it wraps everything.
 */
export const baseSecurityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header("x-content-type-options", "nosniff");
  if (new URL(c.req.url).protocol === "https:") c.header("strict-transport-security", STRICT_TRANSPORT_SECURITY);
};
