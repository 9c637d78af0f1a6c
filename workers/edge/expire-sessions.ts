/**
 * Cron: sessions nobody started before their expiry end `incomplete` / `expired`, and the
 * integrator hears about it (product-spec §1). Started sessions are expired by their own
 * Durable Object's alarm. The status change and the outbox rows of its `session.incomplete`
 * events are one D1 batch, then the same cron sends every pending outbox row (lib/outbox.ts), so
 * a failure between the two can no longer lose the event (docs/reliability.md "Outbox").
 */
import { and, eq, lt } from "drizzle-orm";
import { openDb } from "../../lib/db/client.ts";
import { sessions } from "../../lib/db/schema.ts";
import { dispatchPendingOutbox, dispatchSessionOutbox, recordTerminalEvents } from "../../lib/outbox.ts";

export async function expireUnstartedSessions(env: Env, now = Date.now()): Promise<number> {
  const db = openDb(env.DB);
  const [expired] = await db.batch([
    db
      .update(sessions)
      .set({ status: "incomplete", incompleteReason: "expired", finishedAt: now, clientSecretHash: null })
      .where(and(eq(sessions.status, "created"), lt(sessions.expiresAt, now)))
      .returning({ id: sessions.id }),
    recordTerminalEvents(db, {
      type: "session.incomplete",
      status: "incomplete",
      finishedAt: now,
      reason: "expired",
    }),
  ]);
  // The rows just written, then older ones a session DO or an earlier sweep left behind. A
  // failure leaves the row pending for the next sweep.
  for (const { id } of expired) await dispatchSessionOutbox(env, db, id).catch(() => undefined);
  await dispatchPendingOutbox(env, db, { now });
  return expired.length;
}
