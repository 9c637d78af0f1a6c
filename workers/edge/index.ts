/**
 * Facet edge Worker: HTTP (integrator API, widget WebSocket), the webhook queue consumer, the
 * cron that expires unstarted sessions, the hourly retention purge (retention.ts) and the daily
 * re-wrap of data keys after a KEK rotation (key-maintenance.ts). Hosts the
 * session and rate-limiter Durable Objects.
 */
import type { DeliveryMessage } from "../../lib/events.ts";
import { buildApp } from "./app.ts";
import { deliverBatch } from "./deliver-webhooks.ts";
import { expireUnstartedSessions } from "./expire-sessions.ts";
import { KEY_MAINTENANCE_CRON, rewrapAllTenants } from "./key-maintenance.ts";
import { purgeExpired, RETENTION_CRON } from "./retention.ts";

export { RateLimiter } from "../../durable-objects/rate-limiter/rate-limiter.ts";
export { SessionObject } from "../../durable-objects/session/session-object.ts";

const app = buildApp();

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    await deliverBatch(batch, env);
  },
  async scheduled(controller, env, ctx) {
    if (controller.cron === RETENTION_CRON) {
      // Awaited, not waitUntil: a failed purge marks the invocation failed, and the next hour retries.
      const counts = await purgeExpired(env, controller.scheduledTime);
      console.log(`retention purge: ${JSON.stringify(counts)}`);
      return;
    }
    if (controller.cron === KEY_MAINTENANCE_CRON) {
      // Awaited for the same reason: a tenant that could not be re-wrapped fails the run, visibly.
      const counts = await rewrapAllTenants(env, controller.scheduledTime);
      console.log(`key maintenance: ${JSON.stringify(counts)}`);
      return;
    }
    // scheduledTime, as the other crons: the outbox sweep's 30 s grace is measured from it.
    ctx.waitUntil(expireUnstartedSessions(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env, DeliveryMessage>;
