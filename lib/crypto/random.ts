/**
 * Identifiers and secrets. Ids are random, prefixed by kind (Stripe-style) so a leaked string
 * says what it is; secrets carry 256 bits from the platform CSPRNG (WebCrypto getRandomValues).
 */
export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** `ses_…`, `key_…`: 128 random bits, time-independent so ids leak nothing about volume. */
export function newId(prefix: string): string {
  return `${prefix}_${randomToken(16)}`;
}
