/**
 * Transactional outbox for terminal session events (docs/reliability.md "Outbox", product-spec
 * §6: the integrator hears about every session exactly once). The statement that moves a session
 * to `complete` / `incomplete` and the outbox row announcing it go to D1 in one batch, so either
 * both exist or neither does. A dispatcher then turns the row into delivery rows with ids derived
 * from the row (the same `webhook-id`s on every attempt), sends their queue messages and marks the
 * row sent. It runs inline right after the batch (the session DO retries it from its alarm with
 * backoff when it fails) and from the five-minute cron for rows left behind by an evicted object.
 * A resend after a partial failure only repeats queue messages for the same delivery ids; the
 * consumer already delivers one id at most once (workers/edge/deliver-webhooks.ts).
 */
import { and, asc, eq, isNull, lt, sql } from "drizzle-orm";
import { z } from "zod";
import { base64url } from "./crypto/random.ts";
import { tenantKeys } from "./crypto/tenant-keys.ts";
import type { Db } from "./db/client.ts";
import { eventOutbox, sessions } from "./db/schema.ts";
import { type DeliveryMessage, enqueueDeliveries, prepareEvent } from "./events.ts";
import { loadSessionView } from "./sessions/view.ts";

export type TerminalEventType = "session.completed" | "session.incomplete";

/** One terminal event per session, whoever ends it (DO, cancel, expiry): the key enforces it. */
export const terminalOutboxId = (sessionId: string) => `terminal:${sessionId}`;

/**
 * The outbox statement for a batch that ends sessions: it inserts a row for each session the
 * batch's UPDATE just ended (matched by the exact status, reason and `finished_at` it wrote), so
 * a batch whose UPDATE matched nothing records nothing. Runs inside the same D1 batch
 * (one transaction, D1 `batch()` semantics).
 */
export function recordTerminalEvents(
  db: Db,
  ended: {
    type: TerminalEventType;
    status: "complete" | "incomplete";
    finishedAt: number;
    /** one session (the DO's end), or every session ended with this reason (the expiry sweep) */
    sessionId?: string;
    reason?: string | null;
  },
) {
  // INSERT … SELECT through drizzle's builder: a raw `db.run(sql)` cannot join a D1 batch.
  const where = [
    eq(sessions.status, ended.status),
    eq(sessions.finishedAt, ended.finishedAt),
    ...(ended.sessionId === undefined ? [] : [eq(sessions.id, ended.sessionId)]),
    ...(ended.reason ? [eq(sessions.incompleteReason, ended.reason)] : []),
  ];
  return db
    .insert(eventOutbox)
    .select(
      db
        .select({
          id: sql<string>`'terminal:' || ${sessions.id}`.as("id"),
          tenantId: sessions.tenantId,
          sessionId: sessions.id,
          eventType: sql<TerminalEventType>`${ended.type}`.as("event_type"),
          createdAt: sql<number>`${sessions.finishedAt}`.as("created_at"),
          messages: sql<string | null>`NULL`.as("messages"),
          sentAt: sql<number | null>`NULL`.as("sent_at"),
          attempts: sql<number>`0`.as("attempts"),
        })
        .from(sessions)
        .where(and(...where)),
    )
    .onConflictDoNothing();
}

/** The stored messages of a recorded row, validated as every row read back from D1 is. */
const MessagesSchema = z.array(
  z.object({
    deliveryId: z.string().regex(/^msg_[A-Za-z0-9_-]+$/),
    endpointId: z.string().min(1),
    tenantId: z.string().min(1),
    generation: z.number().int().min(0),
  }),
);

/** `msg_` + 128 bits of SHA-256(outbox id, endpoint id): stable across dispatch attempts. */
async function stableDeliveryId(outboxId: string, endpointId: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${outboxId}\n${endpointId}`),
  );
  return `msg_${base64url(new Uint8Array(digest).slice(0, 16))}`;
}

type OutboxRow = typeof eventOutbox.$inferSelect;

async function dispatchRow(env: Env, db: Db, row: OutboxRow): Promise<void> {
  let messages: DeliveryMessage[];
  if (row.messages !== null) {
    messages = MessagesSchema.parse(JSON.parse(row.messages));
  } else {
    const keys = tenantKeys(env, db, row.tenantId);
    // An erased session has no view: nothing is left to announce (docs/data-protection.md).
    const view = await loadSessionView(db, keys, row.sessionId);
    const prepared = view
      ? await prepareEvent(
          db,
          keys,
          row.eventType,
          { session: view },
          {
            sessionId: row.sessionId,
            now: row.createdAt,
            deliveryId: (endpointId) => stableDeliveryId(row.id, endpointId),
          },
        )
      : null;
    messages = prepared?.messages ?? [];
    // Deliveries and the fixed message list in one batch: a concurrent dispatcher derives the
    // same ids, so whichever batch lands second changes nothing.
    await db.batch([
      db
        .update(eventOutbox)
        .set({ messages: JSON.stringify(messages), attempts: sql`${eventOutbox.attempts} + 1` })
        .where(and(eq(eventOutbox.id, row.id), isNull(eventOutbox.messages))),
      ...(prepared ? [prepared.insert] : []),
    ]);
    // A concurrent dispatcher may have fixed the list first: send the one that was kept.
    const [kept] = await db
      .select({ messages: eventOutbox.messages })
      .from(eventOutbox)
      .where(eq(eventOutbox.id, row.id));
    if (kept?.messages) messages = MessagesSchema.parse(JSON.parse(kept.messages));
  }
  await enqueueDeliveries(env.EVENTS, messages);
  await db.update(eventOutbox).set({ sentAt: Date.now() }).where(eq(eventOutbox.id, row.id));
}

/**
 * Sends the pending terminal event of one session. Throws when it cannot (D1, key service or
 * queue unavailable): the caller (the session DO) keeps its end pending and retries.
 */
export async function dispatchSessionOutbox(env: Env, db: Db, sessionId: string): Promise<void> {
  const [row] = await db
    .select()
    .from(eventOutbox)
    .where(and(eq(eventOutbox.id, terminalOutboxId(sessionId)), isNull(eventOutbox.sentAt)));
  if (row) await dispatchRow(env, db, row);
}

/**
 * The cron's sweep: pending rows older than `minAgeMs` (the inline dispatch had its chance),
 * oldest first, at most `limit`. One failing row does not stop the others; returns the counts.
 */
export async function dispatchPendingOutbox(
  env: Env,
  db: Db,
  { now = Date.now(), minAgeMs = 30_000, limit = 100 } = {},
): Promise<{ sent: number; failed: number }> {
  const rows = await db
    .select()
    .from(eventOutbox)
    .where(and(isNull(eventOutbox.sentAt), lt(eventOutbox.createdAt, now - minAgeMs)))
    .orderBy(asc(eventOutbox.createdAt))
    .limit(limit);
  let sent = 0;
  let failed = 0;
  for (const row of rows) {
    try {
      await dispatchRow(env, db, row);
      sent += 1;
    } catch {
      // Left pending for the next sweep; no detail logged (errors may quote row data).
      failed += 1;
    }
  }
  return { sent, failed };
}
