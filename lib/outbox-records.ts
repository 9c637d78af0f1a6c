/**
 * Outbox rows for the events whose subject cannot be read back when the event is sent
 * (docs/reliability.md "Outbox", docs/data-protection.md "Erasure"): `session.erased` and
 * `subject.erased` announce that the data is gone, and `endpoint.disabled` announces a state the
 * integrator may undo (re-enable, delete) before a late send. Each row therefore carries, in its
 * `data` column, what its event needs, and only identifiers: the session id, the integrator's
 * reference, the erased session ids, the endpoint's id, URL and reason. Never session metadata,
 * providedData, a report or a payload. The reference is personal data, so an erasure row seals it
 * under the tenant's data key (bound to the outbox id, docs/storage.md); the dispatcher clears
 * the column once the delivery rows hold the body.
 */
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { WebhookEventType } from "./api-schemas.ts";
import { newId } from "./crypto/random.ts";
import type { TenantKeys } from "./crypto/tenant-keys.ts";
import type { Db } from "./db/client.ts";
import { eventOutbox, webhookEndpoints } from "./db/schema.ts";
import type { EventData } from "./events.ts";

export type RecordedEventType = "session.erased" | "subject.erased" | "endpoint.disabled";

/** One `session.erased` per session: a second erasure of the same session records nothing. */
export const erasedOutboxId = (sessionId: string) => `erased:${sessionId}`;
/** Every subject erasure is its own event (erasing a subject with nothing held still emits). */
export const subjectErasedOutboxId = () => `subject-erased:${newId("evt")}`;
/** One per disable: an endpoint disabled, re-enabled and disabled again is two events. */
export const disabledOutboxId = (endpointId: string, disabledAt: number) =>
  `disabled:${endpointId}:${disabledAt}`;

/** The `data` column of each recorded event type, validated when read back from D1. */
const RecordedSchemas = {
  "session.erased": z.object({ sessionId: z.string().min(1), clientReferenceId: z.string() }),
  "subject.erased": z.object({ clientReferenceId: z.string(), sessionIds: z.array(z.string().min(1)) }),
  "endpoint.disabled": z.object({
    endpointId: z.string().min(1),
    url: z.string(),
    disabledReason: z.string(),
  }),
} as const;

const dataSlot = (outboxId: string) => ({ table: "event_outbox", column: "data", rowId: outboxId });

export function isRecordedEvent(type: WebhookEventType): type is RecordedEventType {
  return type in RecordedSchemas;
}

/**
 * The outbox row of `session.erased`, for the batch that deletes the session
 * (workers/edge/erasure.ts). `at` is the erasure time and the event's `erasedAt`.
 */
export async function recordSessionErased(
  db: Db,
  keys: TenantKeys,
  erased: { sessionId: string; clientReferenceId: string; at: number },
) {
  const id = erasedOutboxId(erased.sessionId);
  const data = { sessionId: erased.sessionId, clientReferenceId: erased.clientReferenceId };
  const sealed = await keys.seal(dataSlot(id), JSON.stringify(data));
  // Wrapped: a drizzle statement is thenable, so an async function returning it would run it.
  return {
    insert: db
      .insert(eventOutbox)
      .values({
        id,
        tenantId: keys.tenantId,
        sessionId: erased.sessionId,
        eventType: "session.erased",
        createdAt: erased.at,
        data: sealed,
      })
      .onConflictDoNothing(),
  };
}

/**
 * The outbox row of `subject.erased` (id from `subjectErasedOutboxId`), for the batch that records
 * the erasure's completion: a subject erasure is several batches and a key destruction in the HSM
 * (workers/edge/routes/subjects.ts), and the event announces that all of them happened.
 */
export async function recordSubjectErased(
  db: Db,
  keys: TenantKeys,
  id: string,
  erased: { clientReferenceId: string; sessionIds: string[]; at: number },
) {
  const data = { clientReferenceId: erased.clientReferenceId, sessionIds: erased.sessionIds };
  const sealed = await keys.seal(dataSlot(id), JSON.stringify(data));
  return {
    insert: db.insert(eventOutbox).values({
      id,
      tenantId: keys.tenantId,
      sessionId: null,
      eventType: "subject.erased",
      createdAt: erased.at,
      data: sealed,
    }),
  };
}

/**
 * The outbox row of `endpoint.disabled`, for the batch whose conditional UPDATE disables the
 * endpoint (workers/edge/deliver-webhooks.ts): an `INSERT … SELECT` matching the endpoint only as
 * that UPDATE left it (disabled at `at` for `reason`), so a batch whose UPDATE lost the race to a
 * concurrent consumer or the integrator records nothing. No key service needed: the URL and the
 * reason are tenant configuration and operational metadata, stored in clear on the endpoint too.
 */
export function recordEndpointDisabled(
  db: Db,
  disabled: { endpointId: string; tenantId: string; reason: string; at: number },
) {
  const id = disabledOutboxId(disabled.endpointId, disabled.at);
  return db
    .insert(eventOutbox)
    .select(
      db
        .select({
          id: sql<string>`${id}`.as("id"),
          tenantId: webhookEndpoints.tenantId,
          sessionId: sql<string | null>`NULL`.as("session_id"),
          eventType: sql<RecordedEventType>`'endpoint.disabled'`.as("event_type"),
          createdAt: sql<number>`${webhookEndpoints.disabledAt}`.as("created_at"),
          messages: sql<string | null>`NULL`.as("messages"),
          sentAt: sql<number | null>`NULL`.as("sent_at"),
          attempts: sql<number>`0`.as("attempts"),
          data: sql<string>`json_object('endpointId', ${webhookEndpoints.id}, 'url', ${webhookEndpoints.url}, 'disabledReason', ${webhookEndpoints.disabledReason})`.as(
            "data",
          ),
        })
        .from(webhookEndpoints)
        .where(
          and(
            eq(webhookEndpoints.id, disabled.endpointId),
            eq(webhookEndpoints.tenantId, disabled.tenantId),
            eq(webhookEndpoints.enabled, false),
            eq(webhookEndpoints.disabledAt, disabled.at),
            eq(webhookEndpoints.disabledReason, disabled.reason),
          ),
        ),
    )
    .onConflictDoNothing();
}

/**
 * The event `data` of a recorded row, from its `data` column and `created_at` (the moment of the
 * erasure or disable, so every dispatch attempt builds the same body). Null once the column was
 * cleared, which only happens after the deliveries were recorded.
 */
export async function recordedEventData(
  keys: TenantKeys,
  row: { id: string; eventType: RecordedEventType; createdAt: number; data: string | null },
): Promise<EventData[RecordedEventType] | null> {
  if (row.data === null) return null;
  const at = new Date(row.createdAt).toISOString();
  switch (row.eventType) {
    case "session.erased": {
      const d = RecordedSchemas[row.eventType].parse(JSON.parse(await keys.open(dataSlot(row.id), row.data)));
      return { session: { id: d.sessionId, clientReferenceId: d.clientReferenceId, erasedAt: at } };
    }
    case "subject.erased": {
      const d = RecordedSchemas[row.eventType].parse(JSON.parse(await keys.open(dataSlot(row.id), row.data)));
      return { subject: { clientReferenceId: d.clientReferenceId, sessionIds: d.sessionIds, erasedAt: at } };
    }
    case "endpoint.disabled": {
      const d = RecordedSchemas[row.eventType].parse(JSON.parse(row.data));
      return {
        endpoint: { id: d.endpointId, url: d.url, disabledReason: d.disabledReason, disabledAt: at },
      };
    }
  }
}
