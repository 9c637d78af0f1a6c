/**
 * Integrator events (product-spec §6). An event becomes one delivery per subscribed endpoint:
 * a `deliveries` row whose id is the Standard Webhooks `webhook-id` (stable across retries, so
 * receivers deduplicate on it) and one queue message; the queue consumer signs and POSTs it.
 * The payload carries status and decision (no doorbell-then-fetch) and never raw media.
 */
import { and, eq } from "drizzle-orm";
import type { SessionView, WebhookEventType } from "./api-schemas.ts";
import { newId } from "./crypto/random.ts";
import type { Db } from "./db/client.ts";
import { deliveries, webhookEndpoints } from "./db/schema.ts";

export interface DeliveryMessage {
  deliveryId: string;
  endpointId: string;
  tenantId: string;
  /** the exact JSON body that is signed and sent */
  body: string;
}

export interface WebhookPayload {
  type: WebhookEventType;
  timestamp: string;
  data: { session: SessionView };
}

export function subscribes(eventsJson: string, type: WebhookEventType): boolean {
  const events = JSON.parse(eventsJson) as string[];
  return events.includes("*") || events.includes(type);
}

export async function emitSessionEvent(
  db: Db,
  queue: Queue<DeliveryMessage>,
  tenantId: string,
  type: WebhookEventType,
  session: SessionView,
  now = Date.now(),
): Promise<string[]> {
  const endpoints = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.enabled, true)));
  const targets = endpoints.filter((e) => subscribes(e.events, type));
  if (targets.length === 0) return [];
  const payload: WebhookPayload = { type, timestamp: new Date(now).toISOString(), data: { session } };
  const body = JSON.stringify(payload);
  const messages = targets.map((endpoint) => ({
    deliveryId: newId("msg"),
    endpointId: endpoint.id,
    tenantId,
    body,
  }));
  await db.insert(deliveries).values(
    messages.map((m) => ({
      id: m.deliveryId,
      tenantId,
      endpointId: m.endpointId,
      eventType: type,
      sessionId: session.id,
      status: "pending" as const,
      attempts: 0,
      createdAt: now,
    })),
  );
  await queue.sendBatch(messages.map((body) => ({ body, contentType: "json" as const })));
  return messages.map((m) => m.deliveryId);
}
