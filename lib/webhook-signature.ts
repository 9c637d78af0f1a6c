/**
 * Standard Webhooks signing and verification with WebCrypto (product-spec §6), so that any
 * Standard Webhooks library verifies Facet's deliveries. Scheme (standardwebhooks.com, "Signature
 * scheme"): the secret is `whsec_<base64 key>`; the signed content is `${id}.${timestamp}.${body}`;
 * the signature header is a space-separated list of `v1,<base64 HMAC-SHA256>`, which is how secret
 * rotation works (sign with old and new key for a while). Following jose's shape (house-style 11):
 * one operation per function, keys imported per call as non-extractable handles, and a `v1`-only
 * allowlist at verify time; comparison is `crypto.subtle.verify`, which is constant-time.
 */

export const WEBHOOK_SECRET_PREFIX = "whsec_";
export const DEFAULT_TOLERANCE_SECONDS = 300;
const SECRET_BYTES = 32;
const encoder = new TextEncoder();

/** A type alias (not an interface) so it is assignable to a string record. */
export type WebhookHeaders = {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
};

export type WebhookVerification =
  | { ok: true }
  | {
      ok: false;
      reason:
        | "missing_headers"
        | "invalid_timestamp"
        | "timestamp_too_old"
        | "timestamp_too_new"
        | "no_matching_signature";
    };

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(s: string): Uint8Array<ArrayBuffer> | null {
  try {
    const binary = atob(s);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes (256-bit HMAC key). */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

async function importKey(secret: string, usage: "sign" | "verify") {
  const raw = secret.startsWith(WEBHOOK_SECRET_PREFIX) ? secret.slice(WEBHOOK_SECRET_PREFIX.length) : null;
  const key = raw === null ? null : fromBase64(raw);
  // Standard Webhooks secrets are 24–64 bytes; anything much shorter is a misconfiguration.
  if (!key || key.length < 16)
    throw new TypeError("webhook secret must be whsec_<base64 of at least 16 bytes>");
  return crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

function signedContent(
  id: string,
  timestampSeconds: number | string,
  body: string | Uint8Array,
): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(`${id}.${timestampSeconds}.`);
  const tail = typeof body === "string" ? encoder.encode(body) : body;
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

function checkIdAndTimestamp(id: string, timestampSeconds: number): void {
  // The id ends up in a header and in the signed content: printable ASCII without "." or spaces.
  if (!/^[\x21-\x2d\x2f-\x7e]{1,256}$/.test(id))
    throw new TypeError("webhook id must be 1–256 printable characters");
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new TypeError("webhook timestamp must be whole seconds since the epoch");
  }
}

/** `v1,<base64 HMAC-SHA256(key, "${id}.${ts}.${body}")>` */
export async function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): Promise<string> {
  checkIdAndTimestamp(id, timestampSeconds);
  const key = await importKey(secret, "sign");
  const mac = await crypto.subtle.sign("HMAC", key, signedContent(id, timestampSeconds, body));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The three delivery headers; pass several secrets during rotation to sign with each. */
export async function webhookHeaders(
  secret: string | readonly string[],
  id: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): Promise<WebhookHeaders> {
  const secrets = typeof secret === "string" ? [secret] : secret;
  if (secrets.length === 0) throw new TypeError("at least one webhook secret is required");
  const signatures = await Promise.all(secrets.map((s) => signWebhook(s, id, timestampSeconds, body)));
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signatures.join(" "),
  };
}

type HeaderSource = Headers | Readonly<Record<string, string | null | undefined>>;

function header(headers: HeaderSource, name: string): string | null {
  if (headers instanceof Headers) return headers.get(name);
  for (const [k, v] of Object.entries(headers))
    if (k.toLowerCase() === name && typeof v === "string") return v;
  return null;
}

/**
 * Verifies a delivery: timestamp within ±`toleranceSeconds` of `nowSeconds` (replay window), then
 * any one `v1` signature matching. Throws only for a malformed secret (a configuration error).
 */
export async function verifyWebhook(
  secret: string,
  headers: HeaderSource,
  body: string | Uint8Array,
  nowSeconds: number,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): Promise<WebhookVerification> {
  const key = await importKey(secret, "verify");
  const id = header(headers, "webhook-id");
  const ts = header(headers, "webhook-timestamp");
  const sig = header(headers, "webhook-signature");
  if (!id || !ts || !sig) return { ok: false, reason: "missing_headers" };
  if (!/^\d{1,15}$/.test(ts)) return { ok: false, reason: "invalid_timestamp" };
  const timestamp = Number(ts);
  if (timestamp < nowSeconds - toleranceSeconds) return { ok: false, reason: "timestamp_too_old" };
  if (timestamp > nowSeconds + toleranceSeconds) return { ok: false, reason: "timestamp_too_new" };
  // Sign the header text as received, not a re-serialised number.
  const content = signedContent(id, ts, body);
  for (const candidate of sig.split(" ")) {
    const [version, value, ...rest] = candidate.split(",");
    if (version !== "v1" || value === undefined || rest.length > 0) continue; // allowlist: v1 only
    const mac = fromBase64(value);
    if (mac && (await crypto.subtle.verify("HMAC", key, mac, content))) return { ok: true };
  }
  return { ok: false, reason: "no_matching_signature" };
}
