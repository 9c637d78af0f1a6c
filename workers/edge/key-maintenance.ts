/**
 * KEK rotation without downtime, the operator's half (issue 6 §2, docs/storage.md "Encryption at
 * rest"). The operator rotates a tenant's key-encryption key in the HSM through the tokenizer's key
 * API (`POST /v1/keys/rotate {tenantId, kind: "kek"}`, mTLS, docs/deploy.md); this daily Cron
 * Trigger then re-wraps every stored data key still wrapped under an older KEK version
 * (`rewrapDataKeys`: one `/v1/keys/rewrap` per row, an UPDATE only when the version moved). The
 * data keys themselves do not change, so no encrypted field is touched and readers keep working
 * throughout; when the audit row shows nothing left on the old version, the old KEK can be retired.
 *
 * Why a cron and not an API route: re-wrapping needs D1 and the HSM, both of which only the
 * platform reaches; an extra privileged HTTP route would be one more credential to steal. One
 * tenant's failure (its region's tokenizer down) does not stop the others; the invocation still
 * fails at the end, so the next run retries and the failure is visible in the Cron Trigger logs.
 * Logs carry counts only.
 */
import { newId } from "../../lib/crypto/random.ts";
import { rewrapDataKeys } from "../../lib/crypto/tenant-keys.ts";
import { openDb } from "../../lib/db/client.ts";
import { auditLog, tenantDataKeys } from "../../lib/db/schema.ts";

/** Daily at 03:41 UTC: off the hour, away from the hourly retention purge at :17. */
export const KEY_MAINTENANCE_CRON = "41 3 * * *";

export interface RewrapCounts {
  tenants: number;
  moved: number;
  failed: number;
}

export async function rewrapAllTenants(env: Env, now = Date.now()): Promise<RewrapCounts> {
  const db = openDb(env.DB);
  const rows = await db.selectDistinct({ tenantId: tenantDataKeys.tenantId }).from(tenantDataKeys);
  const counts: RewrapCounts = { tenants: rows.length, moved: 0, failed: 0 };
  for (const { tenantId } of rows) {
    try {
      const moved = await rewrapDataKeys(env, db, tenantId);
      counts.moved += moved;
      if (moved > 0)
        await db.insert(auditLog).values({
          id: newId("aud"),
          tenantId,
          actor: "system",
          action: "keys.rewrap",
          target: `${moved} data key(s)`,
          at: now,
        });
    } catch {
      counts.failed += 1;
    }
  }
  if (counts.failed > 0)
    throw new Error(`key maintenance: ${counts.failed} tenant(s) could not be re-wrapped`);
  return counts;
}
