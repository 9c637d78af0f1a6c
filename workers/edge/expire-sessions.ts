/**
 * Cron: sessions nobody started before their expiry end `incomplete` / `expired`, and the
 * integrator hears about it (product-spec §1). Started sessions are expired by their own
 * Durable Object's alarm.
 */
import { and, eq, lt } from "drizzle-orm";
import { tenantKeys } from "../../lib/crypto/tenant-keys.ts";
import { openDb } from "../../lib/db/client.ts";
import { sessions } from "../../lib/db/schema.ts";
import { emitSessionEvent } from "../../lib/events.ts";
import { openSessionRow, toSessionView } from "../../lib/sessions/view.ts";

export async function expireUnstartedSessions(env: Env, now = Date.now()): Promise<number> {
  const db = openDb(env.DB);
  const expired = await db
    .update(sessions)
    .set({ status: "incomplete", incompleteReason: "expired", finishedAt: now, clientSecretHash: null })
    .where(and(eq(sessions.status, "created"), lt(sessions.expiresAt, now)))
    .returning();
  for (const row of expired) {
    const keys = tenantKeys(env, db, row.tenantId);
    const view = toSessionView(await openSessionRow(keys, row), null);
    await emitSessionEvent(db, env.EVENTS, keys, "session.incomplete", view, now);
  }
  return expired.length;
}
