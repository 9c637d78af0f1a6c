/**
 * Token bucket per API key: capacity = the per-minute limit, refilled continuously. Memory-only
 * on purpose: losing the bucket on eviction only ever grants a fresh minute, never blocks.
 */
import { DurableObject } from "cloudflare:workers";

export interface RateVerdict {
  allowed: boolean;
  remaining: number;
  retryAfterSeconds: number;
}

export class RateLimiter extends DurableObject<Env> {
  #tokens = Number.NaN;
  #updatedAt = 0;

  async take(perMinute: number, now = Date.now()): Promise<RateVerdict> {
    const ratePerMs = perMinute / 60_000;
    if (Number.isNaN(this.#tokens)) this.#tokens = perMinute;
    else this.#tokens = Math.min(perMinute, this.#tokens + (now - this.#updatedAt) * ratePerMs);
    this.#updatedAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { allowed: true, remaining: Math.floor(this.#tokens), retryAfterSeconds: 0 };
    }
    return {
      allowed: false,
      remaining: 0,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - this.#tokens) / ratePerMs / 1000)),
    };
  }
}
