/**
 * Queue consumer: delivers one signed webhook per message (product-spec §6, Standard Webhooks).
 * At-least-once: a failed attempt is retried by the queue with exponential backoff and jitter;
 * the `webhook-id` stays the delivery's id on every attempt so receivers deduplicate. Redirects
 * are never followed (a redirect is a failure) and each attempt has a 15 s timeout.
 */
import { and, eq, sql } from "drizzle-orm";
import { openDb } from "../../lib/db/client.ts";
import { deliveries, webhookEndpoints } from "../../lib/db/schema.ts";
import type { DeliveryMessage } from "../../lib/events.ts";
import { webhookHeaders } from "../../lib/webhook-signature.ts";
import { checkWebhookUrl } from "../../lib/webhook-url.ts";

export const DELIVERY_TIMEOUT_MS = 15_000;
/** Mirrors `max_retries` in wrangler.toml: the attempt after this one is not made. */
export const MAX_ATTEMPTS = 10;

/** Exponential backoff with full jitter: ~30 s, 1 min, 2 min … capped at 12 h. */
export function backoffSeconds(attempt: number, random = Math.random()): number {
  const base = Math.min(12 * 3600, 30 * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(base / 2 + (base / 2) * random));
}

export async function deliverBatch(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  const db = openDb(env.DB);
  for (const message of batch.messages) {
    const { deliveryId, endpointId, tenantId, body } = message.body;
    const [endpoint] = await db
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.tenantId, tenantId)));
    if (!endpoint?.enabled) {
      await db
        .update(deliveries)
        .set({ status: "failed", lastError: "endpoint disabled or deleted" })
        .where(eq(deliveries.id, deliveryId));
      message.ack();
      continue;
    }
    const verdict = checkWebhookUrl(endpoint.url, env.DEV_ALLOW_LOOPBACK_WEBHOOKS === "true");
    let statusCode: number | null = null;
    let error: string | null = null;
    if (!verdict.ok) {
      error = `refused target: ${verdict.reason}`;
    } else {
      try {
        const headers = await webhookHeaders(
          endpoint.secret,
          deliveryId,
          Math.floor(Date.now() / 1000),
          body,
        );
        const response = await fetch(verdict.url, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json", "user-agent": "Facet-Webhooks/1" },
          body,
          redirect: "manual",
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        statusCode = response.status;
        await response.body?.cancel();
        if (response.status < 200 || response.status >= 300) error = `HTTP ${response.status}`;
      } catch (e) {
        error = e instanceof Error && e.name === "TimeoutError" ? "timeout" : "connection failed";
      }
    }
    const attempts = message.attempts;
    if (error === null) {
      await db
        .update(deliveries)
        .set({
          status: "delivered",
          attempts,
          lastStatusCode: statusCode,
          lastError: null,
          deliveredAt: Date.now(),
        })
        .where(eq(deliveries.id, deliveryId));
      message.ack();
    } else if (attempts >= MAX_ATTEMPTS) {
      await db
        .update(deliveries)
        .set({ status: "dead", attempts, lastStatusCode: statusCode, lastError: error })
        .where(eq(deliveries.id, deliveryId));
      message.ack();
    } else {
      await db
        .update(deliveries)
        .set({ status: "failed", attempts: sql`${attempts}`, lastStatusCode: statusCode, lastError: error })
        .where(eq(deliveries.id, deliveryId));
      message.retry({ delaySeconds: backoffSeconds(attempts) });
    }
  }
}
