/**
 * Bearer API-key authentication (product-spec §1: `sk_test_…` / `sk_live_…`, stored only as a
 * hash). The key is looked up by its SHA-256: an equality match on a digest of 256 random bits
 * leaks nothing useful through timing, so no separate constant-time compare is needed.
 * Every later query is scoped to the tenant this key belongs to.
 */
import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { sha256Hex } from "../../../lib/crypto/hash.ts";
import { apiKeys } from "../../../lib/db/schema.ts";
import { FacetError } from "../../../lib/errors.ts";
import type { EdgeEnv } from "../env.ts";

const API_KEY_PATTERN = /^sk_(test|live)_[A-Za-z0-9_-]{43}$/;

export function apiKeyAuth() {
  return createMiddleware<EdgeEnv>(async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer ([^\s]+)$/.exec(header);
    const unauthenticated = new FacetError("ERR_UNAUTHENTICATED", "Send `Authorization: Bearer sk_…`.", {
      headers: { "www-authenticate": 'Bearer realm="facet"' },
    });
    if (!match?.[1] || !API_KEY_PATTERN.test(match[1])) throw unauthenticated;
    const [key] = await c.var.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, await sha256Hex(match[1])));
    if (!key) throw unauthenticated;
    if (key.revokedAt !== null) throw new FacetError("ERR_API_KEY_REVOKED", "This API key was revoked.");
    c.set("tenantId", key.tenantId);
    c.set("apiKeyId", key.id);
    c.set("apiKeyMode", key.mode);
    await next();
  });
}
