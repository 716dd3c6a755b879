/**
 * @module
 * Counts calls to Durable Objects at the namespace binding, the way Durable Objects bill them:
 * every RPC method call on a stub is one request (its own RPC session). Also sums the time each
 * call took as the caller saw it (an upper bound of the object's billed wall-clock duration: it
 * includes the trip there and back), and optionally makes each call wait `latencyMs` first, as a
 * call to an object in another location would. Structural types, so it needs no Workers types.
 */
import { sleep } from "./latency.ts";

export interface ObjectCounts {
  requests: number;
  /** Time spent inside the calls, as the caller measured it (the delay excluded). */
  callMs: number;
  byMethod: Record<string, number>;
}

export function newObjectCounts(): ObjectCounts {
  return { requests: 0, callMs: 0, byMethod: {} };
}

interface NamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): object;
}

/** The namespace, its stubs counting into `counts()` (a function: the phase may change between calls). */
export function countingNamespace<N extends object>(namespace: N, counts: () => ObjectCounts, latencyMs = 0): N {
  const ns = namespace as unknown as NamespaceLike;
  return {
    idFromName: (name: string) => ns.idFromName(name),
    get: (id: unknown) => {
      const stub = ns.get(id);
      return new Proxy(stub, {
        get(target, prop) {
          if (typeof prop !== "string" || prop === "then") return Reflect.get(target, prop);
          return async (...args: unknown[]) => {
            if (latencyMs > 0) await sleep(latencyMs);
            const c = counts();
            c.requests++;
            c.byMethod[prop] = (c.byMethod[prop] ?? 0) + 1;
            const t0 = Date.now();
            try {
              return await (target as Record<string, (...a: unknown[]) => Promise<unknown>>)[prop]!(...args);
            } finally {
              c.callMs += Date.now() - t0;
            }
          };
        },
      });
    },
  } as unknown as N;
}
