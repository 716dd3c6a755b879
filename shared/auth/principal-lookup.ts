import type { Db } from "../db/client.ts";
import { findKeyByHash } from "../db/queries/keys.ts";
import type { KeyLookup } from "./authenticate.ts";
import { SCOPES, type Scope } from "./keys.ts";

/** Looks a secret hash up in the index store and returns what a request may do with it. */
export function principalLookup(db: Db): KeyLookup {
  return async (secretHash) => {
    const row = await findKeyByHash(db, secretHash);
    if (!row) return undefined;
    const { key, tenant } = row;
    return {
      tenantId: tenant.id,
      keyId: key.id,
      scopes: key.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
      limits: {
        maxRequestBytes: tenant.maxRequestBytes,
        ingestBytesPerSecond: tenant.ingestBytesPerSecond,
        ingestBurstBytes: tenant.ingestBurstBytes,
        maxAttributeValueBytes: tenant.maxAttributeValueBytes,
        retentionDays: tenant.retentionDays,
      },
    };
  };
}
