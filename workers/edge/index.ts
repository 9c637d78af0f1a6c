/**
 * Facet edge Worker: HTTP (integrator API, widget WebSocket), the webhook queue consumer, the
 * cron that expires unstarted sessions and the hourly retention purge (retention.ts). Hosts the
 * session and rate-limiter Durable Objects.
 */
import type { DeliveryMessage } from "../../lib/events.ts";
import { buildApp } from "./app.ts";
import { deliverBatch } from "./deliver-webhooks.ts";
import { expireUnstartedSessions } from "./expire-sessions.ts";
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
    ctx.waitUntil(expireUnstartedSessions(env));
  },
} satisfies ExportedHandler<Env, DeliveryMessage>;
