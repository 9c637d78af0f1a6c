/**
 * Per-API-key rate limit (product-spec §3: `429` + `Retry-After`). The count lives in one
 * RateLimiter Durable Object per key, so every edge location sees the same budget and the
 * answer carries an exact `Retry-After` rather than a window boundary.
 */
import { createMiddleware } from "hono/factory";
import { FacetError } from "../../../lib/errors.ts";
import type { EdgeEnv } from "../env.ts";

export function rateLimitPerKey() {
  return createMiddleware<EdgeEnv>(async (c, next) => {
    const perMinute = Number(c.env.RATE_LIMIT_PER_MINUTE);
    const stub = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(c.var.apiKeyId));
    const verdict = await stub.take(perMinute);
    c.header("ratelimit-limit", String(perMinute));
    c.header("ratelimit-remaining", String(verdict.remaining));
    if (!verdict.allowed) {
      throw new FacetError("ERR_RATE_LIMITED", `At most ${perMinute} requests per minute per API key.`, {
        headers: { "retry-after": String(verdict.retryAfterSeconds) },
      });
    }
    await next();
  });
}
