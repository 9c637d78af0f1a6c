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

/**
 * Delay before each retry, seconds. Queues cap one delay at 12 h, so the tail repeats 12 h.
 * The base delays alone add up to 82.7 h (product-spec §6: ≥ 72 h over ≥ 8 attempts); jitter
 * only ever lengthens them, so the schedule never ends early.
 */
export const RETRY_DELAYS_SECONDS = [
  30,
  120,
  600,
  1800,
  3600,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  12 * 3600,
  12 * 3600,
  12 * 3600,
  12 * 3600,
  12 * 3600,
] as const;
/** The first attempt plus one per retry; `max_retries` in wrangler.toml is one less. */
export const MAX_ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;

/** Backoff for the retry after `attempt` failed attempts: the base delay plus up to 20 % jitter. */
export function backoffSeconds(attempt: number, random = Math.random()): number {
  const base =
    RETRY_DELAYS_SECONDS[Math.min(attempt, RETRY_DELAYS_SECONDS.length) - 1] ?? RETRY_DELAYS_SECONDS[0];
  return Math.min(12 * 3600, Math.round(base * (1 + 0.2 * random)));
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
