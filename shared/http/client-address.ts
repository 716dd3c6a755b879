/**
 * @module
 * The client address that login and admin-token throttling count by, from `CF-Connecting-IP`.
 *
 * - On Cloudflare the edge sets that header on every request it hands a Worker, to the address
 *   the client connected from, replacing any value the client sent.
 * - Locally (workerd under wrangler dev / miniflare) the entry worker sets it from the socket's
 *   address when the request has none, and keeps a value the client sent: the worker cannot tell
 *   them apart. The local stack listens on loopback only, so only local processes can choose it.
 * - Without the header (a call from inside the runtime: tests, service bindings) there is no
 *   address, and callers throttle by account only rather than put every such caller in one bucket.
 *
 * IPv6 addresses count by their /64: one subscriber usually holds a whole /64 and can walk it.
 */
import { z } from "zod";

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

const headerValue = z.string().trim().min(1).max(64);

/** The throttling address of a request: `v4:<a.b.c.d>`, `v6:<first four groups>::/64`, or undefined. */
export function clientAddress(headers: Headers): string | undefined {
  const raw = headerValue.safeParse(headers.get("cf-connecting-ip") ?? undefined);
  if (!raw.success) return undefined;
  const value = raw.data;
  if (IPV4.test(value)) return `v4:${value}`;
  const groups = ipv6Groups(value);
  if (!groups) return undefined;
  // An IPv4-mapped IPv6 address is that IPv4 client.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `v4:${[groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join(".")}`;
  }
  return `v6:${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (zone and brackets refused), or undefined. */
function ipv6Groups(value: string): number[] | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(value)) return undefined;
  let host: string;
  try {
    // The URL parser is the strict IPv6 parser at hand; it also writes an embedded IPv4 tail as hex.
    host = new URL(`http://[${value}]/`).hostname;
  } catch {
    return undefined;
  }
  const [head, tail] = host.slice(1, -1).split("::") as [string, string | undefined];
  const part = (s: string | undefined) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const left = part(head);
  const right = part(tail);
  const groups = tail === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}
