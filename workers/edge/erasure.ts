/**
 * Erasing sessions (product-spec §3 `DELETE /v1/sessions/{id}`, `DELETE /v1/subjects/{ref}`, §7).
 * A running session is first ended through its Durable Object, which owns it (it writes the
 * outcome once and then deletes its own storage); a session nobody started is ended with one
 * conditional UPDATE that also voids its client secret. Then one D1 batch per chunk removes the
 * session, its node outcomes, report and idempotency keys, and the payloads of its deliveries
 * (delivery metadata stays for the delivery log; what was not yet sent is cancelled). The caller's
 * own statements (the audit row, the `session.erased` outbox row) join the last of those batches,
 * so the erasure and its announcement land together (docs/reliability.md "Outbox"). The
 * retention purge (retention.ts) uses the same deletion for sessions that have ended.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../lib/db/client.ts";
import {
  answerDigests,
  deliveries,
  idempotencyKeys,
  nodeOutcomes,
  recognitionRequests,
  recognitionResults,
  reports,
  sessions,
} from "../../lib/db/schema.ts";
import { sessionStub } from "../../lib/residency.ts";

/** D1 binds at most 100 parameters per statement; each chunk stays well below. */
export const ERASE_CHUNK = 40;

type SessionRow = typeof sessions.$inferSelect;

/**
 * Ends a session that has not ended yet, so nothing can write to it after it is erased:
 * `created` ⇒ incomplete / cancelled with its client secret voided (no connect can start it);
 * `in_progress` ⇒ the Durable Object's `cancel`, awaited until the outcome is in D1.
 */
export async function endBeforeErasure(db: Db, env: Env, row: SessionRow, now = Date.now()): Promise<void> {
  if (row.status === "created") {
    const [ended] = await db
      .update(sessions)
      .set({ status: "incomplete", incompleteReason: "cancelled", finishedAt: now, clientSecretHash: null })
      .where(and(eq(sessions.id, row.id), eq(sessions.status, "created")))
      .returning({ id: sessions.id });
    if (ended) return;
    // The browser connected in between: the session is running now.
    const [again] = await db.select().from(sessions).where(eq(sessions.id, row.id));
    if (again?.status !== "in_progress") return;
  } else if (row.status !== "in_progress") {
    return;
  }
  await sessionStub(env, row).cancel("cancelled");
}

/**
 * Deletes the sessions' rows and erases their delivery payloads; ids must belong to `tenantId`.
 * `also` runs in the last batch (in a batch of its own when there is no session to delete).
 */
export async function deleteSessionData(
  db: Db,
  tenantId: string,
  ids: readonly string[],
  also: readonly BatchItem<"sqlite">[] = [],
): Promise<void> {
  const [first, ...rest] = also;
  if (ids.length === 0 && first) await db.batch([first, ...rest]);
  for (let i = 0; i < ids.length; i += ERASE_CHUNK) {
    const chunk = ids.slice(i, i + ERASE_CHUNK);
    const last = i + ERASE_CHUNK >= ids.length;
    await db.batch([
      // Not yet sent: never send it (the integrator hears `session.erased` / `subject.erased`).
      db
        .update(deliveries)
        .set({ status: "cancelled", lastError: "payload erased", payload: null })
        .where(
          and(
            eq(deliveries.tenantId, tenantId),
            inArray(deliveries.sessionId, chunk),
            inArray(deliveries.status, ["pending", "failed"]),
          ),
        ),
      db
        .update(deliveries)
        .set({ payload: null })
        .where(and(eq(deliveries.tenantId, tenantId), inArray(deliveries.sessionId, chunk))),
      db.delete(nodeOutcomes).where(inArray(nodeOutcomes.sessionId, chunk)),
      // the session's consent request and recognition results; enrolled fingerprints belong to the
      // subject, not the session, and go with subject erasure or their retention class
      db.delete(recognitionRequests).where(inArray(recognitionRequests.sessionId, chunk)),
      db.delete(recognitionResults).where(inArray(recognitionResults.sessionId, chunk)),
      db.delete(reports).where(and(eq(reports.tenantId, tenantId), inArray(reports.sessionId, chunk))),
      db
        .delete(answerDigests)
        .where(and(eq(answerDigests.tenantId, tenantId), inArray(answerDigests.sessionId, chunk))),
      db
        .delete(idempotencyKeys)
        .where(and(eq(idempotencyKeys.tenantId, tenantId), inArray(idempotencyKeys.sessionId, chunk))),
      db.delete(sessions).where(and(eq(sessions.tenantId, tenantId), inArray(sessions.id, chunk))),
      ...(last ? also : []),
    ]);
  }
}

/** End (if needed) and erase these sessions of one tenant. */
export async function eraseSessions(db: Db, env: Env, rows: readonly SessionRow[]): Promise<void> {
  for (const row of rows) await endBeforeErasure(db, env, row);
  const byTenant = new Map<string, string[]>();
  for (const row of rows) byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), row.id]);
  for (const [tenantId, ids] of byTenant) await deleteSessionData(db, tenantId, ids);
}
