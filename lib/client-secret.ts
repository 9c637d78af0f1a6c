/**
 * Client secrets (product-spec §1): `cs_…`, a single-use capability for one session with a
 * short TTL (≤ 10 minutes), refreshable by the integrator's backend. Only its SHA-256 is
 * stored; consuming it is one conditional UPDATE, so two racing connections cannot both win.
 */
import { sha256Hex } from "./crypto/hash.ts";
import { randomToken } from "./crypto/random.ts";

export const CLIENT_SECRET_PATTERN = /^cs_[A-Za-z0-9_-]{43}$/;
export const MAX_CLIENT_SECRET_TTL_SECONDS = 600;

export interface IssuedClientSecret {
  secret: string;
  hash: string;
  expiresAt: number;
}

export async function issueClientSecret(ttlSeconds: number, now = Date.now()): Promise<IssuedClientSecret> {
  const secret = `cs_${randomToken(32)}`;
  const ttl = Math.min(ttlSeconds, MAX_CLIENT_SECRET_TTL_SECONDS);
  return { secret, hash: await sha256Hex(secret), expiresAt: now + ttl * 1000 };
}

/**
 * The hosted page reads the secret from the fragment, which browsers never send to a server.
 * The public session id in the query lets the edge answer with that tenant's
 * `frame-ancestors` (docs/widget.md); it grants nothing on its own.
 */
export function hostedPageUrl(publicOrigin: string, sessionId: string, secret: string): string {
  return `${publicOrigin.replace(/\/$/, "")}/verify?session=${encodeURIComponent(sessionId)}#${secret}`;
}

/** The `clientSecret` object of API responses (product-spec §3). */
export function clientSecretView(publicOrigin: string, sessionId: string, issued: IssuedClientSecret) {
  return {
    secret: issued.secret,
    url: hostedPageUrl(publicOrigin, sessionId, issued.secret),
    expiresAt: new Date(issued.expiresAt).toISOString(),
  };
}
