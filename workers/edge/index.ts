/**
 * Facet edge Worker: HTTP (integrator API, widget WebSocket), the webhook queue consumer and
 * the cron that expires unstarted sessions. Hosts the session and rate-limiter Durable Objects.
 */
import type { DeliveryMessage } from "../../lib/events.ts";
import { buildApp } from "./app.ts";
import { deliverBatch } from "./deliver-webhooks.ts";
import { expireUnstartedSessions } from "./expire-sessions.ts";

export { RateLimiter } from "../../durable-objects/rate-limiter/rate-limiter.ts";
export { SessionObject } from "../../durable-objects/session/session-object.ts";

const app = buildApp();

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    await deliverBatch(batch, env);
  },
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(expireUnstartedSessions(env));
  },
} satisfies ExportedHandler<Env, DeliveryMessage>;
