/**
 * The retention purge (product-spec §7: "tenant policy, enforced by a scheduled purge"), run by
 * the hourly Cron Trigger `RETENTION_CRON`. Per tenant and per mode (sandbox data is capped at 7
 * days, lib/tenant-settings.ts) it deletes what has outlived its class:
 *
 * - `sessions`: ended sessions older than the class, with outcomes, report, idempotency keys and
 *   delivery payloads (erasure.ts); sessions still running are left to their own expiry;
 * - `reports`: report and node outcomes older than the class (the session row stays);
 * - `transcripts`: the transcript inside the report is emptied and the answer digests
 *   (`answer_digests`, docs/conversation.md) are deleted;
 * - `deliveries`: delivery log rows older than the class once settled (a delivery still inside its
 *   82.7 h retry schedule is kept until the schedule is over), and `event_outbox` rows sent longer
 *   ago than the class (lib/outbox.ts `purgeSentOutbox`; pending rows are kept);
 * - `fingerprints`: enrolled templates older than the class; a subject left without any has its
 *   key destroyed in the HSM (crypto-shredding, lib/recognition/store.ts `purgeFingerprints`).
 *
 * Ages count from `created_at`. `purgeExpired` takes `now` so tests and operators can reason about
 * cut-offs; the tests write rows with old timestamps and trigger the cron, never sleep.
 */
import { and, eq, inArray, lt, ne, or } from "drizzle-orm";
import { newId } from "../../lib/crypto/random.ts";
import { type Db, openDb } from "../../lib/db/client.ts";
import {
  answerDigests,
  auditLog,
  deliveries,
  nodeOutcomes,
  recognitionResults,
  reports,
  sessions,
  tenants,
} from "../../lib/db/schema.ts";
import { purgeSentOutbox } from "../../lib/outbox.ts";
import { purgeFingerprints } from "../../lib/recognition/store.ts";
import { effectiveRetention, parseTenantSettings, TenantSettingsSchema } from "../../lib/tenant-settings.ts";
import { RETRY_DELAYS_SECONDS } from "./deliver-webhooks.ts";
import { deleteSessionData, ERASE_CHUNK } from "./erasure.ts";

/** Must match the second entry of `[triggers] crons` in wrangler.toml. */
export const RETENTION_CRON = "17 * * * *";

const DAY_MS = 24 * 3600 * 1000;
/** How long a delivery can still be retrying: the whole schedule plus a day of slack. */
const SCHEDULE_MS = RETRY_DELAYS_SECONDS.reduce((sum, s) => sum + s * 1.2, 0) * 1000 + DAY_MS;

export interface PurgeCounts {
  sessions: number;
  reports: number;
  transcripts: number;
  deliveries: number;
  /** sent `event_outbox` rows (class `deliveries`) */
  outbox: number;
  fingerprints: number;
}

const noPurge = (): PurgeCounts => ({
  sessions: 0,
  reports: 0,
  transcripts: 0,
  deliveries: 0,
  outbox: 0,
  fingerprints: 0,
});

export async function purgeExpired(env: Env, now = Date.now()): Promise<PurgeCounts> {
  const db = openDb(env.DB);
  const total = noPurge();
  const rows = await db.select({ id: tenants.id, settings: tenants.settings }).from(tenants);
  for (const tenant of rows) {
    const counts = await purgeTenant(db, tenant.id, tenant.settings, now);
    counts.fingerprints = await purgeTenantFingerprints(env, db, tenant.id, tenant.settings, now);
    for (const key of Object.keys(total) as (keyof PurgeCounts)[]) total[key] += counts[key];
    if (Object.values(counts).some((n) => n > 0)) {
      await db.insert(auditLog).values({
        id: newId("aud"),
        tenantId: tenant.id,
        actor: "system",
        action: "retention.purge",
        target: tenant.id,
        at: now,
      });
    }
  }
  return total;
}

async function purgeTenant(
  db: Db,
  tenantId: string,
  settingsJson: string,
  now: number,
): Promise<PurgeCounts> {
  let settings = TenantSettingsSchema.parse({});
  try {
    settings = parseTenantSettings(settingsJson);
  } catch {
    // Unreadable settings must not stop the purge: the defaults apply (and are the shorter ones).
    console.error("retention: tenant settings failed validation; default policy applied");
  }
  const counts = noPurge();
  for (const mode of ["test", "live"] as const) {
    const days = effectiveRetention(settings, mode);
    const ofMode = and(eq(sessions.tenantId, tenantId), eq(sessions.mode, mode));

    // Ended sessions past their class, in chunks that keep each statement's parameters bounded.
    for (;;) {
      const expired = await db
        .select({ id: sessions.id })
        .from(sessions)
        .where(
          and(
            ofMode,
            inArray(sessions.status, ["complete", "incomplete"]),
            lt(sessions.createdAt, now - days.sessions * DAY_MS),
          ),
        )
        .limit(ERASE_CHUNK);
      if (expired.length === 0) break;
      await deleteSessionData(
        db,
        tenantId,
        expired.map((s) => s.id),
      );
      counts.sessions += expired.length;
    }

    const sessionsOfMode = db.select({ id: sessions.id }).from(sessions).where(ofMode);
    for (;;) {
      const old = await db
        .select({ id: reports.sessionId })
        .from(reports)
        .where(
          and(
            eq(reports.tenantId, tenantId),
            lt(reports.createdAt, now - days.reports * DAY_MS),
            inArray(reports.sessionId, sessionsOfMode),
          ),
        )
        .limit(ERASE_CHUNK);
      if (old.length === 0) break;
      const ids = old.map((r) => r.id);
      await db.batch([
        db.delete(nodeOutcomes).where(inArray(nodeOutcomes.sessionId, ids)),
        db.delete(recognitionResults).where(inArray(recognitionResults.sessionId, ids)),
        db.delete(reports).where(and(eq(reports.tenantId, tenantId), inArray(reports.sessionId, ids))),
      ]);
      counts.reports += ids.length;
    }

    const emptied = await db
      .update(reports)
      .set({ transcript: "[]" })
      .where(
        and(
          eq(reports.tenantId, tenantId),
          lt(reports.createdAt, now - days.transcripts * DAY_MS),
          ne(reports.transcript, "[]"),
          inArray(reports.sessionId, sessionsOfMode),
        ),
      )
      .returning({ id: reports.sessionId });
    counts.transcripts += emptied.length;
    // Answer digests (docs/conversation.md) are transcript-derived: same class.
    await db
      .delete(answerDigests)
      .where(
        and(
          eq(answerDigests.tenantId, tenantId),
          lt(answerDigests.createdAt, now - days.transcripts * DAY_MS),
          inArray(answerDigests.sessionId, sessionsOfMode),
        ),
      );
  }

  // Delivery logs carry no mode: the tenant's policy applies to all of them (docs/data-protection.md).
  const cutoff = now - settings.retentionDays.deliveries * DAY_MS;
  const purged = await db
    .delete(deliveries)
    .where(
      and(
        eq(deliveries.tenantId, tenantId),
        lt(deliveries.createdAt, cutoff),
        or(
          inArray(deliveries.status, ["delivered", "dead", "cancelled"]),
          lt(deliveries.createdAt, now - SCHEDULE_MS),
        ),
      ),
    )
    .returning({ id: deliveries.id });
  counts.deliveries += purged.length;
  // Outbox rows carry no mode either; the same class applies (lib/outbox.ts `purgeSentOutbox`).
  counts.outbox += await purgeSentOutbox(db, tenantId, cutoff);
  return counts;
}

/** Class `fingerprints`, per mode (sandbox capped at 7 days); unreadable settings → defaults. */
async function purgeTenantFingerprints(
  env: Env,
  db: Db,
  tenantId: string,
  settingsJson: string,
  now: number,
): Promise<number> {
  let settings = TenantSettingsSchema.parse({});
  try {
    settings = parseTenantSettings(settingsJson);
  } catch {
    // reported once by purgeTenant; the defaults apply
  }
  let purged = 0;
  for (const mode of ["test", "live"] as const) {
    const cutoff = now - effectiveRetention(settings, mode).fingerprints * DAY_MS;
    purged += await purgeFingerprints(env, db, tenantId, mode, cutoff);
  }
  return purged;
}
