/**
 * Integrator events (product-spec §6). An event becomes one delivery per subscribed endpoint:
 * a `deliveries` row whose id is the Standard Webhooks `webhook-id` (stable across retries, so
 * receivers deduplicate on it) and one queue message; the queue consumer signs and POSTs it.
 * The payload carries status and decision (no doorbell-then-fetch) and never raw media.
 *
 * The signed body lives in the delivery row, not in the queue message: a manual retry and a
 * queue redelivery read the same bytes, and erasing a session or subject also erases what is
 * still waiting to be sent (docs/webhooks.md, docs/data-protection.md). The stored body is
 * field-encrypted under the tenant's data key, bound to its delivery id (docs/storage.md).
 */
import { and, eq, isNull } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SessionView, WebhookEventType } from "./api-schemas.ts";
import { newId } from "./crypto/random.ts";
import type { TenantKeys } from "./crypto/tenant-keys.ts";
import type { Db } from "./db/client.ts";
import { deliveries, webhookEndpoints } from "./db/schema.ts";

export interface DeliveryMessage {
  deliveryId: string;
  endpointId: string;
  tenantId: string;
  /** the delivery's generation when enqueued; a manual retry bumps it and supersedes this message */
  generation: number;
}

/** What each event type carries in `data` (docs/webhooks.md, "Events"). */
export interface EventData {
  "session.created": { session: SessionView };
  "session.started": { session: SessionView };
  "session.completed": { session: SessionView };
  "session.incomplete": { session: SessionView };
  "session.erased": { session: { id: string; clientReferenceId: string; erasedAt: string } };
  "subject.erased": { subject: { clientReferenceId: string; sessionIds: string[]; erasedAt: string } };
  "endpoint.disabled": {
    endpoint: { id: string; url: string; disabledReason: string; disabledAt: string };
  };
  "webhook.test": { endpoint: { id: string }; message: string };
}

export interface WebhookPayload<T extends WebhookEventType = WebhookEventType> {
  type: T;
  timestamp: string;
  data: EventData[T];
}

export function subscribes(eventsJson: string, type: WebhookEventType): boolean {
  const events = JSON.parse(eventsJson) as string[];
  return events.includes("*") || events.includes(type);
}

export interface EmitOptions {
  /** the session the event is about; erasing the session erases the pending payload */
  sessionId?: string | null;
  /** send to exactly these endpoints (test pings), ignoring their event filter */
  endpointIds?: string[];
  now?: number;
}

/**
 * Records one delivery per target endpoint (enabled, not deleted, subscribed) and enqueues it.
 * Returns the delivery ids (`webhook-id`s).
 */
export async function emitEvent<T extends WebhookEventType>(
  db: Db,
  queue: Queue<DeliveryMessage>,
  keys: TenantKeys,
  type: T,
  data: EventData[T],
  options: EmitOptions = {},
): Promise<string[]> {
  const prepared = await prepareEvent(db, keys, type, data, options);
  if (!prepared) return [];
  await db.batch([prepared.insert]);
  await enqueueDeliveries(queue, prepared.messages);
  return prepared.messages.map((m) => m.deliveryId);
}

export interface PreparedEvent {
  messages: DeliveryMessage[];
  /** the `deliveries` rows, ignoring ids already recorded; batchable with other statements */
  insert: BatchItem<"sqlite">;
}

/**
 * The delivery rows of one event, not yet written, and their queue messages. `deliveryId` makes
 * ids deterministic (lib/outbox.ts: every dispatch attempt of one outbox row yields the same
 * `webhook-id`s); by default they are random.
 */
export async function prepareEvent<T extends WebhookEventType>(
  db: Db,
  keys: TenantKeys,
  type: T,
  data: EventData[T],
  options: EmitOptions & { deliveryId?: (endpointId: string) => Promise<string> } = {},
): Promise<PreparedEvent | null> {
  const { tenantId } = keys;
  const now = options.now ?? Date.now();
  const endpoints = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, tenantId), isNull(webhookEndpoints.deletedAt)));
  const targets = options.endpointIds
    ? endpoints.filter((e) => options.endpointIds?.includes(e.id))
    : endpoints.filter((e) => e.enabled && subscribes(e.events, type));
  if (targets.length === 0) return null;
  const payload: WebhookPayload<T> = { type, timestamp: new Date(now).toISOString(), data };
  const body = JSON.stringify(payload);
  const messages: DeliveryMessage[] = await Promise.all(
    targets.map(async (endpoint) => ({
      deliveryId: options.deliveryId ? await options.deliveryId(endpoint.id) : newId("msg"),
      endpointId: endpoint.id,
      tenantId,
      generation: 0,
    })),
  );
  const sealed = await Promise.all(messages.map((m) => sealPayload(keys, m.deliveryId, body)));
  const insert = db
    .insert(deliveries)
    .values(
      messages.map((m, i) => ({
        id: m.deliveryId,
        tenantId,
        endpointId: m.endpointId,
        eventType: type,
        sessionId: options.sessionId ?? null,
        status: "pending" as const,
        attempts: 0,
        generation: 0,
        payload: sealed[i] ?? null,
        createdAt: now,
      })),
    )
    .onConflictDoNothing();
  return { messages, insert };
}

export async function enqueueDeliveries(
  queue: Queue<DeliveryMessage>,
  messages: DeliveryMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  await queue.sendBatch(messages.map((message) => ({ body: message, contentType: "json" as const })));
}

const payloadSlot = (deliveryId: string) => ({ table: "deliveries", column: "payload", rowId: deliveryId });

export function sealPayload(keys: TenantKeys, deliveryId: string, body: string): Promise<string> {
  return keys.seal(payloadSlot(deliveryId), body);
}

/** The exact signed body of a delivery, in clear. */
export function openPayload(keys: TenantKeys, deliveryId: string, sealed: string): Promise<string> {
  return keys.open(payloadSlot(deliveryId), sealed);
}
