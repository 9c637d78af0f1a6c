/**
 * Queue consumer: delivers one signed webhook per message (product-spec §6, Standard Webhooks).
 * At-least-once: a failed attempt is retried by the queue with exponential backoff and jitter;
 * the `webhook-id` stays the delivery's id on every attempt so receivers deduplicate. The body is
 * read from the delivery row (lib/events.ts), so a redelivered message, a retry and a manual
 * retry send the same bytes; once delivered it is cleared (data minimisation, docs/webhooks.md).
 * Redirects are never followed (a 3xx is a failure) and each attempt has a 15 s timeout. After
 * the schedule the delivery is `dead`; an endpoint with only dead deliveries for 72 h is disabled
 * and the tenant's other endpoints hear `endpoint.disabled`.
 */
import { and, count, eq, gte, sql } from "drizzle-orm";
import { newId } from "../../lib/crypto/random.ts";
import { tenantKeys } from "../../lib/crypto/tenant-keys.ts";
import { type Db, openDb } from "../../lib/db/client.ts";
import { auditLog, deliveries, webhookEndpoints } from "../../lib/db/schema.ts";
import { FacetError } from "../../lib/errors.ts";
import { type DeliveryMessage, openPayload } from "../../lib/events.ts";
import { dispatchLifecycleEvent } from "../../lib/outbox.ts";
import { disabledOutboxId, recordEndpointDisabled } from "../../lib/outbox-records.ts";
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
/** The first attempt plus one per retry; `max_retries` in wrangler.toml is one less (13). */
export const MAX_ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;

/** An endpoint is disabled when, over this window, nothing was delivered … */
export const DISABLE_WINDOW_MS = 72 * 3600 * 1000;
/** … and at least this many deliveries went dead (each one failed for the whole 82.7 h schedule). */
export const DISABLE_MIN_DEAD = 3;

/** Backoff for the retry after `attempt` failed attempts: the base delay plus up to 20 % jitter. */
export function backoffSeconds(attempt: number, random = Math.random()): number {
  const base =
    RETRY_DELAYS_SECONDS[Math.min(attempt, RETRY_DELAYS_SECONDS.length) - 1] ?? RETRY_DELAYS_SECONDS[0];
  return Math.min(12 * 3600, Math.round(base * (1 + 0.2 * random)));
}

/**
 * `WEBHOOK_RETRY_SCALE` multiplies every retry delay. Test-only: the harness sets "0" so the whole
 * schedule runs at once; production leaves it at "1". Only values in [0, 1] are honoured, so a
 * typo can shorten the schedule's waits but never stretch them past the queue's 12 h cap.
 */
export function retryScale(env: Pick<Env, "WEBHOOK_RETRY_SCALE">): number {
  const scale = Number(env.WEBHOOK_RETRY_SCALE);
  return Number.isFinite(scale) && scale >= 0 && scale <= 1 ? scale : 1;
}

type Attempt = { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: string };

async function attempt(url: URL, secret: string, id: string, body: string): Promise<Attempt> {
  try {
    const headers = await webhookHeaders(secret, id, Math.floor(Date.now() / 1000), body);
    const response = await fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", "user-agent": "Facet-Webhooks/1" },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return { ok: true, statusCode: response.status };
    const error =
      response.status >= 300 && response.status < 400
        ? `HTTP ${response.status} (redirects are not followed)`
        : `HTTP ${response.status}`;
    return { ok: false, statusCode: response.status, error };
  } catch (e) {
    return {
      ok: false,
      statusCode: null,
      error: e instanceof Error && e.name === "TimeoutError" ? "timeout" : "connection failed",
    };
  }
}

export async function deliverBatch(batch: MessageBatch<DeliveryMessage>, env: Env): Promise<void> {
  const db = openDb(env.DB);
  // Messages are independent, so they are delivered concurrently: one slow endpoint must not
  // hold up the batch, and the one-by-one loop was the webhook bottleneck under load
  // (docs/reliability.md). Copies of one delivery stay in order, so a duplicate in the same
  // batch sees the first copy's outcome and sends nothing.
  const byDelivery = new Map<string, Message<DeliveryMessage>[]>();
  for (const message of batch.messages) {
    const key = `${message.body.deliveryId}:${message.body.generation ?? 0}`;
    byDelivery.set(key, [...(byDelivery.get(key) ?? []), message]);
  }
  const results = await Promise.allSettled(
    [...byDelivery.values()].map(async (messages) => {
      for (const message of messages) {
        const outcome = await deliverOne(db, env, message.body, message.attempts);
        if (outcome.retryAfterSeconds === null) message.ack();
        else message.retry({ delaySeconds: outcome.retryAfterSeconds });
      }
    }),
  );
  // As before: an unexpected failure fails the invocation, and the queue retries what was not acked.
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** One attempt for one message; says whether the queue should retry it, and after how long. */
async function deliverOne(
  db: Db,
  env: Env,
  msg: DeliveryMessage,
  queueAttempts: number,
): Promise<{ retryAfterSeconds: number | null }> {
  const done = { retryAfterSeconds: null };
  const generation = msg.generation ?? 0;
  const [row] = await db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.id, msg.deliveryId), eq(deliveries.tenantId, msg.tenantId)));
  // Purged, superseded by a manual retry, or already settled (a redelivered message): nothing to do.
  if (!row || row.generation !== generation) return done;
  if (row.status === "delivered" || row.status === "cancelled" || row.status === "dead") return done;
  const thisGeneration = and(eq(deliveries.id, row.id), eq(deliveries.generation, generation));
  const cancel = async (reason: string) => {
    await db.update(deliveries).set({ status: "cancelled", lastError: reason }).where(thisGeneration);
    return done;
  };
  if (row.payload === null) return cancel("payload erased");
  const [endpoint] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, row.endpointId), eq(webhookEndpoints.tenantId, row.tenantId)));
  if (!endpoint || endpoint.deletedAt !== null) return cancel("endpoint deleted");
  // A test ping may go to a disabled endpoint: it is how an integrator checks it before re-enabling.
  if (!endpoint.enabled && row.eventType !== "webhook.test") return cancel("endpoint disabled");

  const now = Date.now();
  const verdict = checkWebhookUrl(endpoint.url, env.DEV_ALLOW_LOOPBACK_WEBHOOKS === "true");
  // A refused target will not become acceptable by waiting: dead at once, nothing sent.
  let result: Attempt = {
    ok: false,
    statusCode: null,
    error: verdict.ok ? "" : `refused target: ${verdict.reason}`,
  };
  if (verdict.ok) {
    // The body is opened only for the attempt and never kept beyond it.
    let body: string;
    try {
      body = await openPayload(tenantKeys(env, db, row.tenantId), row.id, row.payload);
    } catch (error) {
      if (!(error instanceof FacetError && error.code === "ERR_DATA_INTEGRITY")) throw error;
      await db
        .update(deliveries)
        .set({ status: "dead", lastError: "payload failed its integrity check", payload: null })
        .where(thisGeneration);
      return done;
    }
    result = await attempt(verdict.url, endpoint.secret, row.id, body);
  }
  const settledAt = Date.now();
  const common = {
    attempts: sql`${deliveries.attempts} + 1`,
    lastStatusCode: result.statusCode,
    lastAttemptAt: settledAt,
  };
  if (result.ok) {
    await db
      .update(deliveries)
      .set({ ...common, status: "delivered", lastError: null, deliveredAt: settledAt, payload: null })
      .where(thisGeneration);
    return done;
  }
  if (!verdict.ok || queueAttempts >= MAX_ATTEMPTS) {
    await db
      .update(deliveries)
      .set({ ...common, status: "dead", lastError: result.error })
      .where(thisGeneration);
    await disableIfFailing(db, env, endpoint.id, endpoint.tenantId, now);
    return done;
  }
  await db
    .update(deliveries)
    .set({ ...common, status: "failed", lastError: result.error })
    .where(thisGeneration);
  return { retryAfterSeconds: Math.round(backoffSeconds(queueAttempts) * retryScale(env)) };
}

/**
 * Disables an endpoint that has been failing for days (product-spec §6): over the last 72 h
 * nothing was delivered to it and at least `DISABLE_MIN_DEAD` deliveries went dead. The
 * decision is recorded on the endpoint (`disabledReason`), audited, and reported to the
 * tenant's other endpoints as `endpoint.disabled`.
 */
export async function disableIfFailing(
  db: Db,
  env: Env,
  endpointId: string,
  tenantId: string,
  now: number,
): Promise<boolean> {
  const since = now - DISABLE_WINDOW_MS;
  const [delivered] = await db
    .select({ n: count() })
    .from(deliveries)
    .where(and(eq(deliveries.endpointId, endpointId), gte(deliveries.deliveredAt, since)));
  const [dead] = await db
    .select({ n: count() })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.endpointId, endpointId),
        eq(deliveries.status, "dead"),
        gte(deliveries.lastAttemptAt, since),
      ),
    );
  if ((delivered?.n ?? 0) > 0 || (dead?.n ?? 0) < DISABLE_MIN_DEAD) return false;
  const reason = `${dead?.n} deliveries dead and none delivered in the last 72 h`;
  // The disable and its `endpoint.disabled` outbox row in one batch (docs/reliability.md
  // "Outbox"): a queue refusing the send afterwards delays the event, never loses it.
  const [[disabled]] = await db.batch([
    db
      .update(webhookEndpoints)
      .set({ enabled: false, disabledReason: reason, disabledAt: now })
      .where(
        and(
          eq(webhookEndpoints.id, endpointId),
          eq(webhookEndpoints.enabled, true),
          sql`${webhookEndpoints.deletedAt} IS NULL`,
        ),
      )
      .returning({ id: webhookEndpoints.id }),
    recordEndpointDisabled(db, { endpointId, tenantId, reason, at: now }),
  ]);
  if (!disabled) return false; // already disabled (by a concurrent consumer or the integrator)
  await db.insert(auditLog).values({
    id: newId("aud"),
    tenantId,
    actor: "system",
    action: "webhook_endpoint.disable",
    target: endpointId,
    at: now,
  });
  await dispatchLifecycleEvent(env, db, disabledOutboxId(endpointId, now));
  return true;
}
