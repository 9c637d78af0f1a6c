/**
 * Transactional outbox for every event that announces a state change (docs/reliability.md
 * "Outbox", product-spec §6: the integrator hears about every session exactly once). The statement
 * that creates, starts, ends or erases a session (or disables an endpoint) and the outbox row
 * announcing it go to D1 in one batch, so either both exist or neither does; the erasure and
 * disable rows are written by lib/outbox-records.ts. A dispatcher then turns the row into
 * delivery rows with ids derived from the row (the same `webhook-id`s on every attempt), sends
 * their queue messages and marks the row sent. It runs inline right after the batch (for a
 * terminal event the session DO retries it from its alarm with backoff) and from the five-minute
 * cron for every row left pending (a refusing queue, an evicted object).
 * A resend after a partial failure only repeats queue messages for the same delivery ids; the
 * consumer already delivers one id at most once (workers/edge/deliver-webhooks.ts).
 */
import { and, asc, eq, inArray, isNull, lt, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { SessionView } from "./api-schemas.ts";
import { base64url } from "./crypto/random.ts";
import { tenantKeys } from "./crypto/tenant-keys.ts";
import type { Db } from "./db/client.ts";
import { deliveries, eventOutbox, sessions } from "./db/schema.ts";
import { type DeliveryMessage, enqueueDeliveries, type PreparedEvent, prepareEvent } from "./events.ts";
import { isRecordedEvent, recordedEventData } from "./outbox-records.ts";
import { loadSessionView } from "./sessions/view.ts";

export type TerminalEventType = "session.completed" | "session.incomplete";
export type LifecycleEventType = "session.created" | "session.started";
type OutboxEventType = TerminalEventType | LifecycleEventType;
type OutboxRow = typeof eventOutbox.$inferSelect;

/** One terminal event per session, whoever ends it (DO, cancel, expiry): the key enforces it. */
export const terminalOutboxId = (sessionId: string) => `terminal:${sessionId}`;
/** One `session.created` and one `session.started` per session. */
export const createdOutboxId = (sessionId: string) => `created:${sessionId}`;
export const startedOutboxId = (sessionId: string) => `started:${sessionId}`;

/**
 * The outbox row of `session.created`, for the batch that inserts the session (the row's
 * `created_at` is the session's, so the event's timestamp is the creation time).
 */
export function recordCreatedEvent(db: Db, session: { id: string; tenantId: string; createdAt: number }) {
  return db
    .insert(eventOutbox)
    .values({
      id: createdOutboxId(session.id),
      tenantId: session.tenantId,
      sessionId: session.id,
      eventType: "session.created",
      createdAt: session.createdAt,
    })
    .onConflictDoNothing();
}

/**
 * The outbox row of `session.started`, for the batch whose conditional UPDATE consumes the client
 * secret (workers/edge/routes/connect.ts). The session id is not known before that UPDATE, so the
 * row is an `INSERT … SELECT` matching the session it just started (secret hash, `in_progress`,
 * `started_at` = the UPDATE's time): a refused secret matches nothing and records nothing.
 */
export function recordStartedEvent(db: Db, started: { clientSecretHash: string; startedAt: number }) {
  return recordForMatchedSessions(
    db,
    "started:",
    "session.started",
    sessions.startedAt,
    and(
      eq(sessions.clientSecretHash, started.clientSecretHash),
      eq(sessions.status, "in_progress"),
      eq(sessions.startedAt, started.startedAt),
      eq(sessions.clientSecretUsedAt, started.startedAt),
    ),
  );
}

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
  const where = [
    eq(sessions.status, ended.status),
    eq(sessions.finishedAt, ended.finishedAt),
    ...(ended.sessionId === undefined ? [] : [eq(sessions.id, ended.sessionId)]),
    ...(ended.reason ? [eq(sessions.incompleteReason, ended.reason)] : []),
  ];
  return recordForMatchedSessions(db, "terminal:", ended.type, sessions.finishedAt, and(...where));
}

/**
 * One outbox row `<prefix><session id>` announcing `type` for each session `where` matches, its
 * `created_at` read from `at`; a row already there is kept. An `INSERT … SELECT` through drizzle's
 * builder: a raw `db.run(sql)` cannot join a D1 batch.
 */
function recordForMatchedSessions(
  db: Db,
  prefix: "started:" | "terminal:",
  type: OutboxEventType,
  at: typeof sessions.startedAt | typeof sessions.finishedAt,
  where: SQL | undefined,
) {
  return db
    .insert(eventOutbox)
    .select(
      db
        .select({
          id: sql<string>`${prefix} || ${sessions.id}`.as("id"),
          tenantId: sessions.tenantId,
          sessionId: sessions.id,
          eventType: sql<OutboxEventType>`${type}`.as("event_type"),
          createdAt: sql<number>`${at}`.as("created_at"),
          messages: sql<string | null>`NULL`.as("messages"),
          sentAt: sql<number | null>`NULL`.as("sent_at"),
          attempts: sql<number>`0`.as("attempts"),
          data: sql<string | null>`NULL`.as("data"),
        })
        .from(sessions)
        .where(where),
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

/**
 * The session as it was when a lifecycle event happened. The view is read at dispatch, which may
 * come minutes later from the sweep, when the session has started or ended; `created` and
 * `started` announce the state they name, so their fields are those of that moment (nothing
 * finished, no report yet). A terminal state does not change any more: its view is as read.
 */
function asOfEvent(view: SessionView, row: { eventType: OutboxEventType; createdAt: number }): SessionView {
  if (row.eventType === "session.completed" || row.eventType === "session.incomplete") return view;
  const started = row.eventType === "session.started";
  return {
    ...view,
    status: started ? "in_progress" : "created",
    incompleteReason: null,
    startedAt: started ? new Date(row.createdAt).toISOString() : null,
    finishedAt: null,
    report: null,
  };
}

/**
 * The deliveries of one row, ids derived from the row. A session event is built from the session
 * now (an erased session has no view: nothing is left to announce, docs/data-protection.md); an
 * erasure or disable from what its row recorded. Their deliveries name no session, as before the
 * outbox: a later erasure has nothing of theirs to cancel.
 */
async function prepareRow(env: Env, db: Db, row: OutboxRow): Promise<PreparedEvent | null> {
  const keys = tenantKeys(env, db, row.tenantId);
  const options = {
    now: row.createdAt,
    deliveryId: (endpointId: string) => stableDeliveryId(row.id, endpointId),
  };
  const type = row.eventType;
  if (isRecordedEvent(type)) {
    const data = await recordedEventData(keys, { ...row, eventType: type });
    return data ? prepareEvent(db, keys, type, data, options) : null;
  }
  const view = row.sessionId === null ? null : await loadSessionView(db, keys, row.sessionId);
  if (!view) return null;
  return prepareEvent(
    db,
    keys,
    type,
    { session: asOfEvent(view, { ...row, eventType: type }) },
    {
      ...options,
      sessionId: row.sessionId,
    },
  );
}

/**
 * The delivery ids a dispatcher that lost the race to fix a row's message list inserted but the
 * kept list does not name (ids derive from outbox id and endpoint, so only a different endpoint
 * set yields any): rows nobody will enqueue.
 */
export function unannouncedDeliveries(inserted: DeliveryMessage[], kept: DeliveryMessage[]): string[] {
  const announced = new Set(kept.map((m) => m.deliveryId));
  return inserted.map((m) => m.deliveryId).filter((id) => !announced.has(id));
}

async function dispatchRow(env: Env, db: Db, row: OutboxRow): Promise<void> {
  let messages: DeliveryMessage[];
  if (row.messages !== null) {
    messages = MessagesSchema.parse(JSON.parse(row.messages));
  } else {
    const prepared = await prepareRow(env, db, row);
    messages = prepared?.messages ?? [];
    // Deliveries and the fixed message list in one batch: a concurrent dispatcher derives the
    // same ids, so whichever batch lands second changes nothing. The recorded `data` goes in the
    // same statement: from here the sealed delivery payloads hold the body.
    await db.batch([
      db
        .update(eventOutbox)
        .set({ messages: JSON.stringify(messages), attempts: sql`${eventOutbox.attempts} + 1`, data: null })
        .where(and(eq(eventOutbox.id, row.id), isNull(eventOutbox.messages))),
      ...(prepared ? [prepared.insert] : []),
    ]);
    // A concurrent dispatcher may have fixed the list first: send the one that was kept. If it
    // read the endpoints before one was added or removed, this batch inserted deliveries the kept
    // list does not name; nothing would ever send them, so they go (docs/reliability.md "Outbox").
    const [kept] = await db
      .select({ messages: eventOutbox.messages })
      .from(eventOutbox)
      .where(eq(eventOutbox.id, row.id));
    if (kept?.messages) {
      const keptMessages = MessagesSchema.parse(JSON.parse(kept.messages));
      const orphans = unannouncedDeliveries(messages, keptMessages);
      if (orphans.length > 0) await db.delete(deliveries).where(inArray(deliveries.id, orphans));
      messages = keptMessages;
    }
    // An erasure that landed between reading the session and writing these deliveries found
    // nothing of this event to cancel: if the session is gone now, withdraw them, so no body of
    // an erased session leaves (docs/data-protection.md). An erasure after this check finds the
    // deliveries and cancels them itself.
    if (prepared && !isRecordedEvent(row.eventType) && row.sessionId !== null) {
      const [still] = await db
        .select({ id: sessions.id })
        .from(sessions)
        .where(eq(sessions.id, row.sessionId));
      if (!still) {
        const ids = messages.map((m) => m.deliveryId);
        if (ids.length > 0) await db.delete(deliveries).where(inArray(deliveries.id, ids));
        messages = [];
      }
    }
  }
  await enqueueDeliveries(env.EVENTS, messages);
  await db.update(eventOutbox).set({ sentAt: Date.now() }).where(eq(eventOutbox.id, row.id));
}

/**
 * Sends one pending outbox row, by id. Throws when it cannot (D1, key service or queue
 * unavailable); the row stays pending for the caller's retry or the five-minute sweep.
 */
export async function dispatchOutbox(env: Env, db: Db, outboxId: string): Promise<void> {
  const [row] = await db
    .select()
    .from(eventOutbox)
    .where(and(eq(eventOutbox.id, outboxId), isNull(eventOutbox.sentAt)));
  if (row) await dispatchRow(env, db, row);
}

/**
 * Sends the pending terminal event of one session. Throws when it cannot: the caller (the
 * session DO) keeps its end pending and retries.
 */
export function dispatchSessionOutbox(env: Env, db: Db, sessionId: string): Promise<void> {
  return dispatchOutbox(env, db, terminalOutboxId(sessionId));
}

/**
 * The inline dispatch of an event nobody else retries (`session.created`, `session.started`, the
 * erasures, `endpoint.disabled`), for `waitUntil`: only the five-minute sweep does, which finds
 * the row still pending, so a failure is not an error here. No detail is logged (errors may quote
 * row data).
 */
export function dispatchLifecycleEvent(env: Env, db: Db, outboxId: string): Promise<void> {
  return dispatchOutbox(env, db, outboxId).catch(() => {
    console.warn("outbox: inline dispatch failed; the five-minute sweep will send the event");
  });
}

/**
 * The cron's sweep: pending rows older than `minAgeMs` (the inline dispatch had its chance), in
 * pages of `limit`, fewest failed attempts first, then oldest — so a row that keeps failing (a
 * tenant whose key is gone) moves behind the others instead of blocking them — until none is
 * left, a page sends nothing (D1 or the queue is down: the next sweep retries), or `budgetMs` of
 * wall time is spent (a backlog after a queue outage drains in one run, not 100 rows per five
 * minutes). One failing row does not stop the others; returns the counts.
 */
export async function dispatchPendingOutbox(
  env: Env,
  db: Db,
  { now = Date.now(), minAgeMs = 30_000, limit = 100, budgetMs = 20_000 } = {},
): Promise<{ sent: number; failed: number }> {
  const started = Date.now();
  const tried = new Set<string>();
  let sent = 0;
  let failed = 0;
  while (Date.now() - started < budgetMs) {
    const rows = (
      await db
        .select()
        .from(eventOutbox)
        .where(and(isNull(eventOutbox.sentAt), lt(eventOutbox.createdAt, now - minAgeMs)))
        .orderBy(asc(eventOutbox.attempts), asc(eventOutbox.createdAt))
        .limit(limit + tried.size)
    ).filter((row) => !tried.has(row.id));
    if (rows.length === 0) break;
    let sentInPage = 0;
    for (const row of rows.slice(0, limit)) {
      tried.add(row.id);
      try {
        await dispatchRow(env, db, row);
        sent += 1;
        sentInPage += 1;
      } catch {
        // Left pending for the next sweep, one attempt more (so it sorts behind fresher rows);
        // no detail logged (errors may quote row data).
        failed += 1;
        await db
          .update(eventOutbox)
          .set({ attempts: sql`${eventOutbox.attempts} + 1` })
          .where(eq(eventOutbox.id, row.id))
          .catch(() => {});
      }
    }
    if (sentInPage === 0) break;
  }
  return { sent, failed };
}

/**
 * Retention of sent rows (class `deliveries`, docs/data-protection.md "Retention"): once sent, a
 * row only records which deliveries announced the event, as the delivery log does, so it goes
 * with the same class, counted from when it was sent. Pending rows are never purged: they are
 * events still owed. Safe for exactly-once: each row's statement can match only once per session
 * (the insert, the secret's single use, the end while `in_progress`), so a purged id is not
 * written again.
 */
export async function purgeSentOutbox(db: Db, tenantId: string, sentBefore: number): Promise<number> {
  const purged = await db
    .delete(eventOutbox)
    .where(and(eq(eventOutbox.tenantId, tenantId), lt(eventOutbox.sentAt, sentBefore)))
    .returning({ id: eventOutbox.id });
  return purged.length;
}
